package schema

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
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
	if before.WithoutRowID {
		return nil, fmt.Errorf("%w: %s is a WITHOUT ROWID table, and purge deletes rows by rowid: sessctl will not adopt it; "+
			"`sessctl verify` shows how to make it again with a rowid", ErrNotCacheTable, t)
	}
	if before.NonIntegerExpiry {
		fix := ""
		for _, f := range t.checkStorage(before) {
			if f.Severity == SeverityError {
				fix = f.Fix
			}
		}
		return nil, fmt.Errorf("%w: rows of %s hold an %s that is text or a blob, which no purge deletes and the app never expires: "+
			"sessctl will not adopt it until they are mended; %s", ErrNotCacheTable, t, t.quoted(dialects.ColExpiresAtTime), fix)
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
	ms, err := migrations.Up(d.Name(), data)
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
	if v := after.Version; v != nil && !v.Dirty && v.Version == int64(latest) && delivered(ms, after) < int(latest) {
		return nil, fmt.Errorf("create of %s recorded version %d, but what it makes is not all there; `sessctl verify` says what is missing", t, latest)
	}
	for _, f := range t.check(after, latest) {
		if f.Severity == SeverityWarning {
			res.Warnings = append(res.Warnings, f)
		}
	}
	return res, nil
}

// promises says, for each migration version, how the catalog shows that
// what the migration makes is there. A recorded version promises what its
// migration and every one before it make; create checks that promise,
// holding the migration lock, and has golang-migrate apply again every
// migration whose work is gone (a table or an index dropped by hand, an
// index left unusable). Every migration of every dialect has an entry.
var promises = map[uint]func(*dialects.TableInfo) bool{
	migrations.Table: func(info *dialects.TableInfo) bool { return info.Kind == dialects.KindTable },
	migrations.ExpiryIndex: func(info *dialects.TableInfo) bool {
		_, ok := info.ExpiryIndex()
		return ok
	},
}

