package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.Walker = Dialect{}

// StoredRows is InnoDB's estimate of the table's rows.
func (m Dialect) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		n.Schema, n.Table).Scan(&rows)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return rows.Int64, err
}

// walkSQL reads the next rows in primary key order, with whether each
// has expired: a plain read, as expiredSQL. Its parameter is the Id
// after which it starts.
const walkSQL = "SELECT `Id`, `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
	"FROM %[1]s\n" +
	"%[4]s\n" +
	"ORDER BY `Id`\n" +
	"LIMIT %[3]s"

// DeleteExpiredFrom walks span rows at a time in primary key order, the
// order InnoDB stores them in; a position is an Id. It reads the span with
// a plain read and deletes its expired rows by primary key, as
// DeleteExpired does, passing over the rows another session holds.
func (m Dialect) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	where, args := "", []any(nil)
	if from != "" {
		where, args = "WHERE `Id` > ?", []any{from}
	}
	span = max(span, 1)
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, "", err
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(walkSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(span), where), args...)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	var ids []any
	var last string
	read := 0
	for rows.Next() && len(ids) < limit {
		var expired bool
		if err := rows.Scan(&last, &expired); err != nil {
			return 0, "", err
		}
		read++
		if expired && !s.held[last] {
			ids = append(ids, last)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	rows.Close()
	next := last
	if read < span && len(ids) < limit {
		next = "" // the end of the table
	}
	if len(ids) == 0 {
		return 0, next, nil
	}
	deleted, err := m.deleteIDs(ctx, q, n, grace, ids, s)
	if err != nil {
		return deleted, "", err
	}
	return deleted, next, nil
}
