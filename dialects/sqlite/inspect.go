package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

func (Dialect) SchemaExists(_ context.Context, _ dialects.Querier, schema string) (bool, error) {
	return schema == "main", nil
}

// Inspect reads the catalog in several statements, not in one snapshot: a
// table that another connection drops (or makes) between two of them is
// read again from the start, a few times, so that a create racing a drop
// sees one or the other, never half of each.
func (s Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (info *dialects.TableInfo, err error) {
	for range 3 {
		err = retry(ctx, func() error {
			info, err = s.inspect(ctx, q, n)
			return err
		})
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	return info, err
}

func (s Dialect) inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing}
	var kind string
	err := q.QueryRowContext(ctx, `SELECT type, name FROM `+s.Quote(n.Schema)+`.sqlite_master
		WHERE name = ? COLLATE NOCASE AND type IN ('table', 'view')`, n.Table).Scan(&kind, &info.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return info, s.inspectVersion(ctx, q, n, info)
	case err != nil:
		return nil, fmt.Errorf("reading the catalog for %s: %w", s.qualified(n), err)
	}
	info.Kind = dialects.KindTable
	if kind == "view" {
		info.Kind = dialects.KindView
	}
	if err := s.inspectColumns(ctx, q, n, info); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", s.qualified(n), err)
	}
	if err := s.inspectIndexes(ctx, q, n, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", s.qualified(n), err)
	}
	if info.Kind == dialects.KindTable {
		if err := s.inspectStorage(ctx, q, n, info); err != nil {
			return nil, fmt.Errorf("reading how %s stores its rows: %w", s.qualified(n), err)
		}
		markRowIDAlias(info)
	}
	return info, s.inspectVersion(ctx, q, n, info)
}

// markRowIDAlias marks the table's INTEGER PRIMARY KEY, in a table with a
// rowid, as a column with a default: it is the rowid, which SQLite numbers
// when an insert leaves it out (the key ring's Id, AUTOINCREMENT or not).
func markRowIDAlias(info *dialects.TableInfo) {
	if info.WithoutRowID || len(info.PrimaryKey) != 1 {
		return
	}
	for i := range info.Columns {
		if c := &info.Columns[i]; c.Name == info.PrimaryKey[0] && c.Type == "integer" && c.Length == 0 {
			c.HasDefault = true
		}
	}
}

// inspectStorage reads whether the table has a rowid and is STRICT, and,
// for a table that is not, whether a row holds an expiry that is text or a
// blob: the largest ExpiresAtTime is one if any is (SQLite sorts numbers
// before text, text before blobs), and with a usable expiry index finding
// it is one probe. Without one, a scan that stops at the first such row
// (the whole table when there is none, as every purge of it reads).
func (s Dialect) inspectStorage(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var withoutRowID, strict bool
	if err := q.QueryRowContext(ctx, `SELECT wr, strict FROM pragma_table_list WHERE schema = ? AND name = ?`,
		n.Schema, info.Name).Scan(&withoutRowID, &strict); err != nil {
		return err
	}
	info.WithoutRowID, info.NotStrict = withoutRowID, !strict
	if !info.NotStrict || !slices.ContainsFunc(info.Columns, func(c dialects.Column) bool { return strings.EqualFold(c.Name, dialects.ColExpiresAtTime) }) {
		return nil // a STRICT table refuses a text in an INTEGER column
	}
	expiry := s.qualified(n) + `."ExpiresAtTime"`
	if _, indexed := info.ExpiryIndex(); !indexed {
		return q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.qualified(n)+
			` WHERE typeof(`+expiry+`) IN ('text', 'blob') LIMIT 1)`).Scan(&info.NonIntegerExpiry)
	}
	var typ string
	if err := q.QueryRowContext(ctx, `SELECT typeof((SELECT max(`+expiry+`) FROM `+s.qualified(n)+`))`).Scan(&typ); err != nil {
		return err
	}
	info.NonIntegerExpiry = typ == "text" || typ == "blob"
	return nil
}

