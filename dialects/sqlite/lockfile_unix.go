//go:build unix && !linux

package sqlite

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLockRange locks the whole of f, without waiting: BSD locks have no
// byte ranges, so here one lock covers every table of the database.
func tryLockRange(f *os.File, _, _ int64) (bool, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
