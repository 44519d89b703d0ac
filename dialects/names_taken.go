package dialects

import (
	"context"
	"strings"
)

// NameHolder is a dialect whose derived names (Names.PrimaryKey,
// Names.ExpiryIndex) live in a namespace wider than the table's, where
// another table's object can hold them: PostgreSQL's indexes (a primary
// key's too) share their schema's namespace with its tables, views and
// sequences; SQLite's indexes share the database's with its tables and
// views. (MySQL's index names are the table's own, and its primary key is
// always PRIMARY.)
type NameHolder interface {
	// NamesHeld returns the objects that hold any of names in the table's
	// namespace, the table's own indexes among them.
	NamesHeld(ctx context.Context, q Querier, n Names, names []string) ([]HeldName, error)
}

// HeldName is an object holding a name: its kind (index, table, view,
// sequence, …) and, for an index, the table it belongs to.
type HeldName struct {
	Name, Kind, Table string
}

var (
	_ NameHolder = postgres{}
	_ NameHolder = sqlite{}
)

func (postgres) NamesHeld(ctx context.Context, q Querier, n Names, names []string) ([]HeldName, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname,
		CASE c.relkind WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'r' THEN 'table' WHEN 'p' THEN 'table'
			WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
			WHEN 'c' THEN 'composite type' ELSE 'relation' END,
		COALESCE(t.relname, '')
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
	LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
	LEFT JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
	WHERE s.nspname = $1 AND c.relname = ANY ($2::text[])`, pgOnce, n.Schema, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held []HeldName
	for rows.Next() {
		var h HeldName
		if err := rows.Scan(&h.Name, &h.Kind, &h.Table); err != nil {
			return nil, err
		}
		held = append(held, h)
	}
	return held, rows.Err()
}

// NamesHeld: SQLite compares names without regard to ASCII case.
func (s sqlite) NamesHeld(ctx context.Context, q Querier, n Names, names []string) ([]HeldName, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, CASE type WHEN 'index' THEN tbl_name ELSE '' END
		FROM `+s.Quote(n.Schema)+`.sqlite_master WHERE type IN ('table', 'index', 'view') AND name COLLATE NOCASE IN (SELECT value FROM json_each(?))`,
		jsonIDs(names))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held []HeldName
	for rows.Next() {
		var h HeldName
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
