package schema

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// Pacing is whether a purge paces itself by how the database is doing for
// its other users: PaceAuto (the zero value) or PaceOff. ParsePacing reads
// it as --pace gives it.
type Pacing string

// Pacings.
const (
	// PaceAuto sets the duty cycle, between batches, from the engine's
	// pacing signal (pacer): back to back while nobody else uses the
	// database, shorter batches with pauses between them while the app
	// does.
	PaceAuto Pacing = ""
	// PaceOff runs batches of BatchTime with Pause between them, as
	// given.
	PaceOff Pacing = "off"
)

// String is the pacing as --pace takes it: "auto" or "off".
func (p Pacing) String() string {
	if p == PaceAuto {
		return orderAuto
	}
	return string(p)
}

// ParsePacing reads a pacing as --pace takes it: auto or off.
func ParsePacing(s string) (Pacing, error) {
	switch s {
	case orderAuto:
		return PaceAuto, nil
	case string(PaceOff):
		return PaceOff, nil
	}
	return "", fmt.Errorf("%q: use auto or off", s)
}

// KindPace names pacing's pauses in the report's yielded.by.
const KindPace = "pace"

// A pacer sets a purge's duty cycle as it runs: after each batch, how long
// the next one is to take and how long to pause before it, and why.
type pacer interface {
	// ready is called before a batch is timed: what it waits for is the
	// app's, and must not count as the batch's time (or the batches
	// that follow would be sized down to nothing).
	ready(ctx context.Context)
	// batching marks a batch in flight (on) or over.
	batching(on bool)
	// next takes in the batch that just ended, which took took.
	next(ctx context.Context, full, took time.Duration) (target, pause time.Duration, why string, err error)
	close()
}

// newPacer is the pacer of opts on the run's table, nil when the run
// keeps a fixed pace: --pace off, or the engine has no pacing signal.
func (p *PurgeRun) newPacer(db *sql.DB) pacer {
	if p.opts.Pace != PaceAuto {
		return nil
	}
	switch d := p.t.Dialect.(type) {
	case dialects.LoadReader:
		return &sessionPacer{r: d, db: db}
	case dialects.CommitCounter:
		return &commitPacer{c: d, q: p.conn}
	}
	return nil
}

// Pacing by the app's sessions (PostgreSQL, MySQL/MariaDB, SQL Server).
//
// The signal is the count of the database's other sessions running a
// statement (the engine's LoadReader: pg_stat_activity, Threads_running,
// sys.dm_exec_requests), sampled every paceSample on a connection of the
// pacer's own, while batches run and between them. The app's requests
// arrive at their own rate whatever the purge does, so by Little's law the
// sessions busy at any moment are that rate times the time a request
// takes: their count during batches against their count without one (the
// baseline, taken before the second batch and lowered by the pauses) is
// how much slower the app runs while a batch does, with no probe of our
// own to add load and no guess at the app's statements. On an idle
// database both are 0: batches run back to back. The baseline follows the
// pauses' samples down, never up (see next).
//
// From that ratio r the duty cycle d = batch / (batch + pause) is set so
// that the app's mean slowdown over a whole cycle, 1 + d·(r-1), stays at
// paceSlowdown: the batch time drops to pacedBatch, the pause is what the
// duty cycle leaves, at most 1/minDuty - 1 batches. The mean is not the tail: the
// app's p99 is made of the requests that met a batch at its worst (a
// checkpoint, a flush), so paceSlowdown is low; measured with 8 clients on
// two cores, a mean slowdown of 1.2 let the p99 reach 6 times idle.
// Samples between batches count towards the baseline only paceSettle
// after a batch ended: the app's requests that queued behind it are
// still being served.
const (
	paceSample   = 5 * time.Millisecond
	paceBaseline = 100 * time.Millisecond // sampled before the second batch
	paceSlowdown = 1.05
	pacedBatch   = 50 * time.Millisecond
	// minDuty bounds how far pacing slows a purge: a tenth of the time,
	// at the least, goes to batches (the most a pause is 9 batches), so
	// that a backlog still clears while the app stays busy (measured on
	// MariaDB, its buffer pool thrashing, pauses that kept the mean at
	// 1.05 left a purge of 500,000 rows 40 minutes to run).
	minDuty = 0.1
	// paceSmooth weighs each cycle's ratio against those before it:
	// one batch's handful of samples is noisy.
	paceSmooth = 0.4
	paceSettle = 20 * time.Millisecond
)

