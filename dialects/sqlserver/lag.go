package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// lagQuery reads, on a secondary replica of an availability group, the
// state of its copy of the current database. How far behind it is: the
// time between the last log block it hardened and the last it redid (the
// redo queue, in time), 0 when neither the redo nor the log send queue
// holds anything, so that an idle primary does not read as lag.
// secondary_lag_seconds is not used: SQL Server fills it on the primary
// only.
const lagQuery = `SELECT TOP (1) is_primary_replica, is_suspended, synchronization_state_desc,
	CASE WHEN redo_queue_size = 0 AND log_send_queue_size = 0 THEN 0
		ELSE DATEDIFF_BIG(MILLISECOND, last_redone_time, last_hardened_time) END
FROM sys.dm_hadr_database_replica_states
WHERE database_id = DB_ID() AND is_local = 1`

// ReplicaLag implements dialects.LagReader, on the secondary replica q.
// Babelfish has the view, always empty (it has no availability groups):
// there every --replica reads as in no availability group.
func (Dialect) ReplicaLag(ctx context.Context, q dialects.Querier) (dialects.Lag, error) {
	var primary, suspended bool
	var state string
	var behind sql.NullInt64
	err := q.QueryRowContext(ctx, lagQuery).Scan(&primary, &suspended, &state, &behind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return dialects.Lag{}, fmt.Errorf("%w (its database is in no availability group: sys.dm_hadr_database_replica_states has no row for it): --replica takes a secondary replica's connection string", dialects.ErrNotReplica)
	case err != nil:
		return dialects.Lag{}, err
	case primary:
		return dialects.Lag{}, fmt.Errorf("%w (it is the primary replica): --replica takes a secondary replica's connection string", dialects.ErrNotReplica)
	case suspended || state == "NOT SYNCHRONIZING" || !behind.Valid:
		return dialects.Lag{Stopped: true, Why: fmt.Sprintf("data movement is %s (suspended: %v; ALTER DATABASE … SET HADR RESUME resumes it)", state, suspended)}, nil
	}
	return dialects.Lag{Behind: max(time.Duration(behind.Int64)*time.Millisecond, 0)}, nil
}