func (s Dialect) inspectColumns(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk
		FROM pragma_table_info(?, ?) ORDER BY cid`, n.Table, n.Schema)
	if err != nil {
		return err
	}
	defer rows.Close()
	type pkCol struct {
		name string
		pos  int
	}
	var pk []pkCol
	for rows.Next() {
		var c dialects.Column
		var declared string
		var notNull bool
		var pos int
		if err := rows.Scan(&c.Name, &declared, &notNull, &c.HasDefault, &pos); err != nil {
			return err
		}
		c.Name = dialects.CanonicalColumn(s, c.Name)
		c.Type, c.Length = splitDeclaredType(declared)
		c.Nullable = !notNull
		info.Columns = append(info.Columns, c)
		if pos > 0 {
			pk = append(pk, pkCol{c.Name, pos})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 1; i <= len(pk); i++ {
		for _, c := range pk {
			if c.pos == i {
				info.PrimaryKey = append(info.PrimaryKey, c.name)
			}
		}
	}
	return nil
}

// splitDeclaredType turns a declared type such as "VARCHAR(449)" into
// "varchar" and 449.
func splitDeclaredType(t string) (string, int) {
	t = strings.ToLower(strings.TrimSpace(t))
	base, rest, ok := strings.Cut(t, "(")
	if !ok {
		return t, 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), ")")))
	return strings.TrimSpace(base), n
}

func (s Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, `SELECT il.name, il."unique", il.origin = 'pk', il.partial, COALESCE(ix.name, ''), COALESCE(ix.coll, '')
		FROM pragma_index_list(?1, ?2) AS il, pragma_index_xinfo(il.name, ?2) AS ix
		WHERE ix.key = 1
		ORDER BY il.name, ix.seqno`, n.Table, n.Schema)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, col, coll string
		var unique, primary, partial bool
		if err := rows.Scan(&name, &unique, &primary, &partial, &col, &coll); err != nil {
			return err
		}
		col = dialects.CanonicalColumn(s, col)
		ix := info.AddIndexColumn(name, primary, unique, col)
		if len(ix.Columns) == 1 {
			switch {
			case partial:
				ix.Unusable = "it is a partial index (it has a WHERE clause), so it does not hold every row a purge must find"
			case !strings.EqualFold(coll, "BINARY"):
				// The planner reads an index only for comparisons in its
				// collation: the purge's compare the column's, BINARY.
				ix.Unusable = fmt.Sprintf("its first key is in collation %s, and the purge compares %s in BINARY, so it cannot read it", coll, s.Quote(dialects.ColExpiresAtTime))
			}
			ix.Drop = "DROP INDEX IF EXISTS " + s.Quote(n.Schema) + "." + s.Quote(name) + ";"
		}
		// A primary key's index carries its column's collation.
		if primary {
			for i := range info.Columns {
				if info.Columns[i].Name == col {
					info.Columns[i].Collation = coll
				}
			}
		}
	}
	return rows.Err()
}

func (s Dialect) inspectVersion(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM `+s.Quote(n.Schema)+`.sqlite_master
		WHERE name = ? COLLATE NOCASE AND type = 'table'`, n.VersionTable).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog for %s: %w", s.Quote(n.VersionTable), err)
	}
	info.VersionTable = true
	v, err := dialects.ReadVersion(ctx, q, s.Quote(n.Schema)+"."+s.Quote(n.VersionTable))
	if err != nil {
		// A drop between the two reads (it takes create's lock, which
		// this look before the lock does not): the table is not there.
		var still string
		if errors.Is(q.QueryRowContext(ctx, `SELECT name FROM `+s.Quote(n.Schema)+`.sqlite_master
		WHERE name = ? COLLATE NOCASE AND type = 'table'`, n.VersionTable).Scan(&still), sql.ErrNoRows) {
			info.VersionTable = false
			return nil
		}
		return fmt.Errorf("reading the version table %s: %w", s.Quote(n.VersionTable), err)
	}
	info.Version = v
	return nil
}

// FixSQL: SQLite cannot change a column in place, only add one; and a
// table is made again (ProblemRebuild) in sessctl's layout, with a rowid
// and STRICT, its rows copied over in one transaction: a row that STRICT
// refuses (a time written as text) fails it, and nothing is changed.
func (s Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	switch {
	case problem == dialects.ProblemMissing && c.Null == dialects.Nullable:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", s.qualified(n), c.Definition)
	case problem == dialects.ProblemRebuild:
		var defs, cols []string
		for _, c := range s.Columns() {
			defs = append(defs, c.Definition)
			cols = append(cols, s.Quote(c.Name))
		}
		tmp := n.Table + "_sessctl_rebuild"
		list := strings.Join(cols, ", ")
		return fmt.Sprintf("BEGIN IMMEDIATE; CREATE TABLE %[1]s (%[2]s) STRICT; INSERT INTO %[1]s (%[3]s) SELECT %[3]s FROM %[4]s; "+
			"DROP TABLE %[4]s; ALTER TABLE %[1]s RENAME TO %[5]s; CREATE INDEX %[6]s ON %[5]s (%[7]s); COMMIT;",
			s.Quote(n.Schema)+"."+s.Quote(tmp), strings.Join(defs, ", "), list, s.qualified(n), s.Quote(n.Table),
			s.Quote(n.Schema)+"."+s.Quote(n.ExpiryIndex), s.Quote(dialects.ColExpiresAtTime))
	}
	return ""
}

var _ dialects.NameHolder = Dialect{}

// NamesHeld: SQLite compares names without regard to ASCII case. A
// constraint's name (the key ring's PK_<table>) is no object in SQLite,
// and no other object holds it: it is not looked up.
func (s Dialect) NamesHeld(ctx context.Context, q dialects.Querier, n dialects.Names, names []string) ([]dialects.HeldName, error) {
	if n.PrimaryKey != "" {
		names = slices.DeleteFunc(slices.Clone(names), func(name string) bool { return name == n.PrimaryKey })
	}
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
