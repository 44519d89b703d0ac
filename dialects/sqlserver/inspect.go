package sqlserver

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

func (Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sys.schemas WHERE schema_id = SCHEMA_ID(@p1)`, schema).Scan(&n)
	return n > 0, err
}

// objectQuery finds a schema's object by its quoted two-part name
// (@p1), as the server itself resolves names: OBJECT_ID compares them as
// the database's collation does, on both engines. It sees only what the
// user may see; the app's user sees its own table.
const objectQuery = `
SELECT o.object_id, RTRIM(o.type), CAST(o.name AS nvarchar(128))
FROM sys.objects AS o
WHERE o.object_id = OBJECT_ID(@p1)`

// columnsQuery reads each column's base type (an alias type reads
// as the system type it stands for), its length in bytes (-1: max), and
// whether an insert that leaves it out still works.
const columnsQuery = `
SELECT c.column_id,
       CAST(c.name AS nvarchar(128)),
       COALESCE(bt.name, t.name),
       c.max_length,
       c.is_nullable,
       CAST(CASE WHEN c.default_object_id <> 0 OR c.is_identity = 1 OR c.is_computed = 1
                   OR t.name IN (N'timestamp', N'rowversion') THEN 1 ELSE 0 END AS bit),
       COALESCE(c.collation_name, N'')
FROM sys.columns AS c
JOIN sys.types AS t ON t.user_type_id = c.user_type_id
LEFT JOIN sys.types AS bt ON bt.user_type_id = c.system_type_id
WHERE c.object_id = @p1
ORDER BY c.column_id`

// indexesQuery reads each index's key columns in order, with what
// decides whether a purge can read it: its type, whether it is filtered,
// and whether it is disabled. Hypothetical indexes (the Database Engine
// Tuning Advisor's) are no indexes and are left out. Included columns and
// columnstore indexes have key_ordinal 0. %s is whether the index is
// filtered: catalog.filtered.
const indexesQuery = `
SELECT CAST(i.name AS nvarchar(128)), i.is_primary_key, i.is_unique, ic.column_id, CAST(c.name AS nvarchar(128)),
       i.type, i.type_desc, CAST(%s AS bit), i.is_disabled
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.object_id = @p1 AND i.is_hypothetical = 0 AND ic.key_ordinal > 0
ORDER BY i.index_id, ic.key_ordinal`

func (s Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info, err := s.InspectTable(ctx, q, n)
	if err != nil {
		return nil, err
	}
	return info, s.inspectVersion(ctx, q, n, info)
}

var _ dialects.TableInspector = Dialect{}

func (s Dialect) InspectTable(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing, Expiry: n.Expiry}
	cat, err := catalogOf(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog for %s: %w", s.qualified(n), err)
	}
	id, kind, name, err := cat.object(ctx, q, n.Schema, n.Table)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return info, nil
	case err != nil:
		return nil, fmt.Errorf("reading the catalog for %s: %w", s.qualified(n), err)
	}
	info.Name = name
	switch kind {
	case "U":
		info.Kind = dialects.KindTable
	case "V":
		info.Kind = dialects.KindView
	default:
		info.Kind = dialects.KindOther
	}
	if err := s.inspectColumns(ctx, q, cat, id, info); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", s.qualified(n), err)
	}
	if err := s.inspectIndexes(ctx, q, cat, id, n, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", s.qualified(n), err)
	}
	return info, nil
}

func (Dialect) inspectColumns(ctx context.Context, q dialects.Querier, cat *catalog, id int64, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, columnsQuery, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c dialects.Column
		var colID, bytes int
		if err := rows.Scan(&colID, &c.Name, &c.Type, &bytes, &c.Nullable, &c.HasDefault, &c.Collation); err != nil {
			return err
		}
		c.Name = cat.column(colID, c.Name)
		c.Type = strings.ToLower(c.Type)
		c.Length = declaredLength(c.Type, bytes)
		info.Columns = append(info.Columns, c)
	}
	return rows.Err()
}

// declaredLength turns sys.columns.max_length, in bytes, into the length
// the type is declared with: characters for nchar and nvarchar (two bytes
// each), bytes for the others; -1 stays MAX; 0 for types without a length.
func declaredLength(typ string, bytes int) int {
	switch typ {
	case "nvarchar", "nchar":
		if bytes < 0 {
			return -1
		}
		return bytes / 2
	case "varchar", "char", "varbinary", "binary":
		return bytes
	}
	return 0
}

func (s Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, cat *catalog, id int64, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(indexesQuery, cat.filtered()), id)
	if err != nil {
		return err
	}
	defer rows.Close()
	var disabledOther []string
	for rows.Next() {
		var name, col, typeDesc string
		var typ, colID int
		var primary, unique, filtered, disabled bool
		if err := rows.Scan(&name, &primary, &unique, &colID, &col, &typ, &typeDesc, &filtered, &disabled); err != nil {
			return err
		}
		name, col = cat.index(name, n), cat.column(colID, col)
		ix := info.AddIndexColumn(name, primary, unique, col)
		if len(ix.Columns) == 1 {
			ix.Unusable, ix.Fix = s.unusable(n, name, typ, typeDesc, filtered, disabled)
			ix.Drop = fmt.Sprintf("DROP INDEX %s ON %s;", s.Quote(name), s.qualified(n))
			if disabled && col != expiryOf(n) {
				disabledOther = append(disabledOther, name)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// A disabled expiry index is an unusable one; any other is a note.
	for _, name := range disabledOther {
		info.Notes = append(info.Notes, fmt.Sprintf("the index %s is disabled, so nothing reads or maintains it: ALTER INDEX %s ON %s REBUILD;",
			s.Quote(name), s.Quote(name), s.qualified(n)))
	}
	return nil
}

// unusable says why the purge's range scan cannot read an index, and how
// to mend it in place where that can be done. Types 1 and 2 are the
// clustered and nonclustered B-trees (on a memory-optimized table, 2 is
// its range index); 7 is a memory-optimized hash index.
func (s Dialect) unusable(n dialects.Names, name string, typ int, typeDesc string, filtered, disabled bool) (why, fix string) {
	switch {
	case typ != 1 && typ != 2:
		return fmt.Sprintf("it is a %s index, and only a B-tree returns a range of %s in order", strings.ToLower(typeDesc), expiryOf(n)), ""
	case filtered:
		return "it is a filtered index (it has a WHERE clause), so it does not hold every row a purge must find", ""
	case disabled:
		return "it is disabled, so nothing reads or maintains it",
			fmt.Sprintf("ALTER INDEX %s ON %s REBUILD;", s.Quote(name), s.qualified(n))
	}
	return "", ""
}

func (s Dialect) inspectVersion(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var id int64
	var kind, name string
	err := q.QueryRowContext(ctx, objectQuery, s.versionTable(n)).Scan(&id, &kind, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog for %s: %w", s.versionTable(n), err)
	}
	info.VersionTable = true
	var v dialects.Version
	err = q.QueryRowContext(ctx, `SELECT TOP (1) version, dirty FROM `+s.versionTable(n)).Scan(&v.Version, &v.Dirty)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		if errorNumber(err) == permissionDenied {
			info.Notes = append(info.Notes, fmt.Sprintf("the version table %s exists but this user may not read it", s.Quote(n.VersionTable)))
			return nil
		}
		return fmt.Errorf("reading the version table %s: %w", s.Quote(n.VersionTable), err)
	}
	info.Version = &v
	return nil
}

// FixSQL: the key (Id) is the primary key and the expiry column
// (ExpiresAtTime) is in the expiry index, and SQL Server will not alter a
// column an index depends on; for those the fix is to re-create the table.
func (s Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	if c.Name == keyOf(n) || c.Name == expiryOf(n) {
		return ""
	}
	t := s.qualified(n)
	switch problem {
	case dialects.ProblemMissing:
		if c.Null == dialects.Nullable {
			return fmt.Sprintf("ALTER TABLE %s ADD %s;", t, c.Definition)
		}
	case dialects.ProblemType, dialects.ProblemNotNull, dialects.ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s;", t, c.Definition)
	case dialects.ProblemDefault:
		if _, def, ok := strings.Cut(c.Definition, " DEFAULT "); ok {
			return fmt.Sprintf("ALTER TABLE %s ADD DEFAULT %s FOR %s;", t, def, s.Quote(c.Name))
		}
	}
	return ""
}

// keyOf and expiryOf are n's key and expiry columns, the cache table's
// where n names none (Names built by hand).
func keyOf(n dialects.Names) string { return cmp.Or(n.Key, dialects.ColID) }

func expiryOf(n dialects.Names) string { return cmp.Or(n.Expiry, dialects.ColExpiresAtTime) }
