package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4/database"
	mysqlmigrate "github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/sessctl/sessctl/dialects"
)

// mysql is MySQL and MariaDB through go-sql-driver/mysql, with the table
// layout of Pomelo.Extensions.Caching.MySql (`dotnet mysql-cache create`).
// SCHEMA is the database. Times are datetime(6) holding naive UTC, and the
// database clock is UTC_TIMESTAMP(6), never NOW(), which follows the
// session's time zone. Connection strings are read in mysql_conn.go.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

// mysqlMaxName is the longest database, table or index name, in
// characters; MySQL rejects longer ones.
const mysqlMaxName = 64

// mysqlMaxRune is the last character MySQL names can hold: the end of the
// Basic Multilingual Plane.
const mysqlMaxRune = 0xFFFF

// mysqlExpiryIndex is Pomelo's name for the expiry index. Index names are
// per table in MySQL, so every table can use it.
const mysqlExpiryIndex = "Index_ExpiresAtTime"

func (Dialect) Name() string { return "mysql" }

// CheckName: at most 64 characters, all in the Basic Multilingual Plane,
// no trailing space, none of the prefixes MySQL gives a meaning, and a file
// name the file system can hold.
func (m Dialect) CheckName(name string) error { return m.checkName(name, mysqlMaxTableFile) }

// CheckSchema: a database is a directory, whose name has no extension.
func (m Dialect) CheckSchema(schema string) error { return m.checkName(schema, mysqlMaxFileName) }

func (Dialect) checkName(name string, maxFile int) error {
	if err := dialects.CheckName(name, mysqlMaxName, "characters", runesLen); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(name, " "):
		return fmt.Errorf("%w %q: MySQL names cannot end with a space", dialects.ErrInvalidName, name)
	case strings.IndexFunc(name, func(r rune) bool { return r > mysqlMaxRune }) >= 0:
		return fmt.Errorf("%w %q: MySQL names cannot hold characters beyond U+FFFF, such as emoji", dialects.ErrInvalidName, name)
	case strings.HasPrefix(lower, "#mysql50#"):
		return fmt.Errorf("%w %q: MySQL reads a name beginning with #mysql50# as an old file name", dialects.ErrInvalidName, name)
	case strings.HasPrefix(lower, "#sql"):
		return fmt.Errorf("%w %q: MySQL hides tables whose names begin with #sql", dialects.ErrInvalidName, name)
	case mysqlFileNameLen(name) > maxFile:
		return fmt.Errorf("%w %q: MySQL keeps it in a file whose name spells each character other than "+
			"a-z, A-Z, 0-9 and _ as @ and 2 or 4 more, %d bytes, over the %d a file name can have; choose a shorter name",
			dialects.ErrInvalidName, name, mysqlFileNameLen(name), maxFile)
	}
	return nil
}

// mysqlMaxFileName is the longest file name file systems allow, in bytes;
// a table's files add an extension (.ibd, .frm) to its name.
const (
	mysqlMaxFileName  = 255
	mysqlMaxTableFile = mysqlMaxFileName - len(".ibd")
)

// mysqlFileNameLen is the length of name as MySQL spells it in file names
// (its "filename" character set): a-z, A-Z, 0-9 and _ as themselves, the
// letters of mysqlFileNameLetters as @ and two characters, every other
// character as @ and four hexadecimal digits.
func mysqlFileNameLen(name string) int {
	n := 0
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf && (r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			n++
		case unicode.Is(mysqlFileNameLetters, r):
			n += 3
		default:
			n += 5
		}
	}
	return n
}

// mysqlFileNameLetters are the characters MySQL's filename character set
// spells in three bytes (Latin, Greek, Cyrillic and Armenian letters, Roman
// numerals, circled and full-width letters), as MySQL and MariaDB report
// them: LENGTH(CONVERT(c USING filename)) = 3.
var mysqlFileNameLetters = &unicode.RangeTable{R16: []unicode.Range16{
	{0x00C0, 0x00D6, 1}, {0x00D8, 0x00F6, 1}, {0x00F8, 0x012F, 1}, {0x0131, 0x01BE, 1}, {0x01C4, 0x01C4, 1},
	{0x01C6, 0x01C7, 1}, {0x01C9, 0x01CA, 1}, {0x01CC, 0x01F1, 1}, {0x01F3, 0x01F6, 1}, {0x01F8, 0x0241, 1},
	{0x0250, 0x02AF, 1}, {0x0386, 0x0386, 1}, {0x0388, 0x038A, 1}, {0x038C, 0x038C, 1}, {0x038E, 0x03A1, 1},
	{0x03A3, 0x03CE, 1}, {0x03D0, 0x03D7, 1}, {0x03D9, 0x03F3, 1}, {0x03F5, 0x03F6, 1}, {0x03F8, 0x03F8, 1},
	{0x03FB, 0x0481, 1}, {0x048A, 0x04CE, 1}, {0x04D0, 0x04F9, 1}, {0x0500, 0x050F, 1}, {0x0531, 0x0555, 1},
	{0x0561, 0x0585, 1}, {0x1E00, 0x1E9B, 1}, {0x1EA0, 0x1EF9, 1}, {0x1F00, 0x1F15, 1}, {0x1F18, 0x1F1D, 1},
	{0x1F20, 0x1F45, 1}, {0x1F48, 0x1F4D, 1}, {0x1F50, 0x1F57, 1}, {0x1F59, 0x1F59, 1}, {0x1F5B, 0x1F5B, 1},
	{0x1F5D, 0x1F5D, 1}, {0x1F5F, 0x1F7D, 1}, {0x1F80, 0x1FB4, 1}, {0x1FB6, 0x1FBC, 1}, {0x1FC2, 0x1FC4, 1},
	{0x1FC6, 0x1FCC, 1}, {0x1FD0, 0x1FD3, 1}, {0x1FD6, 0x1FDB, 1}, {0x1FE0, 0x1FEC, 1}, {0x1FF2, 0x1FF3, 1},
	{0x1FF6, 0x1FFC, 1}, {0x2160, 0x217F, 1}, {0x24B6, 0x24E9, 1}, {0xFF21, 0xFF3A, 1}, {0xFF41, 0xFF5A, 1},
}}

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, "`", "`") }

// QuoteLiteral writes a utf8mb4 string whatever the connection's
// character set: '…' with quotes doubled, which reads the same whether or
// not sql_mode has NO_BACKSLASH_ESCAPES, as long as it holds no backslash;
// a string with a backslash or a control character as a hex literal,
// which no sql_mode changes.
func (Dialect) QuoteLiteral(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) < 0 {
		return "_utf8mb4" + dialects.QuoteWith(s, "'", "'")
	}
	return "_utf8mb4 X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "'"
}

// Names: the version table is TABLE_migrations, except for a table name
// with a backtick, quote or backslash. golang-migrate's driver splices the
// version table's name into `…` and into SHOW TABLES LIKE '…' as it is, so
// such a name gets those characters replaced and a hash of the whole name
// added, which keeps it one table's own.
func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: mysqlVersionTable(table),
		ExpiryIndex:  mysqlExpiryIndex,
	}
}

