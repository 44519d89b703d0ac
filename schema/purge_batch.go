package schema

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// step runs one batch and what follows it: more is false when the run is
// over (done, bounded, interrupted, or a statement cut), err set when it
// failed.
func (p *PurgeRun) step(ctx context.Context) (more bool, err error) {
	res := p.res
	if ctx.Err() != nil {
		res.Status = PurgeInterrupted
		return false, nil
	}
	limit, ok := p.limit()
	if !ok {
		res.Status = PurgeBounded
		return false, nil
	}
	p.readyForBatch()
	t0 := time.Now()
	walking := p.w.on
	p.batching(true)
	n, left, err := p.batch(t0, limit)
	took := time.Since(t0)
	p.batching(false)
	if walking && errors.Is(err, dialects.ErrCannotWalk) {
		p.w.on = false // on in expiry order, from where the walk began
		return true, nil
	}
	if p.isolate(err, t0) {
		return true, nil
	}
	if err != nil && p.cut.cause() != nil {
		res.Deleted += n // what committed before the statement cut
		p.cut.mark(res)
		return false, nil
	}
	if err != nil {
		return false, p.failed(err)
	}
	res.maxBatch = max(res.maxBatch, took)
	res.Deleted += n
	res.Batches++
	res.LastBatchRows, res.LastBatch = n, took
	if p.opts.Progress != nil {
		res.tally(p.start)
		p.opts.Progress(*res)
	}
	if err := p.after(walking, n, limit, left, took, t0); err != nil {
		return false, err
	}
	if res.Status == PurgeDone || res.Cut {
		return false, nil
	}
	p.pauseAfterBatch(ctx)
	return p.giveWay(ctx)
}

// limit is the most rows the next batch may delete; ok is false when a
// bound (--max-rows, --max-duration) ends the run first.
func (p *PurgeRun) limit() (limit int, ok bool) {
	limit = p.size
	if p.w.on && p.adaptive {
		limit = cmp.Or(p.ceiling, math.MaxInt32)
	}
	if p.opts.MaxRows > 0 {
		limit = int(min(int64(limit), p.opts.MaxRows-p.res.Deleted))
	}
	bounded := limit <= 0 || (p.opts.MaxDuration > 0 && time.Since(p.start) >= p.opts.MaxDuration)
	return limit, !bounded
}

// batch deletes up to limit expired rows, the batch beginning at t0: a
// step of the walk, a batch by Id once a foreign key refused one (left is
// then whether there were rows left to try), or one on the expiry index.
func (p *PurgeRun) batch(t0 time.Time, limit int) (n int64, left bool, err error) {
	t, res, w := p.t, p.res, &p.w
	if w.on {
		if !res.Walked {
			res.Walked, w.start = true, t0
		}
		// A walk deletes what had expired when it began: the cutoff
		// stays where it was, as later expiries may be behind it.
		n, w.from, err = w.walker.DeleteExpiredFrom(p.stmt, p.conn, t.Names, p.opts.Grace+t0.Sub(w.start), w.from, w.span, limit)
		return n, false, err
	}
	// After a walk, what it passed over that had expired when it began
	// (rows an app session held, rows stored behind it meanwhile), on the
	// expiry index.
	grace := p.opts.Grace
	if res.Walked {
		grace += t0.Sub(w.start)
	} else if !p.short.IsZero() {
		grace += t0.Sub(p.short)
	}
	if p.iso != nil {
		return t.isolatedBatch(p.stmt, p.conn, p.iso, grace, limit, res)
	}
	window := limit
	if p.ceiling > 0 {
		p.skip = min(p.skip, int64(max(p.ceiling-limit, 0)))
	}
	window += int(min(p.skip, math.MaxInt32-int64(limit)))
	n, err = t.Dialect.DeleteExpired(p.stmt, p.conn, t.Names, grace, window)
	if err == nil && (n < int64(limit) || p.skip > 0) {
		p.skip = int64(window) - n
	}
	return n, false, err
}

// isolate reports whether err, from the batch begun at t0, is a foreign
// key that references an expired row refusing it: that refuses every batch
// that reaches the row, rolled back whole, so from here on rows go by Id,
// and those it refuses are found and passed over.
func (p *PurgeRun) isolate(err error, t0 time.Time) bool {
	if _, referenced := referencedBy(p.t.Dialect, err); !referenced || p.iso != nil || p.cut.cause() != nil {
		return false
	}
	d, ok := p.t.Dialect.(dialects.IDDeleter)
	if !ok {
		return false
	}
	p.iso = &isolation{d: d, seen: map[string]bool{}}
	p.w.on = false
	if p.short.IsZero() && !p.res.Walked {
		p.short = t0
	}
	return true
}

// failed ends the run as failed by err, a batch's error, saying why.
func (p *PurgeRun) failed(err error) error {
	t, res := p.t, p.res
	if fk, referenced := referencedBy(t.Dialect, err); referenced {
		return t.fail(res, p.start, fmt.Errorf("purging %s after %d rows: a foreign key%s of another table references an expired row, "+
			"so %s refuses every batch that holds it, and purge cannot pass over such rows on %s: delete or re-point the rows that "+
			"reference it, or give the foreign key ON DELETE CASCADE or SET NULL: %w",
			t, res.Deleted, prefixed(" ", fk), t.Dialect.Name(), t.Dialect.Name(), err))
	}
	if !dialects.Disconnected(t.Dialect, err) {
		err = t.explainFailure(p.stmt, p.conn, fmt.Errorf("purging %s after %d rows: %w", t, res.Deleted, err))
	}
	return t.fail(res, p.start, err)
}

// after takes in a batch that deleted n of limit rows in took, begun at
// t0 (walking, when a step of the walk; left, when by Id, whether rows
// were left to try): where the walk goes on, whether the run is done, the
// next batch's size, and, after a first full batch on the expiry index,
// the walk decision.
func (p *PurgeRun) after(walking bool, n int64, limit int, left bool, took time.Duration, t0 time.Time) error {
	res, w := p.res, &p.w
	switch {
	case walking && w.from == "":
		w.on = false // the end of the table: on to what it passed over
	case walking:
		if p.adaptive {
			w.span = nextBatchSize(w.span, int64(w.span), took, p.target, 0)
		}
	case p.iso != nil:
		if !left {
			res.Status = PurgeDone
		}
	case n == 0:
		res.Status = PurgeDone
	case n < int64(limit):
		if p.short.IsZero() && !res.Walked {
			p.short = t0
		}
	default:
		if p.adaptive {
			p.size = nextBatchSize(p.size, n, took, p.target, p.ceiling)
		}
		if !p.decided {
			return p.decideBacklog()
		}
	}
	return nil
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
