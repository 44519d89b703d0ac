package schema

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// Purge statuses, as JSON reports them.
const (
	PurgeDone        = "done"        // nothing expired is left
	PurgeBounded     = "bounded"     // --max-rows or --max-duration stopped it
	PurgeInterrupted = "interrupted" // a signal stopped it after a batch
	PurgeSkipped     = "skipped"     // another purge of the table holds the lock
	PurgeDryRun      = "dry_run"     // counted, deleted nothing
	PurgeFailed      = "failed"      // an error stopped it after a batch
	PurgeStopped     = "stopped"     // --critical-load stopped it after a batch (or before the first)
)

// Order is the order a purge deletes in: OrderAuto (the zero value),
// OrderExpiry or OrderStorage. ParseOrder reads it as --order gives it.
type Order string

// Orders a purge deletes in.
const (
	// OrderAuto walks the table in storage order (as OrderStorage) once
	// a batch on the expiry index finds a backlog of at least
	// 1/walkShare of the table, where the dialect can walk; it deletes in
	// expiry order otherwise.
	OrderAuto Order = ""
	// OrderExpiry deletes the oldest first, on the expiry index.
	OrderExpiry Order = "expiry"
	// OrderStorage walks the table in storage order, deleting what had
	// expired when the walk began; what expires during it, and rows an
	// app session held as the walk passed, are the next run's.
	OrderStorage Order = "storage"
)

// orderAuto is how OrderAuto is written.
const orderAuto = "auto"

// String is the order as --order takes it: "auto", "expiry", "storage".
func (o Order) String() string {
	if o == OrderAuto {
		return orderAuto
	}
	return string(o)
}

// ParseOrder reads an order as --order takes it: auto, expiry or storage.
func ParseOrder(s string) (Order, error) {
	switch o := Order(s); {
	case s == orderAuto:
		return OrderAuto, nil
	case o == OrderExpiry, o == OrderStorage:
		return o, nil
	}
	return "", fmt.Errorf("%q: use auto, expiry or storage", s)
}

// PurgeOptions say how Purge purges.
type PurgeOptions struct {
	// BatchSize, when above 0, fixes the rows one batch deletes at most
	// (never more than the engine's Limits().MaxBatch). At 0, batches are
	// sized to take about BatchTime each.
	BatchSize int
	// BatchTime is how long an adaptive batch aims to take; 0 is
	// DefaultBatchTime.
	BatchTime time.Duration
	// Grace keeps rows that expired less than this long ago.
	Grace time.Duration
	// MaxRows and MaxDuration bound the run; 0 is no bound. No batch
	// starts once MaxDuration has passed, and none deletes past MaxRows.
	MaxRows     int64
	MaxDuration time.Duration
	// Pause is slept between batches. It does not count as batch time.
	// (DefaultPause is what the command line uses when not told.)
	Pause time.Duration
	// DryRun counts the expired rows and shows the plan, deleting nothing.
	DryRun bool
	// Order is OrderAuto, OrderExpiry or OrderStorage. A walk in storage
	// order sizes its batches by time, or, with BatchSize, covers that
	// many units of the dialect's storage a batch and deletes at most
	// that many rows of them.
	Order Order
	// Estimate counts the expired rows before the first batch, so that
	// Progress can tell how many are left. The count reads the expiry
	// index from end to end: cheap next to deleting, not free.
	Estimate bool
	// Progress, when set, is called after every batch.
	Progress func(PurgeResult)
	// Abort, when closed after ctx ended, cuts the statement in flight at
	// once instead of after its grace (see minStopGrace): a second signal.
	Abort <-chan struct{}
	// Yield are asked between batches, after Pause, and before the
	// first, whether to give way to the database's other users
	// (purge_yield.go).
	Yield []Yielder
	// MaxLoad and CriticalLoad are gh-ost's --max-load and
	// --critical-load on the dialect's load signal (dialects.LoadReader;
	// purge_load.go), 0 for none: above MaxLoad, the purge waits between
	// batches until the signal is back at or under it; at CriticalLoad or
	// above, it stops, with an error wrapping ErrCriticalLoad.
	MaxLoad, CriticalLoad int64
	// Pace is PaceAuto (the zero value: the run sets its own duty cycle
	// from how the database is doing for its other users, purge_pace.go;
	// Pause is then not slept) or PaceOff (BatchTime and Pause, as given).
	Pace Pacing
}

