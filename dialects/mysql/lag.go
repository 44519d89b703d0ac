package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
)

// ReplicaLag implements dialects.LagReader, on the replica q:
// Seconds_Behind_Source of SHOW REPLICA STATUS (MySQL 8.0.22+, MariaDB
// 10.5.1+), or Seconds_Behind_Master of SHOW SLAVE STATUS where the
// server has not the newer words (MySQL 8.4 has only them). NULL there is
// replication stopped (its SQL or I/O thread, or both): the lag is
// unknown. With several channels, the one furthest behind counts.
func (Dialect) ReplicaLag(ctx context.Context, q dialects.Querier) (dialects.Lag, error) {
	rows, err := q.QueryContext(ctx, "SHOW REPLICA STATUS")
	var me *gomysql.MySQLError
	if errors.As(err, &me) && me.Number == errParse {
		rows, err = q.QueryContext(ctx, "SHOW SLAVE STATUS")
	}
	if err != nil {
		return dialects.Lag{}, err
	}
	defer rows.Close()
	var lag dialects.Lag
	n := 0
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return dialects.Lag{}, err
		}
		n++
		behind := statusField(st, "Seconds_Behind_Source", "Seconds_Behind_Master")
		if !behind.Valid {
			lag.Stopped = true
			lag.Why = fmt.Sprintf("replication is stopped (I/O thread running: %s, SQL thread running: %s; START REPLICA or START SLAVE starts it)",
				statusField(st, "Replica_IO_Running", "Slave_IO_Running").String, statusField(st, "Replica_SQL_Running", "Slave_SQL_Running").String)
			continue
		}
		if s, err := strconv.ParseInt(behind.String, 10, 64); err == nil {
			lag.Behind = max(lag.Behind, time.Duration(s)*time.Second)
		}
	}
	if err := rows.Err(); err != nil {
		return dialects.Lag{}, err
	}
	if n == 0 {
		return dialects.Lag{}, fmt.Errorf("%w (SHOW REPLICA STATUS is empty): --replica takes a read replica's connection string", dialects.ErrNotReplica)
	}
	return lag, nil
}

// scanStatus reads one row of SHOW REPLICA STATUS by column name: its
// columns differ between servers and versions.
func scanStatus(rows *sql.Rows) (map[string]sql.NullString, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	st := make(map[string]sql.NullString, len(cols))
	for i, c := range cols {
		st[c] = vals[i]
	}
	return st, nil
}

// statusField is the first of names that st has.
func statusField(st map[string]sql.NullString, names ...string) sql.NullString {
	for _, n := range names {
		if v, ok := st[n]; ok {
			return v
		}
	}
	return sql.NullString{}
}
