package sqlserver

import (
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// The purge's SQL is written for the cache table, [Id] and
// [ExpiresAtTime], compared with SYSDATETIMEOFFSET(). A table of another
// layout has its own key and expiry columns (n.Key, n.Expiry), and may
// keep its expiry in another type (n.ExpiryType): purgeCols carries them,
// and of renders a statement for them, leaving the cache table's SQL as it
// is, byte for byte.
type purgeCols struct {
	n dialects.Names
	// datetime: the expiry is a datetime holding UTC (classic ASP.NET
	// session state's Expires), compared with GETUTCDATE().
	datetime bool
}

func colsOf(n dialects.Names) purgeCols { return purgeCols{n: n, datetime: n.ExpiryType == "datetime"} }

// cache reports whether these are the cache table's columns and clock.
func (c purgeCols) cache() bool {
	return keyOf(c.n) == dialects.ColID && expiryOf(c.n) == dialects.ColExpiresAtTime && !c.datetime
}

// of is stmt, a statement written with the cache table's [Id] and
// [ExpiresAtTime], with the layout's columns in their place. It is applied
// to the statement's text before any name is spliced in, so that a table
// name holding "[Id]" is left alone.
func (c purgeCols) of(stmt string) string {
	if c.cache() {
		return stmt
	}
	return strings.NewReplacer(
		"[Id]", quote(keyOf(c.n)),
		"[ExpiresAtTime]", quote(expiryOf(c.n)),
	).Replace(stmt)
}

// args are the cutoff's parameters: whole seconds of grace, and the
// remainder in the finest unit the expiry's type takes in DATEADD
// (microseconds; milliseconds for a datetime, whose DATEADD refuses
// microsecond).
func (c purgeCols) args(grace time.Duration) (seconds, fine int32) {
	sec, us := cutoff(grace)
	if c.datetime {
		return sec, us / 1000
	}
	return sec, us
}

// cutoff is "now" by the server's clock less the grace, seconds and fine
// as args gives them (parameters, or numbers for a script). For a datetime
// expiry it is GETUTCDATE() less the grace, itself a datetime, as
// DeleteExpiredSessions (KB 973849) compares it: the index on the column
// is sought, and no row's value is converted.
func (c purgeCols) cutoff(seconds, fine string) string {
	if !c.datetime {
		return cutoffSQL(seconds, fine)
	}
	expr := "DATEADD(second, -" + seconds + ", GETUTCDATE())"
	if fine != "0" {
		expr = "DATEADD(millisecond, -" + fine + ", " + expr + ")"
	}
	return expr
}

// quote is Quote, for a column name.
func quote(name string) string { return Dialect{}.Quote(name) }

// tableMark stands for the table in a statement given to in, which
// splices the table in after of has set the columns.
const tableMark = "⟨table⟩"

// in is stmt (see of) with the columns set and the quoted table t where
// tableMark stands.
func (c purgeCols) in(stmt, t string) string { return strings.ReplaceAll(c.of(stmt), tableMark, t) }

// named is text, prose about the cache table's ExpiresAtTime (and its
// index, Index_ExpiresAtTime), naming the layout's expiry column instead.
func (c purgeCols) named(text string) string {
	if c.cache() {
		return text
	}
	return strings.ReplaceAll(text, dialects.ColExpiresAtTime, expiryOf(c.n))
}

// heldCreate makes heldTable, whose [Id] holds keys as the table's key
// column does: the cache table's, written out; another layout's, copied
// from its key column by SELECT INTO (type and collation alike, so that
// the NOT IN that reads it compares them with no collation conflict). It
// is made only on Babelfish, which ignores READPAST (noteHeld).
func (c purgeCols) heldCreate() string {
	if c.cache() {
		return "CREATE TABLE " + heldTable + " ([Id] nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL PRIMARY KEY)"
	}
	return "SELECT TOP (0) [Id] INTO " + heldTable + " FROM " + tableMark
}
