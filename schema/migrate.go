package schema

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// delivered is the highest version whose promise (the layout's
// Promises), and the promise of every version before it, info shows kept;
// database.NilVersion when none is. A recorded version promises what its
// migration and every one before it make; create checks that promise,
// holding the migration lock, and has golang-migrate apply again every
// migration whose work is gone (a table or an index dropped by hand, an
// index left unusable).
func delivered(l *layouts.Layout, ms []migrations.Migration, info *dialects.TableInfo) int {
	done := database.NilVersion
	for _, m := range ms {
		kept, ok := l.Promises[m.Version]
		if !ok || !kept(info) {
			break
		}
		done = int(m.Version)
	}
	return done
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
// no longer keeps (its layout's Promises: the table or its expiry index dropped by
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
	return delivered(c.t.Layout, c.ms, info), nil
}

// before runs before migration version is applied, and reports whether its
// work is there already, so that it is skipped. The expiry index migration
// is skipped when a usable index on ExpiresAtTime is there, whatever its
// name (the guard PostgreSQL's CREATE INDEX CONCURRENTLY cannot have in
// SQL); and an unusable index under sessctl's name, such as the invalid one
// a cancelled CREATE INDEX CONCURRENTLY leaves, which the migration's IF
// NOT EXISTS would take for the index, is dropped first.
func (c *underLock) before(version int) (skip bool, err error) {
	if version != int(c.t.Layout.IndexMigration) { // versions start at 1: 0 is none
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
