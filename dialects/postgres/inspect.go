package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sessctl/sessctl/dialects"
)

// once is the first argument of a statement a command runs once (the
// catalog reads, the purge lock, the count at the end): pgx then sends it
// in one round trip, parameters typed by their Go types, rather than
// preparing it first, which takes a second. A purge with nothing to do is
// mostly such statements, each waiting to be scheduled on a busy server.
// (Purge batches, run again and again, keep pgx's prepared statements.)
const once = pgx.QueryExecModeExec

func (Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, schema).Scan(&ok)
	return ok, err
}

const relationQuery = `
SELECT c.oid, c.relkind, c.relname, c.relpersistence = 'u'
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

const columnsQuery = `
SELECT a.attname,
       pg_catalog.format_type(a.atttypid, NULL),
       CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.atttypmod > 4 THEN a.atttypmod - 4
            WHEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN CASE WHEN a.atttypmod >= 0 THEN a.atttypmod ELSE 6 END
            ELSE 0 END,
       NOT a.attnotnull,
       a.atthasdef OR a.attidentity <> '',
       COALESCE(co.collname, ''),
       COALESCE(co.collisdeterministic, true)
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

// indexesQuery reads every index's key columns in order (an expression
// reads as ""), with what decides whether a purge can read it: its access
// method, whether it is valid, ready and live (an unfinished CREATE INDEX
// CONCURRENTLY leaves it not), and whether it has a predicate.
const indexesQuery = `
SELECT ic.relname, x.indisprimary, x.indisunique, COALESCE(a.attname, ''),
       am.amname, x.indisvalid AND x.indisready AND x.indislive, x.indpred IS NOT NULL
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
WHERE x.indrelid = $1 AND k.ord <= x.indnkeyatts
ORDER BY ic.relname, k.ord`

// Inspect reads the catalog in several statements, not in one snapshot: a
// table or version table another session drops between two of them (a
// drop racing a create's first look) is read again from the start, a few
// times, so that the caller sees it there or gone, never half of each.
func (p Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (info *dialects.TableInfo, err error) {
	for range 3 {
		info, err = p.inspect(ctx, q, n)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != undefinedTable {
			break
		}
	}
	return info, err
}

// undefinedTable is SQLSTATE 42P01: a relation named in a statement is not
// there (dropped since the catalog was read).
const undefinedTable = "42P01"

func (p Dialect) inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info, err := p.InspectTable(ctx, q, n)
	if err != nil {
		return nil, err
	}
	if err := p.inspectPrivileges(ctx, q, n, info); err != nil {
		return nil, err
	}
	return info, p.inspectVersion(ctx, q, n, info)
}

// inspectPrivileges reads which of the privileges the app's provider needs
// the current role lacks, on the table and its schema.
func (p Dialect) inspectPrivileges(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var user string
	var usage bool
	var has [4]bool
	err := q.QueryRowContext(ctx, `SELECT current_user, has_schema_privilege(s.oid, 'USAGE'),
       COALESCE(has_table_privilege(c.oid, 'SELECT'), false), COALESCE(has_table_privilege(c.oid, 'INSERT'), false),
       COALESCE(has_table_privilege(c.oid, 'UPDATE'), false), COALESCE(has_table_privilege(c.oid, 'DELETE'), false)
  FROM pg_catalog.pg_namespace s LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid AND c.relname = $2
 WHERE s.nspname = $1`, once, n.Schema, n.Table).Scan(&user, &usage, &has[0], &has[1], &has[2], &has[3])
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the privileges on %s: %w", p.qualified(n), err)
	}
	info.User = p.Quote(user)
	var grants []string
	if !usage {
		info.MissingPrivileges = append(info.MissingPrivileges, "USAGE on schema "+p.Quote(n.Schema))
		grants = append(grants, "GRANT USAGE ON SCHEMA "+p.Quote(n.Schema)+" TO "+info.User+";")
	}
	if info.Kind == dialects.KindTable {
		var table []string
		for i, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			if !has[i] {
				table = append(table, priv)
			}
		}
		if len(table) > 0 {
			info.MissingPrivileges = append(info.MissingPrivileges, strings.Join(table, ", ")+" on "+p.qualified(n))
			grants = append(grants, "GRANT "+strings.Join(table, ", ")+" ON "+p.qualified(n)+" TO "+info.User+";")
		}
	}
	info.PrivilegeGrant = strings.Join(grants, " ")
	return nil
}

var _ dialects.TableInspector = Dialect{}

