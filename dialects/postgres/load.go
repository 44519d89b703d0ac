package postgres

import (
	"context"

	"github.com/sessctl/sessctl/dialects"
)

// loadQuery counts the client sessions of this database that are running
// a statement, other than the one asking (the purge's own, between its
// batches). Chosen because it is what the app's requests are while they
// wait on the server, it is one read of shared memory (no lock, no I/O),
// and it needs no privilege beyond the connection: but a role that is
// neither a superuser nor a member of pg_read_all_stats sees the state of
// its own roles' sessions only, so it counts those alone. Other databases'
// sessions, autovacuum and other background workers are left out: their
// load is not this app's to yield to.
const loadQuery = `SELECT count(*) FROM pg_catalog.pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`

// Load counts the active sessions of the database but q's own.
func (Dialect) Load(ctx context.Context, q dialects.Querier) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, loadQuery).Scan(&n)
	return n, err
}

// LoadSignal names Load's signal.
func (Dialect) LoadSignal() string { return "active_sessions" }

var _ dialects.LoadReader = Dialect{}
