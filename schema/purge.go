package schema

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
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
)

// PurgeOptions say how Purge purges.
type PurgeOptions struct {
	// BatchSize, when above 0, fixes the rows one batch deletes at most.
	// At 0, batches are sized to take about BatchTime each.
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
	Pause time.Duration
	// DryRun counts the expired rows and shows the plan, deleting nothing.
	DryRun bool
	// Estimate counts the expired rows before the first batch, so that
	// Progress can tell how many are left. The count reads the expiry
	// index from end to end: cheap next to deleting, not free.
	Estimate bool
	// Progress, when set, is called after every batch.
	Progress func(PurgeResult)
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
	// Remaining counts the expired rows left: 0 when done, counted when a
	// bound or a signal stopped the run, nil when it was skipped.
	Remaining *int64 `json:"remaining"`
	// Oldest is the oldest expiry left (dry run).
	Oldest *time.Time `json:"oldest_expiry,omitempty"`
	// Plan is the database's plan for one batch (dry run).
	Plan string `json:"plan,omitempty"`
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
	start := time.Now()
	res := &PurgeResult{Schema: t.Schema, Table: t.Names.Table}
	ceiling := t.Dialect.MaxBatchSize()
	size, adaptive := opts.BatchSize, opts.BatchSize <= 0
	if adaptive {
		size = firstBatchSize(ceiling)
	}
	target := cmp.Or(opts.BatchTime, DefaultBatchTime)
	// Statements run to the end even when ctx ends: a batch is never cut.
	run := context.WithoutCancel(ctx)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()

	unlock, ok, err := t.Dialect.TryLock(ctx, conn, t.Names)
	if err != nil {
		return nil, err
	}
	if !ok {
		res.Status = PurgeSkipped
		res.tally(start)
		return res, nil
	}
	defer unlock()

	if opts.DryRun {
		return res, t.dryRun(run, conn, opts, res, start)
	}
	if opts.Estimate {
		n, _, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace)
		if err != nil && ctx.Err() == nil {
			return nil, t.explainFailure(run, conn, fmt.Errorf("counting the expired rows of %s: %w", t, err))
		}
		if err == nil {
			res.Expired = &n
		}
	}

	for {
		if ctx.Err() != nil {
			res.Status = PurgeInterrupted
			break
		}
		limit := size
		if opts.MaxRows > 0 {
			limit = int(min(int64(limit), opts.MaxRows-res.Deleted))
		}
		if limit <= 0 || (opts.MaxDuration > 0 && time.Since(start) >= opts.MaxDuration) {
			res.Status = PurgeBounded
			break
		}
		t0 := time.Now()
		n, err := t.Dialect.DeleteExpired(run, conn, t.Names, opts.Grace, limit)
		took := time.Since(t0)
		if err != nil {
			res.tally(start)
			return res, t.explainFailure(run, conn, fmt.Errorf("purging %s after %d rows: %w", t, res.Deleted, err))
		}
		res.maxBatch = max(res.maxBatch, took)
		res.Deleted += n
		res.Batches++
		res.LastBatchRows, res.LastBatch = n, took
		if opts.Progress != nil {
			res.tally(start)
			opts.Progress(*res)
		}
		if n < int64(limit) {
			res.Status = PurgeDone
			break
		}
		if adaptive {
			size = nextBatchSize(size, n, took, target, ceiling)
		}
		if opts.Pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Pause):
			}
		}
	}

	if res.Status == PurgeDone {
		zero := int64(0)
		res.Remaining = &zero
	} else if left, _, err := t.Dialect.CountExpired(run, conn, t.Names, opts.Grace); err == nil {
		res.Remaining = &left
	}
	res.tally(start)
	if res.Status == PurgeInterrupted {
		return res, fmt.Errorf("%w: purge of %s stopped after %d batches", ErrInterrupted, t, res.Batches)
	}
	return res, nil
}

func (t *Table) dryRun(ctx context.Context, conn *sql.Conn, opts PurgeOptions, res *PurgeResult, start time.Time) error {
	n, oldest, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace)
	if err != nil {
		return t.explainFailure(ctx, conn, fmt.Errorf("counting the expired rows of %s: %w", t, err))
	}
	size := cmp.Or(opts.BatchSize, firstBatchSize(t.Dialect.MaxBatchSize()))
	plan, err := t.Dialect.ExplainPurge(ctx, conn, t.Names, opts.Grace, size)
	if err != nil {
		return fmt.Errorf("explaining the purge of %s: %w", t, err)
	}
	info, err := t.Dialect.Inspect(ctx, conn, t.Names)
	if err != nil {
		return err
	}
	res.Status, res.Remaining, res.Plan = PurgeDryRun, &n, plan
	res.ExpiryIndex = planIndex(t.Dialect, plan, info)
	uses := res.ExpiryIndex != ""
	res.PlanUsesIndex = &uses
	if ix, ok := info.ExpiryIndex(); ok && !uses {
		res.ExpiryIndex = ix.Name
	}
	if n > 0 {
		res.Oldest = &oldest
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

// explainFailure says so when a statement failed because the table is not
// there, the commonest reason.
func (t *Table) explainFailure(ctx context.Context, q dialects.Querier, err error) error {
	info, ierr := t.Dialect.Inspect(ctx, q, t.Names)
	if ierr == nil && info.Kind == dialects.KindMissing {
		return fmt.Errorf("%w: %s; `sessctl create` makes it", ErrTableMissing, t)
	}
	return err
}
