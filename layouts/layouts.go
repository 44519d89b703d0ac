// Package layouts names the table shapes sessctl manages, beside the
// engines that spell them: a layout is which table (its logical columns,
// its key, the column it expires rows by, its DDL templates, the noun its
// messages use), an engine is how one database writes it: Cache, the
// ASP.NET Core IDistributedCache table; Keys, the Data Protection key
// ring; Microsoft, Microsoft.Extensions.Caching.Postgres's table.
//
// A layout is a value, never an engine's hard-coding: package schema
// reads it to tell its table from another and to purge it, package
// migrations renders its template set, and each engine renders its
// logical columns in its own types (dialects.Core.Columns, which today
// renders Cache's).
package layouts

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
)

// Kind is a column's logical type: what the app stores there, whatever
// the engine's type that holds it.
type Kind int

const (
	// Key is a string key of at most Column.Length characters that the
	// app compares byte for byte: two keys differing only in case are two
	// rows.
	Key Kind = iota
	// Bytes is an unbounded binary value.
	Bytes
	// Time is a point in time, kept to the microsecond, in UTC.
	Time
	// Seconds is a duration, a number of seconds.
	Seconds
	// Serial is an integer key the database numbers (identity,
	// AUTO_INCREMENT, AUTOINCREMENT).
	Serial
	// Text is an unbounded string.
	Text
	// Int is an integer the provider writes: a count, a cookie, a flag
	// (classic ASP.NET session state's LockCookie, Timeout, Locked, Flags).
	Int
)

