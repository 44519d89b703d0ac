package schema

import (
	"context"
	"errors"
	"time"
)

// ErrCriticalLoad: a Yielder found the database past the point at which
// purge stops (gh-ost's --critical-load): the run ends, its batches
// committed, with a report.
var ErrCriticalLoad = errors.New("critical load")

// A Yielder is asked, between batches, whether the purge should give way
// to the database's other users, and for how long: pacing by load, waiting
// for a replica to catch up. It reads the database (or a replica) and
// nothing else; it never holds a lock the app waits for.
type Yielder interface {
	// Yield says how long to wait before the next batch, and why ("the
	// app's p99 probe is 3x its baseline", "replica db2 lags 4.2s");
	// 0 is go on. An error wrapping ErrCriticalLoad stops the run; any
	// other error fails it.
	Yield(ctx context.Context) (wait time.Duration, why string, err error)
}

// Yielded is how long a purge gave way to the database's other users, in
// all and by reason: the JSON report's "yielded".
type Yielded struct {
	MS int64 `json:"ms"`
	// By maps each reason a Yielder gave (its kind, "load" or "replica
	// lag") to the milliseconds spent waiting for it.
	By map[string]int64 `json:"by"`
	// Last is the last reason given, in full.
	Last string `json:"last,omitempty"`
}

// yield asks every Yielder in turn, and waits as long as each asks to,
// then asks it again, until it does not, before the next; until ctx ends,
// or --max-duration is up (a wait ends there: the run is bounded, not
// stuck behind a stopped replica). kind names each Yielder's reasons in
// the report.
func (p *PurgeRun) yield(ctx context.Context) error {
	for _, y := range p.opts.Yield {
		for {
			wait, why, err := y.Yield(ctx)
			if err != nil {
				return err
			}
			if wait <= 0 {
				break
			}
			if p.opts.MaxDuration > 0 {
				left := p.opts.MaxDuration - time.Since(p.start)
				if left <= 0 {
					return nil
				}
				wait = min(wait, left)
			}
			p.res.noteYield(yieldKind(y), why, wait)
			if p.opts.Progress != nil { // the line says why it stands still
				p.res.tally(p.start)
				p.opts.Progress(*p.res)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
	return nil
}

// Kinded is a Yielder that names the kind of its reasons.
type Kinded interface{ Kind() string }

func yieldKind(y Yielder) string {
	if k, ok := y.(Kinded); ok {
		return k.Kind()
	}
	return "other"
}

func (r *PurgeResult) noteYield(kind, why string, d time.Duration) {
	if r.Yielded == nil {
		r.Yielded = &Yielded{By: map[string]int64{}}
	}
	r.Yielded.MS += d.Milliseconds()
	r.Yielded.By[kind] += d.Milliseconds()
	r.Yielded.Last = why
}
