package dialects

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// The lock file beside a SQLite database (<database>.sessctl-lock) holds
// sessctl's locks on it: one byte per table for purge, another for create,
// locked with the operating system's byte-range locks, which it drops when
// the process ends, however it ends. The protocol, so that the file can be
// removed when the last table goes:
//
//   - To take a lock, open the file (creating it), lock the byte, and then
//     check that the path still names the file locked: a drop may have
//     removed it between the open and the lock, and a lock on a removed
//     file locks nothing anyone else can see. If it was removed, start
//     again.
//   - To remove the file, lock all of it: that succeeds only while no
//     sessctl holds any lock in it. Remove it while holding that lock
//     (Windows, which cannot remove an open file: close it first; the
//     removal then fails if anyone has opened it since).
//   - A lock that fails may be a remover's, held for the instant of a
//     removal: wait a moment and try once more before saying another
//     sessctl holds it.

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
			"run it as a user that may, or use purge --dry-run, which writes nothing", ErrPermission, path, err)
	}
	return fmt.Errorf("opening the lock file %s: %w", path, err)
}
