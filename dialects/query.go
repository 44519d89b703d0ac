package dialects

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// explainRows runs an EXPLAIN and joins its rows.
func ExplainRows(ctx context.Context, q Querier, query string, args ...any) (string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		parts := make([]string, 0, len(vals))
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, v.String)
			}
		}
		lines = append(lines, strings.Join(parts, " | "))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scanIDs reads the Ids rows holds (a query of one text column).
func ScanIDs(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func IgnoreNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}
