package schema_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestPurgeSkipsWhenLocked: while one purge of a table holds its lock, a
// second skips, deleting nothing; a purge of another table is not held up.
func TestPurgeSkipsWhenLocked(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		a, b := dialecttest.Table("LockA"), dialecttest.Table("LockB")
		s.DropAtCleanup(t, db, a)
		s.DropAtCleanup(t, db, b)
		ta, tb := create(t, s, a, schema.CreateOptions{}), create(t, s, b, schema.CreateOptions{})
		s.Seed(t, db, a, "old", 10, 10, -time.Hour)
		s.Seed(t, db, b, "old", 10, 10, -time.Hour)

		holder := connect(t, s, false)
		conn, err := holder.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		unlock, ok, err := s.Dialect.TryLock(ctx, conn, ta.Names)
		if err != nil || !ok {
			t.Fatalf("taking the lock: %v, %v", ok, err)
		}
		res, err := schema.Purge(ctx, connect(t, s, false), ta, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeSkipped || res.Deleted != 0 {
			t.Fatalf("purge while locked: %+v, %v; want skipped", res, err)
		}
		if n := s.Count(t, db, a, "old"); n != 10 {
			t.Errorf("a skipped purge deleted %d rows", 10-n)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeDone || res.Deleted != 10 {
			t.Errorf("purge of another table while the first is locked: %+v, %v", res, err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), ta, schema.PurgeOptions{})
		if err != nil || res.Deleted != 10 {
			t.Errorf("purge after the lock was released: %+v, %v", res, err)
		}
	})
}

// TestPurgeBounds: --max-rows and --max-duration stop where they say and
// report what is left.
func TestPurgeBounds(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Bounds")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		s.Seed(t, db, table, "old", 100, 10, -time.Hour)

		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 15, MaxRows: 40})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 40 || res.Batches != 3 || *res.Remaining != 60 {
			t.Errorf("--max-rows 40 with batches of 15: %+v, %v; want 40 deleted in 3 batches, 60 left", res, err)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 5, MaxDuration: time.Nanosecond})
		if err != nil || res.Status != schema.PurgeBounded || *res.Remaining != 60-res.Deleted {
			t.Errorf("--max-duration 1ns: %+v, %v", res, err)
		}
		if n := s.Count(t, db, table, "old"); n != *res.Remaining {
			t.Errorf("the table has %d expired rows, the report says %d", n, *res.Remaining)
		}
	})
}

// TestPurgeAdaptiveBounds: with sizing by time, --max-rows still stops at
// exactly its count, batches grow when they run faster than the target
// and shrink when they run slower, and the report says what is left.
func TestPurgeAdaptiveBounds(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Adaptive")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		s.Seed(t, db, table, "old", 6000, 10, -time.Hour)
		s.Seed(t, db, table, "live", 100, 10, time.Hour)

		// Every batch is faster than an hour: the first takes 1000 rows,
		// the second up to twice that, cut to what --max-rows leaves.
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchTime: time.Hour, MaxRows: 2500})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 2500 || res.Batches != 2 || *res.Remaining != 3500 {
			t.Errorf("growing batches, --max-rows 2500: %+v, %v; want 2500 deleted in 2 batches, 3500 left", res, err)
		}
		// Every batch is slower than a nanosecond: sizes shrink fourfold
		// each time, from 1000 to one row.
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchTime: time.Nanosecond, MaxRows: 1400})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 1400 || *res.Remaining != 2100 {
			t.Errorf("shrinking batches, --max-rows 1400: %+v, %v; want 1400 deleted, 2100 left", res, err)
		}
		// 1000 + 250 + 62 + 15 + 3 = 1330 rows in 5 batches, then 70
		// batches of one row.
		if res.Batches != 5+70 {
			t.Errorf("shrinking batches took %d batches to delete 1400 rows, want 75", res.Batches)
		}
		if n := s.Count(t, db, table, "old"); n != 2100 {
			t.Errorf("%d expired rows left, want 2100", n)
		}
		// A pause between batches, bounded by time: it stops, and says
		// how many are left.
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchTime: time.Nanosecond, Pause: 20 * time.Millisecond, MaxDuration: 100 * time.Millisecond})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted == 0 || *res.Remaining != 2100-res.Deleted {
			t.Errorf("--pause 20ms --max-duration 100ms: %+v, %v", res, err)
		}
		if n := s.Count(t, db, table, "old"); n != *res.Remaining {
			t.Errorf("%d expired rows left, the report says %d", n, *res.Remaining)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeDone || *res.Remaining != 0 || s.Count(t, db, table, "old") != 0 {
			t.Errorf("purge to the end: %+v, %v", res, err)
		}
		if n := s.Count(t, db, table, "live"); n != 100 {
			t.Errorf("%d of 100 live rows left", n)
		}
	})
}

