package schema

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// Create statuses, as JSON reports them.
const (
	CreateCreated  = "created"    // the table was made
	CreateAdopted  = "adopted"    // a table made by another tool now has a version
	CreateUpgraded = "upgraded"   // newer migrations were applied
	CreateUpToDate = "up_to_date" // nothing to do
	CreateRepaired = "repaired"   // what the recorded version promised was gone (the table, its expiry index) and was made again
	CreateAhead    = "ahead"      // a newer sessctl made it; left alone
)

// CreateOptions say how Create creates.
type CreateOptions struct {
	// CreateSchema creates a missing schema instead of failing.
	CreateSchema bool
	// LockTimeout bounds the wait for another create of the same table.
	LockTimeout time.Duration
}

// CreateResult says what Create did.
type CreateResult struct {
	Status  string   `json:"status"`
	Schema  string   `json:"schema"`
	Table   string   `json:"table"`
	Version uint     `json:"version"`
	Actions []string `json:"actions"`
	// Warnings are verify's warnings for the table as it now is.
	Warnings []Finding `json:"warnings"`
}

// DefaultLockTimeout is how long create waits for another create of the
// same table before it gives up.
const DefaultLockTimeout = 2 * time.Minute

// Create makes the table, or brings a table that is already there up to
// date, by the dialect's migrations through golang-migrate. It is safe to
// run many at once, and a run that was killed half-way is finished by the
// next: every migration is idempotent, so one left dirty is simply applied
// again; and what the recorded version promises but the table no longer
// has (dropped by hand) is made again.
func Create(ctx context.Context, db *DB, t *Table, opts CreateOptions) (*CreateResult, error) {
	res, err := create(ctx, db, t, opts)
	return res, t.denied(ctx, db, "create", err)
}

func create(ctx context.Context, db *DB, t *Table, opts CreateOptions) (*CreateResult, error) {
	if err := t.refuseVerb("create", t.Layout.NoCreate); err != nil {
		return nil, err
	}
	d := t.Dialect
	res := &CreateResult{Schema: t.Schema, Table: t.Names.Table, Actions: []string{}, Warnings: []Finding{}}

	if err := ensureSchema(ctx, db, t, opts.CreateSchema, res); err != nil {
		return nil, err
	}
	before, err := d.Inspect(ctx, db, t.Names)
	if err != nil {
		return nil, err
	}
	if err := refuseForeign(t, before, "create"); err != nil {
		return nil, err
	}
	if err := refuseKeyless(t, before); err != nil {
		return nil, err
	}
	if err := t.refuseStorage(before); err != nil {
		return nil, err
	}
	if err := t.refuseHeldNames(ctx, db, before); err != nil {
		return nil, err
	}
	latest, err := t.LatestVersion()
	if err != nil {
		return nil, err
	}
	if v := before.Version; v != nil && v.Version > int64(latest) {
		res.Status, res.Version = CreateAhead, uint(v.Version)
		res.Actions = append(res.Actions, fmt.Sprintf("left %s alone: its version %d is newer than this sessctl's %d", t, v.Version, latest))
		return res, nil
	}

	data := t.templateData()
	if a, ok := d.(dialects.Adopter); ok {
		maps.Copy(data, a.AdoptData(before))
	}
	ms, err := t.up(data)
	if err != nil {
		return nil, err
	}
	st := new(upState)
	ran, err := migrateUp(ctx, db, t, ms, opts.LockTimeout, st)
	if err != nil {
		return nil, err
	}

	after, err := d.Inspect(ctx, db, t.Names)
	if err != nil {
		return nil, err
	}
	acted := len(res.Actions)
	res.Actions = append(res.Actions, st.actions()...)
	describe(t, before, after, latest, res)
	if !ran && res.Status != CreateUpToDate {
		// Another create ran the migrations between this one's first
		// look and its turn at the lock: this one did nothing.
		res.Status, res.Actions = CreateUpToDate, res.Actions[:acted]
	}
	if v := after.Version; v != nil && !v.Dirty && v.Version == int64(latest) && delivered(t.Layout, ms, after) < int(latest) {
		return nil, fmt.Errorf("create of %s recorded version %d, but what it makes is not all there; `sessctl verify` says what is missing", t, latest)
	}
	res.Warnings = append(res.Warnings, t.warnings(after, latest)...)
	return res, nil
}

