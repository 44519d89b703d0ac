package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/sessctl/sessctl/dialects"
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