// TestConnectWaitRetries: --wait retries a refused connection until it
// runs out, then fails naming the database, without its password.
func TestConnectWaitRetries(t *testing.T) {
	c, err := dialects.Parse("postgres://u:pw-secret@127.0.0.1:1/db?connect_timeout=1", "")
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	_, err = schema.Connect(context.Background(), c, schema.ConnectOptions{Wait: 1500 * time.Millisecond,
		Retry: func(error, time.Duration) { retries++ }})
	if err == nil || retries == 0 || !strings.Contains(err.Error(), "postgres://u@127.0.0.1:1/db") {
		t.Errorf("Connect with --wait to a refused port: %v after %d retries", err, retries)
	}
}

// TestPurgeKeepsRefreshedRows races refreshes against purge batches: apps
// whose clock runs behind the database's slide rows forward just as they
// expire, reviving rows the purge already sees as expired, while purges of
// one to three rows a batch run back to back. A row a refresh has slid
// forward is never deleted before its new expiry; rows nobody refreshes
// are purged.
func TestPurgeKeepsRefreshedRows(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Race")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		const groups, perGroup = 20, 20
		var kept [][]string
		for g := range groups {
			// Every 50 ms another group expires: kept rows, which the
			// clients refresh, and abandoned ones, which nobody does.
			in := time.Duration(g) * 50 * time.Millisecond
			s.Seed(t, db, table, fmt.Sprintf("k%d_", g), perGroup, 10, in)
			s.Seed(t, db, table, fmt.Sprintf("a%d_", g), perGroup, 10, in)
		}
		for c := range 4 {
			var ids []string
			for g := c; g < groups; g += 4 {
				for i := 1; i <= perGroup; i++ {
					ids = append(ids, fmt.Sprintf("k%d_%d", g, i))
				}
			}
			kept = append(kept, ids)
		}

		deadline := time.Now().Add(3 * time.Second)
		var revived, lost atomic.Int64
		var wg sync.WaitGroup
		for c, ids := range kept {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(c), 5))
				for len(ids) > 0 && time.Now().Before(deadline) && !t.Failed() {
					i := rng.IntN(len(ids))
					id := ids[i]
					_, wasLive := s.Row(t, db, table, id)
					// Slide a little ahead, so that the row is soon at the
					// edge again; an app 300 ms behind still sees a row
					// live for 300 ms after it expired.
					ahead := time.Duration(50+rng.IntN(200)) * time.Millisecond
					slid := time.Now()
					if !s.Slide(t, db, table, id, ahead, 300*time.Millisecond) {
						lost.Add(1) // purged once it was expired beyond the skew
						ids[i] = ids[len(ids)-1]
						ids = ids[:len(ids)-1]
						continue
					}
					if !wasLive {
						revived.Add(1)
					}
					// Gone before its new expiry came: deleted while live.
					if exists, _ := s.Row(t, db, table, id); !exists && time.Since(slid) < ahead {
						t.Errorf("%s was deleted within %s of a refresh that slid it %s ahead", id, time.Since(slid), ahead)
					}
				}
			}()
		}
		var deleted int64
		pdb := connect(t, s, false)
		for i := 0; time.Now().Before(deadline); i++ {
			res, err := schema.Purge(ctx, pdb, tb, schema.PurgeOptions{BatchSize: 1 + i%3})
			if err != nil {
				t.Errorf("purge: %v", err)
				break
			}
			deleted += res.Deleted
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		t.Logf("purged %d rows; clients revived %d expired rows and lost %d", deleted, revived.Load(), lost.Load())
		if revived.Load() == 0 || deleted == 0 {
			t.Errorf("no race: the clients revived %d expired rows, the purges deleted %d; the test needs both", revived.Load(), deleted)
		}
		if _, err := schema.Purge(ctx, pdb, tb, schema.PurgeOptions{}); err != nil {
			t.Fatal(err)
		}
		for g := range groups {
			if n := s.Count(t, db, table, fmt.Sprintf("a%d_", g)); n != 0 {
				t.Errorf("%d abandoned rows of group %d are left after the purge", n, g)
			}
		}
	})
}
