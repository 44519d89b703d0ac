package sqlserver

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/sessctl/sessctl/dialects"
)

// Dialect is SQL Server and Azure SQL through go-mssqldb, with exactly the
// table `dotnet sql-cache create` makes, which Microsoft.Extensions.Caching.
// SqlServer reads and writes.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

// maxName is the length of sysname, nvarchar(128), in UTF-16 code
// units: SQL Server refuses longer names.
const maxName = 128

func (Dialect) Name() string { return "sqlserver" }

// CheckName also refuses ] and ': golang-migrate's sqlserver driver writes
// the version table's name as [schema].[table] without doubling ], and
// inside N'…' without doubling ', so such a name would break (or inject
// into) the SQL it sends. And a name that begins with # would make a
// temporary table, which vanishes with the session.
func (Dialect) CheckName(name string) error {
	if err := dialects.CheckName(name, maxName, "characters (UTF-16)", utf16Len); err != nil {
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
	return dialects.CacheColumns(dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		ExpiryIndex:  "Index_ExpiresAtTime",
	})
}

func (s Dialect) qualified(n dialects.Names) string {
	return s.Quote(n.Schema) + "." + s.Quote(n.Table)
}

// collationOK accepts a collation under which keys that differ only
// in case, or only in accents, stay apart: case-sensitive (_CS_) or binary
// (_BIN, _BIN2), and not accent-insensitive (_AI).
func collationOK(c string) bool {
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
			CollationOK: collationOK, Collation: "SQL_Latin1_General_CP1_CS_AS",
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

func (s Dialect) versionTable(n dialects.Names) string {
	return s.Quote(n.Schema) + "." + s.Quote(n.VersionTable)
}

// utf16Len counts a name as SQL Server does: in UTF-16 code units.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }
