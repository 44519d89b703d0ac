package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// ErrNoLoadSignal: --max-load or --critical-load on an engine with no load
// signal (SQLite: no server, no sessions to count).
var ErrNoLoadSignal = errors.New("no load signal")

// LoadPoll is how often a purge waiting for the load to fall under
// MaxLoad reads it again: often enough that it resumes within a fraction
// of a second of the app's peak ending, rarely enough that its reads are
// no load of their own (one cheap statement each).
const LoadPoll = 200 * time.Millisecond

// loadYielder is gh-ost's --max-load and --critical-load on the engine's
// load signal (dialects.LoadReader), read on the purge's own session
// between batches: that session is then idle, holds no lock the app waits
// for, and is left out of its own count.
type loadYielder struct {
	r             dialects.LoadReader
	q             dialects.Querier
	max, critical int64 // 0: no such threshold
}

// newLoadYielder is the Yielder of opts' load thresholds on d, reading on
// q; nil when there are none.
func newLoadYielder(d dialects.Dialect, q dialects.Querier, opts PurgeOptions) (Yielder, error) {
	if opts.MaxLoad <= 0 && opts.CriticalLoad <= 0 {
		return nil, nil
	}
	r, ok := d.(dialects.LoadReader)
	if !ok {
		return nil, fmt.Errorf("%w: --max-load and --critical-load need a count of the database's busy sessions, and %s has none", ErrNoLoadSignal, d.Name())
	}
	return &loadYielder{r: r, q: q, max: opts.MaxLoad, critical: opts.CriticalLoad}, nil
}

// Yield reads the load: at or above critical, it stops the run; above
// max, it asks for a wait of LoadPoll, after which it is read again.
func (l *loadYielder) Yield(ctx context.Context) (time.Duration, string, error) {
	n, err := l.r.Load(ctx, l.q)
	sig := l.r.LoadSignal()
	switch {
	case err != nil:
		return 0, "", fmt.Errorf("reading the database's load (%s): %w", sig, err)
	case l.critical > 0 && n >= l.critical:
		return 0, "", fmt.Errorf("%w: %s is %d, at or above --critical-load %d", ErrCriticalLoad, sig, n, l.critical)
	case l.max > 0 && n > l.max:
		return LoadPoll, fmt.Sprintf("%s %d > --max-load %d", sig, n, l.max), nil
	}
	return 0, "", nil
}

// Kind names the load's reasons in the report: "load".
func (*loadYielder) Kind() string { return "load" }
