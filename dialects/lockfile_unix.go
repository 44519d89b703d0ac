//go:build unix && !linux

package dialects

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockFileByte locks the whole file at path, without waiting: BSD locks
// have no byte ranges, so here the lock covers every table of the database.
func lockFileByte(path string, _ int64) (func() error, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return f.Close, true, nil
}
