package schema

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
)

// Orders a purge deletes in.
const (
	// OrderAuto walks the table in storage order (as OrderStorage) once
	// a batch on the expiry index finds a backlog of at least
	// 1/walkShare of the table, where the dialect can walk; it deletes in
	// expiry order otherwise.
	OrderAuto = ""
	// OrderExpiry deletes the oldest first, on the expiry index.
	OrderExpiry = "expiry"
	// OrderStorage walks the table in storage order, deleting what had
	// expired when the walk began; what expires during it, and rows an
	// app session held as the walk passed, are the next run's.
	OrderStorage = "storage"
)

// walkShare is the share of the table that must have expired for purge to
// walk it: a batch in expiry order visits a page once for each expired row
// on it, in random order, a walk each page once, in storage order. With a
// few rows a page cached, the walk wins from about a twentieth of the
// table expired; a fifth leaves room for tables whose expiry order follows
// their storage order, where batches in expiry order read each page once
// too.
const walkShare = 5

// firstSpan is the size of a walk's first batch, in the dialect's units
// (PostgreSQL: heap pages; others: rows).
const firstSpan = 100

// With BatchSize, a walk covers BatchSize units of storage a batch and
// deletes at most BatchSize rows of them: the rows a batch deletes never
// exceed BatchSize, whatever the unit.

// PurgeOptions say how Purge purges.
type PurgeOptions struct {
	// BatchSize, when above 0, fixes the rows one batch deletes at most
	// (never more than the dialect's MaxBatchSize). At 0, batches are
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
	Order string
	// Estimate counts the expired rows before the first batch, so that
	// Progress can tell how many are left. The count reads the expiry
	// index from end to end: cheap next to deleting, not free.
	Estimate bool
	// Progress, when set, is called after every batch.
	Progress func(PurgeResult)
	// Abort, when closed after ctx ended, cuts the statement in flight at
	// once instead of after its grace (see minStopGrace): a second signal.
	Abort <-chan struct{}
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

	// For progress: the rows the last batch deleted and how long it took,
	// and, with Estimate, the expired rows counted before the first batch.
	LastBatchRows int64         `json:"-"`
	LastBatch     time.Duration `json:"-"`
	Expired       *int64        `json:"-"`

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
	res, err := purge(ctx, db, t, opts)
	return res, t.denied(ctx, db, "purge", err)
}

