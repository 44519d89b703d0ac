package sqlserver

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/golang-migrate/migrate/v4/database"
	sqlservermigrate "github.com/golang-migrate/migrate/v4/database/sqlserver"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/sessctl/sessctl/dialects"
)

// sqlserver is SQL Server and Azure SQL through go-mssqldb, with exactly the
// table `dotnet sql-cache create` makes, which Microsoft.Extensions.Caching.
// SqlServer reads and writes.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

// sqlserverMaxName is the length of sysname, nvarchar(128), in UTF-16 code
// units: SQL Server refuses longer names.
const sqlserverMaxName = 128

// sqlserverMaxBatch is the most rows one DELETE statement of a purge
// removes. SQL Server escalates a statement's row locks to a lock on the
// whole table once it holds 5,000 on one index, and that lock would block
// every app session; 4,000 keeps each statement well clear of it. A larger
// batch runs as several statements of at most this many rows, each its own
// transaction.
const sqlserverMaxBatch = 4000

// sqlserverDeadlockRetries is how often a purge statement chosen as a
// deadlock victim (it runs at low deadlock priority, so that the app wins)
// is tried again before purge gives up.
const sqlserverDeadlockRetries = 3

// SQL Server error numbers sessctl acts on.
const (
	mssqlPermissionDenied   = 229   // SELECT permission denied on an object
	mssqlShowplanDenied     = 262   // permission denied in database (SHOWPLAN)
	mssqlDeadlockVictim     = 1205  // chosen as deadlock victim
	mssqlCannotOpenDatabase = 4060  // the login's database does not exist or is not open to it
	mssqlNoServerAccess     = 916   // the login cannot access the database
	mssqlLoginFailed        = 18456 // wrong user or password
	mssqlAccountDisabled    = 18470
	mssqlPasswordExpired    = 18487
	mssqlMustChangePassword = 18488
	mssqlFirewall           = 40615 // Azure SQL: the client's address is not allowed
	mssqlSessionKilled      = 596   // the session is in the kill state (KILL)
	mssqlShutdown           = 6005  // SHUTDOWN is in progress
)

func (Dialect) Name() string { return "sqlserver" }

// CheckName also refuses ] and ': golang-migrate's sqlserver driver writes
// the version table's name as [schema].[table] without doubling ], and
// inside N'…' without doubling ', so such a name would break (or inject
// into) the SQL it sends. And a name that begins with # would make a
// temporary table, which vanishes with the session.
func (Dialect) CheckName(name string) error {
	if err := dialects.CheckName(name, sqlserverMaxName, "characters (UTF-16)", utf16Len); err != nil {
		return err
	}
	switch {
	case strings.ContainsAny(name, "]'"):
		return fmt.Errorf("%w %q: sessctl does not take ] or ' in SQL Server names: golang-migrate's sqlserver driver, "+
			"which records the version, splices the names into its SQL without escaping them", dialects.ErrInvalidName, name)
	case strings.HasPrefix(name, "#"):
		return fmt.Errorf("%w %q: a name that begins with # is a temporary table in SQL Server", dialects.ErrInvalidName, name)
	case strings.TrimRightFunc(name, unicode.IsSpace) != name:
		return fmt.Errorf("%w %q: SQL Server ignores trailing spaces in names", dialects.ErrInvalidName, name)
	}
	return nil
}

func (s Dialect) CheckSchema(schema string) error { return s.CheckName(schema) }

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, "[", "]") }

// QuoteLiteral writes a Unicode string literal.
func (Dialect) QuoteLiteral(s string) string { return "N" + dialects.QuoteWith(s, "'", "'") }

// Names: SQL Server names the primary key itself (PK__…), as `dotnet
// sql-cache create` leaves it, and index names are per table, so every
// cache table's index is Index_ExpiresAtTime, the name the dotnet tool
// gives it.
func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		ExpiryIndex:  "Index_ExpiresAtTime",
	}
}

func (s Dialect) qualified(n dialects.Names) string {
	return s.Quote(n.Schema) + "." + s.Quote(n.Table)
}

// sqlserverCollationOK accepts a collation under which keys that differ only
// in case, or only in accents, stay apart: case-sensitive (_CS_) or binary
// (_BIN, _BIN2), and not accent-insensitive (_AI).
func sqlserverCollationOK(c string) bool {
	parts := strings.Split(strings.ToUpper(c), "_")
	sensitive := false
	for _, p := range parts {
		switch p {
		case "CI", "AI":
			return false
		case "CS", "BIN", "BIN2":
			sensitive = true
		}
	}
	return sensitive
}

// Columns are those of `dotnet sql-cache create`. Its runtime binds Id as
// nvarchar(449): 449 characters keep the key within the 900 bytes of an
// index key.
func (Dialect) Columns() []dialects.ColumnSpec {
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"nvarchar"}, Length: 449, Null: dialects.NotNull,
			CollationOK: sqlserverCollationOK, Collation: "SQL_Latin1_General_CP1_CS_AS",
			Definition: "[Id] nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL"},
		{Name: dialects.ColValue, Types: []string{"varbinary"}, Length: -1, Null: dialects.NotNull,
			Definition: "[Value] varbinary(max) NOT NULL"},
		{Name: dialects.ColExpiresAtTime, Types: []string{"datetimeoffset"}, Null: dialects.NotNull,
			Definition: "[ExpiresAtTime] datetimeoffset NOT NULL"},
		{Name: dialects.ColSliding, Types: []string{"bigint"}, Null: dialects.Nullable,
			Definition: "[SlidingExpirationInSeconds] bigint NULL"},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"datetimeoffset"}, Null: dialects.Nullable,
			Definition: "[AbsoluteExpiration] datetimeoffset NULL"},
	}
}

