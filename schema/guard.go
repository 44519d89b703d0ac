package schema

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
)

// refuseHeldNames fails, before anything is sent, when a name create
// would give an object (the primary key of a table it makes, the expiry
// index of a table that has no usable one) is held by another object in
// its namespace: the statement would fail half-way through the migration,
// or, with IF NOT EXISTS, do nothing, and the version would promise what
// is not there. The table's own index on ExpiresAtTime under that name is
// create's to mend, not another object.
func (t *Table) refuseHeldNames(ctx context.Context, db *DB, before *dialects.TableInfo) error {
	nh, ok := t.Dialect.(dialects.NameHolder)
	if !ok {
		return nil
	}
	var names []string
	if before.Kind == dialects.KindMissing && t.Names.PrimaryKey != "" {
		names = append(names, t.Names.PrimaryKey)
	}
	// A layout without an expiry index (the key ring) names none.
	if _, ok := before.ExpiryIndex(); !ok && t.Layout.IndexMigration != 0 {
		names = append(names, t.Names.ExpiryIndex)
	}
	if len(names) == 0 {
		return nil
	}
	held, err := nh.NamesHeld(ctx, db, t.Names, names)
	if err != nil {
		return fmt.Errorf("looking for objects named as %s's primary key and index would be: %w", t, err)
	}
	d := t.Dialect
	for _, h := range held {
		// The table's own index: one create mends, or one that a create
		// running at the same time has just made with the table.
		if h.Kind == "index" && h.Table == t.Names.Table && !ownOtherIndex(before, h.Name, t.Layout.Expiry) {
			continue
		}
		what := "primary key"
		if !strings.EqualFold(h.Name, t.Names.PrimaryKey) {
			what = "expiry index"
		}
		holder := fmt.Sprintf("the %s %s", h.Kind, d.Quote(h.Name))
		if h.Table != "" {
			holder += " of table " + d.Quote(h.Table)
		}
		scope := "schema"
		if d.Name() == "sqlite" {
			scope = "database"
		}
		return fmt.Errorf("%w: create of %s would name its %s %s, but %s already holds that name in %s "+
			"(on %s an index's name is unique in its %s, not only in its table): rename that object, "+
			"or create the table under another name or in another schema; nothing was changed",
			ErrNameTaken, t, what, d.Quote(h.Name), holder, d.Quote(t.Schema), d.Name(), scope)
	}
	return nil
}

// ownOtherIndex reports whether info's table has an index named name
// whose first key column is not expiry (ExpiresAtTime): one create would
// not mend, and that IF NOT EXISTS would take for the expiry index.
func ownOtherIndex(info *dialects.TableInfo, name, expiry string) bool {
	for _, ix := range info.Indexes {
		if strings.EqualFold(ix.Name, name) && (len(ix.Columns) == 0 || ix.Columns[0] != expiry) {
			return true
		}
	}
	return false
}

// refuseForeign fails when what stands under the table's name is not a
// table of its layout (a cache table): a view, or a table whose columns
// the provider cannot use. It is the guard of create and drop.
func refuseForeign(t *Table, info *dialects.TableInfo, verb string) error {
	switch info.Kind {
	case dialects.KindMissing, dialects.KindTable:
	default:
		return fmt.Errorf("%w: %s is a %s, not a table; sessctl will not %s it", t.notLayout(), t, info.Kind, verb)
	}
	if info.Kind == dialects.KindMissing {
		return nil
	}
	if errs := errorsOf(t.checkColumns(info)); len(errs) > 0 {
		if like := t.lookalike(info, true); len(like) > 0 {
			return fmt.Errorf("%w: %s is not a %s; %s; sessctl will not %s it as --layout %s",
				t.notLayout(), t, t.Layout.Noun, like[0].Message, verb, t.Layout.Name)
		}
		msgs := make([]string, len(errs))
		for i, f := range errs {
			msgs[i] = f.Message
		}
		return fmt.Errorf("%w: %s exists and is not a %s (%s); `sessctl verify` shows what to change",
			t.notLayout(), t, t.Layout.Noun, strings.Join(msgs, "; "))
	}
	// A table whose columns pass but that another layout fits more
	// closely is that layout's (ASPStateTempSessions has every column of
	// the async provider's table): its own tool makes and drops it.
	if like := t.lookalike(info, false); len(like) > 0 {
		return fmt.Errorf("%w: %s; sessctl will not %s it as --layout %s", ErrNotCacheTable, like[0].Message, verb, t.Layout.Name)
	}
	return nil
}

// refuseStorage fails when the table keeps its rows so that purge cannot
// delete them (SQLite: a WITHOUT ROWID table, expiry times written as
// text): create will not adopt it.
func (t *Table) refuseStorage(info *dialects.TableInfo) error {
	if !t.Layout.Purges() {
		return nil // no purge deletes its rows, by rowid or by expiry
	}
	if info.WithoutRowID {
		return fmt.Errorf("%w: %s is a WITHOUT ROWID table, and purge deletes rows by rowid: sessctl will not adopt it; "+
			"`sessctl verify` shows how to make it again with a rowid", ErrNotCacheTable, t)
	}
	if info.NonIntegerExpiry {
		fix := ""
		for _, f := range t.checkStorage(info) {
			if f.Severity == SeverityError {
				fix = f.Fix
			}
		}
		return fmt.Errorf("%w: rows of %s hold an %s that is text or a blob, which no purge deletes and the app never expires: "+
			"sessctl will not adopt it until they are mended; %s", ErrNotCacheTable, t, t.expiry(), fix)
	}
	return nil
}

// notLayout is ErrNotCacheTable as the table's layout words it: "not a
// key ring table" for the key ring.
func (t *Table) notLayout() error {
	if t.Layout == layouts.Cache {
		return ErrNotCacheTable
	}
	return &notLayoutError{noun: t.Layout.Noun}
}

// notLayoutError is ErrNotCacheTable for a layout other than the cache
// table's.
type notLayoutError struct{ noun string }

func (e *notLayoutError) Error() string { return "not a " + e.noun }
func (e *notLayoutError) Unwrap() error { return ErrNotCacheTable }

// refuseKeyless fails when the table create would adopt has no primary
// key on its layout's key: verify would find it incompatible (the
// provider's writes rely on one row per key), so create does not record
// it as made.
func refuseKeyless(t *Table, info *dialects.TableInfo) error {
	if info.Kind != dialects.KindTable || len(t.Layout.PrimaryKey) == 0 || slices.Equal(info.PrimaryKey, t.Layout.PrimaryKey) {
		return nil
	}
	has := "has no primary key"
	if len(info.PrimaryKey) > 0 {
		has = fmt.Sprintf("has its primary key on (%s)", strings.Join(info.PrimaryKey, ", "))
	}
	return fmt.Errorf("%w: %s %s, not on (%s): the provider's writes rely on one row per %s, so create will not adopt it; "+
		"make %s its primary key and run create again (`sessctl verify` shows the table)",
		t.notLayout(), t, has, t.key(), t.key(), t.key())
}
