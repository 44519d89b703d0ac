package dialects

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockFileByte takes an exclusive lock on one byte of the file at path,
// without waiting. Open-file-description locks conflict even between two
// descriptors of one process, and the kernel drops them when the process
// ends.
func lockFileByte(path string, offset int64) (func() error, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("opening the lock file: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: offset, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return f.Close, true, nil
}
