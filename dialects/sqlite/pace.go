package sqlite

import (
	"context"

	"github.com/sessctl/sessctl/dialects"
)

// Commits reads PRAGMA data_version, which changes, on the connection that
// reads it, whenever another connection (of any process) has committed to
// the database since its last read. Chosen as purge's pacing signal
// because SQLite has no view of its other users: the app's writers wait
// for the one write lock while a batch holds it, and hold nothing while
// they wait, so nothing shows them but the commits they make once they get
// in. It reads the database header only (no lock beyond a read's, no I/O
// when the page is cached).
func (Dialect) Commits(ctx context.Context, q dialects.Querier) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

var _ dialects.CommitCounter = Dialect{}
