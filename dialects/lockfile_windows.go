package dialects

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockFileByte takes an exclusive lock on one byte of the file at path,
// without waiting. Windows releases it when the handle closes.
func lockFileByte(path string, offset int64) (func() error, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("opening the lock file: %w", err)
	}
	ol := windows.Overlapped{Offset: uint32(offset), OffsetHigh: uint32(offset >> 32)}
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK | windows.LOCKFILE_FAIL_IMMEDIATELY)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &ol); err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return f.Close, true, nil
}
