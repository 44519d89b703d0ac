package dialects

import (
	"context"
	"errors"
	"time"
)

// ErrNotReplica: the database a replica's connection string reaches is no
// read replica (a primary, a server that replicates nothing).
var ErrNotReplica = errors.New("not a read replica")

// LagReader is a dialect that can read, on a read replica, how far behind
// its primary the replica is: purge --replica waits between batches while
// a replica lags over --max-lag, so that a purge never makes one fall
// behind (pt-archiver's --check-slave-lag).
type LagReader interface {
	// ReplicaLag reads q, a session on the replica, and says how far
	// behind it is. An error wrapping ErrNotReplica says q is no replica;
	// any other, that it could not be read.
	ReplicaLag(ctx context.Context, q Querier) (Lag, error)
}

// Lag is how far a replica is behind its primary.
type Lag struct {
	// Behind is how long ago the primary committed what the replica has
	// applied last, when the replica has not applied all it received; 0
	// when it is caught up.
	Behind time.Duration
	// Stopped is set when replication is not running (a MySQL SQL thread
	// stopped, a PostgreSQL standby that has applied nothing yet): the
	// lag is unknown, and Why says what was read.
	Stopped bool
	Why     string
}
