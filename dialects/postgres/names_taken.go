package postgres

import (
	"context"

	"github.com/sessctl/sessctl/dialects"
)

func (Dialect) NamesHeld(ctx context.Context, q dialects.Querier, n dialects.Names, names []string) ([]dialects.HeldName, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname,
		CASE c.relkind WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'r' THEN 'table' WHEN 'p' THEN 'table'
			WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
			WHEN 'c' THEN 'composite type' ELSE 'relation' END,
		COALESCE(t.relname, '')
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
	LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
	LEFT JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
	WHERE s.nspname = $1 AND c.relname = ANY ($2::text[])`, once, n.Schema, names)
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
		held = append(held, h)
	}
	return held, rows.Err()
}
