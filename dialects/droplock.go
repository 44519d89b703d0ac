package dialects

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
)

// CreateLocker is a dialect whose drop takes the lock create's migrations
// hold, so that a drop and a create of one table never interleave: a drop
// between a create's table and its version would leave a version without
// a table, or make the create fail half-way.
type CreateLocker interface {
	// LockCreate takes, on conn, create's lock for n, waiting until ctx
	// ends; unlock releases it. It makes nothing in the database.
	LockCreate(ctx context.Context, conn *sql.Conn, n Names) (unlock func() error, err error)
}

var (
	_ CreateLocker = postgres{}
	_ CreateLocker = mysql{}
	_ CreateLocker = sqlite{}
	_ CreateLocker = sqlserver{}
)

// createLockPoll is how often a drop waiting for create's lock asks again.
const createLockPoll = 100 * time.Millisecond

// pollLock asks try until it says the lock is held, or ctx ends.
func pollLock(ctx context.Context, try func() (bool, error)) error {
	for {
		ok, err := try()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a create of the same table to finish: %w", context.Cause(ctx))
		case <-time.After(createLockPoll):
		}
	}
}

// LockCreate takes golang-migrate's advisory lock for the version table,
// as pgMigrator does: asked for again and again, never waited for in a
// statement.
func (postgres) LockCreate(ctx context.Context, conn *sql.Conn, n Names) (func() error, error) {
	var dbName string
	if err := conn.QueryRowContext(ctx, `SELECT current_database()`, pgOnce).Scan(&dbName); err != nil {
		return nil, fmt.Errorf("taking the create lock: %w", err)
	}
	id, err := database.GenerateAdvisoryLockId(dbName, n.Schema, n.VersionTable)
	if err != nil {
		return nil, err
	}
	err = pollLock(ctx, func() (bool, error) {
		var got bool
		err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1::bigint)`, pgOnce, id).Scan(&got)
		return got, err
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1::bigint)`, pgOnce, id)
		return err
	}, nil
}

// LockCreate takes the named lock mysqlMigrator holds.
func (m mysql) LockCreate(ctx context.Context, conn *sql.Conn, n Names) (func() error, error) {
	name, err := m.lockName(ctx, conn, "create", n)
	if err != nil {
		return nil, err
	}
	err = pollLock(ctx, func() (bool, error) {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil {
			return false, err
		}
		return got.Valid && got.Int64 == 1, nil
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT RELEASE_LOCK(?)`, name)
		return err
	}, nil
}

// LockCreate locks the byte of the lock file that sqliteCreateLock locks,
// making the file if it is not there (Dropped removes it with the last
// cache table). A database in memory has none: no other process sees it.
func (s sqlite) LockCreate(ctx context.Context, conn *sql.Conn, n Names) (func() error, error) {
	none := func() error { return nil }
	path, offset, err := lockFileOf(conn, n)
	if err != nil || path == "" {
		return none, err
	}
	var unlock func() error
	err = pollLock(ctx, func() (bool, error) {
		u, ok, err := lockFileByte(path, offset|1<<32)
		unlock = u
		return ok, err
	})
	if err != nil {
		return nil, err
	}
	return unlock, nil
}

// LockCreate takes the application lock golang-migrate's SQL Server driver
// takes for the schema's migrations (sp_getapplock on the resource
// GenerateAdvisoryLockId(DB_NAME(), schema), session-owned). It asks once
// and waits in the server, which go-mssqldb's cancel ends when ctx does:
// sp_getapplock is never asked again on one connection, since a stock
// Babelfish server crashes at the fifth refusal on one (tds/README.md), and
// a connection that was refused leaves the pool.
func (sqlserver) LockCreate(ctx context.Context, conn *sql.Conn, n Names) (func() error, error) {
	var dbName string
	if err := conn.QueryRowContext(ctx, `SELECT DB_NAME()`).Scan(&dbName); err != nil {
		return nil, fmt.Errorf("taking the create lock: %w", err)
	}
	resource, err := database.GenerateAdvisoryLockId(dbName, n.Schema)
	if err != nil {
		return nil, err
	}
	var status int
	err = conn.QueryRowContext(ctx, `DECLARE @status int;
EXEC @status = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = -1;
SELECT @status;`, resource).Scan(&status)
	if ctx.Err() != nil {
		discard(conn)
		return nil, fmt.Errorf("waiting for a create of the same table to finish: %w", context.Cause(ctx))
	}
	if err != nil {
		discard(conn)
		return nil, fmt.Errorf("taking the create lock: %w", err)
	}
	if status < 0 { // any negative status is "not granted" (stock Babelfish answers -999)
		discard(conn)
		return nil, fmt.Errorf("taking the create lock: sp_getapplock answered %d", status)
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session';`, resource)
		return err
	}, nil
}
