package dialects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The five columns, named the same in every dialect.
const (
	ColID                 = "Id"
	ColValue              = "Value"
	ColExpiresAtTime      = "ExpiresAtTime"
	ColSliding            = "SlidingExpirationInSeconds"
	ColAbsoluteExpiration = "AbsoluteExpiration"
)

// Nullability is what a column spec requires of NULL.
type Nullability int

const (
	// NotNull: the column must be NOT NULL.
	NotNull Nullability = iota
	// Nullable: the column must accept NULL; the provider writes NULL there.
	Nullable
	// NotNullPreferred: sessctl makes it NOT NULL; a nullable column works
	// with the provider and is only a warning (tables the provider made).
	NotNullPreferred
	// NullEither: the provider works with either, and tables made by it
	// and by hand differ (the key ring's FriendlyName and Xml).
	NullEither
)

// ColumnSpec is one column as the provider needs it.
type ColumnSpec struct {
	Name string
	// Types are the catalog type names that work, lower case; the first is
	// the one sessctl creates.
	Types []string
	// Length is the required maximum length in characters for string
	// types, or the fractional-second digits for time types; -1 means MAX;
	// 0 means not checked.
	Length int
	// MinLength is the fewest characters a string type declared with a
	// length must hold (the provider's longest key); an unbounded one is
	// fine. 0 means not checked.
	MinLength int
	// Precision is the fractional-second digits of the times the provider
	// writes (6: microseconds) in a time column: a column that keeps fewer
	// (its Length) rounds them, an error, as a Length that differs is
	// where Length gives the digits (MySQL's datetime(6)). 0: not checked.
	Precision int
	Null      Nullability
	// CollationOK, when set, reports whether the column's collation keeps
	// keys that differ only in case apart. Nil: collation is not checked.
	CollationOK func(collation string) bool
	// Collation is the collation sessctl creates, for messages.
	Collation string
	// Definition is the column as sessctl writes it in DDL, quoted.
	Definition string
	// Defaulted: the provider's inserts leave the column out, so that it
	// needs a default (classic ASP.NET session state's Created and Flags).
	Defaulted bool
}

// Problem is what is wrong with a column, for FixSQL.
type Problem int

const (
	ProblemMissing   Problem = iota // the column is not there
	ProblemType                     // wrong type or length
	ProblemCollation                // a collation under which keys collide
	ProblemNotNull                  // nullable, must be NOT NULL
	ProblemNullable                 // NOT NULL, must accept NULL
	// ProblemDefault: the column has no default, and needs the one its
	// Definition gives (ColumnSpec.Defaulted).
	ProblemDefault
	// ProblemRebuild: the table itself must be made again, keeping its
	// rows (SQLite: a WITHOUT ROWID table, one that is not STRICT). The
	// column spec is not used.
	ProblemRebuild
)

// ObjectKind is what, if anything, stands under the table's name.
type ObjectKind string

const (
	KindMissing ObjectKind = "missing"
	KindTable   ObjectKind = "table"
	KindView    ObjectKind = "view"
	KindOther   ObjectKind = "other"
)

// Column is one column as the catalog reports it.
type Column struct {
	Name       string
	Type       string // lower case catalog type name, without length
	Length     int    // characters for string types, fractional-second digits for time types; -1 for MAX; 0 unknown
	Nullable   bool
	HasDefault bool
	Collation  string
	Charset    string
}

// Index is one index as the catalog reports it.
type Index struct {
	Name    string
	Columns []string // key columns in order
	Unique  bool
	Primary bool
	// Unusable says why the purge's range scan on its first key column
	// cannot read it in order ("" when it can): it is not a B-tree (or the
	// engine's equivalent), it has a predicate (partial, filtered), it is
	// not valid or not ready (a CREATE INDEX CONCURRENTLY that did not
	// finish), disabled, invisible or ignored. A descending key is usable.
	Unusable string
	// Fix, for an unusable index, is the SQL that makes this index usable
	// where it stands (rebuild it, make it visible), or "" when it cannot
	// be made usable and must be replaced.
	Fix string
	// Drop is the SQL that drops it, one statement.
	Drop string
}

// Version is the row of a golang-migrate version table.
type Version struct {
	Version int64
	Dirty   bool
}