func purge(ctx context.Context, db *DB, t *Table, opts PurgeOptions) (*PurgeResult, error) {
	start := time.Now()
	res := &PurgeResult{Schema: t.Schema, Table: t.Names.Table}
	ceiling := dialects.LimitsOf(t.Dialect).MaxBatch
	size, adaptive := opts.BatchSize, opts.BatchSize <= 0
	if adaptive {
		size = firstBatchSize(ceiling)
	} else if ceiling > 0 {
		size = min(size, ceiling)
	}
	target := cmp.Or(opts.BatchTime, DefaultBatchTime)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()

	unlock, ok, info, err := t.lockAndInspect(ctx, conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		res.Status = PurgeSkipped
		res.tally(start)
		return res, nil
	}
	defer unlock()
	// Nothing is deleted, or counted, from a table verify fails: a typo in
	// SCHEMA or TABLE must not purge another app's table.
	if err := t.refuse(info, "purge"); err != nil {
		return nil, t.hidden(context.WithoutCancel(ctx), conn, info, opts, err)
	}
	t = t.shaped(info)

	// Statements run on when ctx ends, so that the batch in flight
	// finishes; one that waits is cut after a grace (see minStopGrace).
	var deadline time.Time
	if opts.MaxDuration > 0 {
		deadline = start.Add(opts.MaxDuration)
	}
	cut := t.newCutter(ctx, db.DB, conn, deadline, stopGrace(target), opts.Abort)
	defer cut.stop()
	run := cut.run

	if opts.DryRun {
		if err := t.dryRun(run, conn, opts, info, res, start); err != nil {
			return res, cut.end(res, t, start, err)
		}
		return res, nil
	}
	if opts.Estimate {
		n, _, err := t.Dialect.CountExpired(run, conn, t.Names, opts.Grace)
		switch {
		case err == nil:
			res.Expired = &n
		case cut.cause() != nil:
			return res, cut.end(res, t, start, err)
		default:
			return nil, t.explainFailure(run, conn, fmt.Errorf("counting the expired rows of %s: %w", t, err))
		}
	}

	walker, canWalk := t.Dialect.(dialects.Walker)
	w := &walk{walker: walker, span: firstSpan}
	if !adaptive {
		w.span = size
	}
	w.on = canWalk && opts.Order == OrderStorage
	decided := w.on || !canWalk || opts.Order == OrderExpiry || !adaptive && opts.Order == OrderAuto
	// short is when a batch on the expiry index first deleted fewer rows
	// than it asked for: a trigger, rule or policy may have kept some of
	// them, so batches go on, deleting only what had expired by then,
	// until one deletes none. (Rows an app session holds are passed over
	// before the limit counts.) Kept rows stay the oldest: each batch
	// then asks for skip more rows than it may delete, the rows earlier
	// batches reached and did not delete, so that it reaches past them.
	var short time.Time
	var skip int64
	var iso *isolation // once a foreign key refused a batch
	var more bool
	for {
		if ctx.Err() != nil {
			res.Status = PurgeInterrupted
			break
		}
		limit := size
		if w.on && adaptive {
			limit = cmp.Or(ceiling, math.MaxInt32)
		}
		if opts.MaxRows > 0 {
			limit = int(min(int64(limit), opts.MaxRows-res.Deleted))
		}
		if limit <= 0 || (opts.MaxDuration > 0 && time.Since(start) >= opts.MaxDuration) {
			res.Status = PurgeBounded
			break
		}
		t0 := time.Now()
		var n int64
		walking := w.on
		if walking {
			if !res.Walked {
				res.Walked, w.start = true, t0
			}
			// A walk deletes what had expired when it began: the
			// cutoff stays where it was, as later expiries may be
			// behind it.
			n, w.from, err = walker.DeleteExpiredFrom(run, conn, t.Names, opts.Grace+t0.Sub(w.start), w.from, w.span, limit)
		} else {
			// After a walk, what it passed over that had expired when
			// it began (rows an app session held, rows stored behind
			// it meanwhile), on the expiry index.
			grace := opts.Grace
			if res.Walked {
				grace += t0.Sub(w.start)
			} else if !short.IsZero() {
				grace += t0.Sub(short)
			}
			if iso != nil {
				n, more, err = t.isolatedBatch(run, conn, iso, grace, limit, res)
			} else {
				window := limit
				if ceiling > 0 {
					skip = min(skip, int64(max(ceiling-limit, 0)))
				}
				window += int(min(skip, math.MaxInt32-int64(limit)))
				n, err = t.Dialect.DeleteExpired(run, conn, t.Names, grace, window)
				if err == nil && (n < int64(limit) || skip > 0) {
					skip = int64(window) - n
				}
			}
		}
		took := time.Since(t0)
		if walking && errors.Is(err, dialects.ErrCannotWalk) {
			w.on = false // on in expiry order, from where the walk began
			continue
		}
		// A foreign key that references an expired row refuses every
		// batch that reaches it, rolled back whole: from here on, rows
		// go by Id, and those it refuses are found and passed over.
		if _, referenced := referencedBy(t.Dialect, err); referenced && iso == nil && cut.cause() == nil {
			if d, ok := t.Dialect.(dialects.IDDeleter); ok {
				iso = &isolation{d: d, seen: map[string]bool{}}
				w.on = false
				if short.IsZero() && !res.Walked {
					short = t0
				}
				continue
			}
		}
		if err != nil && cut.cause() != nil {
			res.Deleted += n // what committed before the statement cut
			cut.mark(res)
			break
		}
		if err != nil {
			if fk, referenced := referencedBy(t.Dialect, err); referenced {
				return res, t.fail(res, start, fmt.Errorf("purging %s after %d rows: a foreign key%s of another table references an expired row, "+
					"so %s refuses every batch that holds it, and purge cannot pass over such rows on %s: delete or re-point the rows that "+
					"reference it, or give the foreign key ON DELETE CASCADE or SET NULL: %w",
					t, res.Deleted, prefixed(" ", fk), t.Dialect.Name(), t.Dialect.Name(), err))
			}
			if !dialects.Disconnected(t.Dialect, err) {
				err = t.explainFailure(run, conn, fmt.Errorf("purging %s after %d rows: %w", t, res.Deleted, err))
			}
			return res, t.fail(res, start, err)
		}
		res.maxBatch = max(res.maxBatch, took)
		res.Deleted += n
		res.Batches++
		res.LastBatchRows, res.LastBatch = n, took
		if opts.Progress != nil {
			res.tally(start)
			opts.Progress(*res)
		}
		switch {
		case walking && w.from == "":
			w.on = false // the end of the table: on to what it passed over
		case walking:
			if adaptive {
				w.span = nextBatchSize(w.span, int64(w.span), took, target, 0)
			}
		case iso != nil:
			if !more {
				res.Status = PurgeDone
			}
		case n == 0:
			res.Status = PurgeDone
		case n < int64(limit):
			if short.IsZero() && !res.Walked {
				short = t0
			}
		default:
			if adaptive {
				size = nextBatchSize(size, n, took, target, ceiling)
			}
			if !decided {
				decided = true
				if w.on, err = t.backlog(run, conn, opts, res); err != nil && cut.cause() != nil {
					cut.mark(res)
				} else if err != nil {
					return res, t.fail(res, start, err)
				}
			}
		}
		if res.Status == PurgeDone || res.Cut {
			break
		}
		if opts.Pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Pause):
			}
		}
	}

	// Counted, not assumed: a batch skips rows an app session holds, and
	// a walk leaves what expires while it runs. After a cut, counting
	// would wait for the lock that held the statement up. The cutter is
	// done with (it would cancel a count that began just before the
	// deadline passed: the deadline bounds the batches, not the count); the
	// count has a context of its own, bounded by the same grace.
	if !res.Cut {
		cut.stop()
		count, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace(target))
		defer cancel()
		if left, _, err := t.Dialect.CountExpired(count, conn, t.Names, opts.Grace); err == nil {
			res.Remaining = &left
		}
		t.countHeld(count, conn, opts, res, size)
		since := short
		if res.Walked {
			since = w.start
		}
		t.countKept(count, conn, opts, res, since)
	}
	res.tally(start)
	if res.Status == PurgeInterrupted {
		return res, cut.end(res, t, start, nil)
	}
	return res, nil
}

