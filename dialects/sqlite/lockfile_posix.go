//go:build unix

package sqlite

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// removeLocked removes the lock file at path, which f holds locked whole:
// whoever opens it from now on gets a new file.
func removeLocked(_ *os.File, path string) error { return os.Remove(path) }

// writable reports why this process may not write the file at path, or
// nil: its permissions, an immutable file, a read-only file system. (root
// passes permissions, not the other two.)
func writable(path string) error {
	if err := unix.Access(path, unix.W_OK); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
