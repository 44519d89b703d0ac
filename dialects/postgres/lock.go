package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessctl/sessctl/dialects"
)

var (
	_ dialects.CreateLocker = Dialect{}
	_ dialects.Waiter       = Dialect{}
)

// LockCreate takes golang-migrate's advisory lock for the version table,
// as migrator does: asked for again and again, never waited for in a
// statement.
func (Dialect) LockCreate(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	var dbName string
	if err := conn.QueryRowContext(ctx, `SELECT current_database()`, once).Scan(&dbName); err != nil {
		return nil, fmt.Errorf("taking the create lock: %w", err)
	}
	id, err := database.GenerateAdvisoryLockId(dbName, n.Schema, n.VersionTable)
	if err != nil {
		return nil, err
	}
	err = dialects.PollLock(ctx, func() (bool, error) {
		var got bool
		err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1::bigint)`, once, id).Scan(&got)
		return got, err
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1::bigint)`, once, id)
		return err
	}, nil
}

// WaitSession: pgx has the backend's pid from the startup.
func (Dialect) WaitSession(conn *sql.Conn) (int64, bool) {
	var pid uint32
	if err := conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			pid = c.Conn().PgConn().PID()
		}
		return nil
	}); err != nil || pid == 0 {
		return 0, false
	}
	return int64(pid), true
}

// WaitingFor reads pg_stat_activity: a wait_event_type of Lock is a wait
// for a heavyweight lock, which wait_event says the kind of.
func (Dialect) WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error) {
	var typ, event sql.NullString
	err := db.QueryRowContext(ctx, `SELECT wait_event_type, wait_event FROM pg_catalog.pg_stat_activity WHERE pid = $1`, once, id).Scan(&typ, &event)
	if err != nil || typ.String != "Lock" {
		return "", dialects.IgnoreNoRows(err)
	}
	switch event.String {
	case "relation":
		return "waiting for a table lock", nil
	case "tuple", "transactionid":
		return "waiting for a row lock", nil
	}
	return "waiting for a lock (" + event.String + ")", nil
}