// TableInfo is what the catalog says of a table and its version table.
type TableInfo struct {
	Kind    ObjectKind
	Name    string // the table's name as stored, which may differ in case
	Columns []Column
	// PrimaryKey lists the primary key's columns; nil when there is none.
	PrimaryKey     []string
	PrimaryKeyName string
	Indexes        []Index
	// VersionTable is set when the version table exists; Version is nil
	// when it does not or has no row.
	VersionTable bool
	Version      *Version
	// VersionUnreadable: the version table may be there, but this user may
	// not read it, so the version is unknown; VersionGrant is the statement
	// that lets it.
	VersionUnreadable bool
	VersionGrant      string
	// Notes are engine-specific observations for verify (warnings).
	Notes []string

	// User is the user the catalog was read as, quoted as a GRANT names it.
	// MissingPrivileges are the privileges the app's cache provider needs
	// (SELECT, INSERT, UPDATE and DELETE on the table; PostgreSQL: USAGE on
	// its schema) that this user lacks, and PrivilegeGrant the statements
	// that give them; nil where the engine has no users (SQLite) or the
	// privileges could not be told (MySQL roles).
	User              string
	MissingPrivileges []string
	PrivilegeGrant    string

	// Expiry is the column the table's layout expires rows by, as the
	// Names it was inspected with say (Names.Expiry): the expiry index is
	// the one whose first key column it is. "" is ColExpiresAtTime, the
	// cache table's.
	Expiry string
	// Unlogged: PostgreSQL writes no WAL for the table, so a crash empties
	// it and a replica has none of its rows.
	Unlogged bool

	// Partitioned is set for a table whose rows live in partitions of
	// their own (PostgreSQL's declarative partitioning): its storage
	// positions are per partition.
	Partitioned bool

	// Facts of SQLite's storage; false on the other engines.

	// WithoutRowID: the table is a WITHOUT ROWID table, which has no rowid
	// for purge to delete by.
	WithoutRowID bool
	// NotStrict: the table is not STRICT, so a column takes a value of any
	// type (ExpiresAtTime a time written as text, say).
	NotStrict bool
	// NonIntegerExpiry: some row's ExpiresAtTime is text or a blob, which
	// sorts after every integer: no purge deletes it and no app expires it.
	// Read only where a usable expiry index makes it one probe.
	NonIntegerExpiry bool
}

// Column returns the column named name, matched exactly.
func (t *TableInfo) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ExpiryIndex returns the first usable index whose first key column is
// the expiry column (Expiry), whatever its name: only such an index serves the purge's
// range scan.
func (t *TableInfo) ExpiryIndex() (Index, bool) {
	for _, ix := range t.Indexes {
		if ix.on(t.ExpiryColumn()) && ix.Unusable == "" {
			return ix, true
		}
	}
	return Index{}, false
}

// UnusableExpiryIndexes are the indexes whose first key column is
// the expiry column but that the purge cannot use, and why (Index.Unusable).
func (t *TableInfo) UnusableExpiryIndexes() []Index {
	var out []Index
	for _, ix := range t.Indexes {
		if ix.on(t.ExpiryColumn()) && ix.Unusable != "" {
			out = append(out, ix)
		}
	}
	return out
}

// ExpiryColumn is the column rows expire by: Expiry, or the cache
// table's.
func (t *TableInfo) ExpiryColumn() string {
	if t.Expiry == "" {
		return ColExpiresAtTime
	}
	return t.Expiry
}

func (ix Index) on(col string) bool { return len(ix.Columns) > 0 && ix.Columns[0] == col }

// addIndexColumn adds key column col to the index called name: catalog rows
// come one per key column, ordered by index and position, so a new name
// starts a new index.
func (t *TableInfo) AddIndexColumn(name string, primary, unique bool, col string) *Index {
	if k := len(t.Indexes); k == 0 || t.Indexes[k-1].Name != name {
		t.Indexes = append(t.Indexes, Index{Name: name, Primary: primary, Unique: unique})
	}
	ix := &t.Indexes[len(t.Indexes)-1]
	ix.Columns = append(ix.Columns, col)
	if primary {
		t.PrimaryKey, t.PrimaryKeyName = ix.Columns, name
	}
	return ix
}

// readVersion reads the row of the golang-migrate version table called
// qualified (quoted): nil when it has none.
func ReadVersion(ctx context.Context, q Querier, qualified string) (*Version, error) {
	var v Version
	err := q.QueryRowContext(ctx, `SELECT version, dirty FROM `+qualified+` LIMIT 1`).Scan(&v.Version, &v.Dirty)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// canonicalColumn is the provider's name for a column that an engine whose
// column names match in any case (MySQL, SQLite) would take for it, as
// d's Columns spell it; other names are returned as they are.
func CanonicalColumn(d Dialect, name string) string {
	for _, c := range d.Columns() {
		if strings.EqualFold(name, c.Name) {
			return c.Name
		}
	}
	return name
}

// quoteWith quotes ident between open and close, doubling every close
// character inside it.
func QuoteWith(ident, open, close string) string {
	return open + strings.ReplaceAll(ident, close, close+close) + close
}

// checkName is the rule every engine shares: not empty, valid UTF-8, no NUL,
// at most max units as counted by count.
func CheckName(name string, max int, unit string, count func(string) int) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: a name cannot be empty", ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidName, name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%w %q: contains a NUL character", ErrInvalidName, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w %q: contains a control character", ErrInvalidName, name)
	case max > 0 && count(name) > max:
		return fmt.Errorf("%w %q: %d %s, over this database's limit of %d; choose a shorter table name",
			ErrInvalidName, name, count(name), unit, max)
	}
	return nil
}