// mssqlNumber is the SQL Server error number of err, or 0.
func mssqlNumber(err error) int32 {
	var me mssql.Error
	if errors.As(err, &me) {
		return me.Number
	}
	var mp *mssql.Error
	if errors.As(err, &mp) && mp != nil {
		return mp.Number
	}
	return 0
}

// Permanent: a refused login, a database that is not there or not open to
// the login, a firewall rule, a certificate the client does not accept and
// an Azure AD sign-in that failed do not go away by waiting.
func (Dialect) Permanent(err error) bool {
	switch mssqlNumber(err) {
	case mssqlLoginFailed, mssqlAccountDisabled, mssqlPasswordExpired, mssqlMustChangePassword,
		mssqlCannotOpenDatabase, mssqlNoServerAccess, mssqlFirewall:
		return true
	}
	return isCertificateError(err) || isAzureADError(err)
}

// Disconnected: the session was killed (596) or the server shut down
// (6005); a ServerError is a fatal error that severs the connection, and a
// StreamError a reply cut off mid-stream (it has no Unwrap, so the EOF
// inside it is not found by cutOff).
func (Dialect) Disconnected(err error) bool {
	switch mssqlNumber(err) {
	case mssqlSessionKilled, mssqlShutdown:
		return true
	}
	var se mssql.StreamError
	var fatal mssql.ServerError
	return errors.As(err, &se) || errors.As(err, &fatal) || dialects.CutOff(err)
}

// SQL Server error numbers of a privilege refused.
const (
	mssqlObjectNotFoundOrDenied = 1088 // cannot find the object, or no permission
	mssqlDropDenied             = 3701 // cannot drop: it does not exist, or no permission
)

// Denied: 229 (an object permission), 262 (a database permission, such as
// CREATE TABLE), 1088 and 3701 (no such object, or no permission on it).
func (s Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	switch mssqlNumber(err) {
	case mssqlPermissionDenied, mssqlShowplanDenied, mssqlObjectNotFoundOrDenied, mssqlDropDenied:
	case bbfError:
		if !s.lacks(ctx, q, op, n) {
			return "", false
		}
	default:
		return "", false
	}
	var user string
	u := "this user"
	if q.QueryRowContext(ctx, `SELECT USER_NAME()`).Scan(&user) == nil {
		u = s.Quote(user)
	}
	schema, table := s.Quote(n.Schema), s.qualified(n)
	switch op {
	case dialects.OpCreateSchema:
		return fmt.Sprintf("user %s may not create schema %s: GRANT CREATE SCHEMA TO %s, or have the database's owner run CREATE SCHEMA %s",
			u, schema, u, schema), true
	case "create":
		return fmt.Sprintf("user %s may not create tables in schema %s: GRANT CREATE TABLE TO %s; GRANT ALTER ON SCHEMA::%s TO %s, "+
			"or run create as the schema's owner", u, schema, u, schema, u), true
	case "drop":
		return fmt.Sprintf("user %s may not drop %s: GRANT ALTER ON SCHEMA::%s TO %s, or run drop as the owner", u, table, schema, u), true
	case "purge":
		return fmt.Sprintf("user %s may not purge %s: GRANT SELECT, DELETE ON %s TO %s", u, table, table, u), true
	}
	return fmt.Sprintf("user %s may not read %s: GRANT SELECT ON %s TO %s; GRANT SELECT ON %s TO %s; GRANT VIEW DEFINITION ON SCHEMA::%s TO %s",
		u, table, table, u, s.versionTable(n), u, schema, u), true
}

// bbfError is the number Babelfish gives the errors it has no SQL Server
// number for, a refused privilege among them (its text is PostgreSQL's,
// which sessctl does not read).
const bbfError = 33557097

// lacks asks the server, with HAS_PERMS_BY_NAME, whether this user lacks a
// permission op needs on the table of n: how a refused privilege is told
// on Babelfish, whose error has no number of its own (bbfError). An
// unanswered question is no answer.
func (s Dialect) lacks(ctx context.Context, q dialects.Querier, op string, n dialects.Names) bool {
	e, err := sqlserverEngineOf(ctx, q)
	if err != nil || !e.Babelfish {
		return false
	}
	table, schema := s.qualified(n), n.Schema
	var checks []string
	switch op {
	case dialects.OpCreateSchema:
		checks = []string{`HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE SCHEMA')`}
	case "create":
		checks = []string{`HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE TABLE')`, `HAS_PERMS_BY_NAME(@p2, N'SCHEMA', N'ALTER')`}
	case "drop":
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'ALTER')`}
	case "purge":
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'SELECT')`, `HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'DELETE')`}
	default:
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'SELECT')`}
	}
	// HAS_PERMS_BY_NAME is NULL, or 0, for an object that is not there:
	// no answer (a missing table is not a missing grant).
	for i, c := range checks {
		checks[i] = "COALESCE(" + c + ", 1)"
	}
	object := "0"
	if op != dialects.OpCreateSchema && op != "create" {
		object = "CASE WHEN OBJECT_ID(@p1) IS NULL THEN 1 ELSE 0 END"
	}
	var has int
	err = q.QueryRowContext(ctx, `SELECT CASE WHEN `+object+` = 1 OR `+strings.Join(checks, " = 1 AND ")+` = 1 THEN 1 ELSE 0 END`, table, schema).Scan(&has)
	return err == nil && has == 0
}

func (Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sys.schemas WHERE schema_id = SCHEMA_ID(@p1)`, schema).Scan(&n)
	return n > 0, err
}

// CreateSchemaSQL: CREATE SCHEMA must begin its batch, hence EXEC.
func (s Dialect) CreateSchemaSQL(schema string) string {
	return fmt.Sprintf("IF SCHEMA_ID(%s) IS NULL EXEC(%s);",
		s.QuoteLiteral(schema), s.QuoteLiteral("CREATE SCHEMA "+s.Quote(schema)))
}

