package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessctl/sessctl/dialects"
)

// sameName is the WHERE clause that finds a name in information_schema
// as MySQL does: exactly where names are case-sensitive
// (lower_case_table_names = 0), in any case elsewhere. Its plain equality
// keeps MySQL's fast path, which opens only the one table; the binary one
// keeps SessionData and sessiondata apart. Arguments: name, name.
const sameName = `(%[1]s = ? AND (@@lower_case_table_names <> 0 OR %[1]s = ? COLLATE utf8mb4_bin))`

// SchemaExists: information_schema lists only the databases a user has a
// privilege in, so one it does not list is asked for by name: the server
// says whether it is missing (1049) or refused (1044, a permission error).
func (m Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE `+
		fmt.Sprintf(sameName, "SCHEMA_NAME"), schema, schema).Scan(&n)
	if err != nil || n > 0 {
		return n > 0, err
	}
	rows, err := q.QueryContext(ctx, "SHOW TABLES FROM "+m.Quote(schema)+" LIKE 'sessctl: no such table'")
	var me *gomysql.MySQLError
	switch {
	case errors.As(err, &me) && me.Number == errUnknownDB:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking for database %s: %w", m.Quote(schema), err)
	}
	return true, rows.Close()
}

var tableQuery = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), COALESCE(ROW_FORMAT, ''), @@GLOBAL.sql_mode
FROM information_schema.TABLES
WHERE ` + fmt.Sprintf(sameName, "TABLE_SCHEMA") + ` AND ` + fmt.Sprintf(sameName, "TABLE_NAME")

// storedName finds the columns or indexes of the one table named
// exactly as the catalog stores it. Arguments: schema, schema, table, table.
const storedName = `TABLE_SCHEMA = ? AND TABLE_SCHEMA = ? COLLATE utf8mb4_bin
  AND TABLE_NAME = ? AND TABLE_NAME = ? COLLATE utf8mb4_bin`

const columnsQuery = `
SELECT COLUMN_NAME, DATA_TYPE,
       COALESCE(CHARACTER_MAXIMUM_LENGTH, 0), COALESCE(CHARACTER_OCTET_LENGTH, 0), COALESCE(DATETIME_PRECISION, 0),
       IS_NULLABLE = 'YES',
       COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%',
       COALESCE(COLLATION_NAME, ''), COALESCE(CHARACTER_SET_NAME, '')
FROM information_schema.COLUMNS
WHERE ` + storedName + `
ORDER BY ORDINAL_POSITION`

// indexesQuery reads every index's key columns in order. It selects
// every column because what makes an index invisible to the optimizer is a
// column only some servers have: IS_VISIBLE (MySQL 8) or IGNORED (MariaDB
// 10.6 and later); inspectIndexes reads them by name.
const indexesQuery = `
SELECT *
FROM information_schema.STATISTICS
WHERE ` + storedName + `
ORDER BY INDEX_NAME, SEQ_IN_INDEX`

// catalogTable is what information_schema.TABLES says of one table. Its
// names are as the catalog stores them: lower case where
// lower_case_table_names = 1, whatever the user typed.
type catalogTable struct {
	schema, name, kind, engine, rowFormat string
	sqlMode                               string // the server's, read with it: one statement fewer
}

func (m Dialect) findTable(ctx context.Context, q dialects.Querier, schema, table string) (*catalogTable, error) {
	var t catalogTable
	err := q.QueryRowContext(ctx, tableQuery, schema, schema, table, table).Scan(&t.schema, &t.name, &t.kind, &t.engine, &t.rowFormat, &t.sqlMode)
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
	case errors.As(err, &me) && (me.Number == errNoSuchTable || me.Number == errUnknownDB):
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

// grantee is CURRENT_USER() as information_schema's GRANTEE spells it:
// 'user'@'host'.
const grantee = `CONCAT('''', SUBSTRING(CURRENT_USER(), 1, CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1),
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
	rows, err := q.QueryContext(ctx, `SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = `+grantee+`
UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = `+grantee+` AND ? LIKE TABLE_SCHEMA
UNION SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = `+grantee+` AND TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
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
func (m Dialect) inspectColumns(ctx context.Context, q dialects.Querier, t *catalogTable, info *dialects.TableInfo) (int64, error) {
	rows, err := q.QueryContext(ctx, columnsQuery, t.schema, t.schema, t.name, t.name)
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

func (m Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, t *catalogTable, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, indexesQuery, t.schema, t.schema, t.name, t.name)
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
			ix.Unusable, ix.Fix = m.unusable(n, name, row)
			ix.Drop = fmt.Sprintf("DROP INDEX %s ON %s;", m.Quote(name), m.qualified(n))
		}
	}
	return rows.Err()
}

// unusable says, from its row of information_schema.STATISTICS, why the
// purge's range scan cannot read an index, and how to mend it in place
// where that can be done.
func (m Dialect) unusable(n dialects.Names, name string, row map[string]sql.NullString) (why, fix string) {
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

// keyPrefixLimit is the longest index key, in bytes, that InnoDB's
// COMPACT and REDUNDANT row formats allow; DYNAMIC allows 3072.
const keyPrefixLimit = 767

// inspectSettings notes what in the table's storage or the server's
// settings would break the key or the purge: an engine other than InnoDB,
// a key in a wider character set (and a row format that cannot index it),
// a non-strict sql_mode that cuts keys short, a system-versioned table.
func (m Dialect) inspectSettings(ctx context.Context, q dialects.Querier, t *catalogTable, idOctets int64, info *dialects.TableInfo) error {
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
		if idOctets > keyPrefixLimit && (strings.EqualFold(t.rowFormat, "Compact") || strings.EqualFold(t.rowFormat, "Redundant")) {
			info.Notes = append(info.Notes, fmt.Sprintf("ROW_FORMAT=%s indexes at most %d bytes of a key, fewer than %s takes: "+
				"use ROW_FORMAT=DYNAMIC or CHARACTER SET ascii", t.rowFormat, keyPrefixLimit, m.Quote(dialects.ColID)))
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
		case errNoSuchTable, errUnknownDB:
			return nil
		case errTableAccess:
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

func (m Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	switch problem {
	case dialects.ProblemMissing:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", m.qualified(n), c.Definition)
	case dialects.ProblemType, dialects.ProblemCollation, dialects.ProblemNotNull, dialects.ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s;", m.qualified(n), c.Definition)
	}
	return ""
}
