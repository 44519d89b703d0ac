package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// KindReplicaLag names the waits for a replica in the report's yielded.by.
const KindReplicaLag = "replica lag"

// DefaultMaxLag is --max-lag when --replica is given without it.
const DefaultMaxLag = time.Second

// How often a lagging replica is read again: the wait is what it lags over
// the limit, within these bounds, so that purge goes on soon after the
// replica catches up, without reading it back to back.
const (
	minLagPoll = 50 * time.Millisecond
	maxLagPoll = time.Second
)

// ReplicaLag is a Yielder that waits while a read replica lags over Max
// (pt-archiver's --check-slave-lag), so that a purge never makes one fall
// behind. A replica whose replication is stopped is waited for too, as
// long as it stays stopped (or until --max-duration): a purge must not
// pile up changes a stopped replica will have to apply before it serves
// fresh reads again.
type ReplicaLag struct {
	Name   string // the replica as messages show it, its secrets masked
	DB     dialects.Querier
	Reader dialects.LagReader
	Max    time.Duration
}

// Kind implements Kinded.
func (*ReplicaLag) Kind() string { return KindReplicaLag }

// Yield implements Yielder.
func (r *ReplicaLag) Yield(ctx context.Context) (time.Duration, string, error) {
	lag, err := r.Reader.ReplicaLag(ctx, r.DB)
	switch {
	case ctx.Err() != nil:
		return 0, "", nil // the run ends; the step says why
	case err != nil:
		return 0, "", fmt.Errorf("reading the lag of replica %s: %w", r.Name, err)
	case lag.Stopped:
		return maxLagPoll, fmt.Sprintf("replica %s: %s; waiting until it replicates again", r.Name, lag.Why), nil
	case lag.Behind <= r.Max:
		return 0, "", nil
	}
	why := fmt.Sprintf("replica %s lags %s, over --max-lag %s", r.Name, lag.Behind.Round(time.Millisecond), r.Max)
	if lag.Why != "" {
		why += ": " + lag.Why
	}
	return min(max(lag.Behind-r.Max, minLagPoll), maxLagPoll), why, nil
}

// CheckReplica reads r's lag once, before a purge begins, so that a
// --replica that is no replica, or cannot be read, stops the run before
// its first batch.
func (r *ReplicaLag) CheckReplica(ctx context.Context) error {
	if _, err := r.Reader.ReplicaLag(ctx, r.DB); err != nil {
		return fmt.Errorf("replica %s: %w", r.Name, err)
	}
	return nil
}
