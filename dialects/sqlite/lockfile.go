package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// lockRetryWait is how long a failed lock waits before its second try.
const lockRetryWait = 50 * time.Millisecond

// lockFileOpened, when set (by tests), runs between opening the lock file
// and locking it: where a removal can come in between.
var lockFileOpened func(path string)

// lockFileByte takes an exclusive lock on one byte of the lock file at
// path, without waiting (but for a removal's instant). ok is false when
// another sessctl holds it.
func lockFileByte(path string, offset int64) (unlock func() error, ok bool, err error) {
	retried := false
	for replaced := 0; replaced < 100; {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, false, lockFileError(path, err)
		}
		if lockFileOpened != nil {
			lockFileOpened(path)
		}
		ok, err := tryLockRange(f, offset, 1)
		switch {
		case err != nil:
			f.Close()
			return nil, false, fmt.Errorf("locking %s: %w", path, err)
		case ok && samePath(f, path):
			return f.Close, true, nil
		case ok: // removed after the open: lock the file that is there now
			f.Close()
			replaced++
		case !retried:
			f.Close()
			retried = true
			time.Sleep(lockRetryWait)
		default:
			f.Close()
			return nil, false, nil
		}
	}
	return nil, false, fmt.Errorf("locking %s: the file is replaced each time it is opened", path)
}

// removeLockFile removes the lock file at path unless a sessctl holds a
// lock in it (or it is not there). It reports whether it removed it.
func removeLockFile(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	ok, err := tryLockRange(f, 0, 0)
	if err != nil || !ok || !samePath(f, path) {
		return false, err
	}
	if err := removeLocked(f, path); err != nil {
		return false, err
	}
	return true, nil
}

// samePath reports whether path names the file f has open. When it
// cannot tell, it says yes: only a removal makes them differ.
func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || os.SameFile(fi, pi)
}

// lockFileError says why the lock file cannot be opened: mostly a folder
// that may not be written.
func lockFileError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: cannot create the lock file %s beside the database (%v): "+
			"sessctl needs to write in the database's folder to create or purge, as SQLite does for its journal; "+
			"run it as a user that may, or use purge --dry-run, which writes nothing", dialects.ErrPermission, path, err)
	}
	return fmt.Errorf("opening the lock file %s: %w", path, err)
}