type sessionPacer struct {
	r  dialects.LoadReader
	db *sql.DB

	conn    *sql.Conn
	stop    chan struct{}
	done    sync.WaitGroup
	inBatch atomic.Bool
	ended   atomic.Int64 // when the last batch ended, in UnixNano

	mu                sync.Mutex
	in, out           sampleSum // this cycle's samples, during a batch and not
	err               error     // the sampler's, which ends it
	base, ratio       float64
	started, haveBase bool
	haveRatios        bool
}

type sampleSum struct{ sum, n float64 }

func (s *sampleSum) add(v float64) { s.sum += v; s.n++ }
func (s sampleSum) mean() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / s.n
}

func (s *sessionPacer) batching(on bool) {
	s.inBatch.Store(on)
	if !on {
		s.ended.Store(time.Now().UnixNano())
	}
}

// ready waits for nothing: a server's batch waits only for the rows it
// deletes, which the app rarely holds.
func (*sessionPacer) ready(context.Context) {}

// start opens the sampler's connection and starts it.
func (s *sessionPacer) start(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	if _, err := s.r.Load(ctx, conn); err != nil {
		conn.Close()
		return err
	}
	s.conn, s.stop, s.started = conn, make(chan struct{}), true
	s.done.Go(s.sample)
	return nil
}

// sample reads the signal every paceSample until stopped. A sample
// counts as in a batch, or not, only when it began and ended so: one
// across the edge of a batch tells neither.
func (s *sessionPacer) sample() {
	tick := time.NewTicker(paceSample)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		before := s.inBatch.Load()
		settled := time.Since(time.Unix(0, s.ended.Load())) >= paceSettle
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, err := s.r.Load(ctx, s.conn)
		cancel()
		after := s.inBatch.Load()
		s.mu.Lock()
		switch {
		case err != nil:
			s.err = err
		case before && after:
			// The purge's own session is busy with its batch, and
			// counted: it is no other user.
			s.in.add(float64(max(n-1, 0)))
		case !before && !after && settled:
			s.out.add(float64(n))
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *sessionPacer) next(ctx context.Context, full, _ time.Duration) (time.Duration, time.Duration, string, error) {
	if !s.started {
		if err := s.start(ctx); err != nil {
			return 0, 0, "", fmt.Errorf("reading %s: %w", s.r.LoadSignal(), err)
		}
		return full, paceBaseline, fmt.Sprintf("measuring %s without a batch running, the baseline pacing compares with", s.r.LoadSignal()), nil
	}
	s.mu.Lock()
	in, out, err := s.in, s.out, s.err
	s.in, s.out = sampleSum{}, sampleSum{}
	s.mu.Unlock()
	if err != nil {
		return 0, 0, "", fmt.Errorf("reading %s: %w", s.r.LoadSignal(), err)
	}
	switch {
	case out.n == 0:
	case !s.haveBase:
		s.base, s.haveBase = out.mean(), true // the baseline's own samples
	case out.mean() < s.base:
		// Down only: the app slowed by a purge stays slow between its
		// batches (MariaDB writing out the pages they dirtied), and a
		// baseline that followed it up would hold the app there.
		s.base += paceSmooth * (out.mean() - s.base)
	}
	if in.n > 0 {
		// +1: a ratio of counts near 0 would swing on a single session.
		r := (in.mean() + 1) / (s.base + 1)
		if s.haveRatios {
			s.ratio += paceSmooth * (r - s.ratio)
		} else {
			s.ratio, s.haveRatios = r, true
		}
	}
	if !s.haveRatios || s.ratio <= paceSlowdown {
		return full, 0, "", nil
	}
	target := min(full, pacedBatch)
	duty := (paceSlowdown - 1) / (s.ratio - 1)
	pause := time.Duration(float64(target) * (1/max(duty, minDuty) - 1))
	return target, pause, fmt.Sprintf("%s %.1f during batches against %.1f without: %s batches, %s apart",
		s.r.LoadSignal(), in.mean(), s.base, target, pause.Round(time.Millisecond)), nil
}

func (s *sessionPacer) close() {
	if !s.started {
		return
	}
	close(s.stop)
	s.done.Wait()
	s.conn.Close()
}

// Pacing by the app's commits (SQLite).
//
// SQLite has one writer at a time and no view of the others: the app's
// writers wait out every batch, sleeping in steps that grow to 25 ms and
// more (its busy handler), and are seen only by the commits they make
// once in (CommitCounter). While nobody else commits, batches run as
// long as asked with a gap of soloGap between them, time enough for a
// writer that tries then to get in, and so be seen. Once one has been
// seen, and until none has for sharedHold, batches are cut to sharedBatch
// (a writer that came as one began waits little more than that and its
// busy handler's next step), and each is followed by a pause that keeps
// purge's share of the write lock at sharedDuty, at least sharedPause:
// longer than the steps the app's waiting writers sleep by then, so that
// each of them gets in before the next batch. The app's own writers may
// hold the lock most of the time already (measured: 8 clients of 25
// requests a second, each a synced commit, kept it 60% busy); what purge
// adds must stay small for their waits not to pile up.
const (
	soloGap     = 5 * time.Millisecond
	sharedBatch = 20 * time.Millisecond
	sharedPause = 30 * time.Millisecond
	sharedDuty  = 0.15
	sharedHold  = 2 * time.Second
)

type commitPacer struct {
	c dialects.CommitCounter
	q dialects.Querier

	last     int64
	read     bool
	lastSeen time.Time // when another connection's commit was last seen
}

func (*commitPacer) batching(bool) {}

// ready waits for the write lock, while the app's writers hold it, and
// lets it go (BEGIN IMMEDIATE, ROLLBACK): the batch then takes it at once,
// before the writers' busy handlers try again, so that its time is the
// time it holds the lock, which is what the app waits for, not the time it
// waited for the app. (Without it, in step with 8 writers, batches sized
// by their time shrank to a row each.) Best effort: a batch that still
// has to wait just counts it.
func (c *commitPacer) ready(ctx context.Context) {
	if !c.shared() {
		return
	}
	if _, err := c.q.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
		_, _ = c.q.ExecContext(ctx, "ROLLBACK")
	}
}

