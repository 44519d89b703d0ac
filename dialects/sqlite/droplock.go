package sqlite

import (
	"context"
	"database/sql"

	"github.com/sessctl/sessctl/dialects"
)

// LockCreate locks the byte of the lock file that sqliteCreateLock locks,
// making the file if it is not there (Dropped removes it with the last
// cache table). A database in memory has none: no other process sees it.
func (s Dialect) LockCreate(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	none := func() error { return nil }
	path, offset, err := lockFileOf(conn, n)
	if err != nil || path == "" {
		return none, err
	}
	var unlock func() error
	err = dialects.PollLock(ctx, func() (bool, error) {
		u, ok, err := lockFileByte(path, offset|1<<32)
		unlock = u
		return ok, err
	})
	if err != nil {
		return nil, err
	}
	return unlock, nil
}