// countKept counts, into res.Kept, the rows that had expired when a batch
// first came back short (since) that are still there and not held by an
// app session: a trigger, a rule or a row-level security policy kept them.
func (t *Table) countKept(ctx context.Context, conn *sql.Conn, opts PurgeOptions, res *PurgeResult, since time.Time) {
	if since.IsZero() || res.Status != PurgeDone || res.Remaining == nil || *res.Remaining <= res.Kept.ByForeignKey {
		return
	}
	n, _, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace+time.Since(since))
	if err != nil {
		return
	}
	if res.Held != nil {
		n -= *res.Held
	}
	n -= res.Kept.ByForeignKey
	res.Kept.ByTrigger = max(n, 0)
}

// prefixed is s after p, or "" when s is.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// referencedBy reports whether err is a batch refused because a foreign
// key references one of its rows, naming the key where it can.
func referencedBy(d dialects.Dialect, err error) (string, bool) {
	if r, ok := d.(dialects.Referencer); ok && err != nil {
		return r.Referenced(err)
	}
	return "", false
}

// DefaultPause is the pause between batches on d when none is asked for:
// its Limits' Pause, or none.
func DefaultPause(d dialects.Dialect) time.Duration {
	return dialects.LimitsOf(d).Pause
}

// lockAndInspect takes the purge lock, then reads the catalog for the
// table as verify does: without the version table where the dialect can
// (dialects.TableInspector), as its findings are only warnings, which do
// not stop a purge. ok is false when another session holds the lock.
// (One statement that did both cost more than the statements it replaced,
// see BENCHMARKS.md.)
func (t *Table) lockAndInspect(ctx context.Context, conn *sql.Conn) (unlock func() error, ok bool, info *dialects.TableInfo, err error) {
	if unlock, err = t.Dialect.TryLock(ctx, conn, t.Names); errors.Is(err, dialects.ErrLocked) {
		return nil, false, nil, nil
	} else if err != nil {
		return nil, false, nil, err
	}
	ok = true
	inspect := t.Dialect.Inspect
	if ti, can := t.Dialect.(dialects.TableInspector); can {
		inspect = ti.InspectTable
	}
	if info, err = inspect(ctx, conn, t.Names); err != nil {
		unlock()
		return nil, false, nil, err
	}
	return unlock, true, info, nil
}

