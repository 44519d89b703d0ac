package mysql

import (
	"context"
	"strconv"

	"github.com/sessctl/sessctl/dialects"
)

// Load reads Threads_running, gh-ost's --max-load signal: the threads of
// the server running a statement (not sleeping between them), less one,
// the purge's own, which runs the SHOW. Chosen because it needs no
// privilege (PROCESSLIST shows other users' threads only with PROCESS),
// it is a counter the server keeps (no lock, no I/O), and it is what gh-ost
// users know. It counts the whole server's threads, not this database's:
// MySQL and MariaDB keep no such counter per database.
func (Dialect) Load(ctx context.Context, q dialects.Querier) (int64, error) {
	var name, value string
	if err := q.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_running'").Scan(&name, &value); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(value, 10, 64)
	return max(n-1, 0), err
}

// LoadSignal names Load's signal, as the server spells it.
func (Dialect) LoadSignal() string { return "Threads_running" }

var _ dialects.LoadReader = Dialect{}