func (c *commitPacer) shared() bool {
	return !c.lastSeen.IsZero() && time.Since(c.lastSeen) <= sharedHold
}

func (c *commitPacer) next(ctx context.Context, full, took time.Duration) (time.Duration, time.Duration, string, error) {
	v, err := c.c.Commits(ctx, c.q)
	if err != nil {
		return 0, 0, "", fmt.Errorf("reading PRAGMA data_version: %w", err)
	}
	if c.read && v != c.last {
		c.lastSeen = time.Now()
	}
	c.last, c.read = v, true
	if !c.shared() {
		return full, soloGap, "a gap between batches for the app's writers to get in: none seen yet", nil
	}
	target := min(full, sharedBatch)
	pause := max(time.Duration(float64(took)*(1/sharedDuty-1)), sharedPause)
	return target, pause, fmt.Sprintf("another connection committed %s ago: %s batches, each followed by %.1f times its time (at least %s)",
		time.Since(c.lastSeen).Round(time.Millisecond), target, 1/sharedDuty-1, sharedPause), nil
}

func (*commitPacer) close() {}

// readyForBatch lets the pacer wait for what the batch must not be timed
// with.
func (p *PurgeRun) readyForBatch() {
	if p.pace != nil {
		p.pace.ready(p.stmt)
	}
}

func (p *PurgeRun) batching(on bool) {
	if p.pace != nil {
		p.pace.batching(on)
	}
}

// pauseAfterBatch pauses between two batches: as long as the pacer says,
// the next batch sized to take as long as it says; Pause, at a fixed pace.
// A pacer whose signal cannot be read is given up, with a warning: the
// run goes on at the fixed pace rather than fail on what only paces it.
func (p *PurgeRun) pauseAfterBatch(ctx context.Context) {
	pause, why := p.opts.Pause, ""
	if p.pace != nil {
		target, wait, reason, err := p.pace.next(p.stmt, p.full, p.res.LastBatch)
		if err != nil {
			p.pace.close()
			p.pace = nil
			p.res.Warnings = append(p.res.Warnings, fmt.Sprintf("pacing given up, batches of %s %s apart from here on: %v", p.full, p.opts.Pause, err))
		} else {
			p.retarget(target)
			pause, why = wait, reason
		}
	}
	if pause <= 0 {
		return
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(pause):
	}
	if why != "" {
		p.res.noteYield(KindPace, why, time.Since(t0))
	}
}

// retarget sizes the next batch to take target where it was sized to take
// p.target.
func (p *PurgeRun) retarget(target time.Duration) {
	if !p.adaptive || target == p.target || target <= 0 {
		return
	}
	scale := float64(target) / float64(p.target)
	p.size = max(int(float64(p.size)*scale), 1)
	if p.ceiling > 0 {
		p.size = min(p.size, p.ceiling)
	}
	p.w.span = max(int(float64(p.w.span)*scale), 1)
	p.target = target
}