// hidden is refused, the error of a purge that refused the table, unless
// the catalog showed no table because it hides tables from a user with no
// privilege on them (MySQL, SQL Server): then the table's own answer, a
// refused privilege, says what to grant.
func (t *Table) hidden(ctx context.Context, conn *sql.Conn, info *dialects.TableInfo, opts PurgeOptions, refused error) error {
	if info.Kind != dialects.KindMissing {
		return refused
	}
	if _, _, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace); err != nil {
		if denied := t.denied(ctx, conn, "purge", err); errors.Is(denied, dialects.ErrPermission) {
			return denied
		}
	}
	return refused
}

// shaped is t with the dialect whose statements fit the table info
// describes (dialects.Shaper).
func (t *Table) shaped(info *dialects.TableInfo) *Table {
	if s, ok := t.Dialect.(dialects.Shaper); ok {
		c := *t
		c.Dialect = s.ForTable(info)
		return &c
	}
	return t
}

// walk is where a walk in storage order has got to.
type walk struct {
	walker dialects.Walker
	on     bool
	start  time.Time // when its first batch began
	from   string    // the position to go on from; "" is the start
	span   int       // units of storage the next batch covers
}

// backlog reports whether so much of the table has expired that walking it
// in storage order beats batches in expiry order: at least 1/walkShare of
// the rows the engine estimates it holds.
func (t *Table) backlog(ctx context.Context, conn *sql.Conn, opts PurgeOptions, res *PurgeResult) (bool, error) {
	expired := int64(0)
	if left, ok := res.Left(); ok {
		expired = left
	} else {
		n, _, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace)
		if err != nil {
			return false, fmt.Errorf("counting the expired rows of %s: %w", t, err)
		}
		expired = n
	}
	stored, err := t.Dialect.(dialects.Walker).StoredRows(ctx, conn, t.Names)
	if err != nil {
		return false, fmt.Errorf("estimating the rows of %s: %w", t, err)
	}
	return worthWalking(expired, stored), nil
}

// worthWalking reports whether expired rows out of about stored are enough
// to walk the table.
func worthWalking(expired, stored int64) bool {
	return stored > 0 && expired*walkShare >= stored
}