// delivered is the highest version whose promise, and the promise of every
// version before it, info shows kept; database.NilVersion when none is.
func delivered(ms []migrations.Migration, info *dialects.TableInfo) int {
	done := database.NilVersion
	for _, m := range ms {
		kept, ok := promises[m.Version]
		if !ok || !kept(info) {
			break
		}
		done = int(m.Version)
	}
	return done
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
	if before.Kind == dialects.KindMissing {
		names = append(names, t.Names.PrimaryKey)
	}
	if _, ok := before.ExpiryIndex(); !ok {
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
		if h.Kind == "index" && h.Table == t.Names.Table && !ownOtherIndex(before, h.Name) {
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
// whose first key column is not ExpiresAtTime: one create would not
// mend, and that IF NOT EXISTS would take for the expiry index.
func ownOtherIndex(info *dialects.TableInfo, name string) bool {
	for _, ix := range info.Indexes {
		if strings.EqualFold(ix.Name, name) && (len(ix.Columns) == 0 || ix.Columns[0] != dialects.ColExpiresAtTime) {
			return true
		}
	}
	return false
}

// refuseForeign fails when what stands under the table's name is not a
// cache table: a view, or a table whose columns the provider cannot use.
func refuseForeign(t *Table, info *dialects.TableInfo, verb string) error {
	switch info.Kind {
	case dialects.KindMissing, dialects.KindTable:
	default:
		return fmt.Errorf("%w: %s is a %s, not a table; sessctl will not %s it", ErrNotCacheTable, t, info.Kind, verb)
	}
	if info.Kind == dialects.KindMissing {
		return nil
	}
	if errs := errorsOf(t.checkColumns(info)); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, f := range errs {
			msgs[i] = f.Message
		}
		return fmt.Errorf("%w: %s exists and is not a cache table (%s); `sessctl verify` shows what to change",
			ErrNotCacheTable, t, strings.Join(msgs, "; "))
	}
	return nil
}

// migrateUp applies ms through golang-migrate, whose driver has a pool of
// its own because it closes the pool it is given. When ctx ends it stops
// after the migration in flight, or, if that takes longer than stopWait
// (or golang-migrate is still waiting for its lock, which it cannot be
// told to stop doing), returns at once: every migration is atomic, so the
// database rolls back what the ended session had in flight; all but
// PostgreSQL's CREATE INDEX CONCURRENTLY, which the server finishes, or,
// cancelled, leaves invalid, and which the next create therefore finds
// done, or drops and builds again.
//
// ran reports whether this run applied any migration itself.
func migrateUp(ctx context.Context, db *DB, t *Table, ms []migrations.Migration, lockTimeout time.Duration, st *upState) (ran bool, err error) {
	src, err := iofs.New(migrations.FS(ms), ".")
	if err != nil {
		return false, fmt.Errorf("reading the migrations: %w", err)
	}
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout
	}
	stop := make(chan bool, 1)
	done := make(chan error, 1)
	// The checks under the lock run to the end, as golang-migrate's
	// statements do: what stops a create is GracefulStop, between
	// migrations.
	check := &underLock{ctx: context.WithoutCancel(ctx), db: db, t: t, ms: ms, st: st}
	go func() { done <- runUp(db.Source, t, ms, src, lockTimeout, stop, st, check) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		stop <- true
		wait := stopWait
		if !st.locked.Load() {
			wait = 0 // still queued for the lock: nothing in flight
		}
		select {
		case err = <-done:
		case <-time.After(wait):
			err = nil
			// The migration in flight runs on: have the server cancel
			// it, rather than leave it running unseen (see
			// dialects.StatementCanceller).
			if c, ok := st.driver.Load().(dialects.StatementCanceller); ok && wait > 0 {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWait)
				if cerr := c.CancelStatement(cctx, db); cerr != nil {
					err = fmt.Errorf("the migration in flight could not be cancelled, and may run on in the server: %w", cerr)
				}
				cancel()
			}
		}
		if err == nil || errors.Is(err, migrate.ErrNoChange) {
			err = context.Cause(ctx)
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return false, fmt.Errorf("create of %s gave up: %w", t, err)
		}
		return false, fmt.Errorf("%w: create of %s stopped: %v", ErrInterrupted, t, err)
	}
	switch {
	case err == nil, errors.Is(err, migrate.ErrNoChange):
		return st.ran.Load(), nil
	case errors.Is(err, migrate.ErrLockTimeout):
		return false, fmt.Errorf("another sessctl create of %s held the lock for over %s: try again, or raise --timeout", t, lockTimeout)
	}
	return false, err
}

// upState is what a run of golang-migrate's Up has done so far.
type upState struct {
	locked atomic.Bool  // it holds the migration lock
	ran    atomic.Bool  // it has applied a migration
	driver atomic.Value // its database.Driver, once made

	mu   sync.Mutex
	done []string // what the checks under the lock did, for the report
}

func (st *upState) did(action string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.done = append(st.done, action)
}

func (st *upState) actions() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.done)
}

// stopWait is how long an interrupted create waits for the migration in
// flight to finish.
const stopWait = 3 * time.Second

// runUp opens golang-migrate's driver and runs Up; a value on stop asks it
// to stop after the migration in flight. st follows what it does.
func runUp(conn *dialects.Conn, t *Table, ms []migrations.Migration, src source.Driver, lockTimeout time.Duration, stop <-chan bool, st *upState, check *underLock) error {
	drv, err := t.Dialect.MigrateDriver(conn, t.Names)
	if err != nil {
		return fmt.Errorf("preparing the version table %s: %w", t.quoted(t.VersionTable), err)
	}
	st.driver.Store(drv)
	m, err := migrate.NewWithInstance("iofs", src, t.Dialect.Name(), &redo{Driver: drv, prev: previous(ms), st: st, check: check})
	if err != nil {
		drv.Close()
		return err
	}
	defer m.Close()
	m.LockTimeout = lockTimeout
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-stop:
			m.GracefulStop <- true
		case <-finished:
		}
	}()
	err = m.Up()
	if err == nil || errors.Is(err, migrate.ErrNoChange) || errors.Is(err, migrate.ErrLockTimeout) {
		return err
	}
	return fmt.Errorf("migrating %s: %w", t, err)
}

