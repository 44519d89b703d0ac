package dialects

import (
	"context"
	"database/sql"
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
