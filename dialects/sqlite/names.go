package sqlite

import (
	"fmt"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

// Dialect is SQLite through the pure-Go modernc.org/sqlite, the default that
// needs no server. Times are INTEGER microseconds since the Unix epoch, UTC:
// exact to the microsecond like the other engines, sortable, and compared
// without any parsing.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

func (Dialect) Name() string { return "sqlite" }

func (Dialect) CheckName(name string) error {
	if err := dialects.CheckName(name, 0, "", nil); err != nil {
		return err
	}
	if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
		return fmt.Errorf("%w %q: SQLite reserves names that begin with sqlite_", dialects.ErrInvalidName, name)
	}
	return nil
}

func (Dialect) CheckSchema(schema string) error {
	if schema != "main" {
		return fmt.Errorf("%w %q: a SQLite database file has one schema: use main", dialects.ErrInvalidName, schema)
	}
	return nil
}

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, `"`, `"`) }

func (Dialect) QuoteLiteral(s string) string { return dialects.QuoteWith(s, "'", "'") }

func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.CacheColumns(dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		ExpiryIndex:  table + "_ExpiresAtTime_idx",
	})
}

func (s Dialect) qualified(n dialects.Names) string {
	return s.Quote(n.Schema) + "." + s.Quote(n.Table)
}

func (Dialect) Columns() []dialects.ColumnSpec {
	binary := func(c string) bool { return c == "" || strings.EqualFold(c, "BINARY") }
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"text"}, Null: dialects.NotNull, CollationOK: binary, Collation: "BINARY",
			Definition: `"Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY`},
		{Name: dialects.ColValue, Types: []string{"blob"}, Null: dialects.NotNull, Definition: `"Value" BLOB NOT NULL`},
		{Name: dialects.ColExpiresAtTime, Types: []string{"integer"}, Null: dialects.NotNull, Definition: `"ExpiresAtTime" INTEGER NOT NULL`},
		{Name: dialects.ColSliding, Types: []string{"integer"}, Null: dialects.Nullable, Definition: `"SlidingExpirationInSeconds" INTEGER`},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"integer"}, Null: dialects.Nullable, Definition: `"AbsoluteExpiration" INTEGER`},
	}
}
