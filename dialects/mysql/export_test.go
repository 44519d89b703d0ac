package mysql

import (
	"context"
	"database/sql"
)

// BeginSession makes conn a purge's session as TryLock does, but
// says whether the server skips locked rows instead of asking it, so that
// tests can run the path of servers that cannot.
func BeginSession(ctx context.Context, conn *sql.Conn, skipLocked bool) (end func() error, err error) {
	return Dialect{}.beginSession(ctx, conn, skipLocked)
}
