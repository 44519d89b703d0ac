package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
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

// walk is where a walk in storage order has got to.
type walk struct {
	walker dialects.Walker
	on     bool
	start  time.Time // when its first batch began
	from   string    // the position to go on from; "" is the start
	span   int       // units of storage the next batch covers
}

// walkChoice is what the order and the dialect decide of a walk before
// the first batch.
type walkChoice int

const (
	// walkNever: expiry order, as the order says, or as the dialect
	// cannot walk.
	walkNever walkChoice = iota
	// walkNow: OrderStorage, where the dialect can walk.
	walkNow
	// walkOnBacklog: OrderAuto with batches sized by time; the table is
	// walked if, after a first full batch on the expiry index, what is
	// left is a backlog (see backlog).
	walkOnBacklog
)

// walkChoice is the walk decision as far as it is made before the first
// batch: the run's (decide) and the dry run's.
func (p *PurgeRun) walkChoice() walkChoice {
	if _, ok := p.t.Dialect.(dialects.Walker); !ok {
		return walkNever
	}
	switch {
	case p.opts.Order == OrderStorage:
		return walkNow
	case p.opts.Order == OrderAuto && p.adaptive:
		return walkOnBacklog
	}
	return walkNever
}

// decide sets the walk up before the first batch, from walkChoice.
func (p *PurgeRun) decide() {
	walker, _ := p.t.Dialect.(dialects.Walker)
	p.w = walk{walker: walker, span: firstSpan}
	if !p.adaptive {
		p.w.span = p.size
	}
	choice := p.walkChoice()
	p.w.on, p.decided = choice == walkNow, choice != walkOnBacklog
}

// decideBacklog makes the walk decision that walkOnBacklog left open,
// after a first full batch on the expiry index.
func (p *PurgeRun) decideBacklog() error {
	p.decided = true
	var err error
	if p.w.on, err = p.backlog(); err != nil && p.cut.cause() != nil {
		p.cut.mark(p.res)
	} else if err != nil {
		return p.t.fail(p.res, p.start, err)
	}
	return nil
}

// backlog reports whether so much of the table has expired that walking it
// in storage order beats batches in expiry order (enoughToWalk).
func (p *PurgeRun) backlog() (bool, error) {
	expired, ok := p.res.Left()
	if !ok {
		n, _, err := p.t.Dialect.CountExpired(p.stmt, p.conn, p.t.Names, p.opts.Grace)
		if err != nil {
			return false, fmt.Errorf("counting the expired rows of %s: %w", p.t, err)
		}
		expired = n
	}
	return p.enoughToWalk(p.stmt, expired)
}

// enoughToWalk reports whether expired rows are at least 1/walkShare of
// the rows the engine estimates the table holds.
func (p *PurgeRun) enoughToWalk(ctx context.Context, expired int64) (bool, error) {
	stored, err := p.t.Dialect.(dialects.Walker).StoredRows(ctx, p.conn, p.t.Names)
	if err != nil {
		return false, fmt.Errorf("estimating the rows of %s: %w", p.t, err)
	}
	return worthWalking(expired, stored), nil
}

// worthWalking reports whether expired rows out of about stored are enough
// to walk the table.
func worthWalking(expired, stored int64) bool {
	return stored > 0 && expired*walkShare >= stored
}