func mysqlVersionTable(table string) string {
	const unsafe = "`'\\"
	if !strings.ContainsAny(table, unsafe) {
		return table + "_migrations"
	}
	h := sha256.Sum256([]byte(table))
	safe := strings.Map(func(r rune) rune {
		if strings.ContainsRune(unsafe, r) {
			return '_'
		}
		return r
	}, table)
	return safe + "_" + hex.EncodeToString(h[:4]) + "_migrations"
}

func (m Dialect) qualified(n dialects.Names) string {
	return m.Quote(n.Schema) + "." + m.Quote(n.Table)
}

// mysqlCaseSensitive reports whether a collation keeps keys that differ
// only in case apart: the binary ones (_bin) and the case-sensitive ones
// (_cs, such as MySQL 8's utf8mb4_0900_as_cs) do; the _ci ones do not.
func mysqlCaseSensitive(c string) bool {
	return c == "binary" || strings.HasSuffix(c, "_bin") || strings.HasSuffix(c, "_cs")
}

// Columns: Pomelo's layout. Length is the characters of Id and the
// fractional-second digits of the times: a plain datetime would round
// away the microseconds the provider writes.
func (Dialect) Columns() []dialects.ColumnSpec {
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"varchar"}, Length: 449, Null: dialects.NotNull,
			CollationOK: mysqlCaseSensitive, Collation: "ascii_bin",
			Definition: "`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"datetime"}, Length: 6, Null: dialects.Nullable,
			Definition: "`AbsoluteExpiration` datetime(6) NULL"},
		{Name: dialects.ColExpiresAtTime, Types: []string{"datetime"}, Length: 6, Null: dialects.NotNull,
			Definition: "`ExpiresAtTime` datetime(6) NOT NULL"},
		{Name: dialects.ColSliding, Types: []string{"bigint"}, Null: dialects.Nullable,
			Definition: "`SlidingExpirationInSeconds` bigint NULL"},
		{Name: dialects.ColValue, Types: []string{"longblob"}, Null: dialects.NotNull,
			Definition: "`Value` longblob NOT NULL"},
	}
}

// Open opens a pool on conn's DSN: times in UTC, parsed (ParseConn set
// both). The database in the DSN is only where sessions start; every
// statement names SCHEMA.
func (Dialect) Open(conn *dialects.Conn, _ bool) (*sql.DB, error) {
	cfg, err := parseMySQLDSN(conn.DSN)
	if err != nil {
		return nil, err
	}
	return openMySQL(cfg)
}

func openMySQL(cfg *gomysql.Config) (*sql.DB, error) {
	// The driver logs a lost connection on stderr besides returning it:
	// sessctl says it once, in its own words.
	cfg.Logger = &gomysql.NopLogger{}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: MySQL: %v", dialects.ErrConnString, err)
	}
	return sql.OpenDB(connector), nil
}

// MySQL error numbers sessctl acts on.
const (
	mysqlErrDBAccessDenied   = 1044
	mysqlErrAccessDenied     = 1045
	mysqlErrUnknownDB        = 1049
	mysqlErrHostBlocked      = 1129
	mysqlErrHostNotAllowed   = 1130
	mysqlErrTableAccess      = 1142
	mysqlErrNoSuchTable      = 1146
	mysqlErrNotSupportedAuth = 1251
	mysqlErrServerShutdown   = 1053
	mysqlErrConnectionKilled = 1927
	mysqlErrServerGone       = 2006
	mysqlErrServerLost       = 2013
	mysqlErrAccessDeniedNoPw = 1698
)

// Permanent: a refused login, a host the server will not serve, or a
// missing database does not go away by waiting.
func (Dialect) Permanent(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlErrDBAccessDenied, mysqlErrAccessDenied, mysqlErrUnknownDB, mysqlErrHostBlocked,
			mysqlErrHostNotAllowed, mysqlErrNotSupportedAuth, mysqlErrAccessDeniedNoPw:
			return true
		}
	}
	return false
}

func (Dialect) Disconnected(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlErrServerShutdown, mysqlErrConnectionKilled, mysqlErrServerGone, mysqlErrServerLost:
			return true
		}
		return false
	}
	return errors.Is(err, gomysql.ErrInvalidConn) || dialects.CutOff(err)
}

// mysqlSameName is the WHERE clause that finds a name in information_schema
// as MySQL does: exactly where names are case-sensitive
// (lower_case_table_names = 0), in any case elsewhere. Its plain equality
// keeps MySQL's fast path, which opens only the one table; the binary one
// keeps SessionData and sessiondata apart. Arguments: name, name.
const mysqlSameName = `(%[1]s = ? AND (@@lower_case_table_names <> 0 OR %[1]s = ? COLLATE utf8mb4_bin))`

// MySQL error numbers of a privilege refused.
const (
	mysqlErrSpecificAccess = 1227 // the operation needs a global privilege, such as SUPER
	mysqlErrColumnAccess   = 1143
)

// Denied: 1142 and 1143 (a table or column privilege), 1044 (a database
// privilege), 1227 (a global privilege, which the server's message names).
// A refused login (1045) is not here: no privilege would help.
func (m Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case mysqlErrTableAccess, mysqlErrColumnAccess, mysqlErrDBAccessDenied, mysqlErrSpecificAccess:
	default:
		return "", false
	}
	account := "this user"
	var current string
	if q.QueryRowContext(ctx, `SELECT CURRENT_USER()`).Scan(&current) == nil {
		user, host, _ := strings.Cut(current, "@")
		account = m.Quote(user) + "@" + m.Quote(host)
	}
	if me.Number == mysqlErrSpecificAccess {
		return fmt.Sprintf("user %s lacks a global privilege %s needs (%s): grant it, or run %s as a user that has it",
			account, op, me.Message, op), true
	}
	db, table, version := m.Quote(n.Schema), m.qualified(n), m.Quote(n.Schema)+"."+m.Quote(n.VersionTable)
	switch op {
	case dialects.OpCreateSchema:
		return fmt.Sprintf("user %s may not create database %s: GRANT CREATE ON %s.* TO %s, or have an administrator run CREATE DATABASE %s",
			account, db, db, account, db), true
	case "create":
		// The same grant lets it create the database, if it must.
		what := "tables in database " + db
		if me.Number == mysqlErrDBAccessDenied {
			what = "database " + db + " or tables in it"
		}
		return fmt.Sprintf("user %s may not create %s: GRANT CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE, DELETE ON %s.* TO %s, "+
			"or run create as a user that has them", account, what, db, account), true
	case "drop":
		// SELECT to read its columns first: drop drops only a cache table.
		return fmt.Sprintf("user %s may not drop %s: GRANT SELECT, DROP ON %s TO %s; GRANT SELECT, DROP ON %s TO %s, or run drop as a user that has them",
			account, table, table, account, version, account), true
	case "purge":
		return fmt.Sprintf("user %s may not purge %s: GRANT SELECT, DELETE ON %s TO %s", account, table, table, account), true
	}
	return fmt.Sprintf("user %s may not read %s: GRANT SELECT ON %s TO %s; GRANT SELECT ON %s TO %s",
		account, table, table, account, version, account), true
}

