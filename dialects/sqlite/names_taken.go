package sqlite

import (
	"context"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/postgres"
)

var (
	_ dialects.NameHolder = postgres.Dialect{}
	_ dialects.NameHolder = Dialect{}
)

// NamesHeld: SQLite compares names without regard to ASCII case.
func (s Dialect) NamesHeld(ctx context.Context, q dialects.Querier, n dialects.Names, names []string) ([]dialects.HeldName, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, CASE type WHEN 'index' THEN tbl_name ELSE '' END
		FROM `+s.Quote(n.Schema)+`.sqlite_master WHERE type IN ('table', 'index', 'view') AND name COLLATE NOCASE IN (SELECT value FROM json_each(?))`,
		jsonIDs(names))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held []dialects.HeldName
	for rows.Next() {
		var h dialects.HeldName
		if err := rows.Scan(&h.Name, &h.Kind, &h.Table); err != nil {
			return nil, err
		}
		if strings.EqualFold(h.Table, n.Table) {
			h.Table = n.Table
		}
		held = append(held, h)
	}
	return held, rows.Err()
}
