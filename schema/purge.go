package schema

import (
	"context"
	"database/sql"
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
)

// DefaultBatchSize is the rows a batch deletes when --batch-size is not set.
const DefaultBatchSize = 1000

// PurgeOptions say how Purge purges.
type PurgeOptions struct {
	// BatchSize is the most rows one batch deletes.
	BatchSize int
	// Grace keeps rows that expired less than this long ago.
	Grace time.Duration
	// MaxRows and MaxDuration bound the run; 0 is no bound.
	MaxRows     int64
	MaxDuration time.Duration
	// Pause is slept between batches.
	Pause time.Duration
	// DryRun counts the expired rows and shows the plan, deleting nothing.
	DryRun bool
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

// Elapsed is the run's wall time.
func (r *PurgeResult) Elapsed() time.Duration { return r.elapsed }

// Purge deletes expired rows in batches, each its own short transaction,
// until none is left or a bound is reached. A second purge of the same
// table skips while the first runs. When ctx ends, Purge finishes the batch
// in flight, and returns its result with an error wrapping ErrInterrupted.
func Purge(ctx context.Context, db *DB, t *Table, opts PurgeOptions) (*PurgeResult, error) {
	start := time.Now()
	res := &PurgeResult{Schema: t.Schema, Table: t.Names.Table}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
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

	for {
		if ctx.Err() != nil {
			res.Status = PurgeInterrupted
			break
		}
		limit := opts.BatchSize
		if opts.MaxRows > 0 {
			limit = int(min(int64(limit), opts.MaxRows-res.Deleted))
		}
		if limit <= 0 || (opts.MaxDuration > 0 && time.Since(start) >= opts.MaxDuration) {
			res.Status = PurgeBounded
			break
		}
		t0 := time.Now()
		n, err := t.Dialect.DeleteExpired(run, conn, t.Names, opts.Grace, limit)
		if err != nil {
			res.tally(start)
			return res, t.explainFailure(run, conn, fmt.Errorf("purging %s after %d rows: %w", t, res.Deleted, err))
		}
		res.maxBatch = max(res.maxBatch, time.Since(t0))
		res.Deleted += n
		res.Batches++
		if opts.Progress != nil {
			res.tally(start)
			opts.Progress(*res)
		}
		if n < int64(limit) {
			res.Status = PurgeDone
			break
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
	plan, err := t.Dialect.ExplainPurge(ctx, conn, t.Names, opts.Grace, opts.BatchSize)
	if err != nil {
		return fmt.Errorf("explaining the purge of %s: %w", t, err)
	}
	res.Status, res.Remaining, res.Plan = PurgeDryRun, &n, plan
	if n > 0 {
		res.Oldest = &oldest
	}
	res.tally(start)
	return nil
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
