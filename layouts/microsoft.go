package layouts

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
)

// The columns of Microsoft.Extensions.Caching.Postgres's table, lower case
// as PostgreSQL keeps them: its DDL names them unquoted (LAYOUTS.md §1.1).
const (
	ColMSID       = "id"
	ColMSValue    = "value"
	ColMSExpires  = "expiresattime"
	ColMSSliding  = "slidingexpirationinseconds"
	ColMSAbsolute = "absoluteexpiration"
)

// microsoftPackage is the package whose table Microsoft is.
const microsoftPackage = "Microsoft.Extensions.Caching.Postgres"

// Microsoft is the table of Microsoft.Extensions.Caching.Postgres,
// Microsoft's own PostgreSQL IDistributedCache: lower-case columns, sliding
// seconds as bigint, UNLOGGED unless its UseWAL is set. The package puts
// SchemaName and TableName into its SQL unquoted, so PostgreSQL folds them
// to lower case: Find makes the name the package will read, and refuses
// one it never can.
var Microsoft = &Layout{
	Name:        "microsoft",
	Description: "the table of Microsoft.Extensions.Caching.Postgres (Microsoft's PostgreSQL IDistributedCache)",
	Noun:        microsoftPackage + " table",
	Columns: []Column{
		{Name: ColMSID, Kind: Key, Length: 449},
		{Name: ColMSValue, Kind: Bytes},
		{Name: ColMSExpires, Kind: Time},
		{Name: ColMSSliding, Kind: Seconds, Nullable: true},
		{Name: ColMSAbsolute, Kind: Time, Nullable: true},
	},
	PrimaryKey: []string{ColMSID},
	Expiry:     ColMSExpires,
	Templates:  migrations.Microsoft,
	// The same promises as the cache table's: the table, then a usable
	// index on the expiry column, whatever its name (the package's own
	// ix_expiresattime too).
	Promises:       Cache.Promises,
	IndexMigration: migrations.ExpiryIndex,
	Engines:        []string{"postgres"},
	Specs:          microsoftSpecs,
	Named:          microsoftNames,
	Find:           microsoftFind,
	Providers:      map[string]string{"postgres": microsoftPackage},
	Unlogged:       true,
}

// microsoftSpecs are the package's columns (CREATE TABLE in SqlQueries.cs):
// id VARCHAR(449) COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL,
// expiresattime TIMESTAMPTZ NOT NULL, slidingexpirationinseconds BIGINT
// NULL (it binds TimeSpan.TotalSeconds as a bigint), absoluteexpiration
// TIMESTAMPTZ NULL.
func microsoftSpecs(d dialects.Core) []dialects.ColumnSpec {
	if d.Name() != "postgres" {
		return nil
	}
	return []dialects.ColumnSpec{
		{Name: ColMSID, Types: []string{"character varying", "text"}, MinLength: 449, Null: dialects.NotNull,
			CollationOK: deterministic, Collation: `"C"`,
			Definition: `id character varying(449) COLLATE "C" NOT NULL`},
		{Name: ColMSValue, Types: []string{"bytea"}, Null: dialects.NotNull, Definition: "value bytea NOT NULL"},
		{Name: ColMSExpires, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.NotNull,
			Definition: "expiresattime timestamp with time zone NOT NULL"},
		{Name: ColMSSliding, Types: []string{"bigint"}, Null: dialects.Nullable, Definition: "slidingexpirationinseconds bigint"},
		{Name: ColMSAbsolute, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.Nullable,
			Definition: "absoluteexpiration timestamp with time zone"},
	}
}

// deterministic rejects a collation PostgreSQL's Inspect marks
// nondeterministic, under which keys that differ in case compare equal.
func deterministic(c string) bool { return !strings.HasSuffix(c, " (nondeterministic)") }

// microsoftNames: the expiry index is named for its table. The package's
// own ix_expiresattime is one name for its whole schema, so that a second
// table there gets no index; create accepts it, as any usable index on
// expiresattime, on the table it is on.
func microsoftNames(_ dialects.Core, n dialects.Names) dialects.Names {
	n.ExpiryIndex = "ix_" + n.Table + "_" + ColMSExpires
	return n
}

// plainName is a name PostgreSQL reads unquoted, in ASCII.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// reserved are PostgreSQL's keywords that cannot name a schema unquoted
// (pg_get_keywords() catcode R and T, PostgreSQL 15): the package's
// `schema.table` would not parse. After the dot any keyword is a name.
var reserved = strings.Fields(`all analyse analyze and any array as asc asymmetric authorization binary both
case cast check collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc distinct do
else end except false fetch for foreign freeze from full grant group having ilike in initially inner intersect
into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on
only or order outer overlaps placing primary references returning right select session_user similar some
symmetric table tablesample then to trailing true union unique user using variadic verbose when where window with`)

// microsoftFind is the name the package reads for name: PostgreSQL folds
// an unquoted name to lower case. A name that needs quoting (a space, a
// quote, a dash, a letter outside ASCII) the package can never find, as
// it never quotes: refused.
func microsoftFind(_, what, name string) (string, string, error) {
	option := map[string]string{"schema": "SchemaName", "table": "TableName"}[what]
	if !plainName.MatchString(name) {
		return "", "", fmt.Errorf("%w %q: %s puts %s into its SQL unquoted, so it can only find a name of ASCII letters, digits, _ and $ "+
			"that starts with a letter or _; choose such a %s name", dialects.ErrInvalidName, name, microsoftPackage, option, what)
	}
	folded := strings.ToLower(name)
	if what == "schema" && slices.Contains(reserved, folded) {
		return "", "", fmt.Errorf("%w %q: %q is a reserved word in PostgreSQL, and %s puts %s into its SQL unquoted, "+
			"where it does not parse; choose another schema name", dialects.ErrInvalidName, name, folded, microsoftPackage, option)
	}
	if folded == name {
		return name, "", nil
	}
	return folded, fmt.Sprintf("%s %q is made as %q, the %s the app reads: %s puts %s into its SQL unquoted, so PostgreSQL folds "+
		"%s = %q to lower case; set %s = %q to say so", what, name, folded, what, microsoftPackage, option, option, name, option, folded), nil
}