// SchemaExists: information_schema lists only the databases a user has a
// privilege in, so one it does not list is asked for by name: the server
// says whether it is missing (1049) or refused (1044, a permission error).
func (m Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE `+
		fmt.Sprintf(mysqlSameName, "SCHEMA_NAME"), schema, schema).Scan(&n)
	if err != nil || n > 0 {
		return n > 0, err
	}
	rows, err := q.QueryContext(ctx, "SHOW TABLES FROM "+m.Quote(schema)+" LIKE 'sessctl: no such table'")
	var me *gomysql.MySQLError
	switch {
	case errors.As(err, &me) && me.Number == mysqlErrUnknownDB:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking for database %s: %w", m.Quote(schema), err)
	}
	return true, rows.Close()
}

func (m Dialect) CreateSchemaSQL(schema string) string {
	return "CREATE DATABASE IF NOT EXISTS " + m.Quote(schema)
}

var mysqlTableQuery = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), COALESCE(ROW_FORMAT, ''), @@GLOBAL.sql_mode
FROM information_schema.TABLES
WHERE ` + fmt.Sprintf(mysqlSameName, "TABLE_SCHEMA") + ` AND ` + fmt.Sprintf(mysqlSameName, "TABLE_NAME")

// mysqlStoredName finds the columns or indexes of the one table named
// exactly as the catalog stores it. Arguments: schema, schema, table, table.
const mysqlStoredName = `TABLE_SCHEMA = ? AND TABLE_SCHEMA = ? COLLATE utf8mb4_bin
  AND TABLE_NAME = ? AND TABLE_NAME = ? COLLATE utf8mb4_bin`

const mysqlColumnsQuery = `
SELECT COLUMN_NAME, DATA_TYPE,
       COALESCE(CHARACTER_MAXIMUM_LENGTH, 0), COALESCE(CHARACTER_OCTET_LENGTH, 0), COALESCE(DATETIME_PRECISION, 0),
       IS_NULLABLE = 'YES',
       COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%',
       COALESCE(COLLATION_NAME, ''), COALESCE(CHARACTER_SET_NAME, '')
FROM information_schema.COLUMNS
WHERE ` + mysqlStoredName + `
ORDER BY ORDINAL_POSITION`

// mysqlIndexesQuery reads every index's key columns in order. It selects
// every column because what makes an index invisible to the optimizer is a
// column only some servers have: IS_VISIBLE (MySQL 8) or IGNORED (MariaDB
// 10.6 and later); inspectIndexes reads them by name.
const mysqlIndexesQuery = `
SELECT *
FROM information_schema.STATISTICS
WHERE ` + mysqlStoredName + `
ORDER BY INDEX_NAME, SEQ_IN_INDEX`

// mysqlTable is what information_schema.TABLES says of one table. Its
// names are as the catalog stores them: lower case where
// lower_case_table_names = 1, whatever the user typed.
type mysqlTable struct {
	schema, name, kind, engine, rowFormat string
	sqlMode                               string // the server's, read with it: one statement fewer
}

func (m Dialect) findTable(ctx context.Context, q dialects.Querier, schema, table string) (*mysqlTable, error) {
	var t mysqlTable
	err := q.QueryRowContext(ctx, mysqlTableQuery, schema, schema, table, table).Scan(&t.schema, &t.name, &t.kind, &t.engine, &t.rowFormat, &t.sqlMode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the catalog for %s.%s: %w", m.Quote(schema), m.Quote(table), err)
	}
	return &t, nil
}

// probeTable reads nothing from the table of n, which information_schema
// did not list: an error when the server refuses it (1142, a permission
// error), none when it is missing, or when the database is.
func (m Dialect) probeTable(ctx context.Context, q dialects.Querier, n dialects.Names) error {
	rows, err := q.QueryContext(ctx, "SELECT 1 FROM "+m.qualified(n)+" LIMIT 0")
	var me *gomysql.MySQLError
	switch {
	case err == nil:
		return rows.Close()
	case errors.As(err, &me) && (me.Number == mysqlErrNoSuchTable || me.Number == mysqlErrUnknownDB):
		return nil
	}
	return fmt.Errorf("reading %s: %w", m.qualified(n), err)
}

// Inspect reads information_schema. MySQL matches column and index names
// in any case, so a column the catalog calls id is reported as Id; a
// prefix index reports its column as Id(100), which is not the key the
// provider needs.
func (m Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info, err := m.InspectTable(ctx, q, n)
	if err != nil {
		return nil, err
	}
	if err := m.inspectPrivileges(ctx, q, n, info); err != nil {
		return nil, err
	}
	return info, m.inspectVersion(ctx, q, n, info)
}

// mysqlGrantee is CURRENT_USER() as information_schema's GRANTEE spells it:
// 'user'@'host'.
const mysqlGrantee = `CONCAT('''', SUBSTRING(CURRENT_USER(), 1, CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1),
       '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`

// inspectPrivileges reads which of the privileges the app's provider needs
// on the table the current user lacks, from its global, database and
// table grants. A user with a role active is not judged: a role's grants
// are not listed as the user's.
func (m Dialect) inspectPrivileges(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	if info.Kind != dialects.KindTable {
		return nil
	}
	var current string
	var role sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT CURRENT_USER(), CURRENT_ROLE()`).Scan(&current, &role); err != nil {
		return nil // MySQL 5.7 has no roles, nor CURRENT_ROLE(): not judged
	}
	if role.Valid && role.String != "" && !strings.EqualFold(role.String, "NONE") {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = `+mysqlGrantee+`
UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = `+mysqlGrantee+` AND ? LIKE TABLE_SCHEMA
UNION SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = `+mysqlGrantee+` AND TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		n.Schema, n.Schema, info.Name)
	if err != nil {
		return fmt.Errorf("reading the privileges on %s: %w", m.qualified(n), err)
	}
	defer rows.Close()
	has := map[string]bool{}
	for rows.Next() {
		var priv string
		if err := rows.Scan(&priv); err != nil {
			return err
		}
		has[strings.ToUpper(priv)] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	user, host := current, ""
	if i := strings.LastIndexByte(current, '@'); i >= 0 {
		user, host = current[:i], current[i+1:]
	}
	info.User = m.Quote(user) + "@" + m.Quote(host)
	var missing []string
	for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if !has[priv] {
			missing = append(missing, priv)
		}
	}
	if len(missing) > 0 {
		info.MissingPrivileges = []string{strings.Join(missing, ", ") + " on " + m.qualified(n)}
		info.PrivilegeGrant = "GRANT " + strings.Join(missing, ", ") + " ON " + m.qualified(n) + " TO " + info.User + ";"
	}
	return nil
}

var _ dialects.TableInspector = Dialect{}

func (m Dialect) InspectTable(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing}
	t, err := m.findTable(ctx, q, n.Schema, n.Table)
	if err != nil {
		return nil, err
	}
	if t == nil {
		// information_schema lists only the tables a user has a
		// privilege on: one it does not list may be refused.
		if err := m.probeTable(ctx, q, n); err != nil {
			return nil, err
		}
		return info, nil
	}
	info.Name = t.name
	switch t.kind {
	case "BASE TABLE", "SYSTEM VERSIONED":
		info.Kind = dialects.KindTable
	case "VIEW", "SYSTEM VIEW":
		info.Kind = dialects.KindView
	default:
		info.Kind = dialects.KindOther
	}
	if info.Kind != dialects.KindTable {
		return info, nil
	}
	octets, err := m.inspectColumns(ctx, q, t, info)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", m.qualified(n), err)
	}
	if err := m.inspectIndexes(ctx, q, t, n, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", m.qualified(n), err)
	}
	if err := m.inspectSettings(ctx, q, t, octets, info); err != nil {
		return nil, fmt.Errorf("reading the server's settings: %w", err)
	}
	return info, nil
}

// inspectColumns reads the columns, and returns the bytes Id takes at most.
func (m Dialect) inspectColumns(ctx context.Context, q dialects.Querier, t *mysqlTable, info *dialects.TableInfo) (int64, error) {
	rows, err := q.QueryContext(ctx, mysqlColumnsQuery, t.schema, t.schema, t.name, t.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var idOctets int64
	for rows.Next() {
		var c dialects.Column
		var chars, octets, precision int64
		if err := rows.Scan(&c.Name, &c.Type, &chars, &octets, &precision, &c.Nullable, &c.HasDefault, &c.Collation, &c.Charset); err != nil {
			return 0, err
		}
		c.Name = m.canonicalColumn(c.Name)
		c.Type = strings.ToLower(c.Type)
		switch c.Type {
		case "varchar", "char":
			c.Length = int(chars)
		case "datetime", "timestamp", "time":
			c.Length = int(precision)
		}
		if c.Name == dialects.ColID {
			idOctets = octets
		}
		info.Columns = append(info.Columns, c)
	}
	return idOctets, rows.Err()
}

// canonicalColumn is the provider's name for a column MySQL would take for
// it: column names match in any case.
func (m Dialect) canonicalColumn(name string) string { return dialects.CanonicalColumn(m, name) }

func (m Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, t *mysqlTable, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, mysqlIndexesQuery, t.schema, t.schema, t.name, t.name)
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := map[string]sql.NullString{}
		for i, name := range names {
			row[strings.ToUpper(name)] = vals[i]
		}
		name := row["INDEX_NAME"].String
		col := m.canonicalColumn(row["COLUMN_NAME"].String)
		if prefix := row["SUB_PART"]; prefix.Valid {
			col += "(" + prefix.String + ")"
		}
		ix := info.AddIndexColumn(name, name == "PRIMARY", row["NON_UNIQUE"].String == "0", col)
		if len(ix.Columns) == 1 {
			ix.Unusable, ix.Fix = m.Unusable(n, name, row)
			ix.Drop = fmt.Sprintf("DROP INDEX %s ON %s;", m.Quote(name), m.qualified(n))
		}
	}
	return rows.Err()
}

// unusable says, from its row of information_schema.STATISTICS, why the
// purge's range scan cannot read an index, and how to mend it in place
// where that can be done.
func (m Dialect) Unusable(n dialects.Names, name string, row map[string]sql.NullString) (why, fix string) {
	alter := "ALTER TABLE " + m.qualified(n) + " ALTER INDEX " + m.Quote(name)
	switch typ := row["INDEX_TYPE"].String; {
	case !strings.EqualFold(typ, "BTREE"):
		return fmt.Sprintf("it is a %s index, and only a B-tree returns a range of %s in order", typ, m.Quote(dialects.ColExpiresAtTime)), ""
	case strings.EqualFold(row["IS_VISIBLE"].String, "NO"):
		return "it is INVISIBLE, so the optimizer never reads it", alter + " VISIBLE;"
	case strings.EqualFold(row["IGNORED"].String, "YES"):
		return "it is IGNORED, so the optimizer never reads it", alter + " NOT IGNORED;"
	}
	return "", ""
}

// mysqlKeyPrefixLimit is the longest index key, in bytes, that InnoDB's
// COMPACT and REDUNDANT row formats allow; DYNAMIC allows 3072.
const mysqlKeyPrefixLimit = 767

// inspectSettings notes what in the table's storage or the server's
// settings would break the key or the purge: an engine other than InnoDB,
// a key in a wider character set (and a row format that cannot index it),
// a non-strict sql_mode that cuts keys short, a system-versioned table.
func (m Dialect) inspectSettings(ctx context.Context, q dialects.Querier, t *mysqlTable, idOctets int64, info *dialects.TableInfo) error {
	if t.kind == "SYSTEM VERSIONED" {
		info.Notes = append(info.Notes, "the table is system-versioned: every deleted or expired session stays in its history, and purge frees no space")
	}
	if t.engine != "" && !strings.EqualFold(t.engine, "InnoDB") {
		info.Notes = append(info.Notes, fmt.Sprintf("the table uses ENGINE=%s, not InnoDB, whose row locks keep purge batches "+
			"out of the app's way (MyISAM and Aria lock the whole table for every write): ALTER TABLE … ENGINE=InnoDB", t.engine))
	}
	if id, ok := info.Column(dialects.ColID); ok && id.Charset != "" && id.Charset != "ascii" {
		info.Notes = append(info.Notes, fmt.Sprintf("column %s is %s, not ascii as dotnet mysql-cache makes it: a key takes up to %d bytes",
			m.Quote(dialects.ColID), id.Charset, idOctets))
		if idOctets > mysqlKeyPrefixLimit && (strings.EqualFold(t.rowFormat, "Compact") || strings.EqualFold(t.rowFormat, "Redundant")) {
			info.Notes = append(info.Notes, fmt.Sprintf("ROW_FORMAT=%s indexes at most %d bytes of a key, fewer than %s takes: "+
				"use ROW_FORMAT=DYNAMIC or CHARACTER SET ascii", t.rowFormat, mysqlKeyPrefixLimit, m.Quote(dialects.ColID)))
		}
	}
	if mode := t.sqlMode; !strings.Contains(mode, "STRICT_TRANS_TABLES") && !strings.Contains(mode, "STRICT_ALL_TABLES") {
		info.Notes = append(info.Notes, "the server's sql_mode is not strict: a key longer than 449 characters, or one outside ASCII, "+
			"is cut or changed with only a warning, so two sessions can share one row; add STRICT_TRANS_TABLES to sql_mode")
	}
	return nil
}

// inspectVersion reads the version table straight away: information_schema
// lists only the tables a user has a privilege on, and the app's own user
// may have none on it.
func (m Dialect) inspectVersion(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	v, err := dialects.ReadVersion(ctx, q, m.Quote(n.Schema)+"."+m.Quote(n.VersionTable))
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlErrNoSuchTable, mysqlErrUnknownDB:
			return nil
		case mysqlErrTableAccess:
			// MySQL refuses a table the user has no privilege on before
			// it looks whether it is there.
			account := info.User
			if account == "" {
				account = "CURRENT_USER"
			}
			info.VersionUnreadable = true
			info.VersionGrant = "GRANT SELECT ON " + m.Quote(n.Schema) + "." + m.Quote(n.VersionTable) + " TO " + account + ";"
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("reading the version table %s: %w", m.Quote(n.VersionTable), err)
	}
	info.VersionTable, info.Version = true, v
	return nil
}

// mysqlVersionTableSQL is golang-migrate's version table, made by sessctl
// with the name quoted, so that the driver finds it and never makes it:
// the driver looks with SHOW TABLES LIKE, where _ and % in a name match
// other tables, and without its lock two drivers at once would both run
// its CREATE TABLE, which has no IF NOT EXISTS.
const mysqlVersionTableSQL = "CREATE TABLE IF NOT EXISTS %s (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"

// MigrateDriver: golang-migrate's mysql driver uses the session's current
// database, so its pool starts in n.Schema. Its own lock is off: it gives
// up after 10 seconds, which would fail a create queued behind another
// that is indexing a large table. sessctl's lock waits as long as
// golang-migrate's LockTimeout allows instead.
func (m Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	cfg, err := parseMySQLDSN(conn.DSN)
	if err != nil {
		return nil, err
	}
	cfg.DBName = n.Schema
	db, err := openMySQL(cfg)
	if err != nil {
		return nil, err
	}
	drv, err := m.migrateDriver(db, n)
	if err != nil {
		db.Close()
		return nil, err
	}
	return drv, nil
}

func (m Dialect) migrateDriver(db *sql.DB, n dialects.Names) (database.Driver, error) {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(mysqlVersionTableSQL, m.Quote(n.Schema)+"."+m.Quote(n.VersionTable))); err != nil {
		return nil, err
	}
	name, err := m.lockName(ctx, db, "create", n)
	if err != nil {
		return nil, err
	}
	session, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	drv, err := mysqlmigrate.WithConnection(ctx, session, &mysqlmigrate.Config{
		MigrationsTable: n.VersionTable,
		DatabaseName:    n.Schema,
		NoLock:          true,
	})
	if err != nil {
		session.Close()
		return nil, err
	}
	return &mysqlMigrator{Driver: drv, session: session, db: db, name: name, closed: make(chan struct{}),
		versionTable: m.Quote(n.Schema) + "." + m.Quote(n.VersionTable)}, nil
}

// mysqlMigrator is golang-migrate's mysql driver with sessctl's create lock
// in place of its own: a named lock held by the session that runs the
// migrations. A session ends only after the statement it runs, even when
// its client was killed, so the lock outlives an index the server is still
// building for a killed create; a lock in a session of its own would be
// released at once, and the next create would build the index a second
// time and fail on its name.
type mysqlMigrator struct {
	database.Driver
	session   *sql.Conn
	db        *sql.DB // the pool session came from; the driver does not close it
	name      string
	closed    chan struct{}
	closeOnce sync.Once
	// versionTable is the version table, quoted and qualified.
	versionTable string
}

// Lock waits until it holds the lock, asking for it a second at a time so
// that Close can stop the wait: golang-migrate gives up waiting at its
// LockTimeout and then closes the driver.
func (d *mysqlMigrator) Lock() error {
	for {
		select {
		case <-d.closed:
			return database.ErrLocked
		default:
		}
		var got sql.NullInt64
		if err := d.session.QueryRowContext(context.Background(), `SELECT GET_LOCK(?, 1)`, d.name).Scan(&got); err != nil {
			return fmt.Errorf("taking the create lock: %w", err)
		}
		switch {
		case !got.Valid:
			return errors.New("taking the create lock: GET_LOCK failed")
		case got.Int64 == 1:
			// The version table was made before the lock was held
			// (migrateDriver); a drop may have removed it since, as a
			// table left without its cache table: made again under it.
			if _, err := d.session.ExecContext(context.Background(), fmt.Sprintf(mysqlVersionTableSQL, d.versionTable)); err != nil {
				d.session.ExecContext(context.Background(), `SELECT RELEASE_LOCK(?)`, d.name)
				return fmt.Errorf("making the version table: %w", err)
			}
			return nil
		}
	}
}

func (d *mysqlMigrator) Unlock() error {
	var released sql.NullInt64
	return d.session.QueryRowContext(context.Background(), `SELECT RELEASE_LOCK(?)`, d.name).Scan(&released)
}

// Close ends a wait for the lock, and closes the session, which releases
// the lock if it is still held, and its pool.
func (d *mysqlMigrator) Close() error {
	d.closeOnce.Do(func() { close(d.closed) })
	return errors.Join(d.Driver.Close(), d.db.Close())
}

// lockName is the name of the create or purge lock of the table of n, at
// most 64 characters as MySQL 5.7 and later require. Where table names are
// not case-sensitive, neither is the lock's.
func (Dialect) lockName(ctx context.Context, q dialects.Querier, kind string, n dialects.Names) (string, error) {
	var fold bool
	if err := q.QueryRowContext(ctx, `SELECT @@lower_case_table_names <> 0`).Scan(&fold); err != nil {
		return "", fmt.Errorf("reading lower_case_table_names: %w", err)
	}
	return mysqlLockName(kind, n, fold), nil
}

// mysqlLockName is lockName where names are case-sensitive (fold false) or
// not (fold true).
func mysqlLockName(kind string, n dialects.Names, fold bool) string {
	key := n.Schema + "\x00" + n.Table
	if fold {
		key = strings.ToLower(key)
	}
	h := sha256.Sum256([]byte(key))
	return "sessctl-" + kind + ":" + hex.EncodeToString(h[:20])
}

func (m Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	switch problem {
	case dialects.ProblemMissing:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", m.qualified(n), c.Definition)
	case dialects.ProblemType, dialects.ProblemCollation, dialects.ProblemNotNull, dialects.ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s;", m.qualified(n), c.Definition)
	}
	return ""
}

// TemplateData: besides the quoted names, the expiry index migration
// needs the schema and table as literals, to look them up, and the quoted
// names as literals, to build the statement it prepares.
func (m Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":          m.Quote(n.Schema),
		"Table":           m.qualified(n),
		"TableName":       m.Quote(n.Table),
		"VersionTable":    m.Quote(n.Schema) + "." + m.Quote(n.VersionTable),
		"ExpiryIndex":     m.Quote(n.ExpiryIndex),
		"SchemaLiteral":   m.QuoteLiteral(n.Schema),
		"TableLiteral":    m.QuoteLiteral(n.Table),
		"TableText":       m.QuoteLiteral(m.qualified(n)),
		"ExpiryIndexText": m.QuoteLiteral(m.Quote(n.ExpiryIndex)),
	}
}

// TryLock takes a named lock of the session conn holds; the server
// releases it when that session ends, however it ends. The statement that
// takes it chooses its name by lower_case_table_names (as lockName does),
// so that it is one round trip. It then learns whether the server can
// skip locked rows (mysqlSession), once for the whole purge.
func (m Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(m.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (m Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	exact, folded := mysqlLockName("purge", n, false), mysqlLockName("purge", n, true)
	var got sql.NullInt64
	var fold bool
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(IF(@@lower_case_table_names <> 0, ?, ?), 0), @@lower_case_table_names <> 0`,
		folded, exact).Scan(&got, &fold); err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	switch {
	case !got.Valid:
		return nil, false, errors.New("taking the purge lock: GET_LOCK failed")
	case got.Int64 == 0:
		return nil, false, nil
	}
	name := exact
	if fold {
		name = folded
	}
	release := func() error {
		var released sql.NullInt64
		return conn.QueryRowContext(context.Background(), `SELECT RELEASE_LOCK(?)`, name).Scan(&released)
	}
	skip, err := mysqlCanSkipLocked(ctx, conn)
	if err != nil {
		return nil, false, errors.Join(fmt.Errorf("asking the server whether it can skip locked rows: %w", err), release())
	}
	end, err := m.beginSession(ctx, conn, skip)
	if err != nil {
		return nil, false, errors.Join(err, release())
	}
	return func() error { return errors.Join(end(), release()) }, true, nil
}

