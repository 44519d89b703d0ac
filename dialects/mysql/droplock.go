package mysql

import (
	"context"
	"database/sql"

	"github.com/sessctl/sessctl/dialects"
)

// LockCreate takes the named lock mysqlMigrator holds.
func (m Dialect) LockCreate(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	name, err := m.lockName(ctx, conn, "create", n)
	if err != nil {
		return nil, err
	}
	err = dialects.PollLock(ctx, func() (bool, error) {
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