// warnings are verify's warnings for the table as info shows it, but for
// those about how purge reads it (its expiry index, SQLite's storage) in a
// layout that purge does not apply to (the key ring).
func (t *Table) warnings(info *dialects.TableInfo, latest uint) []Finding {
	var purging []Finding
	if !t.Layout.Purges() {
		purging = append(t.checkExpiryIndex(info), t.checkStorage(info)...)
	}
	var out []Finding
	for _, f := range t.check(info, latest) {
		if f.Severity == SeverityWarning && !slices.Contains(purging, f) {
			out = append(out, f)
		}
	}
	return out
}

// ensureSchema checks that the schema exists, and creates it if asked to.
func ensureSchema(ctx context.Context, db *DB, t *Table, create bool, res *CreateResult) error {
	d := t.Dialect
	ok, err := d.SchemaExists(ctx, db, t.Schema)
	if err != nil {
		return fmt.Errorf("looking for schema %s: %w", d.Quote(t.Schema), err)
	}
	if ok {
		return nil
	}
	if !create {
		return fmt.Errorf("%w: %s: create it, or pass --create-schema", dialects.ErrSchemaMissing, d.Quote(t.Schema))
	}
	sc, can := d.(dialects.SchemaCreator)
	if !can {
		return fmt.Errorf("%w: %s", dialects.ErrSchemaMissing, d.Quote(t.Schema))
	}
	if _, err := db.ExecContext(ctx, sc.CreateSchemaSQL(t.Schema)); err != nil {
		// Another create may have made it first.
		if ok, _ := d.SchemaExists(ctx, db, t.Schema); !ok {
			return t.denied(ctx, db, dialects.OpCreateSchema, fmt.Errorf("creating schema %s: %w", d.Quote(t.Schema), err))
		}
	}
	res.Actions = append(res.Actions, "created schema "+d.Quote(t.Schema))
	return nil
}

// describe fills res.Status and res.Actions from the catalog before and
// after.
func describe(t *Table, before, after *dialects.TableInfo, latest uint, res *CreateResult) {
	if after.Version != nil {
		res.Version = uint(after.Version.Version)
	}
	ixBefore, hadIndex := before.ExpiryIndex()
	ix, hasIndex := after.ExpiryIndex()
	switch {
	case before.Kind == dialects.KindMissing && before.Version == nil:
		res.Status = CreateCreated
		a := "created table " + t.String()
		if hasIndex {
			a += " with index " + t.quoted(ix.Name)
		}
		res.Actions = append(res.Actions, a)
	case before.Kind == dialects.KindMissing:
		res.Status = CreateRepaired
		a := fmt.Sprintf("made table %s again: it was gone, though its version table %s said version %d",
			t, t.quoted(t.VersionTable), before.Version.Version)
		if hasIndex {
			a += "; with index " + t.quoted(ix.Name)
		}
		res.Actions = append(res.Actions, a)
	case before.Version == nil:
		res.Status = CreateAdopted
		res.Actions = append(res.Actions, "adopted existing table "+t.String())
	case before.Version.Dirty:
		res.Status = CreateUpgraded
		res.Actions = append(res.Actions, fmt.Sprintf("finished migration %d, which an earlier run left unfinished", before.Version.Version))
	case before.Version.Version < int64(latest):
		res.Status = CreateUpgraded
		res.Actions = append(res.Actions, fmt.Sprintf("upgraded from version %d", before.Version.Version))
	case !hadIndex && hasIndex:
		res.Status = CreateRepaired
	default:
		res.Status = CreateUpToDate
	}
	if before.Kind != dialects.KindMissing && !hadIndex && hasIndex {
		if res.Status == CreateRepaired {
			res.Actions = append(res.Actions, "re-created the missing expiry index "+t.quoted(ix.Name))
		} else {
			res.Actions = append(res.Actions, "created index "+t.quoted(ix.Name))
		}
		for _, u := range after.UnusableExpiryIndexes() {
			res.Actions = append(res.Actions, fmt.Sprintf("kept the index %s, which the purge cannot use: %s", t.quoted(u.Name), u.Unusable))
		}
	}
	if hadIndex && ixBefore.Name != t.ExpiryIndex && res.Status == CreateAdopted {
		res.Actions = append(res.Actions, "kept its expiry index "+t.quoted(ixBefore.Name))
	}
	if (before.Version == nil || before.Version.Version != int64(res.Version) || before.Version.Dirty) && after.Version != nil {
		res.Actions = append(res.Actions, fmt.Sprintf("recorded version %d in %s", res.Version, t.quoted(t.VersionTable)))
	}
}