// mysqlSession is what a purge knows about its session: whether the
// server skips locked rows, and the rows it found held by another session.
type mysqlSession struct {
	// skipLocked: the server has SELECT … FOR UPDATE SKIP LOCKED (MariaDB
	// 10.6, MySQL 8.0.1 and later).
	skipLocked bool
	// held are the Ids of expired rows a batch found held by another
	// session: the rest of the purge passes over them, so that it neither
	// waits for them again nor counts them twice. They are the next run's.
	held map[string]bool
}

// mysqlSessions are the sessions that hold a purge lock, by connection:
// from TryLock to its unlock.
var mysqlSessions sync.Map

// mysqlLockWait is the most seconds a batch waits for one row an app
// session holds, on a server that cannot skip locked rows: the session's
// innodb_lock_wait_timeout during the purge (1, MySQL's least), instead of
// the server's, 50 by default. (MariaDB takes 0 too, but then refuses row
// locks that are free, and fails a COMMIT with error 1.)
const mysqlLockWait = 1

// beginSession registers conn as a purge's session. On a server that
// cannot skip locked rows it also bounds the session's row lock waits to
// mysqlLockWait; end restores them.
func (Dialect) beginSession(ctx context.Context, conn *sql.Conn, skipLocked bool) (end func() error, err error) {
	restore := func() error { return nil }
	if !skipLocked {
		var saved int64
		if err := conn.QueryRowContext(ctx, `SELECT @@SESSION.innodb_lock_wait_timeout`).Scan(&saved); err != nil {
			return nil, fmt.Errorf("reading innodb_lock_wait_timeout: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = "+strconv.Itoa(mysqlLockWait)); err != nil {
			return nil, fmt.Errorf("setting innodb_lock_wait_timeout: %w", err)
		}
		restore = func() error {
			_, err := conn.ExecContext(context.Background(), "SET SESSION innodb_lock_wait_timeout = "+strconv.FormatInt(saved, 10))
			return err
		}
	}
	mysqlSessions.Store(conn, &mysqlSession{skipLocked: skipLocked, held: map[string]bool{}})
	return func() error {
		mysqlSessions.Delete(conn)
		return restore()
	}, nil
}

// session is q's purge session, or, for a q that holds no purge lock, a
// session of its own for one call.
func (Dialect) session(ctx context.Context, q dialects.Querier) (*mysqlSession, error) {
	if c, ok := q.(*sql.Conn); ok {
		if s, ok := mysqlSessions.Load(c); ok {
			return s.(*mysqlSession), nil
		}
	}
	skip, err := mysqlCanSkipLocked(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("asking the server whether it can skip locked rows: %w", err)
	}
	return &mysqlSession{skipLocked: skip, held: map[string]bool{}}, nil
}

// MySQL error numbers of the server refusing syntax it does not have.
const (
	mysqlErrParse           = 1064
	mysqlErrNotSupportedYet = 1235
)

// mysqlCanSkipLocked asks the server whether it has SKIP LOCKED: it
// parses it, or refuses it as a syntax error (MariaDB before 10.6, MySQL
// before 8.0.1).
func mysqlCanSkipLocked(ctx context.Context, q dialects.Querier) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM DUAL FOR UPDATE SKIP LOCKED`).Scan(&one)
	var me *gomysql.MySQLError
	if errors.As(err, &me) && (me.Number == mysqlErrParse || me.Number == mysqlErrNotSupportedYet) {
		return false, nil
	}
	return err == nil, err
}

var _ dialects.Interrupter = Dialect{}

func (Dialect) SessionID(ctx context.Context, conn *sql.Conn) (int64, error) {
	var id int64
	err := conn.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&id)
	return id, err
}

// mysqlErrNoSuchThread: KILL found no session with that id.
const mysqlErrNoSuchThread = 1094

// Interrupt: KILL QUERY, which a user may send to its own sessions. The
// statement fails with error 1317; a session that ended meanwhile is no
// error.
func (Dialect) Interrupt(ctx context.Context, db *sql.DB, id int64) error {
	_, err := db.ExecContext(ctx, "KILL QUERY "+strconv.FormatInt(id, 10))
	var me *gomysql.MySQLError
	if errors.As(err, &me) && me.Number == mysqlErrNoSuchThread {
		return nil
	}
	return err
}

// mysqlMaxBatch is the most rows one purge batch deletes. InnoDB does not
// escalate row locks, but with row-based replication a DELETE writes every
// row it deletes, Value and all, to the binary log as one event group:
// 10,000 rows of sessions of a few KB stay well under the transaction size
// limits of replicas and clusters (Group Replication's
// group_replication_transaction_size_limit, 150 MB by default; Galera's
// wsrep_max_ws_size).
const mysqlMaxBatch = 10000

// Limits: see mysqlMaxBatch.
func (Dialect) Limits() dialects.Limits { return dialects.Limits{MaxBatch: mysqlMaxBatch} }

// A purge batch on MySQL finds its rows with one statement and deletes
// them in a transaction of its own:
//
//   - mysqlExpiredSQL finds the Ids of the oldest expired rows on the
//     expiry index, as a plain (consistent, non-locking) read, so it holds
//     no lock for an app session to wait on;
//   - mysqlLockIDsSQL locks those rows by primary key, skipping (SKIP
//     LOCKED) those another session holds, such as an app's transaction
//     left open over a row: a batch never waits for it, and the rest is
//     purged. A locking read reads every row as it is now, not as a
//     snapshot, so its WHERE clause re-checks the expiry: a session slid
//     forward since the first statement is not taken;
//   - mysqlDeleteIDsSQL deletes the rows it locked, by primary key, the
//     expiry checked once more, and the transaction commits.
//
// Both the lock and the DELETE go by primary key: the primary key is
// forced, as the optimizer, left to itself, may read the few rows that
// pass the expiry test on the expiry index instead. That is the order in
// which Pomelo's refresh and upsert lock a row (the primary key, then the
// entry of the expiry index they change), so a batch and the app never
// deadlock: the batch takes no index entry before the row it belongs to,
// and never waits for a row. One DELETE … ORDER BY ExpiresAtTime LIMIT n,
// or a SELECT … FOR UPDATE along the expiry index, would lock each row's
// index entry before its primary key, the reverse of the app's order; the
// DELETE waits, and an app session refreshing or rewriting a row it holds
// then deadlocks, and InnoDB rolls back the smaller transaction, the
// app's. (The multi-table form of DELETE is the one that takes index
// hints.)
//
// A server without SKIP LOCKED deletes the rows found by primary key in
// one statement, waiting at most mysqlLockWait for a row an app session
// holds; when that runs out it halves the rows and tries again, until the
// held rows are found out, one at a time, and passed over (deleteWaiting).
//
// The clock is UTC_TIMESTAMP(6), as the columns hold UTC whatever the
// session's time zone.
const (
	mysqlExpiredSQL = "SELECT `Id` FROM %[1]s\n" +
		"WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
		"ORDER BY `ExpiresAtTime`\n" +
		"LIMIT %[3]s"
	mysqlLockIDsSQL = "SELECT `Id` FROM %[1]s FORCE INDEX (PRIMARY)\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
		"FOR UPDATE SKIP LOCKED"
	mysqlDeleteIDsSQL = "DELETE %[1]s FROM %[1]s FORCE INDEX (PRIMARY)\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND"
	// mysqlStillExpiredSQL reads which of the rows a batch passed over
	// are still expired as last committed: those another session holds,
	// rather than slid forward or deleted meanwhile.
	mysqlStillExpiredSQL = "SELECT `Id` FROM %[1]s\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND"
)

// mysqlDeleteSQL is the one-statement batch a DBA runs by hand (the purge
// script), where a loop of two statements is not to be had.
const mysqlDeleteSQL = "DELETE FROM %[1]s\n" +
	"WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
	"ORDER BY `ExpiresAtTime`\n" +
	"LIMIT %[3]s"

// mysqlRounds is how many times DeleteExpired looks for expired rows in
// one batch when some it found were held, slid forward or deleted before
// it could delete them.
const mysqlRounds = 8

// mysqlMaxHeld is the most held rows a purge remembers to pass over.
const mysqlMaxHeld = mysqlMaxBatch

// DeleteExpired finds up to limit expired rows, not counting those the
// purge found held, and deletes them by primary key. Rows held, refreshed
// or deleted meanwhile are not deleted; it then looks again for as many,
// so that it returns fewer than limit only when it finds fewer. The
// numbers of the statement that finds them are written into it, as Go
// formats integers: bound, they would cost two more round trips, as
// go-sql-driver prepares a statement with arguments on the server; the
// Ids are bound.
func (m Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	var total int64
	for range mysqlRounds {
		want := limit - int(total)
		passed := len(s.held)
		found, err := m.expiredIDs(ctx, q, n, grace, want+passed)
		if err != nil {
			return total, err
		}
		ids := make([]any, 0, want)
		for _, id := range found {
			if !s.held[id.(string)] && len(ids) < want {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return total, nil
		}
		deleted, err := m.deleteIDs(ctx, q, n, grace, ids, s)
		total += deleted
		if err != nil || len(found) < want+passed || total >= int64(limit) {
			return total, err
		}
	}
	return total, nil
}

var _ dialects.Walker = Dialect{}

// StoredRows is InnoDB's estimate of the table's rows.
func (m Dialect) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		n.Schema, n.Table).Scan(&rows)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return rows.Int64, err
}

// mysqlWalkSQL reads the next rows in primary key order, with whether each
// has expired: a plain read, as mysqlExpiredSQL. Its parameter is the Id
// after which it starts.
const mysqlWalkSQL = "SELECT `Id`, `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
	"FROM %[1]s\n" +
	"%[4]s\n" +
	"ORDER BY `Id`\n" +
	"LIMIT %[3]s"

// DeleteExpiredFrom walks span rows at a time in primary key order, the
// order InnoDB stores them in; a position is an Id. It reads the span with
// a plain read and deletes its expired rows by primary key, as
// DeleteExpired does, passing over the rows another session holds.
func (m Dialect) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	where, args := "", []any(nil)
	if from != "" {
		where, args = "WHERE `Id` > ?", []any{from}
	}
	span = max(span, 1)
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, "", err
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(mysqlWalkSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(span), where), args...)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	var ids []any
	var last string
	read := 0
	for rows.Next() && len(ids) < limit {
		var expired bool
		if err := rows.Scan(&last, &expired); err != nil {
			return 0, "", err
		}
		read++
		if expired && !s.held[last] {
			ids = append(ids, last)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	rows.Close()
	next := last
	if read < span && len(ids) < limit {
		next = "" // the end of the table
	}
	if len(ids) == 0 {
		return 0, next, nil
	}
	deleted, err := m.deleteIDs(ctx, q, n, grace, ids, s)
	if err != nil {
		return deleted, "", err
	}
	return deleted, next, nil
}

// deleteIDs deletes the rows of ids that are still expired, by primary
// key, passing over (and adding to s.held) those another session holds:
// skipped where the server can (deleteSkipping), waited for briefly where
// it cannot (deleteWaiting).
func (m Dialect) deleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any, s *mysqlSession) (int64, error) {
	if !s.skipLocked {
		return m.deleteWaiting(ctx, q, n, grace, ids, s)
	}
	var deleted int64
	var locked []any
	var err error
	for attempt := 1; ; attempt++ {
		deleted, locked, err = m.deleteSkipping(ctx, q, n, grace, ids)
		if !mysqlDeadlock(err) || attempt > mysqlDeadlockRetries {
			break
		}
	}
	if err != nil || len(locked) == len(ids) {
		return deleted, err
	}
	taken := make(map[string]bool, len(locked))
	for _, id := range locked {
		taken[id.(string)] = true
	}
	var passed []any
	for _, id := range ids {
		if !taken[id.(string)] {
			passed = append(passed, id)
		}
	}
	return deleted, m.noteHeld(ctx, q, n, grace, passed, s)
}

