package postgres

import (
	"fmt"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

// Dialect is PostgreSQL through pgx, with the table layout of
// Community.Microsoft.Extensions.Caching.PostgreSql.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

func (Dialect) Name() string { return "postgres" }

// maxName is NAMEDATALEN-1: PostgreSQL truncates longer names silently.
const maxName = 63

func (Dialect) CheckName(name string) error {
	return dialects.CheckName(name, maxName, "bytes", bytesLen)
}

// bytesLen and runesLen count a name the way an engine limits it.
func bytesLen(s string) int { return len(s) }

// CheckSchema also refuses names that begin with pg_: PostgreSQL keeps them
// for its own schemas, and pg_temp means the session's temporary schema,
// whose tables vanish with the session.
func (p Dialect) CheckSchema(schema string) error {
	if err := p.CheckName(schema); err != nil {
		return err
	}
	if strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("%w %q: PostgreSQL reserves schema names that begin with pg_ for itself", dialects.ErrInvalidName, schema)
	}
	return nil
}

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, `"`, `"`) }

// QuoteLiteral writes an escape string, which means the same whatever
// standard_conforming_strings is set to.
func (Dialect) QuoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.CacheColumns(dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		PrimaryKey:   table + "_pkey",
		ExpiryIndex:  table + "_ExpiresAtTime_idx",
	})
}

func (p Dialect) qualified(n dialects.Names) string {
	return p.Quote(n.Schema) + "." + p.Quote(n.Table)
}

func (p Dialect) Columns() []dialects.ColumnSpec {
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"text", "character varying"}, MinLength: 449, Null: dialects.NotNull,
			CollationOK: collationOK, Collation: `pg_catalog."default"`,
			Definition: `"Id" text COLLATE pg_catalog."default" NOT NULL`},
		{Name: dialects.ColValue, Types: []string{"bytea"}, Null: dialects.NotNullPreferred,
			Definition: `"Value" bytea NOT NULL`},
		{Name: dialects.ColExpiresAtTime, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.NotNullPreferred,
			Definition: `"ExpiresAtTime" timestamp with time zone NOT NULL`},
		{Name: dialects.ColSliding, Types: []string{"double precision"}, Null: dialects.Nullable,
			Definition: `"SlidingExpirationInSeconds" double precision`},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.Nullable,
			Definition: `"AbsoluteExpiration" timestamp with time zone`},
	}
}

// collationOK rejects nondeterministic collations, under which keys that
// differ only in case (or accents) compare equal.
func collationOK(c string) bool { return !strings.HasSuffix(c, nondeterministic) }

const nondeterministic = " (nondeterministic)"
