package schema

import (
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/registry"
)

func TestNextBatchSize(t *testing.T) {
	const target = 100 * time.Millisecond
	for _, c := range []struct {
		name    string
		size    int
		rows    int64
		took    time.Duration
		ceiling int
		want    int
	}{
		{"on target: unchanged", 1000, 1000, 100 * time.Millisecond, 0, 1000},
		{"a little fast: grows to the rate", 1000, 1000, 80 * time.Millisecond, 0, 1250},
		{"much faster: grows at most twofold", 1000, 1000, 10 * time.Millisecond, 0, 2000},
		{"a little slow: shrinks to the rate", 1000, 1000, 125 * time.Millisecond, 0, 800},
		{"much slower: shrinks at most fourfold", 1000, 1000, 2 * time.Second, 0, 250},
		{"too fast to measure: grows twofold", 1000, 1000, 0, 0, 2000},
		{"the ceiling holds", 3000, 3000, 10 * time.Millisecond, 4000, 4000},
		{"above the ceiling: back under it", 6000, 6000, 100 * time.Millisecond, 4000, 4000},
		{"never below one row", 1, 1, time.Second, 0, 1},
		{"a short batch is measured by its rows", 1000, 100, 50 * time.Millisecond, 0, 250},
	} {
		if got := nextBatchSize(c.size, c.rows, c.took, target, c.ceiling); got != c.want {
			t.Errorf("%s: nextBatchSize(%d, %d, %s, %s, %d) = %d, want %d", c.name, c.size, c.rows, c.took, target, c.ceiling, got, c.want)
		}
	}
}

// TestBatchSizeConverges: against an engine whose batches cost a round
// trip plus a time per row, sizes grow smoothly from the first batch to
// the target's size, and shrink smoothly to the new one when the engine
// slows down; no step grows more than twofold.
func TestBatchSizeConverges(t *testing.T) {
	const target = 100 * time.Millisecond
	perRow := 10 * time.Microsecond
	took := func(n int) time.Duration { return time.Millisecond + time.Duration(n)*perRow }
	size := firstBatchSize(0)
	for i := range 12 {
		next := nextBatchSize(size, int64(size), took(size), target, 0)
		if next > 2*size || next < size/4 {
			t.Fatalf("step %d: %d rows to %d", i, size, next)
		}
		size = next
	}
	if d := took(size); d < 90*time.Millisecond || d > 110*time.Millisecond {
		t.Errorf("after 12 batches the size is %d rows, taking %s; want about %s", size, d, target)
	}
	perRow *= 5 // the engine slows down: a checkpoint, another load
	for range 6 {
		size = nextBatchSize(size, int64(size), took(size), target, 0)
	}
	if d := took(size); d < 90*time.Millisecond || d > 110*time.Millisecond {
		t.Errorf("after slowing down, the size is %d rows, taking %s; want about %s", size, d, target)
	}
}

func TestFirstBatchSize(t *testing.T) {
	if got := firstBatchSize(0); got != DefaultBatchSize {
		t.Errorf("firstBatchSize(no ceiling) = %d, want %d", got, DefaultBatchSize)
	}
	if got := firstBatchSize(400); got != 400 {
		t.Errorf("firstBatchSize(ceiling 400) = %d, want 400", got)
	}
}

func TestWorthWalking(t *testing.T) {
	for _, c := range []struct {
		expired, stored int64
		want            bool
	}{
		{500_000, 1_000_000, true},
		{200_000, 1_000_000, true},
		{199_999, 1_000_000, false},
		{1000, 0, false}, // no estimate
	} {
		if got := worthWalking(c.expired, c.stored); got != c.want {
			t.Errorf("worthWalking(%d, %d) = %v, want %v", c.expired, c.stored, got, c.want)
		}
	}
}

func TestDefaultPause(t *testing.T) {
	for name, want := range map[string]time.Duration{"sqlite": 100 * time.Millisecond, "postgres": 0, "mysql": 0} {
		d, err := registry.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := DefaultPause(d); got != want {
			t.Errorf("DefaultPause(%s) = %s, want %s", name, got, want)
		}
	}
}