// KeptRows are expired rows a purge reached and left, by cause.
type KeptRows struct {
	// ByTrigger counts the rows that a trigger skipped (PostgreSQL: a
	// BEFORE DELETE trigger that returns NULL; SQLite: RAISE(IGNORE)),
	// a rule (DO INSTEAD) or a row-level security policy kept: counted at
	// the end, among the rows that had expired when a batch first deleted
	// fewer than it asked for, less those an app session held.
	ByTrigger int64 `json:"by_trigger_or_rule"`
	// ByForeignKey counts the rows another table's foreign key references
	// (without ON DELETE CASCADE or SET NULL): the database refuses to
	// delete them, and a batch holding one is refused whole, so purge
	// finds them one by one and passes over them. ForeignKey names the
	// first such foreign key met, where the database says ("" on SQLite).
	ByForeignKey int64  `json:"by_foreign_key"`
	ForeignKey   string `json:"foreign_key,omitempty"`
}

// PurgeResult says what Purge did.
type PurgeResult struct {
	Status        string  `json:"status"`
	Schema        string  `json:"schema"`
	Table         string  `json:"table"`
	Deleted       int64   `json:"deleted"`
	Batches       int     `json:"batches"`
	ElapsedMS     int64   `json:"elapsed_ms"`
	RowsPerSecond float64 `json:"rows_per_second"`
	MaxBatchMS    int64   `json:"max_batch_ms"`
	// Remaining counts the expired rows left, by a count at the end of
	// the run: not always 0 when done, as rows an app session held and
	// rows that expired while a walk ran are left for the next run; nil
	// when it was skipped, or the count failed.
	Remaining *int64 `json:"remaining"`
	// Held counts the expired rows left because another session (an app's
	// open transaction) held them: batches pass over such rows rather
	// than wait for them. Counted among the oldest expired rows at the
	// end; nil when the run was skipped, or a statement had to be cut.
	Held *int64 `json:"held"`
	// Kept counts the expired rows that batches reached and the database
	// did not delete, and why; the same shape in every report, failed
	// runs' too.
	Kept KeptRows `json:"kept"`
	// Cut is set when a statement still running a grace after the stop
	// (waiting, say, for a lock another session
	// held) was cut, its batch rolled back, to honour a signal, --timeout
	// or --max-duration.
	Cut bool `json:"cut,omitempty"`
	// CutWhile says what the cut statement was doing, as the server told
	// it just before: "waiting for a row lock", "waiting for table
	// metadata lock", …; "" when the server did not say it was waiting
	// (it was running, or the dialect cannot ask).
	CutWhile string `json:"cut_while,omitempty"`
	// Error says what stopped a failed run.
	Error string `json:"error,omitempty"`
	// Reason says what stopped a stopped run: the load, as read, and the
	// --critical-load it reached.
	Reason string `json:"reason,omitempty"`
	// Yielded is how long the run gave way to others, and why; nil when
	// it never did.
	Yielded *Yielded `json:"yielded,omitempty"`
	// Oldest is the oldest expiry left (dry run).
	Oldest *Expiry `json:"oldest_expiry,omitempty"`
	// Plan is the database's plan for one batch (dry run).
	Plan string `json:"plan,omitempty"`
	// Walked is set when the run walked the table in storage order;
	// WouldWalk when a dry run finds that a purge would.
	Walked    bool `json:"walked,omitempty"`
	WouldWalk bool `json:"would_walk,omitempty"`
	// ExpiryIndex is the table's index on ExpiresAtTime: the one Plan
	// reads if it reads one, "" when the table has none (dry run).
	ExpiryIndex string `json:"expiry_index,omitempty"`
	// PlanUsesIndex says whether Plan reads an index on ExpiresAtTime
	// (dry run).
	PlanUsesIndex *bool `json:"plan_uses_expiry_index,omitempty"`

	// Warnings say what the run changed in the options it was given (a
	// batch size above the dialect's ceiling), as NewPurge's do; not in
	// the JSON report.
	Warnings []string `json:"-"`

	// For progress: the rows the last batch deleted and how long it took,
	// and, with Estimate, the expired rows counted before the first batch.
	LastBatchRows int64         `json:"-"`
	LastBatch     time.Duration `json:"-"`
	Expired       *int64        `json:"-"`
	// Waiting, for progress, is what the run is waiting for, while it
	// gives way (Yielder's reason); "" between the waits.
	Waiting string `json:"-"`

	elapsed, maxBatch time.Duration
}

func (r *PurgeResult) tally(start time.Time) {
	r.elapsed = time.Since(start)
	r.ElapsedMS = r.elapsed.Milliseconds()
	r.MaxBatchMS = r.maxBatch.Milliseconds()
	if s := r.elapsed.Seconds(); s > 0 {
		r.RowsPerSecond = float64(r.Deleted) / s
	}
}

// Left estimates the expired rows not yet deleted, from the count taken
// before the first batch; ok is false without one.
func (r *PurgeResult) Left() (n int64, ok bool) {
	if r.Expired == nil {
		return 0, false
	}
	return max(*r.Expired-r.Deleted, 0), true
}