func mysqlLockWaitTimeout(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == mysqlErrLockWaitTimeout
}

// mysqlDeadlockRetries is how often a batch rolled back as a deadlock
// victim is run again. It locks rows in the app's order and never waits
// for one, so only an app that locks a row's expiry index entry before
// the row (the providers' own DELETE of expired rows, along the expiry
// index) can deadlock with it; the batch was rolled back whole, so it is
// safe to run again.
const mysqlDeadlockRetries = 3

// mysqlErrDeadlock: the transaction was chosen as a deadlock victim and
// rolled back.
const mysqlErrDeadlock = 1213

func mysqlDeadlock(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == mysqlErrDeadlock
}

// deleteSkipping locks the rows of ids that are expired and no other
// session holds (mysqlLockIDsSQL) and deletes them, in one transaction.
// It returns the rows deleted and the Ids it locked.
func (m Dialect) deleteSkipping(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any) (deleted int64, locked []any, err error) {
	tx, commit, rollback, err := mysqlBegin(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	defer func() {
		if err != nil {
			rollback()
		}
	}()
	locked, err = m.idsOf(ctx, tx, m.idsSQL(mysqlLockIDsSQL, n, grace, len(ids)), ids)
	if err != nil || len(locked) == 0 {
		if err == nil {
			err = commit()
		}
		return 0, nil, err
	}
	res, err := tx.ExecContext(ctx, m.idsSQL(mysqlDeleteIDsSQL, n, grace, len(locked)), locked...)
	if err != nil {
		return 0, nil, err
	}
	if deleted, err = res.RowsAffected(); err != nil {
		return 0, nil, err
	}
	if err = commit(); err != nil {
		return 0, nil, err
	}
	return deleted, locked, nil
}

// mysqlBegin begins a transaction on q's session: a new one for a *sql.DB
// or a *sql.Conn, q itself when it is one already (its caller ends it).
func mysqlBegin(ctx context.Context, q dialects.Querier) (tx dialects.Querier, commit, rollback func() error, err error) {
	none := func() error { return nil }
	if t, ok := q.(*sql.Tx); ok {
		return t, none, none, nil
	}
	b, ok := q.(interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	})
	if !ok {
		return nil, nil, nil, fmt.Errorf("a purge batch needs a transaction, which a %T cannot begin", q)
	}
	t, err := b.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, t.Commit, t.Rollback, nil
}

