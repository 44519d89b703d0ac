package schema

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlite"
)

// cycle feeds one cycle's samples to s, as its sampler would have: in
// while a batch ran (the purge's own session among them), out between.
func cycle(s *sessionPacer, in, out []int64) {
	for _, n := range in {
		s.in.add(float64(max(n-1, 0)))
	}
	for _, n := range out {
		s.out.add(float64(n))
	}
}

// TestSessionPacerDutyCycle: the duty cycle follows the ratio of the
// app's busy sessions during batches to their count without one: none
// (an idle database) or as many (a steady load the batches do not slow)
// is back to back; twice as many pauses 19 batch times after each batch
// of pacedBatch, so that the app's mean slowdown over a cycle is
// paceSlowdown; a ratio past reason stops at maxPacePause; and once the
// app is no slower during batches, the pauses go.
func TestSessionPacerDutyCycle(t *testing.T) {
	ctx := context.Background()
	full := DefaultBatchTime
	fresh := func() *sessionPacer { return &sessionPacer{r: postgres.Dialect{}, started: true} }

	s := fresh()
	for range 5 {
		cycle(s, []int64{1, 1, 1}, []int64{0, 0})
		if target, pause, why, err := s.next(ctx, full, 0); err != nil || target != full || pause != 0 {
			t.Fatalf("idle database: batches of %s, %s apart (%q), %v; want back to back, of %s", target, pause, why, err, full)
		}
	}

	s = fresh()
	for range 5 {
		cycle(s, []int64{3, 3, 3, 3}, []int64{2, 2, 2})
		if target, pause, _, err := s.next(ctx, full, 0); err != nil || target != full || pause != 0 {
			t.Fatalf("a steady load: batches of %s, %s apart, %v; want back to back", target, pause, err)
		}
	}

	s = fresh()
	cycle(s, []int64{4, 4, 4, 4}, []int64{2, 2, 2})
	// ratio (3+1)/(2+1) = 4/3: duty 0.05/(1/3) = 0.15, a pause of 1/0.15 - 1
	// batches.
	r := 4.0 / 3
	want := time.Duration(float64(pacedBatch) * (1/((paceSlowdown-1)/(r-1)) - 1))
	if target, pause, _, err := s.next(ctx, full, 0); err != nil || target != pacedBatch || pause != want {
		t.Fatalf("the app a third slower during batches: batches of %s, %s apart, %v; want %s, %s apart", target, pause, err, pacedBatch, want)
	}
	s = fresh()
	cycle(s, []int64{6, 6, 6, 6}, []int64{2, 2, 2})
	target, pause, why, err := s.next(ctx, full, 0)
	// ratio (5+1)/(2+1) = 2: duty 0.05/1 = 1/20, under minDuty: a pause
	// of 9 batches.
	if err != nil || target != pacedBatch || pause != 9*pacedBatch || !strings.Contains(why, "active_sessions 5.0 during batches against 2.0") {
		t.Fatalf("the app twice as slow during batches: batches of %s, %s apart (%q), %v; want %s, %s apart", target, pause, why, err, pacedBatch, 9*pacedBatch)
	}

	s = fresh()
	cycle(s, []int64{80}, []int64{0})
	if _, pause, _, _ := s.next(ctx, full, 0); pause != 9*pacedBatch {
		t.Fatalf("the app 80 times as busy: pause %s, want the most, %s", pause, 9*pacedBatch)
	}
	for i := range 20 {
		cycle(s, []int64{1, 1}, []int64{0})
		if _, pause, _, _ = s.next(ctx, full, 0); pause == 0 {
			if i == 0 {
				t.Fatalf("one quiet batch after a busy one: back to back at once; want the ratio smoothed")
			}
			return
		}
	}
	t.Fatalf("the app gone: still pausing %s after 20 quiet batches", pause)
}

// TestCommitPacer: on SQLite, batches keep their length, with a short gap
// for the app's writers, until another connection commits; then they are
// cut to sharedBatch with sharedPause between them, until no other commit
// has been seen for sharedHold.
func TestCommitPacer(t *testing.T) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "pace.db")
	purge, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer purge.Close()
	purge.SetMaxOpenConns(1)
	app, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	c := &commitPacer{c: sqlite.Dialect{}, q: purge}
	full := DefaultBatchTime
	for i := range 3 {
		if target, pause, why, err := c.next(ctx, full, time.Millisecond); err != nil || target != full || pause != soloGap || !strings.Contains(why, "none seen") {
			t.Fatalf("next %d, nobody else writing: batches of %s, %s apart (%q), %v; want %s, %s apart", i, target, pause, why, err, full, soloGap)
		}
	}
	if _, err := app.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // one commit is seen for sharedHold, not once
		if target, pause, why, err := c.next(ctx, full, time.Millisecond); err != nil || target != sharedBatch || pause != sharedPause || !strings.Contains(why, "another connection committed") {
			t.Fatalf("next %d after the app committed: batches of %s, %s apart (%q), %v; want %s, %s apart", i, target, pause, why, err, sharedBatch, sharedPause)
		}
	}
	// A long batch is followed by a pause that keeps purge's share of
	// the lock at sharedDuty.
	long := 17 * time.Millisecond
	want := time.Duration(float64(long) * (1/sharedDuty - 1))
	if _, pause, _, err := c.next(ctx, full, long); err != nil || pause != want {
		t.Fatalf("after a %s batch: %s apart, %v; want %s", long, pause, err, want)
	}
	c.lastSeen = time.Now().Add(-sharedHold - time.Millisecond)
	if target, pause, _, err := c.next(ctx, full, time.Millisecond); err != nil || target != full || pause != soloGap {
		t.Fatalf("no commit for %s: batches of %s, %s apart, %v; want %s, %s apart", sharedHold, target, pause, err, full, soloGap)
	}
}