// Elapsed is the run's wall time.
func (r *PurgeResult) Elapsed() time.Duration { return r.elapsed }

// Purge deletes expired rows in batches, each its own short transaction,
// until none is left or a bound is reached. A second purge of the same
// table skips while the first runs. When ctx ends, Purge finishes the batch
// in flight, and returns its result with an error wrapping ErrInterrupted.
func Purge(ctx context.Context, db *DB, t *Table, opts PurgeOptions) (*PurgeResult, error) {
	return NewPurge(t, opts).Run(ctx, db)
}

// PurgeRun is one purge of a table, its options settled. NewPurge sizes
// its batches under the dialect's ceiling, and says in Warnings what that
// changed, before anything is connected to; Run runs it, once: setup (the
// connection, the purge lock, the table's check, the estimate), the walk
// decision, one batch a step, and finish (the counts at the end).
type PurgeRun struct {
	// Warnings say what NewPurge changed in the options it was given;
	// Run's result carries them too.
	Warnings []string

	t    *Table
	opts PurgeOptions
	// ceiling is the most rows one batch deletes on the dialect (0: no
	// limit); size is what the next batch on the expiry index asks for.
	ceiling, size int
	adaptive      bool          // batches sized to take about target
	target        time.Duration // opts.BatchTime, or DefaultBatchTime

	// Set by setup.
	start time.Time
	res   *PurgeResult
	conn  *sql.Conn
	info  *dialects.TableInfo
	cut   *cutter
	stmt  context.Context // the statements' context, which the cutter ends

	// The loop's state.
	w       walk
	decided bool // whether the walk was decided on (see decide)
	// short is when a batch on the expiry index first deleted fewer rows
	// than it asked for: a trigger, rule or policy may have kept some of
	// them, so batches go on, deleting only what had expired by then,
	// until one deletes none. (Rows an app session holds are passed over
	// before the limit counts.) Kept rows stay the oldest: each batch
	// then asks for skip more rows than it may delete, the rows earlier
	// batches reached and did not delete, so that it reaches past them.
	short time.Time
	skip  int64
	iso   *isolation // once a foreign key refused a batch

	yielders []Yielder     // opts.Yield, after the load's, if any
	stopped  error         // what stopped the run, when a Yielder did
	pace     pacer         // nil: a fixed pace
	full     time.Duration // the batch time asked for, which pacing may cut
}

// NewPurge settles how t is to be purged with opts.
func NewPurge(t *Table, opts PurgeOptions) *PurgeRun {
	p := &PurgeRun{t: t, opts: opts, ceiling: dialects.LimitsOf(t.Dialect).MaxBatch,
		size: opts.BatchSize, adaptive: opts.BatchSize <= 0, target: cmp.Or(opts.BatchTime, DefaultBatchTime)}
	p.full = p.target
	switch {
	case p.adaptive:
		p.size = firstBatchSize(p.ceiling)
	case p.ceiling > 0 && p.size > p.ceiling:
		p.Warnings = append(p.Warnings, fmt.Sprintf("--batch-size %d is above %d, the most rows one batch deletes on %s: batches of %d",
			p.size, p.ceiling, t.Dialect.Name(), p.ceiling))
		p.size = p.ceiling
	}
	return p
}

// Run purges, as Purge says.
func (p *PurgeRun) Run(ctx context.Context, db *DB) (*PurgeResult, error) {
	t := p.t
	if !t.Layout.Purges() {
		// Before anything is sent: its rows never expire (the key ring).
		return nil, fmt.Errorf("%w: purge does not apply to %s, a %s: its rows never expire; %s", ErrHoldsRows, t, t.Layout.Noun, t.Layout.Kept)
	}
	if _, err := newLoadYielder(t.Dialect, nil, p.opts); err != nil {
		return nil, err // before anything is sent
	}
	res, err := p.run(ctx, db)
	return res, t.denied(ctx, db, "purge", err)
}

func (p *PurgeRun) run(ctx context.Context, db *DB) (*PurgeResult, error) {
	p.start = time.Now()
	p.res = &PurgeResult{Schema: p.t.Schema, Table: p.t.Names.Table, Warnings: p.Warnings}
	end, ok, err := p.setup(ctx, db)
	if err != nil {
		return nil, err
	}
	if !ok {
		p.res.Status = PurgeSkipped
		p.res.tally(p.start)
		return p.res, nil
	}
	defer end()
	if p.opts.DryRun {
		if err := p.dryRun(); err != nil {
			return p.res, p.cut.end(p.res, p.t, p.start, err)
		}
		return p.res, nil
	}
	if p.opts.Estimate {
		if res, ok, err := p.estimate(); !ok {
			return res, err
		}
	}
	p.decide()
	// A purge started while the app is busy waits before its first batch.
	more, err := p.giveWay(ctx)
	for err == nil && more {
		more, err = p.step(ctx)
	}
	if err != nil {
		return p.res, err
	}
	return p.finish(ctx)
}