func (t *Table) dryRun(ctx context.Context, conn *sql.Conn, opts PurgeOptions, info *dialects.TableInfo, res *PurgeResult, start time.Time) error {
	n, oldest, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace)
	if err != nil {
		return t.explainFailure(ctx, conn, fmt.Errorf("counting the expired rows of %s: %w", t, err))
	}
	size := cmp.Or(opts.BatchSize, firstBatchSize(dialects.LimitsOf(t.Dialect).MaxBatch))
	plan, err := t.Dialect.ExplainPurge(ctx, conn, t.Names, opts.Grace, size)
	if err != nil {
		return fmt.Errorf("explaining the purge of %s: %w", t, err)
	}
	// As Purge decides: walk after a first full batch on the index, if
	// what is left of the backlog is enough.
	if w, ok := t.Dialect.(dialects.Walker); ok && opts.Order == OrderStorage {
		res.WouldWalk = true
	} else if ok && opts.Order == OrderAuto && opts.BatchSize <= 0 && n > int64(size) {
		stored, err := w.StoredRows(ctx, conn, t.Names)
		if err != nil {
			return fmt.Errorf("estimating the rows of %s: %w", t, err)
		}
		res.WouldWalk = worthWalking(n-int64(size), stored)
	}
	res.Status, res.Remaining, res.Plan = PurgeDryRun, &n, plan
	res.ExpiryIndex = planIndex(t.Dialect, plan, info)
	uses := res.ExpiryIndex != ""
	res.PlanUsesIndex = &uses
	if ix, ok := info.ExpiryIndex(); ok && !uses {
		res.ExpiryIndex = ix.Name
	}
	if n > 0 {
		res.Oldest = &Expiry{oldest}
	}
	res.tally(start)
	return nil
}

// planIndex is the name of the first index on ExpiresAtTime that plan
// reads, or "" when it reads none of them.
func planIndex(d dialects.Dialect, plan string, info *dialects.TableInfo) string {
	for _, ix := range info.Indexes {
		if len(ix.Columns) == 0 || ix.Columns[0] != dialects.ColExpiresAtTime {
			continue
		}
		if strings.Contains(plan, d.Quote(ix.Name)) || containsWord(plan, ix.Name) {
			return ix.Name
		}
	}
	return ""
}

// containsWord reports whether s holds word with no name character on
// either side, so that index "ix" is not found inside "ix2".
func containsWord(s, word string) bool {
	isName := func(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[j+len(word):])
		if (j == 0 || !isName(before)) && (j+len(word) == len(s) || !isName(after)) {
			return true
		}
		i = j + 1
	}
}

// fail ends res as failed by err, which it returns, or, when err is the
// connection lost, an error that says so.
func (t *Table) fail(res *PurgeResult, start time.Time, err error) error {
	res.Status = PurgeFailed
	res.tally(start)
	if dialects.Disconnected(t.Dialect, err) {
		return t.lostConnection(res, err)
	}
	return err
}

// lostConnection says that the connection went from under a purge, and
// that running it again is safe: each batch is its own transaction, so the
// one in flight was rolled back whole and every row it did not delete is
// there for the next run.
func (t *Table) lostConnection(res *PurgeResult, err error) error {
	return fmt.Errorf("purge of %s lost the connection to the database after deleting %d rows (%w); "+
		"each batch commits on its own, so nothing was left half done: run purge again to go on", t, res.Deleted, err)
}

// explainFailure says so when a statement failed because the table is not
// there, the commonest reason.
func (t *Table) explainFailure(ctx context.Context, q dialects.Querier, err error) error {
	info, ierr := t.Dialect.Inspect(ctx, q, t.Names)
	if ierr != nil {
		return err
	}
	if info.Kind == dialects.KindMissing {
		return fmt.Errorf("%w: %s; `sessctl create` makes it", ErrTableMissing, t)
	}
	if ferr := refuseForeign(t, info, "purge"); ferr != nil {
		return ferr
	}
	return err
}

// Expiry is an expiry time as a report gives it: RFC 3339 (a year outside
// 0-9999, which RFC 3339 cannot write, as Go formats it), or "-infinity"
// for dialects.MinusInfinity.
type Expiry struct{ time.Time }

const minusInfinity = "-infinity"

func (e Expiry) String() string {
	if e.Equal(dialects.MinusInfinity) {
		return minusInfinity
	}
	return e.UTC().Format(time.RFC3339Nano)
}

func (e Expiry) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

func (e *Expiry) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == minusInfinity {
		e.Time = dialects.MinusInfinity
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	e.Time = t
	return err
}
