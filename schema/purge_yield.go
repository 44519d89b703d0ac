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
	// Why maps each kind to the last reason it gave, in full; Last is
	// the last reason of all.
	Why  map[string]string `json:"why"`
	Last string            `json:"last,omitempty"`
}

// giveWay asks the Yielders, as yield does, whether to go on: more is
// false when one found the load critical (the run is then stopped, and
// finish says so), err set when one failed.
func (p *PurgeRun) giveWay(ctx context.Context) (more bool, err error) {
	err = p.yield(ctx)
	switch {
	case errors.Is(err, ErrCriticalLoad):
		p.res.Status, p.res.Reason, p.stopped = PurgeStopped, err.Error(), err
		return false, nil
	case err != nil:
		return false, p.failed(err)
	}
	return true, nil
}

// yield asks every Yielder in turn, and waits as long as the first that
// asks to, then asks again, until none does, ctx ends (the next step
// reports the run interrupted) or --max-duration passes (the next step
// finds it bounded). Each wait is told to Progress, with what it waits for.
//
// The Yielders read on the statements' context, not ctx: a read that a
// signal cancelled would, on MySQL, drop the purge's connection, and with
// it the counts its report ends with.
func (p *PurgeRun) yield(ctx context.Context) error {
	defer func() { p.res.Waiting = "" }()
	// After any wait every Yielder is asked again, from the first: the
	// load may have risen while a replica caught up.
	for waited := true; waited; {
		waited = false
		for _, y := range p.yielders {
			w, done, err := p.yieldTo(ctx, y)
			if err != nil || done {
				return err
			}
			waited = waited || w
		}
	}
	return nil
}

// yieldTo waits for y until it says go on; waited says whether it made
// purge wait, done that the run is to end its waiting here (ctx ended, a
// cut, --max-duration passed).
func (p *PurgeRun) yieldTo(ctx context.Context, y Yielder) (waited, done bool, err error) {
	for {
		// A read that took long (a replica that stopped answering, cut
		// by its own bound) is time yielded too.
		t0 := time.Now()
		wait, why, err := y.Yield(p.stmt)
		if ctx.Err() != nil || p.cut.cause() != nil {
			return waited, true, nil
		}
		if err != nil {
			return waited, true, err
		}
		if wait <= 0 {
			return waited, false, nil
		}
		if p.opts.MaxDuration > 0 {
			left := time.Until(p.start.Add(p.opts.MaxDuration))
			if left <= 0 {
				return waited, true, nil
			}
			wait = min(wait, left)
		}
		p.res.Waiting = why
		if p.opts.Progress != nil { // the line says why it stands still
			p.res.tally(p.start)
			p.opts.Progress(*p.res)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		waited = true
		p.res.noteYield(yieldKind(y), why, time.Since(t0))
		if p.opts.Progress != nil {
			p.res.tally(p.start)
			p.opts.Progress(*p.res)
		}
	}
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
		r.Yielded = &Yielded{By: map[string]int64{}, Why: map[string]string{}}
	}
	r.Yielded.Why[kind] = why
	r.Yielded.MS += d.Milliseconds()
	r.Yielded.By[kind] += d.Milliseconds()
	r.Yielded.Last = why
}
