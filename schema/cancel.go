package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// minStopGrace is the least time a statement in flight may go on after a
// purge is told to stop (a signal, --timeout, --max-duration) before purge
// cuts it.
//
// A running batch is never cut: that is the contract. A waiting one is: a
// statement held up by an app session (a row in an open transaction, a
// LOCK TABLE, a DDL statement queued ahead of it) would otherwise keep the
// purge, and the signal or deadline, waiting for as long as the app likes.
// The two cannot be told apart from the client while the statement runs,
// but by how long it takes: a batch sized by time takes about --batch-time
// (100 ms by default), so one still running a second later, or twice
// --batch-time when that is longer, is waiting. Cutting it rolls its batch
// back whole (each batch is its own transaction), so the table is as
// consistent as after any batch.
const minStopGrace = time.Second

// interruptSettle is how long, after an Interrupter was told to stop the
// statement, purge waits for it to end before it cancels the statement's
// context as well, which makes the driver drop the connection.
const interruptSettle = time.Second

// interruptTimeout bounds the Interrupter's own statement.
const interruptTimeout = 5 * time.Second

// errBound: the purge reached --max-duration while a statement waited.
var errBound = errors.New("max duration reached")

// cutter gives a purge's statements a context that ends a grace after the
// purge is told to stop: ctx ends, the deadline (--max-duration) passes,
// or, at once, abort closes (a second signal). Then it stops the statement
// in flight on the server: through the dialect's Interrupter where the
// driver would only drop the connection, by the context elsewhere (pgx
// sends a cancel request, go-mssqldb an attention, SQLite is interrupted
// between the short waits of its purge session).
type cutter struct {
	run    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu    sync.Mutex
	why   error  // why it cut; nil until it does
	while string // what the server said the statement was waiting for as it was cut
}

func (t *Table) newCutter(ctx context.Context, db *sql.DB, conn *sql.Conn, deadline time.Time, grace time.Duration, abort <-chan struct{}) *cutter {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &cutter{run: run, cancel: cancel, done: make(chan struct{})}
	interrupt := func() {}
	session, known := int64(0), false
	if w, ok := t.Dialect.(dialects.Waiter); ok {
		session, known = w.WaitSession(conn)
	}
	if ir, ok := t.Dialect.(dialects.Interrupter); ok {
		if id, err := ir.SessionID(ctx, conn); err == nil {
			session, known = id, true
			interrupt = func() {
				ictx, icancel := context.WithTimeout(context.WithoutCancel(ctx), interruptTimeout)
				defer icancel()
				if ir.Interrupt(ictx, db, id) != nil {
					return // cancel at once: the driver drops the connection
				}
				select {
				case <-c.done:
				case <-time.After(interruptSettle):
				}
			}
		}
	}
	var bound <-chan time.Time
	var timer *time.Timer
	if !deadline.IsZero() {
		timer = time.NewTimer(time.Until(deadline.Add(grace)))
		bound = timer.C
	}
	c.wg.Go(func() {
		if timer != nil {
			defer timer.Stop()
		}
		var why error
		select {
		case <-c.done:
			return
		case <-bound:
			why = errBound
		case <-abort:
			why = context.Cause(ctx)
		case <-ctx.Done():
			why = context.Cause(ctx)
			select {
			case <-c.done:
				return
			case <-abort:
			case <-time.After(grace):
			}
		}
		if why == nil {
			why = context.Canceled
		}
		while := ""
		if w, ok := t.Dialect.(dialects.Waiter); ok && known {
			wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), interruptTimeout)
			while, _ = w.WaitingFor(wctx, db, session)
			wcancel()
		}
		c.mu.Lock()
		c.why, c.while = why, while
		c.mu.Unlock()
		interrupt()
		cancel()
	})
	return c
}

// cause is why the cutter cut a statement, or nil.
func (c *cutter) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// mark ends res as cut: its status, and what the statement was doing.
func (c *cutter) mark(res *PurgeResult) {
	res.Status, res.Cut = c.status(), true
	c.mu.Lock()
	res.CutWhile = c.while
	c.mu.Unlock()
}

// status is the purge status a cut statement ends the run with.
func (c *cutter) status() string {
	if errors.Is(c.cause(), errBound) {
		return PurgeBounded
	}
	return PurgeInterrupted
}

// stop ends the cutter: nothing is cut from now on.
func (c *cutter) stop() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
	c.cancel()
}

// end ends a run that err (if any) stopped, or that was cut: a cut by
// --max-duration is a bound, one by a signal or --timeout an interruption.
func (c *cutter) end(res *PurgeResult, t *Table, start time.Time, err error) error {
	if c.cause() == nil && err != nil {
		return err
	}
	if c.cause() != nil {
		c.mark(res)
	}
	res.tally(start)
	if res.Status == PurgeBounded {
		return nil
	}
	res.Status = PurgeInterrupted
	return fmt.Errorf("%w: purge of %s stopped after %d batches", ErrInterrupted, t, res.Batches)
}

// stopGrace is how long a statement may go on after a purge is told to
// stop: see minStopGrace.
func stopGrace(batchTime time.Duration) time.Duration {
	return max(minStopGrace, 2*batchTime)
}
