package sqlite

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLockRange takes an exclusive lock on length bytes of f from start
// (length 0: to the end, however far the file grows), without waiting.
// Open-file-description locks conflict even between two descriptors of
// one process, and the kernel drops them when the file is closed or the
// process ends.
func tryLockRange(f *os.File, start, length int64) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: start, Len: length}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
