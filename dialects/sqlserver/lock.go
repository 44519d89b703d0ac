package sqlserver

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.CreateLocker = Dialect{}

// LockCreate takes the application lock golang-migrate's SQL Server driver
// takes for the schema's migrations (sp_getapplock on the resource
// GenerateAdvisoryLockId(DB_NAME(), schema), session-owned). It asks once
// and waits in the server, which go-mssqldb's cancel ends when ctx does:
// sp_getapplock is never asked again on one connection, since a stock
// Babelfish server crashes at the fifth refusal on one (tds/README.md), and
// a connection that was refused leaves the pool.
func (Dialect) LockCreate(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
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