// mysqlErrLockWaitTimeout: innodb_lock_wait_timeout ran out; the statement
// was rolled back.
const mysqlErrLockWaitTimeout = 1205

// deleteWaiting deletes the rows of ids in one statement, which waits at
// most the session's innodb_lock_wait_timeout (mysqlLockWait during a
// purge) for a row another session holds.
// When the wait runs out, the statement was rolled back whole: it deletes
// each half of ids in the same way, and so on down to the held rows, which
// it passes over. Each held row costs about one wait for every halving,
// log2(len(ids)) of them; the session then remembers it, so that no later
// batch waits for it again.
func (m Dialect) deleteWaiting(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any, s *mysqlSession) (int64, error) {
	res, err := q.ExecContext(ctx, m.idsSQL(mysqlDeleteIDsSQL, n, grace, len(ids)), ids...)
	switch {
	case err == nil:
		return res.RowsAffected()
	case !mysqlLockWaitTimeout(err):
		return 0, err
	case len(ids) == 1:
		return 0, m.noteHeld(ctx, q, n, grace, ids, s)
	}
	half := len(ids) / 2
	first, err := m.deleteWaiting(ctx, q, n, grace, ids[:half], s)
	if err != nil {
		return first, err
	}
	second, err := m.deleteWaiting(ctx, q, n, grace, ids[half:], s)
	return first + second, err
}

