package sqlserver

import (
	"context"
	"errors"

	"github.com/sessctl/sessctl/dialects"
)

// loadQuery counts the user requests the server is running (or that wait
// for a lock, a latch or the CPU), other than the one asking: the purge's
// own session, between its batches. Chosen because it is what the app's
// requests are while they are on the server, and a DMV read costs no lock.
// Without VIEW SERVER STATE (on Azure SQL Database, engine edition 5,
// VIEW DATABASE STATE, and the count is the database's) a session sees its
// own requests only, and the count would always be 0: -1 says so, and
// Load refuses it rather than never yield.
const loadQuery = `SELECT CASE WHEN HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') = 1
    OR (SERVERPROPERTY('EngineEdition') = 5 AND HAS_PERMS_BY_NAME(NULL, 'DATABASE', 'VIEW DATABASE STATE') = 1)
  THEN (SELECT COUNT(*) FROM sys.dm_exec_requests r JOIN sys.dm_exec_sessions s ON s.session_id = r.session_id
        WHERE s.is_user_process = 1 AND r.session_id <> @@SPID)
  ELSE -1 END`

// babelfishLoadQuery is loadQuery on Babelfish for PostgreSQL, which has
// no sys.dm_exec_requests (divergence: "relation does not exist"): each
// TDS session is a PostgreSQL backend (@@SPID is its pid), and Babelfish
// lets T-SQL read pg_catalog.pg_stat_activity, so the signal is the same
// as on PostgreSQL: the client sessions of Babelfish's database that are
// running a statement, other than the one asking. (A session waiting in
// WAITFOR DELAY reads as idle there, where SQL Server counts its request.)
const babelfishLoadQuery = `SELECT COUNT(*) FROM pg_catalog.pg_stat_activity a
WHERE a.state = 'active' AND a.backend_type = 'client backend' AND a.pid <> @@SPID
  AND a.datname = (SELECT s.datname FROM pg_catalog.pg_stat_activity s WHERE s.pid = @@SPID)`

// errNoServerState: the login cannot see the other sessions' requests.
var errNoServerState = errors.New("the login lacks VIEW SERVER STATE, without which it sees no other session's requests: " +
	"GRANT VIEW SERVER STATE TO it (Azure SQL Database: GRANT VIEW DATABASE STATE), or purge without --max-load and --critical-load")

// Load counts the user requests running on the server but q's own.
func (Dialect) Load(ctx context.Context, q dialects.Querier) (int64, error) {
	bbf, err := isBabelfish(ctx, q)
	if err != nil {
		return 0, err
	}
	query := loadQuery
	if bbf {
		query = babelfishLoadQuery
	}
	var n int64
	if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errNoServerState
	}
	return n, nil
}

// LoadSignal names Load's signal.
func (Dialect) LoadSignal() string { return "active_requests" }

var _ dialects.LoadReader = Dialect{}