// sqlserverObjectQuery finds a schema's object by its quoted two-part name
// (@p1), as the server itself resolves names: OBJECT_ID compares them as
// the database's collation does, on both engines. It sees only what the
// user may see; the app's user sees its own table.
const sqlserverObjectQuery = `
SELECT o.object_id, RTRIM(o.type), CAST(o.name AS nvarchar(128))
FROM sys.objects AS o
WHERE o.object_id = OBJECT_ID(@p1)`

// sqlserverColumnsQuery reads each column's base type (an alias type reads
// as the system type it stands for), its length in bytes (-1: max), and
// whether an insert that leaves it out still works.
const sqlserverColumnsQuery = `
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

// sqlserverIndexesQuery reads each index's key columns in order, with what
// decides whether a purge can read it: its type, whether it is filtered,
// and whether it is disabled. Hypothetical indexes (the Database Engine
// Tuning Advisor's) are no indexes and are left out. Included columns and
// columnstore indexes have key_ordinal 0. %s is whether the index is
// filtered: sqlserverCatalog.filtered.
const sqlserverIndexesQuery = `
SELECT CAST(i.name AS nvarchar(128)), i.is_primary_key, i.is_unique, ic.column_id, CAST(c.name AS nvarchar(128)),
       i.type, i.type_desc, CAST(%s AS bit), i.is_disabled
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.object_id = @p1 AND i.is_hypothetical = 0 AND ic.key_ordinal > 0
ORDER BY i.index_id, ic.key_ordinal`

// sqlserverCatalog reads names from the catalog as they are stored, on
// both engines: the one place that knows how Babelfish's catalog differs
// (tds/README.md's divergence table). SQL Server's sys views give names
// exactly. Babelfish's give them lower-cased, an index's name followed by
// its table's and a hash, and as varchar, so that characters outside code
// page 1252 read as '?' (rows 1 and 2). So every name is read CAST to
// nvarchar, which keeps its characters on both; on Babelfish a column's
// name comes from INFORMATION_SCHEMA.COLUMNS, which keeps its case, by its
// position (ORDINAL_POSITION is column_id there), and an index's name
// loses its suffix; and since sys.indexes.has_filter is always 0 there
// (row 8), a filtered index is told by its predicate in pg_index.
type sqlserverCatalog struct {
	engine sqlserverEngine
	// table is the table's name as sys.objects gives it.
	table string
	// columns are the columns' names as stored, by column_id; nil on SQL
	// Server, whose sys.columns gives them so.
	columns map[int]string
}

func (s Dialect) catalog(ctx context.Context, q dialects.Querier) (*sqlserverCatalog, error) {
	e, err := sqlserverEngineOf(ctx, q)
	if err != nil {
		return nil, err
	}
	return &sqlserverCatalog{engine: e}, nil
}

// object finds the object n names in schema n.Schema: its id, its type
// (U, V, ...) and its name as stored (info.Name).
func (c *sqlserverCatalog) object(ctx context.Context, q dialects.Querier, schema, name string) (id int64, kind, stored string, err error) {
	s := Dialect{}
	if err = q.QueryRowContext(ctx, sqlserverObjectQuery, s.Quote(schema)+"."+s.Quote(name)).Scan(&id, &kind, &stored); err != nil {
		return 0, "", "", err
	}
	c.table = stored
	if !c.engine.Babelfish {
		return id, kind, stored, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT ORDINAL_POSITION, COLUMN_NAME, TABLE_NAME FROM INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2`, schema, name)
	if err != nil {
		return 0, "", "", err
	}
	defer rows.Close()
	c.columns = map[int]string{}
	for rows.Next() {
		var pos int
		var col string
		if err := rows.Scan(&pos, &col, &stored); err != nil {
			return 0, "", "", err
		}
		c.columns[pos] = col
	}
	return id, kind, stored, rows.Err()
}

// column is the name as stored of column id, which sys.columns calls name.
func (c *sqlserverCatalog) column(id int, name string) string {
	if stored, ok := c.columns[id]; ok {
		return stored
	}
	return name
}

// index is the name of an index as T-SQL names it, which sys.indexes calls
// name. Babelfish stores the index ix of table t as bbfIndexName(ix, t),
// their ASCII letters in lower case: the name read is the ix that gives it. Since Babelfish's
// names are the same in any case, sessctl's own name reads in its case.
func (c *sqlserverCatalog) index(name string, n dialects.Names) string {
	if !c.engine.Babelfish {
		return name
	}
	// c.table is the table's name as stored: Babelfish lowers only ASCII
	// letters, as PostgreSQL folds unquoted names.
	for k := 1; k <= len(name)-2*md5.Size; k++ {
		if utf8.RuneStart(name[k]) && bbfIndexName(name[:k], c.table) == name {
			name = name[:k]
			break
		}
	}
	if strings.EqualFold(name, n.ExpiryIndex) {
		return n.ExpiryIndex
	}
	return name
}

// bbfIndexName is the name Babelfish stores index ix of table t under
// (both as stored): ix+t+md5(ix), or, when that is longer than
// PostgreSQL's 63 bytes, its first 31 bytes and the MD5 of the whole.
func bbfIndexName(ix, t string) string {
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	full := ix + t + md5hex(ix)
	if len(full) <= bbfMaxName {
		return full
	}
	return clipBytes(full, bbfMaxName-2*md5.Size) + md5hex(full)
}

// bbfMaxName is the most bytes of a PostgreSQL name.
const bbfMaxName = 63