var kindNames = [...]string{Key: "key", Bytes: "bytes", Time: "time", Seconds: "seconds", Serial: "serial", Text: "text", Int: "int"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Column is one logical column of a layout.
type Column struct {
	// Name is the column's name, spelled as the app's provider names it,
	// exactly: the same in every engine.
	Name string
	Kind Kind
	// Length is, for a Key, the most characters a key has (the provider's
	// longest); 0 otherwise.
	Length int
	// Nullable is set when the provider writes NULL there; a column that
	// is not holds a value in every row the provider writes.
	Nullable bool
}

// Layout is one table shape.
type Layout struct {
	// Name is the name --layout will take.
	Name string
	// Description says, in a line, what table this is and whose.
	Description string
	// Noun is what messages call a table of this layout ("cache table").
	Noun string
	// Columns are the logical columns, in the order the layout's
	// reference DDL lists them; an engine may create them in its own
	// provider's order (Pomelo's MySQL table).
	Columns []Column
	// PrimaryKey are the columns of the primary key, in order: the guard
	// that rows are one per key.
	PrimaryKey []string
	// Expiry is the column purge deletes by: a row expired grace ago when
	// Expiry < now - grace, by the database's clock. It is also the first
	// key column of the expiry index purge reads. "" when rows of this
	// layout do not expire, and purge does not apply.
	Expiry string
	// Templates is the layout's DDL: its set of templates in package
	// migrations, one folder per engine.
	Templates migrations.Set
	// Promises say, for each migration version of Templates, how the
	// catalog shows that what the migration makes is there: create makes
	// again what a recorded version promises and the table no longer has.
	// Every migration has an entry.
	Promises map[uint]func(*dialects.TableInfo) bool
	// IndexMigration is the migration that makes the expiry index, which
	// create skips when a usable index on Expiry is there, whatever its
	// name; 0 when there is none.
	IndexMigration uint
	// Engines are the dialects (by name) a table of this layout lives
	// in; nil is every one.
	Engines []string
	// Specs are the layout's columns as engine d spells them, in the order
	// create makes them; nil is d's own Columns, the cache table's.
	Specs func(d dialects.Core) []dialects.ColumnSpec
	// Named are n, derived by the engine for the cache table, as this
	// layout names its objects and columns (Key, Expiry, ExpiryIndex...);
	// nil keeps n but for Key and Expiry, which are PrimaryKey[0] and
	// Expiry.
	Named func(d dialects.Core, n dialects.Names) dialects.Names
	// Kept says why rows of this layout must be kept: "" when they are
	// the app's to lose (the cache), otherwise drop refuses a table of it
	// that holds any unless forced, and purge, saying this, refuses it.
	Kept string
	// Find, when set, is a name typed for the table (what is "schema" or
	// "table") as the layout's provider finds it in engine d: the name
	// sessctl makes, with a note saying why when it is not the name typed,
	// or an error for a name the provider can never find. Nil keeps names
	// as typed.
	Find func(d, what, name string) (found, note string, err error)
	// Providers name, per engine, the .NET package whose table this is.
	Providers map[string]string
	// Unlogged: the provider makes its table UNLOGGED (PostgreSQL), and
	// create does too unless asked for a logged one.
	Unlogged bool
	// NoCreate, when set, is why create does not make a table of this
	// layout (its provider or tool makes it, with more than the table),
	// and what to run instead; create refuses it, and verify records no
	// sessctl version for it.
	NoCreate string
	// NoDrop, when set, is why drop refuses a table of this layout, and
	// what removes it instead.
	NoDrop string
}

// Whose is the .NET package whose table this is in engine d, or the
// layout's description where none is named.
func (l *Layout) Whose(d string) string {
	if p, ok := l.Providers[d]; ok {
		return p
	}
	return l.Description
}

// All are the layouts there are, by name.
func All() []*Layout {
	out := make([]*Layout, 0, len(all))
	for _, n := range Names() {
		out = append(out, all[n])
	}
	return out
}

// In reports whether tables of this layout live in engine d (by name).
func (l *Layout) In(d string) bool { return l.Engines == nil || slices.Contains(l.Engines, d) }

// ColumnsIn are the layout's columns as d spells them.
func (l *Layout) ColumnsIn(d dialects.Core) []dialects.ColumnSpec {
	if l.Specs == nil {
		return d.Columns()
	}
	return l.Specs(d)
}

// NamesIn are the names of the objects of table schema.table of this
// layout in d.
func (l *Layout) NamesIn(d dialects.Core, schema, table string) dialects.Names {
	n := d.Names(schema, table)
	if len(l.PrimaryKey) > 0 {
		n.Key = l.PrimaryKey[0]
	}
	n.Expiry = l.Expiry
	if l.Named != nil {
		n = l.Named(d, n)
	}
	return n
}

// ErrWrongEngine: a layout asked for in an engine it has no table in.
var ErrWrongEngine = errors.New("layout not in this engine")

// Check reports, wrapping ErrWrongEngine, that engine d has no table of
// this layout.
func (l *Layout) Check(d string) error {
	if l.In(d) {
		return nil
	}
	return fmt.Errorf("%w: --layout %s is %s, which lives in %s only, and this is %s: connect to %s, or choose another --layout",
		ErrWrongEngine, l.Name, l.Description, strings.Join(l.Engines, ", "), d, strings.Join(l.Engines, " or "))
}

// Cache is the table of ASP.NET Core's IDistributedCache SQL providers
// (Microsoft.Extensions.Caching.SqlServer, the community PostgreSQL
// provider, Pomelo's MySQL provider; SQLite as sessctl lays it out).
var Cache = &Layout{
	Name:        "cache",
	Description: "the ASP.NET Core distributed cache table (IDistributedCache: sessions, tokens, output cache)",
	Noun:        "cache table",
	Columns: []Column{
		{Name: dialects.ColID, Kind: Key, Length: 449},
		{Name: dialects.ColValue, Kind: Bytes},
		{Name: dialects.ColExpiresAtTime, Kind: Time},
		{Name: dialects.ColSliding, Kind: Seconds, Nullable: true},
		{Name: dialects.ColAbsoluteExpiration, Kind: Time, Nullable: true},
	},
	PrimaryKey: []string{dialects.ColID},
	Expiry:     dialects.ColExpiresAtTime,
	Templates:  migrations.Cache,
	Promises: map[uint]func(*dialects.TableInfo) bool{
		migrations.Table: func(info *dialects.TableInfo) bool { return info.Kind == dialects.KindTable },
		migrations.ExpiryIndex: func(info *dialects.TableInfo) bool {
			_, ok := info.ExpiryIndex()
			return ok
		},
	},
	IndexMigration: migrations.ExpiryIndex,
	Providers: map[string]string{
		"postgres":  "Community.Microsoft.Extensions.Caching.PostgreSql",
		"sqlserver": "Microsoft.Extensions.Caching.SqlServer",
		"mysql":     "Pomelo.Extensions.Caching.MySql",
	},
}

// all are the layouts --layout will know, by name.
var all = map[string]*Layout{
	Cache.Name:       Cache,
	Keys.Name:        Keys,
	Microsoft.Name:   Microsoft,
	AspState.Name:    AspState,
	AspNetAsync.Name: AspNetAsync,
	Universal.Name:   Universal,
}

// ErrUnknownLayout: a layout name that names none.
var ErrUnknownLayout = errors.New("unknown layout")

// Lookup returns the layout called name; an unknown name fails with the
// list of those there are.
func Lookup(name string) (*Layout, error) {
	if l, ok := all[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("%w %q: choose one of %s", ErrUnknownLayout, name, strings.Join(Names(), ", "))
}

// Names are the layouts' names, sorted.
func Names() []string {
	out := make([]string, 0, len(all))
	for n := range all {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// In are the layouts whose tables live in engine d, by name.
func In(d string) []*Layout {
	var out []*Layout
	for _, n := range Names() {
		if l := all[n]; l.In(d) {
			out = append(out, l)
		}
	}
	return out
}

// Column returns the logical column called name, matched exactly.
func (l *Layout) Column(name string) (Column, bool) {
	i := slices.IndexFunc(l.Columns, func(c Column) bool { return c.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return l.Columns[i], true
}

// Purges reports whether purge applies to tables of this layout: whether
// its rows expire.
func (l *Layout) Purges() bool { return l.Expiry != "" }

// String is the layout's name.
func (l *Layout) String() string { return l.Name }