// noteHeld adds to s.held the rows of passed, which a batch passed over,
// that are still expired: those another session holds.
func (m Dialect) noteHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, passed []any, s *mysqlSession) error {
	if len(passed) == 0 {
		return nil
	}
	still, err := m.idsOf(ctx, q, m.idsSQL(mysqlStillExpiredSQL, n, grace, len(passed)), passed)
	if err != nil {
		return err
	}
	for _, id := range still {
		if len(s.held) < mysqlMaxHeld {
			s.held[id.(string)] = true
		}
	}
	return nil
}

var _ dialects.HeldCounter = Dialect{}

// CountHeld locks the oldest limit expired rows that no other session
// holds, as a batch would, and rolls back: the rest are held, unless they
// were slid forward or deleted meanwhile. On a server that cannot skip
// locked rows, it counts the held rows the purge found.
func (m Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	if !s.skipLocked {
		var ids []any
		for id := range s.held {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return 0, nil
		}
		still, err := m.idsOf(ctx, q, m.idsSQL(mysqlStillExpiredSQL, n, grace, len(ids)), ids)
		return int64(len(still)), err
	}
	ids, err := m.expiredIDs(ctx, q, n, grace, limit)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	tx, _, rollback, err := mysqlBegin(ctx, q)
	if err != nil {
		return 0, err
	}
	locked, err := m.idsOf(ctx, tx, m.idsSQL(mysqlLockIDsSQL, n, grace, len(ids)), ids)
	if rerr := rollback(); err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	taken := make(map[string]bool, len(locked))
	for _, id := range locked {
		taken[id.(string)] = true
	}
	var passed []any
	for _, id := range ids {
		if !taken[id.(string)] {
			passed = append(passed, id)
		}
	}
	if len(passed) == 0 {
		return 0, nil
	}
	still, err := m.idsOf(ctx, q, m.idsSQL(mysqlStillExpiredSQL, n, grace, len(passed)), passed)
	return int64(len(still)), err
}