// clipBytes is the longest prefix of s of at most n bytes that ends
// between characters.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// filtered is the SQL that says whether index i has a WHERE clause.
func (c *sqlserverCatalog) filtered() string {
	if !c.engine.Babelfish {
		return "i.has_filter"
	}
	return `CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index AS x JOIN pg_catalog.pg_class AS xc ON xc.oid = x.indexrelid
        WHERE x.indrelid = i.object_id AND CAST(xc.relname AS nvarchar(128)) = CAST(i.name AS nvarchar(128))
          AND x.indpred IS NOT NULL) THEN 1 ELSE 0 END`
}

func (s Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info, err := s.InspectTable(ctx, q, n)
	if err != nil {
		return nil, err
	}
	return info, s.inspectVersion(ctx, q, n, info)
}

var _ dialects.TableInspector = Dialect{}

func (s Dialect) InspectTable(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing}
	cat, err := s.catalog(ctx, q)
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

func (Dialect) inspectColumns(ctx context.Context, q dialects.Querier, cat *sqlserverCatalog, id int64, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, sqlserverColumnsQuery, id)
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
		c.Length = sqlserverLength(c.Type, bytes)
		info.Columns = append(info.Columns, c)
	}
	return rows.Err()
}

// sqlserverLength turns sys.columns.max_length, in bytes, into the length
// the type is declared with: characters for nchar and nvarchar (two bytes
// each), bytes for the others; -1 stays MAX; 0 for types without a length.
func sqlserverLength(typ string, bytes int) int {
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

func (s Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, cat *sqlserverCatalog, id int64, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(sqlserverIndexesQuery, cat.filtered()), id)
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
			ix.Unusable, ix.Fix = s.Unusable(n, name, typ, typeDesc, filtered, disabled)
			ix.Drop = fmt.Sprintf("DROP INDEX %s ON %s;", s.Quote(name), s.qualified(n))
			if disabled && col != dialects.ColExpiresAtTime {
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
func (s Dialect) Unusable(n dialects.Names, name string, typ int, typeDesc string, filtered, disabled bool) (why, fix string) {
	switch {
	case typ != 1 && typ != 2:
		return fmt.Sprintf("it is a %s index, and only a B-tree returns a range of %s in order", strings.ToLower(typeDesc), dialects.ColExpiresAtTime), ""
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
	err := q.QueryRowContext(ctx, sqlserverObjectQuery, s.versionTable(n)).Scan(&id, &kind, &name)
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
		if mssqlNumber(err) == mssqlPermissionDenied {
			info.Notes = append(info.Notes, fmt.Sprintf("the version table %s exists but this user may not read it", s.Quote(n.VersionTable)))
			return nil
		}
		return fmt.Errorf("reading the version table %s: %w", s.Quote(n.VersionTable), err)
	}
	info.Version = &v
	return nil
}

func (s Dialect) versionTable(n dialects.Names) string {
	return s.Quote(n.Schema) + "." + s.Quote(n.VersionTable)
}

// MigrateDriver: golang-migrate's sqlserver driver takes the schema and the
// version table unquoted (CheckName keeps ] and ' out of both), and locks
// per schema with sp_getapplock, so creates of two tables in one schema
// take turns.
func (s Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	for _, name := range []string{n.Schema, n.VersionTable} {
		if err := s.CheckName(name); err != nil {
			return nil, err
		}
	}
	db, err := s.Open(conn, true)
	if err != nil {
		return nil, err
	}
	drv, err := sqlservermigrate.WithInstance(db, &sqlservermigrate.Config{SchemaName: n.Schema, MigrationsTable: n.VersionTable})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqlserverMigrator{Driver: drv, db: db, versionTable: s.qualified(dialects.Names{Schema: n.Schema, Table: n.VersionTable})}, nil
}

// sqlserverMigrator is golang-migrate's sqlserver driver, whose version
// table is made again once the lock is held: the driver makes it before
// (WithInstance), and a drop, which takes the same lock (LockCreate), may
// have removed it since as a version table left without its cache table.
type sqlserverMigrator struct {
	database.Driver
	db           *sql.DB // the driver's; its Close closes it
	versionTable string  // quoted and qualified
}

func (d *sqlserverMigrator) Lock() error {
	if err := d.Driver.Lock(); err != nil {
		return err
	}
	// golang-migrate's own definition of the table (ensureVersionTable).
	_, err := d.db.ExecContext(context.Background(), `IF OBJECT_ID(@p1, N'U') IS NULL
	CREATE TABLE `+d.versionTable+` (version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL);`, d.versionTable)
	if err != nil {
		d.Driver.Unlock()
		return fmt.Errorf("making the version table: %w", err)
	}
	return nil
}

// FixSQL: Id is the primary key and ExpiresAtTime is in the expiry index,
// and SQL Server will not alter a column an index depends on; for those the
// fix is to re-create the table.
func (s Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	if c.Name == dialects.ColID || c.Name == dialects.ColExpiresAtTime {
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
	}
	return ""
}

func (s Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":              s.Quote(n.Schema),
		"Table":               s.qualified(n),
		"TableLiteral":        s.QuoteLiteral(s.qualified(n)),
		"VersionTable":        s.versionTable(n),
		"VersionTableLiteral": s.QuoteLiteral(s.versionTable(n)),
		"ExpiryIndex":         s.Quote(n.ExpiryIndex),
		"ExpiryIndexLiteral":  s.QuoteLiteral(n.ExpiryIndex),
	}
}

// ScriptSeparator: sqlcmd and SSMS run a script batch by batch, and end a
// batch at a line that says GO.
func (Dialect) ScriptSeparator() string { return "GO\n" }

// sqlserverLockPrefix begins the name of every purge lock, so that it
// cannot be mistaken for another application's.
const sqlserverLockPrefix = "sessctl purge "

// sqlserverLockResource is the sp_getapplock resource of the purge lock of
// one table. Names are folded to lower case, as SQL Server's usual
// collations fold them, since the resource is compared byte for byte. The
// resource holds at most 255 characters; a longer one is hashed.
func sqlserverLockResource(n dialects.Names) string {
	r := sqlserverLockPrefix + strings.ToLower(n.Schema) + "." + strings.ToLower(n.Table)
	if utf16Len(r) <= 255 {
		return r
	}
	sum := sha256.Sum256([]byte(r))
	return sqlserverLockPrefix + hex.EncodeToString(sum[:])
}

// TryLock takes an exclusive application lock owned by the session, so it
// lasts across the purge's transactions and ends with the connection.
// Every negative status is "not acquired": SQL Server answers -1 to a
// lock another session holds, and stock Babelfish (Aurora's too) -999.
// And a connection that was refused the lock leaves the pool: stock
// Babelfish crashes at the fifth failed sp_getapplock on one connection,
// so none ever asks twice on one.
func (d Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(d.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	resource := sqlserverLockResource(n)
	var status int
	err := conn.QueryRowContext(ctx, `DECLARE @status int;
EXEC @status = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @status;`, resource).Scan(&status)
	if err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	if status < 0 {
		discard(conn)
		return nil, false, nil
	}
	unlock := func() error {
		_, err := conn.ExecContext(context.Background(), `EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session';`, resource)
		return err
	}
	return unlock, true, nil
}

// discard closes conn and drops its connection from the pool, instead of
// returning it there: database/sql closes a connection whose Raw says
// driver.ErrBadConn.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
}

// sqlserverCutoff is "now" by the server's clock less the grace: a second
// count and a microsecond remainder, since DATEADD takes an int.
func sqlserverCutoff(grace time.Duration) (seconds, micros int32) {
	if grace/time.Second > math.MaxInt32 {
		return math.MaxInt32, 0
	}
	return int32(grace / time.Second), int32(grace % time.Second / time.Microsecond)
}

// sqlserverCutoffSQL writes the cutoff with seconds and micros as given:
// parameters, or numbers for a script.
func sqlserverCutoffSQL(seconds, micros string) string {
	expr := "DATEADD(second, -" + seconds + ", SYSDATETIMEOFFSET())"
	if micros != "0" {
		expr = "DATEADD(microsecond, -" + micros + ", " + expr + ")"
	}
	return expr
}

// sqlserverDeleteSQL deletes the oldest expired rows, by key: the
// subquery's TOP with ORDER BY on ExpiresAtTime makes the expiry index the
// plan (whatever its name), reading only the rows it deletes, and the
// DELETE finds each of them by its key. (Babelfish refuses the form that
// deletes through a derived table, DELETE alias FROM (SELECT TOP …) AS
// alias: tds/README.md, "DELETE alias FROM".) The expiry is re-checked
// where each row is deleted: SQL Server qualifies the rows a DELETE removes
// on their current committed version, under an update lock (under read
// committed snapshot too), so a row an app slides forward meanwhile no
// longer qualifies. READPAST skips rows an app session has locked, most
// likely to slide them; where table hints are ignored (Babelfish), the
// session's LOCK_TIMEOUT bounds the wait instead (see DeleteExpired).
// %[1]s is the table, %[2]s the number of rows, %[3]s the cutoff, %[4]s
// more of the subquery's WHERE clause (a position to go on from), %[5]s its
// ORDER BY.
const sqlserverDeleteSQL = `DELETE FROM %[1]s WITH (ROWLOCK, READPAST)
WHERE [Id] IN (
    SELECT TOP (%[2]s) [Id]
    FROM %[1]s WITH (ROWLOCK, READPAST)
    WHERE [ExpiresAtTime] < %[3]s%[4]s
    ORDER BY %[5]s
) AND [ExpiresAtTime] < %[3]s;`

// sqlserverOrder is the purge's order: the oldest first, the key breaking
// ties. On SQL Server it is the expiry index's own order, as a
// nonclustered index carries the clustered key.
const sqlserverOrder = "[ExpiresAtTime], [Id]"

// sqlserverHeldTable lists, for the session, the rows its purge found
// held (see DeleteExpired): a temporary table, which ends with the session.
const sqlserverHeldTable = "#sessctl_held"

// sqlserverNotHeld leaves the rows sqlserverHeldTable lists out of a batch.
const sqlserverNotHeld = "\n      AND [Id] NOT IN (SELECT [Id] FROM " + sqlserverHeldTable + ")"

// sqlserverLockTimeoutMS bounds how long a purge statement waits for a lock
// an app session holds (SET LOCK_TIMEOUT): well under minStopGrace, so that
// a waiting statement ends on its own before a signal or deadline would
// have to cut it. On SQL Server READPAST passes over held rows and this
// bounds only other waits (a table lock, a schema change); on Babelfish,
// which ignores table hints, every held row makes the statement wait this
// long, and DeleteExpired steps past it.
const sqlserverLockTimeoutMS = 100

// sqlserverPrelude begins each purge statement's batch.
var sqlserverPrelude = "SET DEADLOCK_PRIORITY LOW;\nSET LOCK_TIMEOUT " + strconv.Itoa(sqlserverLockTimeoutMS) + ";\n"

// Lock timeouts: SQL Server's 1222; Babelfish reports PostgreSQL's
// lock_not_available with its catch-all number and PostgreSQL's text, as it
// maps no number to it (tds/README.md: error numbers match SQL Server where
// Babelfish maps them).
const (
	mssqlLockTimeout     = 1222
	babelfishUnmapped    = 33557097
	babelfishLockTimeout = "canceling statement due to lock timeout"
)

// sqlserverLockTimedOut reports whether err is a statement that gave up
// waiting for a lock (SET LOCK_TIMEOUT).
func sqlserverLockTimedOut(err error) bool {
	var me mssql.Error
	switch n := mssqlNumber(err); {
	case n == mssqlLockTimeout:
		return true
	case n == babelfishUnmapped && errors.As(err, &me):
		return strings.Contains(me.Message, babelfishLockTimeout)
	}
	return false
}

// Limits keep a batch under lock escalation: see sqlserverMaxBatch.
func (Dialect) Limits() dialects.Limits { return dialects.Limits{MaxBatch: sqlserverMaxBatch} }

// DeleteExpired runs statements of at most sqlserverMaxBatch rows, each its
// own (autocommitted) transaction, at low deadlock priority, until limit
// rows are gone or one statement finds fewer than it may delete.
//
// A statement that waited its LOCK_TIMEOUT for a row an app session holds
// (Babelfish, which ignores READPAST) was rolled back whole; it is tried
// again with half as many rows, until one row alone times out: that row is
// held, and is listed in the session's sqlserverHeldTable, which the
// session's statements from then on leave out, as READPAST would have.
// Rows held so are left for the next run, and counted by CountHeld.
func (s Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	sec, us := sqlserverCutoff(grace)
	query := sqlserverPrelude + s.deleteHeldAware(n, "@p1", sqlserverCutoffSQL("@p2", "@p3"))
	var total int64
	most := int64(sqlserverMaxBatch)
	var bbf *bool // whether q is Babelfish, asked at the first lock timeout
	for total < int64(limit) {
		want := min(int64(limit)-total, most)
		deleted, err := s.deleteOnce(ctx, q, query, []any{want, sec, us})
		if sqlserverLockTimedOut(err) && ctx.Err() == nil {
			if bbf == nil {
				b, berr := sqlserverBabelfish(ctx, q)
				if berr != nil {
					return total, berr
				}
				bbf = &b
			}
			switch {
			case *bbf && want > 1:
				most = max(want/2, 1)
				continue
			case *bbf:
				found, nerr := s.noteHeld(ctx, q, n, sec, us)
				if nerr == nil && !found {
					return total, nil
				}
				if nerr == nil {
					most = sqlserverMaxBatch
					continue
				}
				if !sqlserverLockTimedOut(nerr) {
					return total, nerr
				}
			}
			// More than a row is locked: on SQL Server, where READPAST
			// passes over held rows, any lock timeout is a lock on the
			// table (or its schema); on Babelfish, one that the read of
			// noteHeld waited for too. The purge waits for it, as it
			// would without LOCK_TIMEOUT, in steps between which its
			// context can end it with no statement to cut.
			select {
			case <-ctx.Done():
				return total, err
			case <-time.After(sqlserverLockTimeoutMS * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return total, err
		}
		total += deleted
		if deleted < want {
			break
		}
		most = min(most*2, sqlserverMaxBatch)
	}
	return total, nil
}

// deleteHeldAware is one batch, leaving out the rows sqlserverHeldTable
// lists where the session has one.
func (s Dialect) deleteHeldAware(n dialects.Names, rows, cutoff string) string {
	t := s.qualified(n)
	return "IF OBJECT_ID(N'tempdb.." + sqlserverHeldTable + "') IS NULL\n" +
		fmt.Sprintf(sqlserverDeleteSQL, t, rows, cutoff, "", sqlserverOrder) +
		"\nELSE\n" + fmt.Sprintf(sqlserverDeleteSQL, t, rows, cutoff, sqlserverNotHeld, sqlserverOrder)
}

// noteHeld lists in sqlserverHeldTable the first expired row it does not
// list yet, the one a batch of one row waited for; found is false when
// there is none. It reads without waiting for row locks.
func (s Dialect) noteHeld(ctx context.Context, q dialects.Querier, n dialects.Names, sec, us int32) (found bool, err error) {
	res, err := q.ExecContext(ctx, `IF OBJECT_ID(N'tempdb..`+sqlserverHeldTable+`') IS NULL
    CREATE TABLE `+sqlserverHeldTable+` ([Id] nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL PRIMARY KEY);
INSERT INTO `+sqlserverHeldTable+` ([Id])
SELECT TOP (1) [Id] FROM `+s.qualified(n)+` WITH (READUNCOMMITTED)
WHERE [ExpiresAtTime] < `+sqlserverCutoffSQL("@p1", "@p2")+sqlserverNotHeld+`
ORDER BY `+sqlserverOrder+`;`, sec, us)
	if err != nil {
		return false, fmt.Errorf("noting a row an app session holds: %w", err)
	}
	added, err := res.RowsAffected()
	return added > 0, err
}

// deleteOnce runs one DELETE, again when it was chosen as a deadlock
// victim: it was rolled back whole, so running it again is safe.
func (Dialect) deleteOnce(ctx context.Context, q dialects.Querier, query string, args []any) (int64, error) {
	for attempt := 1; ; attempt++ {
		res, err := q.ExecContext(ctx, query, args...)
		if err == nil {
			return res.RowsAffected()
		}
		if mssqlNumber(err) != mssqlDeadlockVictim || attempt > sqlserverDeadlockRetries {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

var _ dialects.HeldCounter = Dialect{}

// sqlserverHeldSQL counts, among the oldest @p1 expired rows (read without
// waiting for locks), those another session holds: the others it takes
// update locks on, as a batch would, skipping (READPAST) the held ones,
// and releases them as it ends. %[1]s is the table, %[2]s the cutoff.
const sqlserverHeldSQL = `SELECT COUNT_BIG(*) - COUNT_BIG(free.[Id])
FROM (
    SELECT TOP (@p1) [Id]
    FROM %[1]s WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < %[2]s
    ORDER BY [ExpiresAtTime]
) AS oldest
LEFT JOIN %[1]s AS free WITH (UPDLOCK, ROWLOCK, READPAST)
    ON free.[Id] = oldest.[Id] AND free.[ExpiresAtTime] < %[2]s;`

// CountHeld: on Babelfish, which ignores the hints, the held rows are those
// a DELETE cannot lock within its LOCK_TIMEOUT: the oldest limit expired
// rows are tried in a transaction that is rolled back, all at once, and,
// only when one of them is held, one by one.
func (s Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	sec, us := sqlserverCutoff(grace)
	if bbf, err := sqlserverBabelfish(ctx, q); err != nil || bbf {
		if err != nil {
			return 0, err
		}
		return s.probeHeld(ctx, q, n, sec, us, limit)
	}
	var held int64
	err := q.QueryRowContext(ctx, fmt.Sprintf(sqlserverHeldSQL, s.qualified(n), sqlserverCutoffSQL("@p2", "@p3")), limit, sec, us).Scan(&held)
	return held, err
}

// probeHeld counts, among the oldest limit expired rows, those a DELETE
// cannot lock within sqlserverLockTimeoutMS, deleting nothing: each try is
// rolled back.
func (s Dialect) probeHeld(ctx context.Context, q dialects.Querier, n dialects.Names, sec, us int32, limit int) (int64, error) {
	session, release, err := sqlserverSession(ctx, q)
	if err != nil {
		return 0, err
	}
	defer release()
	cutoff := sqlserverCutoffSQL("@p2", "@p3")
	all := sqlserverPrelude + fmt.Sprintf(sqlserverDeleteSQL, s.qualified(n), "@p1", cutoff, "", sqlserverOrder)
	one := sqlserverPrelude + "DELETE FROM " + s.qualified(n) + " WHERE [Id] = @p1 AND [ExpiresAtTime] < " + cutoff + ";"
	try := func(query string, args ...any) (held bool, err error) {
		undo, err := sqlserverRolledBack(ctx, session)
		if err != nil {
			return false, err
		}
		defer undo()
		_, err = session.ExecContext(ctx, query, args...)
		if sqlserverLockTimedOut(err) {
			return true, nil
		}
		return false, err
	}
	if held, err := try(all, limit, sec, us); err != nil || !held {
		return 0, err
	}
	// The rows to try one by one: those the session's batches found held,
	// when they found any; else the oldest.
	rows, err := session.QueryContext(ctx, `IF OBJECT_ID(N'tempdb..`+sqlserverHeldTable+`') IS NULL
    SELECT TOP (@p1) [Id] FROM `+s.qualified(n)+` WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < `+cutoff+` ORDER BY `+sqlserverOrder+`
ELSE
    SELECT TOP (@p1) [Id] FROM `+s.qualified(n)+` WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < `+cutoff+` AND [Id] IN (SELECT [Id] FROM `+sqlserverHeldTable+`) ORDER BY `+sqlserverOrder+`;`, limit, sec, us)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var count int64
	for _, id := range ids {
		held, err := try(one, id, sec, us)
		if err != nil {
			return count, err
		}
		if held {
			count++
		}
	}
	return count, nil
}

func (s Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	sec, us := sqlserverCutoff(grace)
	var count int64
	var oldest sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT COUNT_BIG(*), MIN([ExpiresAtTime]) FROM `+s.qualified(n)+
		` WHERE [ExpiresAtTime] < `+sqlserverCutoffSQL("@p1", "@p2"), sec, us).Scan(&count, &oldest)
	if err != nil || !oldest.Valid {
		return count, time.Time{}, err
	}
	return count, oldest.Time.UTC(), nil
}

// ExplainPurge shows the estimated plan, and never deletes a row. SET
// SHOWPLAN_TEXT must be alone in its batch and holds for the session, and
// a statement sent with parameters goes through sp_executesql, whose plan
// it would not show; so it turns SHOWPLAN_TEXT on, sends the batch with the
// numbers written into it (they are sessctl's own, not input), and turns it
// off, all on one session. Babelfish ignores SHOWPLAN_TEXT and would run
// the DELETE (tds/README.md, "SET SHOWPLAN_TEXT ON"): there it is
// BABELFISH_SHOWPLAN_ALL, which explains without running. And whatever an
// engine does with either, all of it runs inside a transaction that is
// always rolled back, so that a SET an engine ignores cannot make a dry run
// delete. SHOWPLAN needs the SHOWPLAN permission: without it, the plan says
// so.
func (s Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	session, release, err := sqlserverSession(ctx, q)
	if err != nil {
		return "", err
	}
	defer release()
	showplan := "SHOWPLAN_TEXT"
	cat, err := s.catalog(ctx, session)
	if err != nil {
		return "", err
	}
	if cat.engine.Babelfish {
		showplan = "BABELFISH_SHOWPLAN_ALL"
		// Its plan names indexes by PostgreSQL's names for them: read
		// them back as verify does (sqlserverCatalog.index).
		if _, _, _, err := cat.object(ctx, session, n.Schema, n.Table); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	undo, err := sqlserverRolledBack(ctx, session)
	if err != nil {
		return "", err
	}
	defer undo()
	if _, err := session.ExecContext(ctx, "SET "+showplan+" ON"); err != nil {
		return "", err
	}
	defer session.ExecContext(context.WithoutCancel(ctx), "SET "+showplan+" OFF")
	rows, err := session.QueryContext(ctx, s.deleteScript(n, grace, min(limit, sqlserverMaxBatch)))
	if err != nil {
		if mssqlNumber(err) == mssqlShowplanDenied {
			return "(no plan: this user lacks the SHOWPLAN permission; GRANT SHOWPLAN TO it to see one)", nil
		}
		return "", err
	}
	defer rows.Close()
	var all, plan []string
	echo := false
	for {
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			// Babelfish echoes each statement, a row a line, before its
			// plan, whose first line gives the cost; and ends with its
			// parse time.
			switch {
			case strings.HasPrefix(line, "Query Text:"):
				echo = true
			case strings.HasPrefix(line, "Babelfish T-SQL Batch Parsing Time"):
				continue
			case echo && strings.Contains(line, "(cost="):
				echo = false
			}
			if echo {
				continue
			}
			for _, l := range strings.Split(strings.TrimRight(line, "\r\n"), "\n") {
				l = strings.TrimRight(l, " \r")
				all = append(all, l)
				if strings.Contains(l, "|--") {
					plan = append(plan, l)
				}
			}
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(plan) == 0 {
		plan = all
	}
	text := strings.Join(plan, "\n")
	if cat.engine.Babelfish && cat.table != "" {
		text = bbfStoredIndexName.ReplaceAllStringFunc(text, func(w string) string { return cat.index(w, n) })
	}
	return text, nil
}

// bbfStoredIndexName matches a name Babelfish may store an index under
// (bbfIndexName: it ends in an MD5 in hex).
var bbfStoredIndexName = regexp.MustCompile(`[\pL\pN_$#@]+[0-9a-f]{32}`)

// sqlserverRolledBack begins a transaction on session (a savepoint inside
// one already open) and returns what rolls it back.
func sqlserverRolledBack(ctx context.Context, session dialects.Querier) (func(), error) {
	back := context.WithoutCancel(ctx)
	if _, ok := session.(*sql.Tx); ok {
		if _, err := session.ExecContext(ctx, "SAVE TRANSACTION sessctl_explain"); err != nil {
			return nil, err
		}
		return func() { session.ExecContext(back, "ROLLBACK TRANSACTION sessctl_explain") }, nil
	}
	if _, err := session.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	return func() { session.ExecContext(back, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION") }, nil
}

// sqlserverBabelfish reports whether q is Babelfish for PostgreSQL (AWS
// Aurora's included) rather than SQL Server: the one place that asks.
func sqlserverBabelfish(ctx context.Context, q dialects.Querier) (bool, error) {
	e, err := sqlserverEngineOf(ctx, q)
	return e.Babelfish, err
}

// sqlserverSession returns one session of q, for SET options that must
// hold across batches.
func sqlserverSession(ctx context.Context, q dialects.Querier) (dialects.Querier, func(), error) {
	switch v := q.(type) {
	case *sql.Conn, *sql.Tx:
		return v, func() {}, nil
	case *sql.DB:
		conn, err := v.Conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		return conn, func() { conn.Close() }, nil
	}
	return nil, nil, fmt.Errorf("explaining a purge needs one session, not a %T", q)
}

// deleteScript is one purge batch with its numbers written in.
func (s Dialect) deleteScript(n dialects.Names, grace time.Duration, limit int) string {
	sec, us := sqlserverCutoff(grace)
	return sqlserverPrelude + fmt.Sprintf(sqlserverDeleteSQL, s.qualified(n), strconv.Itoa(limit),
		sqlserverCutoffSQL(strconv.Itoa(int(sec)), strconv.Itoa(int(us))), "", sqlserverOrder)
}

// PurgeScript: on SQL Server each batch's plan is (SHOWPLAN_TEXT)
//
//	|--Clustered Index Delete(OBJECT:([T].[PK__…]), OBJECT:([T].[Index_ExpiresAtTime]))
//	     |--Nested Loops(Inner Join, OUTER REFERENCES:([Id]))
//	          |--Top(TOP EXPRESSION:((1000)))
//	          |    |--Index Seek(OBJECT:([T].[Index_ExpiresAtTime]), SEEK:([ExpiresAtTime] < …) ORDERED FORWARD)
//	          |--Clustered Index Seek(OBJECT:([T].[PK__…]), SEEK:([Id]=[Id]), WHERE:([ExpiresAtTime] < …) ORDERED FORWARD)
//
// a seek on the expiry index for the oldest rows, and a seek by key for
// each, which re-checks its expiry (the shape expected from the optimizer's
// rules: no SQL Server runs here to capture it; the dry run shows the real
// one).
func (s Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	limit = min(limit, sqlserverMaxBatch)
	sec, us := sqlserverCutoff(grace)
	del := fmt.Sprintf(sqlserverDeleteSQL, s.qualified(n), strconv.Itoa(limit),
		sqlserverCutoffSQL(strconv.Itoa(int(sec)), strconv.Itoa(int(us))), "", sqlserverOrder)
	return fmt.Sprintf(`-- Deletes the rows of %[1]s that expired over %[2]s ago, %[3]d at a time
-- (at most %[4]d, under the 5,000 locks at which SQL Server locks the whole
-- table), oldest first, each batch its own transaction, at low deadlock
-- priority, passing over rows an app session holds (READPAST). Run it in
-- sqlcmd or SSMS, outside a transaction. Each batch's plan on SQL Server:
--   Clustered Index Delete (the table and its Index_ExpiresAtTime)
--     Nested Loops (Inner Join)
--       Top (%[3]d)
--         Index Seek on the ExpiresAtTime index, ORDERED FORWARD
--       Clustered Index Seek on the primary key, WHERE ExpiresAtTime < the cutoff
SET NOCOUNT ON;
SET DEADLOCK_PRIORITY LOW;
DECLARE @deleted int = %[3]d;
WHILE @deleted = %[3]d
BEGIN
    %[5]s
    SET @deleted = @@ROWCOUNT;
END;
GO
`, s.qualified(n), grace, limit, sqlserverMaxBatch, strings.ReplaceAll(del, "\n", "\n    "))
}

// utf16Len counts a name as SQL Server does: in UTF-16 code units.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }
