package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// lagQuery reads the standby itself, not the primary's
// pg_stat_replication.replay_lag: --replica names the replica as the app's
// readers reach it (a cascading standby too, which the primary does not
// list), any user may run it (pg_stat_replication hides its columns from
// those without pg_read_all_stats), and replay_lag is NULL on an idle
// primary and only refreshed as often as the standby reports back
// (wal_receiver_status_interval). now() - pg_last_xact_replay_timestamp()
// alone would grow while the primary is idle, so a standby that has
// replayed all it received reads as caught up.
const lagQuery = `SELECT pg_is_in_recovery(),
	pg_is_in_recovery() AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
	extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
	pg_is_in_recovery() AND pg_is_wal_replay_paused(),
	EXISTS (SELECT FROM pg_stat_wal_receiver)`

// ReplicaLag implements dialects.LagReader, on the standby q.
func (Dialect) ReplicaLag(ctx context.Context, q dialects.Querier) (dialects.Lag, error) {
	var standby, caughtUp, paused, receiving bool
	var behind sql.NullFloat64
	if err := q.QueryRowContext(ctx, lagQuery).Scan(&standby, &caughtUp, &behind, &paused, &receiving); err != nil {
		return dialects.Lag{}, err
	}
	switch {
	case !standby:
		return dialects.Lag{}, fmt.Errorf("%w (pg_is_in_recovery() is false): --replica takes a read replica's connection string", dialects.ErrNotReplica)
	case !receiving:
		// Replay may have caught up with all it received, and the
		// primary gone on without it: how far behind is unknown.
		return dialects.Lag{Stopped: true, Why: "it receives no WAL (no WAL receiver runs): it is cut off from the primary"}, nil
	case caughtUp:
		return dialects.Lag{}, nil
	case !behind.Valid:
		return dialects.Lag{Stopped: true, Why: "it has replayed no transaction since it started"}, nil
	}
	lag := dialects.Lag{Behind: max(time.Duration(behind.Float64*float64(time.Second)), 0)}
	if paused {
		lag.Why = "its replay is paused (pg_wal_replay_resume() resumes it)"
	}
	return lag, nil
}