// setup takes a connection of db's, the purge lock on it, checks the table
// as verify does, and starts the cutter; ok is false when another purge
// holds the lock. end releases them.
func (p *PurgeRun) setup(ctx context.Context, db *DB) (end func(), ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("connecting: %w", err)
	}
	unlock, ok, info, err := p.t.lockAndInspect(ctx, conn)
	if err != nil || !ok {
		conn.Close()
		return nil, false, err
	}
	// Nothing is deleted, or counted, from a table verify fails: a typo in
	// SCHEMA or TABLE must not purge another app's table.
	if err := p.t.refuse(info, "purge"); err != nil {
		err = p.t.hidden(context.WithoutCancel(ctx), conn, info, p.opts, err)
		err = errors.Join(err, unlock())
		conn.Close()
		return nil, false, err
	}
	p.conn, p.info, p.t = conn, info, p.t.shaped(info)
	load, err := newLoadYielder(p.t.Dialect, conn, p.opts)
	if err != nil { // checked in Run already
		_ = unlock()
		conn.Close()
		return nil, false, err
	}
	if load != nil {
		p.yielders = append(p.yielders, load)
	}
	p.yielders = append(p.yielders, p.opts.Yield...)
	p.pace = p.newPacer(db.DB)

	// Statements run on when ctx ends, so that the batch in flight
	// finishes; one that waits is cut after a grace (see minStopGrace).
	var deadline time.Time
	if p.opts.MaxDuration > 0 {
		deadline = p.start.Add(p.opts.MaxDuration)
	}
	p.cut = p.t.newCutter(ctx, db.DB, conn, deadline, stopGrace(p.target), p.opts.Abort)
	p.stmt = p.cut.run
	return func() {
		if p.pace != nil {
			p.pace.close()
		}
		p.cut.stop()
		// Closing the connection releases the lock too, where unlock
		// could not (all engines but SQLite, whose unlock cannot fail
		// but for a closed file).
		_ = unlock()
		conn.Close()
	}, true, nil
}

// estimate counts the expired rows before the first batch, for progress;
// when it fails (ok false), res and err are what the run returns.
func (p *PurgeRun) estimate() (res *PurgeResult, ok bool, err error) {
	n, _, err := p.t.Dialect.CountExpired(p.stmt, p.conn, p.t.Names, p.opts.Grace)
	switch {
	case err == nil:
		p.res.Expired = &n
		return nil, true, nil
	case p.cut.cause() != nil:
		return p.res, false, p.cut.end(p.res, p.t, p.start, err)
	}
	return nil, false, p.t.explainFailure(p.stmt, p.conn, fmt.Errorf("counting the expired rows of %s: %w", p.t, err))
}

// finish counts what the run left and ends its result.
//
// Counted, not assumed: a batch skips rows an app session holds, and a
// walk leaves what expires while it runs. After a cut, counting would wait
// for the lock that held the statement up. The cutter is done with (it
// would cancel a count that began just before the deadline passed: the
// deadline bounds the batches, not the count); the count has a context of
// its own, bounded by the same grace, or finishCountBound if longer.
func (p *PurgeRun) finish(ctx context.Context) (*PurgeResult, error) {
	res, t := p.res, p.t
	if !res.Cut {
		p.cut.stop()
		count, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(stopGrace(p.target), finishCountBound))
		defer cancel()
		if left, _, err := t.Dialect.CountExpired(count, p.conn, t.Names, p.opts.Grace); err == nil {
			res.Remaining = &left
		}
		t.countHeld(count, p.conn, p.opts, res, p.size)
		since := p.short
		if res.Walked {
			since = p.w.start
		}
		t.countKept(count, p.conn, p.opts, res, since)
	}
	res.tally(p.start)
	switch res.Status {
	case PurgeInterrupted:
		return res, p.cut.end(res, t, p.start, nil)
	case PurgeStopped:
		return res, fmt.Errorf("purge of %s stopped after %d batches: %w", t, res.Batches, p.stopped)
	}
	return res, nil
}

// finishCountBound is the least time the counts that end a run that was
// not cut may take. None of them waits for a row lock (each skips held
// rows, or tries them under a lock timeout: Babelfish, one by one), so
// this bounds only a slow server; a count that does not end in time is
// left out of the report, and the held rows are then told apart from
// others no longer.
const finishCountBound = 15 * time.Second

// DefaultPause is the pause between batches on d when none is asked for:
// its Limits' Pause, or none.
func DefaultPause(d dialects.Dialect) time.Duration {
	return dialects.LimitsOf(d).Pause
}
