package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.Walker = Dialect{}

// StoredRows is the span of rowids: a walk covers it, whatever gaps it
// has. (SQLite keeps no row count but in ANALYZE's statistics.)
func (s Dialect) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows sql.NullInt64
	err := retry(ctx, func() error {
		return q.QueryRowContext(ctx, `SELECT max(rowid) - min(rowid) + 1 FROM `+s.qualified(n)).Scan(&rows)
	})
	return rows.Int64, err
}

// walkSQL deletes the expired rows among a range of rowids, at most
// ?4, and returns their rowids. Its parameters are the rowid after which
// it starts, the last rowid of the range, the grace in microseconds, and
// the most rows it deletes.
var walkSQL = `DELETE FROM %[1]s
WHERE rowid IN (
    SELECT rowid FROM %[1]s
    WHERE rowid > ?1 AND rowid <= ?2
      AND %[1]s."ExpiresAtTime" < ` + nowFmt + ` - ?3
    ORDER BY rowid
    LIMIT ?4)
RETURNING rowid`

// walkRangeSQL is walkSQL when the limit cannot bind: one
// pass over the range, a quarter faster.
var walkRangeSQL = `DELETE FROM %[1]s
WHERE rowid > ?1 AND rowid <= ?2
  AND %[1]s."ExpiresAtTime" < ` + nowFmt + ` - ?3`

// DeleteExpiredFrom walks span rowids at a time; a position is a rowid.
func (s Dialect) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (deleted int64, next string, err error) {
	err = retry(ctx, func() error {
		deleted, next, err = s.deleteExpiredFrom(ctx, q, n, grace, from, span, limit)
		return err
	})
	return deleted, next, err
}

func (s Dialect) deleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	var after int64 = math.MinInt64
	if from != "" {
		var err error
		if after, err = strconv.ParseInt(from, 10, 64); err != nil {
			return 0, "", fmt.Errorf("walking %s: bad position %q", s.qualified(n), from)
		}
	}
	var last sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(rowid) FROM `+s.qualified(n)).Scan(&last); err != nil {
		return 0, "", err
	}
	if !last.Valid || after >= last.Int64 {
		return 0, "", nil
	}
	if after == math.MinInt64 {
		if err := q.QueryRowContext(ctx, `SELECT min(rowid) - 1 FROM `+s.qualified(n)).Scan(&after); err != nil {
			return 0, "", err
		}
	}
	end := last.Int64
	if int64(span) < end-after {
		end = after + int64(max(span, 1))
	}
	if int64(limit) >= end-after {
		// The range holds no more rows than the limit: delete them all.
		res, err := q.ExecContext(ctx, fmt.Sprintf(walkRangeSQL, s.qualified(n)), after, end, grace.Microseconds())
		if err != nil {
			return 0, "", err
		}
		deleted, err := res.RowsAffected()
		if err != nil || end >= last.Int64 {
			return deleted, "", err
		}
		return deleted, strconv.FormatInt(end, 10), nil
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(walkSQL, s.qualified(n)), after, end, grace.Microseconds(), limit)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	deleted, maxRowid := int64(0), int64(math.MinInt64)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return deleted, "", err
		}
		deleted++
		maxRowid = max(maxRowid, id)
	}
	if err := rows.Err(); err != nil {
		return deleted, "", err
	}
	switch {
	case deleted >= int64(limit):
		return deleted, strconv.FormatInt(maxRowid, 10), nil
	case end >= last.Int64:
		return deleted, "", nil
	}
	return deleted, strconv.FormatInt(end, 10), nil
}
