package sqlite

import (
	"errors"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/windows"
)

// tryLockRange takes an exclusive lock on length bytes of f from start
// (length 0: every byte), without waiting. Windows releases it when the
// handle closes.
func tryLockRange(f *os.File, start, length int64) (bool, error) {
	n := uint64(length)
	if length == 0 {
		n = math.MaxUint64
	}
	ol := windows.Overlapped{Offset: uint32(start), OffsetHigh: uint32(start >> 32)}
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK | windows.LOCKFILE_FAIL_IMMEDIATELY)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, uint32(n), uint32(n>>32), &ol); err != nil {
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// removeLocked removes the lock file at path, which f holds locked whole.
// Windows cannot remove a file that is open, so f is closed first; the
// removal then fails if another sessctl has opened it since.
func removeLocked(f *os.File, path string) error {
	f.Close()
	return os.Remove(path)
}

// writable reports why this process may not write the file at path, or
// nil.
func writable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("%s is marked read-only", path)
	}
	return nil
}