func (p Dialect) InspectTable(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing, Expiry: n.Expiry}
	var oid uint32
	var kind string
	err := q.QueryRowContext(ctx, relationQuery, once, n.Schema, n.Table).Scan(&oid, &kind, &info.Name, &info.Unlogged)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return info, nil
	case err != nil:
		return nil, fmt.Errorf("reading the catalog for %s: %w", p.qualified(n), err)
	}
	switch kind {
	case "r", "p":
		info.Kind = dialects.KindTable
	case "v", "m":
		info.Kind = dialects.KindView
	default:
		info.Kind = dialects.KindOther
	}
	info.Partitioned = kind == "p"
	if err := p.inspectColumns(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", p.qualified(n), err)
	}
	if err := p.inspectIndexes(ctx, q, oid, n, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", p.qualified(n), err)
	}
	return info, nil
}

func (Dialect) inspectColumns(ctx context.Context, q dialects.Querier, oid uint32, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, columnsQuery, once, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c dialects.Column
		var deterministic bool
		if err := rows.Scan(&c.Name, &c.Type, &c.Length, &c.Nullable, &c.HasDefault, &c.Collation, &deterministic); err != nil {
			return err
		}
		if !deterministic {
			c.Collation += nondeterministic
		}
		info.Columns = append(info.Columns, c)
	}
	return rows.Err()
}

func (p Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, oid uint32, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, indexesQuery, once, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, col, method string
		var primary, unique, valid, partial bool
		if err := rows.Scan(&name, &primary, &unique, &col, &method, &valid, &partial); err != nil {
			return err
		}
		ix := info.AddIndexColumn(name, primary, unique, col)
		if len(ix.Columns) == 1 {
			ix.Unusable, ix.Fix = p.unusable(n, name, method, valid, partial)
			ix.Drop = "DROP INDEX CONCURRENTLY IF EXISTS " + p.Quote(n.Schema) + "." + p.Quote(name) + ";"
		}
	}
	return rows.Err()
}

// unusable says why the purge's range scan cannot read an index, and how
// to mend it in place where that can be done.
func (p Dialect) unusable(n dialects.Names, name, method string, valid, partial bool) (why, fix string) {
	switch {
	case method != "btree":
		return fmt.Sprintf("it is a %s index, and only a B-tree returns a range of %s in order", method, p.Quote(n.Expiry)), ""
	case partial:
		return "it is a partial index (it has a WHERE clause), so it does not hold every row a purge must find", ""
	case !valid:
		return "it is not valid: a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that did not finish left it, and the planner never reads it",
			"REINDEX INDEX CONCURRENTLY " + p.Quote(n.Schema) + "." + p.Quote(name) + ";"
	}
	return "", ""
}

func (p Dialect) inspectVersion(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var oid uint32
	var kind, name string
	var unlogged bool
	err := q.QueryRowContext(ctx, relationQuery, once, n.Schema, n.VersionTable).Scan(&oid, &kind, &name, &unlogged)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog for %s.%s: %w", p.Quote(n.Schema), p.Quote(n.VersionTable), err)
	}
	info.VersionTable = true
	v, err := dialects.ReadVersion(ctx, q, p.Quote(n.Schema)+"."+p.Quote(n.VersionTable))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == insufficientPrivilege {
		info.VersionUnreadable = true
		role := info.User
		if role == "" {
			role = "CURRENT_USER"
		}
		info.VersionGrant = "GRANT SELECT ON " + p.Quote(n.Schema) + "." + p.Quote(n.VersionTable) + " TO " + role + ";"
		if !strings.Contains(info.PrivilegeGrant, "GRANT USAGE") {
			// The version table's schema is the table's: USAGE, if missing, is granted with the table's privileges.
		} else {
			info.VersionGrant = "GRANT USAGE ON SCHEMA " + p.Quote(n.Schema) + " TO " + role + "; " + info.VersionGrant
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the version table %s: %w", p.Quote(n.VersionTable), err)
	}
	info.Version = v
	return nil
}

func (p Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	t, col := p.qualified(n), p.Quote(c.Name)
	switch problem {
	case dialects.ProblemMissing:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", t, c.Definition)
	case dialects.ProblemType:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;", t, col, c.Types[0], col, c.Types[0])
	case dialects.ProblemCollation:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE %s;", t, col, c.Types[0], c.Collation)
	case dialects.ProblemNotNull:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, col)
	case dialects.ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, col)
	}
	return ""
}

var _ dialects.NameHolder = Dialect{}

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
