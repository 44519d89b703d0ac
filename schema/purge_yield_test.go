package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// askedYielder asks to wait wait its first waits times, and counts how
// often it was asked.
type askedYielder struct {
	kind         string
	wait         time.Duration
	waits, asked int
}

func (y *askedYielder) Kind() string { return y.kind }

func (y *askedYielder) Yield(context.Context) (time.Duration, string, error) {
	y.asked++
	if y.asked <= y.waits {
		return y.wait, y.kind + " says wait", nil
	}
	return 0, "", nil
}

// TestPurgeAsksEveryYielder: between batches each Yielder is asked in
// turn, a later one too when an earlier says go on; the report adds up
// the waits by kind. And a Yielder that would have purge wait for ever
// (a replica stopped for good) is waited for only until --max-duration:
// Yielders are asked before the first batch too, so none runs.
func TestPurgeAsksEveryYielder(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Yield")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		s.Seed(t, db, table, "old", 30, 10, -time.Hour)

		first := &askedYielder{kind: "first"}
		second := &askedYielder{kind: "second", wait: time.Millisecond, waits: 2}
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 10, Pace: schema.PaceOff,
			Yield: []schema.Yielder{first, second}})
		if err != nil || res.Status != schema.PurgeDone || res.Deleted != 30 || first.asked == 0 || second.asked != first.asked+2 ||
			res.Yielded == nil || res.Yielded.By["second"] < 2 || res.Yielded.Last != "second says wait" {
			t.Errorf("two Yielders: %+v (yielded %+v), %v; first asked %d times, second %d", res, res.Yielded, err, first.asked, second.asked)
		}

		s.Seed(t, db, table, "more", 30, 10, -time.Hour)
		forever := &askedYielder{kind: "replica lag", wait: 50 * time.Millisecond, waits: 1 << 30}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 10, MaxDuration: 300 * time.Millisecond,
			Yield: []schema.Yielder{forever}})
		// (On a slow server the bound may pass while purge sets up, before
		// its first ask or just after: then it waited for nothing. It is
		// asked again only after a wait, which the report then counts.)
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 0 ||
			(forever.asked > 1 && (res.Yielded == nil || res.Yielded.By["replica lag"] == 0)) {
			t.Errorf("a Yielder that never lets go, --max-duration: %+v (yielded %+v), %v; want bounded before any batch", res, res.Yielded, err)
		}
	})
}
