package dialects

// TEMPORARY (part B's testing; part A owns the catalog and replaces this):
// Babelfish gives sys.* names lower-cased, and index names hash-suffixed
// (tds/README.md, first row), so Inspect would see [id], not [Id]. This
// re-reads the column names from INFORMATION_SCHEMA, which keeps the case,
// and gives back the expiry index its own name.

import (
	"context"
	"strings"
)

func (s sqlserver) tempBabelfishNames(ctx context.Context, q Querier, n Names, info *TableInfo) error {
	var bbf int
	if err := q.QueryRowContext(ctx, `SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int)`).Scan(&bbf); err != nil || bbf != 1 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2`, n.Schema, n.Table)
	if err != nil {
		return err
	}
	defer rows.Close()
	real := map[string]string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		real[strings.ToLower(c)] = c
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fix := func(c string) string {
		if r, ok := real[strings.ToLower(c)]; ok {
			return r
		}
		return c
	}
	info.Name = n.Table
	for i := range info.Columns {
		info.Columns[i].Name = fix(info.Columns[i].Name)
	}
	for i := range info.Indexes {
		ix := &info.Indexes[i]
		for j := range ix.Columns {
			ix.Columns[j] = fix(ix.Columns[j])
		}
		if strings.HasPrefix(ix.Name, strings.ToLower(n.ExpiryIndex+n.Table)) {
			ix.Name = n.ExpiryIndex
		}
	}
	return nil
}