// idsSQL writes one of the statements on a list of Ids with the grace
// written in and a placeholder for each of count Ids.
func (m Dialect) idsSQL(query string, n dialects.Names, grace time.Duration, count int) string {
	return fmt.Sprintf(query, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10),
		strings.TrimSuffix(strings.Repeat("?, ", count), ", "))
}

// idsOf runs a query of Ids and returns them.
func (Dialect) idsOf(ctx context.Context, q dialects.Querier, query string, args []any) ([]any, error) {
	ids, err := dialects.ScanIDs(q.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, err
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out, nil
}

// expiredIDs reads the Ids of up to limit of the oldest expired rows.
func (m Dialect) expiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) ([]any, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(mysqlExpiredSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]any, 0, limit)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CountExpired writes the grace into the statement, as DeleteExpired does
// its numbers: bound, it would be prepared on the server first, a second
// round trip for a statement run once.
func (m Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullTime
	err := q.QueryRowContext(ctx, "SELECT COUNT(*), MIN(`ExpiresAtTime`) FROM "+m.qualified(n)+
		" WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL "+strconv.FormatInt(grace.Microseconds(), 10)+" MICROSECOND").Scan(&count, &oldest)
	return count, oldest.Time, err
}

// ExplainPurge explains the statement DeleteExpired runs. (Bound
// parameters would make the driver prepare it on the server, and MySQL does
// not list EXPLAIN among the statements it can prepare.)
func (m Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	find, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(mysqlExpiredSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit)))
	if err != nil {
		return "", err
	}
	del, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(mysqlDeleteIDsSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), "''"))
	if err != nil {
		return "", err
	}
	return "find the expired Ids:\n" + find + "\ndelete them by primary key:\n" + del, nil
}

// deleteSQL is the purge batch with its numbers written in.
func (m Dialect) deleteSQL(n dialects.Names, grace time.Duration, limit int) string {
	return fmt.Sprintf(mysqlDeleteSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit))
}

func (m Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	del := m.deleteSQL(n, grace, limit)
	return fmt.Sprintf(`-- Deletes the rows of %s that expired over %s ago, %d at a time.
-- With autocommit on, each run of the statement is its own transaction:
-- repeat it until it deletes no rows (SELECT ROW_COUNT(); says how many).
%s;
`, m.qualified(n), grace, limit, del)
}
