package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.CreateLocker = Dialect{}

// LockCreate locks the byte of the lock file that createLock locks,
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

// lockFileOf is the lock file beside the database of n's schema, and the
// byte of it that n's purge locks: chosen by the table's name. Its path is
// empty for a database in memory, which no other process can see.
func lockFileOf(q dialects.Querier, n dialects.Names) (string, int64, error) {
	var path string
	if err := q.QueryRowContext(context.Background(), `SELECT file FROM pragma_database_list WHERE name = ?`, n.Schema).Scan(&path); err != nil {
		return "", 0, fmt.Errorf("finding the database file: %w", err)
	}
	if path == "" {
		return "", 0, nil
	}
	h := fnv.New32a()
	h.Write([]byte(n.Schema + "\x00" + strings.ToLower(n.Table)))
	return path + lockFileSuffix, int64(h.Sum32()), nil
}

var _ dialects.Dropper = Dialect{}

// Dropped removes the lock file when the dropped table was the last cache
// table of its database, and no sessctl holds a lock in it.
func (Dialect) Dropped(ctx context.Context, q dialects.Querier, n dialects.Names) error {
	return removeUnusedLockFile(ctx, q, n)
}

// lockFileSuffix ends the name of the lock file beside a database.
const lockFileSuffix = ".sessctl-lock"

// removeUnusedLockFile removes the lock file of n's database unless a table
// there could still be sessctl's (one with an "ExpiresAtTime" column, or a
// version table), or a sessctl holds a lock in it.
func removeUnusedLockFile(ctx context.Context, q dialects.Querier, n dialects.Names) error {
	path, _, err := lockFileOf(q, n)
	if err != nil || path == "" {
		return err
	}
	var left int
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM `+Dialect{}.Quote(n.Schema)+`.sqlite_master AS m
		WHERE m.type = 'table' AND (m.name LIKE '%\_migrations' ESCAPE '\'
			OR EXISTS (SELECT 1 FROM pragma_table_info(m.name, ?) WHERE name = 'ExpiresAtTime' COLLATE NOCASE))`, n.Schema).Scan(&left)
	if err != nil || left > 0 {
		return err
	}
	_, err = removeLockFile(path)
	return err
}
