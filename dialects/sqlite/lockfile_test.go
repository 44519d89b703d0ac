package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLockFileRemovedBetweenOpenAndLock: a drop that removes the lock file
// after a locker opened it, but before it locked it, leaves that locker
// holding a lock on a file nobody else can see; it must notice, and lock
// the file that is there instead, so that a second locker of the same
// byte is refused. Real files, real locks, the removal forced into the
// one moment where it does harm.
func TestLockFileRemovedBetweenOpenAndLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db"+lockFileSuffix)
	removed := false
	lockFileOpened = func(p string) {
		if removed {
			return
		}
		removed = true
		ok, err := removeLockFile(p)
		if err != nil || !ok {
			t.Fatalf("removeLockFile with no lock held: %t, %v; want it removed", ok, err)
		}
	}
	t.Cleanup(func() { lockFileOpened = nil })
	unlock, ok, err := lockFileByte(path, 7)
	if err != nil || !ok {
		t.Fatalf("first lock: %t, %v", ok, err)
	}
	defer func() {
		if err := unlock(); err != nil {
			t.Errorf("unlock: %v", err)
		}
	}()
	if !removed {
		t.Fatal("the removal did not run between the open and the lock")
	}
	lockFileOpened = nil
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the lock file is not there after the first lock: %v", err)
	}
	unlock2, ok2, err := lockFileByte(path, 7)
	if err != nil {
		t.Fatal(err)
	}
	if ok2 {
		_ = unlock2() // the test fails either way
		t.Fatal("a second lock of the same byte succeeded while the first is held: the first locked a removed file")
	}
	// Another byte (another table) is free.
	unlock3, ok3, err := lockFileByte(path, 8)
	if err != nil || !ok3 {
		t.Fatalf("another byte: %t, %v; want it free", ok3, err)
	}
	if err := unlock3(); err != nil {
		t.Errorf("unlock: %v", err)
	}
}

// TestRemoveLockFileWhileHeld: the lock file is removed only while no
// lock is held in it, whichever byte.
func TestRemoveLockFileWhileHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db"+lockFileSuffix)
	for _, offset := range []int64{0, 1, 1 << 31, 1<<32 | 5} {
		unlock, ok, err := lockFileByte(path, offset)
		if err != nil || !ok {
			t.Fatalf("lock byte %d: %t, %v", offset, ok, err)
		}
		if removed, err := removeLockFile(path); err != nil || removed {
			t.Errorf("removeLockFile while byte %d is held: %t, %v; want it kept", offset, removed, err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the lock file went while byte %d was held: %v", offset, err)
		}
		if err := unlock(); err != nil {
			t.Errorf("unlock byte %d: %v", offset, err)
		}
	}
	if removed, err := removeLockFile(path); err != nil || !removed {
		t.Errorf("removeLockFile with nothing held: %t, %v; want it removed", removed, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file is still there: %v", err)
	}
	if removed, err := removeLockFile(path); err != nil || removed {
		t.Errorf("removeLockFile of a missing file: %t, %v", removed, err)
	}
}