// previous maps each migration version to the one before it.
func previous(ms []migrations.Migration) map[int]int {
	prev := map[int]int{}
	last := database.NilVersion
	for _, m := range ms {
		prev[int(m.Version)] = last
		last = int(m.Version)
	}
	return prev
}

// redo is golang-migrate's driver, except that the version it reads is
// the one whose work is there: a version left dirty by a run that died
// reads as the version before it, and a version whose promise the table
// no longer keeps (promises: the table or its expiry index dropped by
// hand, the index left unusable) reads as the last one it keeps. So Up
// applies those migrations again instead of stopping or saying there is
// nothing to do. Every migration is idempotent, so applying it again
// converges; and Up reads the version under the migration lock, so
// no live run is mistaken for a dead one where the engine's lock spans
// processes.
type redo struct {
	database.Driver
	prev    map[int]int
	st      *upState
	check   *underLock
	running int // the version being applied, as SetVersion marked it dirty
}

func (r *redo) Lock() error {
	err := r.Driver.Lock()
	r.st.locked.Store(err == nil)
	return err
}

func (r *redo) Unlock() error {
	r.st.locked.Store(false)
	return r.Driver.Unlock()
}

func (r *redo) SetVersion(version int, dirty bool) error {
	if dirty {
		r.running = version
	}
	return r.Driver.SetVersion(version, dirty)
}

func (r *redo) Run(migration io.Reader) error {
	r.st.ran.Store(true)
	skip, err := r.check.before(r.running)
	if err != nil || skip {
		return err
	}
	return r.Driver.Run(migration)
}

func (r *redo) Version() (int, bool, error) {
	v, dirty, err := r.Driver.Version()
	if err != nil {
		return v, dirty, err
	}
	if dirty {
		p, ok := r.prev[v]
		if !ok {
			return v, dirty, err
		}
		v = p
	}
	if v == database.NilVersion {
		return v, false, nil
	}
	kept, err := r.check.delivered()
	if err != nil {
		return 0, false, err
	}
	return min(v, kept), false, nil
}

// underLock is what create checks in the catalog while it holds the
// migration lock, so that two creates at once never both act on what they
// saw.
type underLock struct {
	ctx context.Context
	db  *DB
	t   *Table
	ms  []migrations.Migration
	st  *upState
}

// delivered is the highest version whose promise the table keeps.
func (c *underLock) delivered() (int, error) {
	info, err := c.t.Dialect.Inspect(c.ctx, c.db, c.t.Names)
	if err != nil {
		return 0, err
	}
	return delivered(c.ms, info), nil
}

// before runs before migration version is applied, and reports whether its
// work is there already, so that it is skipped. The expiry index migration
// is skipped when a usable index on ExpiresAtTime is there, whatever its
// name (the guard PostgreSQL's CREATE INDEX CONCURRENTLY cannot have in
// SQL); and an unusable index under sessctl's name, such as the invalid one
// a cancelled CREATE INDEX CONCURRENTLY leaves, which the migration's IF
// NOT EXISTS would take for the index, is dropped first.
func (c *underLock) before(version int) (skip bool, err error) {
	if version != migrations.ExpiryIndex {
		return false, nil
	}
	t := c.t
	info, err := t.Dialect.Inspect(c.ctx, c.db, t.Names)
	if err != nil {
		return false, err
	}
	if _, ok := info.ExpiryIndex(); ok {
		return true, nil
	}
	for _, ix := range info.UnusableExpiryIndexes() {
		if ix.Name != t.ExpiryIndex {
			continue
		}
		if _, err := c.db.ExecContext(c.ctx, ix.Drop); err != nil {
			return false, fmt.Errorf("dropping the unusable index %s of %s: %w", t.quoted(ix.Name), t, err)
		}
		c.st.did(fmt.Sprintf("dropped the index %s to build it again: %s", t.quoted(ix.Name), ix.Unusable))
	}
	return false, nil
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
