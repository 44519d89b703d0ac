package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
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
		unlock, err := s.Dialect.TryLock(ctx, conn, ta.Names)
		if err != nil {
			t.Fatalf("taking the lock: %v", err)
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
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 40 || res.Batches != 3 || left(res) != 60 {
			t.Errorf("--max-rows 40 with batches of 15: %+v, %v; want 40 deleted in 3 batches, 60 left", res, err)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 5, MaxDuration: time.Nanosecond})
		if err != nil || res.Status != schema.PurgeBounded || left(res) != 60-res.Deleted {
			t.Errorf("--max-duration 1ns: %+v, %v", res, err)
		}
		if n := s.Count(t, db, table, "old"); n != left(res) {
			t.Errorf("the table has %d expired rows, the report says %d", n, left(res))
		}
	})
}

// TestPurgeAdaptiveBounds: with sizing by time, --max-rows still stops at
// exactly its count, batches grow when they run faster than the target
// and shrink when they run slower, and the report says what is left. (In
// expiry order: this table, almost all expired, would be walked.)
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
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderExpiry, BatchTime: time.Hour, MaxRows: 2500})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 2500 || res.Batches != 2 || left(res) != 3500 {
			t.Errorf("growing batches, --max-rows 2500: %+v, %v; want 2500 deleted in 2 batches, 3500 left", res, err)
		}
		// Every batch is slower than a nanosecond: sizes shrink fourfold
		// each time, from 1000 to one row.
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderExpiry, BatchTime: time.Nanosecond, MaxRows: 1400})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted != 1400 || left(res) != 2100 {
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
		// how many are left. (Whether a batch ran before the bound is the
		// machine's speed, not purge's behaviour: the TDS stand-in on a
		// loaded machine reads the catalog for longer than any bound a
		// test can afford, so none may have.)
		bound := 100 * time.Millisecond
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchTime: time.Nanosecond, Pause: 20 * time.Millisecond, MaxDuration: bound})
		if err != nil || res.Status != schema.PurgeBounded || res.Deleted >= 2100 || left(res) != 2100-res.Deleted {
			t.Errorf("--pause 20ms --max-duration %s: %+v, %v", bound, res, err)
		}
		if n := s.Count(t, db, table, "old"); n != left(res) {
			t.Errorf("%d expired rows left, the report says %d", n, left(res))
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeDone || left(res) != 0 || s.Count(t, db, table, "old") != 0 {
			t.Errorf("purge to the end: %+v, %v", res, err)
		}
		if n := s.Count(t, db, table, "live"); n != 100 {
			t.Errorf("%d of 100 live rows left", n)
		}
	})
}

// seedInterleaved seeds groups of expired and live rows in turn, so that
// the expired rows are spread over the table's storage: Ids tag+"old07-3",
// tag+"live07-3".
func seedInterleaved(t *testing.T, s dialecttest.Server, db *sql.DB, table, tag string, groups, expired, live int) {
	t.Helper()
	for g := range groups {
		s.Seed(t, db, table, fmt.Sprintf("%sold%02d-", tag, g), expired, 50, -time.Hour)
		s.Seed(t, db, table, fmt.Sprintf("%slive%02d-", tag, g), live, 50, time.Hour)
	}
}

// analyze refreshes the statistics the engine estimates the table's rows
// from (autovacuum's and InnoDB's job on a server in use).
func analyze(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	q := "ANALYZE " + s.Qualified(table)
	switch s.Dialect.Name() {
	case "mysql":
		q = "ANALYZE TABLE " + s.Qualified(table)
	case "sqlserver":
		q = "UPDATE STATISTICS " + s.Qualified(table) // T-SQL has no ANALYZE
		// Babelfish 4.3 refuses UPDATE STATISTICS too (tds/README.md, "no
		// ANALYZE"); its PostgreSQL keeps statistics by autovacuum.
		var bbf int
		if err := db.QueryRow(`SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int)`).Scan(&bbf); err != nil {
			t.Fatal(err)
		}
		if bbf == 1 {
			return
		}
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// countPrefix counts the rows of all groups of seedInterleaved with
// prefix (tag+"old" or tag+"live").
func countPrefix(t *testing.T, s dialecttest.Server, db *sql.DB, table, prefix string, groups int) int64 {
	t.Helper()
	var n int64
	for g := range groups {
		n += s.Count(t, db, table, fmt.Sprintf("%s%02d-", prefix, g))
	}
	return n
}

// TestPurgeWalk: a purge that walks the table in storage order deletes
// every expired row and no live one; it is chosen when a fifth of the
// table has expired and not otherwise; its bounds hold; and a walk stopped
// between batches leaves every row it did not delete.
func TestPurgeWalk(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if _, ok := s.Dialect.(dialects.Walker); !ok {
			t.Skipf("%s cannot walk a table", s.Dialect.Name())
		}
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Walk")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})

		// Half expired: after its first batch, a third of the table is
		// left to delete, and auto walks.
		seedInterleaved(t, s, db, table, "a", 30, 100, 100)
		analyze(t, s, db, table)
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{DryRun: true})
		if err != nil || !res.WouldWalk {
			t.Errorf("dry run on a table half expired: %+v, %v; want it to say purge would walk", res, err)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeDone || !res.Walked || res.Deleted != 3000 || left(res) != 0 {
			t.Errorf("auto purge of a table half expired: %+v, %v; want it walked, 3000 deleted", res, err)
		}
		if old, live := countPrefix(t, s, db, table, "aold", 30), countPrefix(t, s, db, table, "alive", 30); old != 0 || live != 3000 {
			t.Errorf("after the walk: %d expired and %d of 3000 live rows", old, live)
		}

		// An eighth expired: it stays on the expiry index.
		s.Seed(t, db, table, "few", 1200, 50, -time.Hour)
		s.Seed(t, db, table, "more", 4800, 50, time.Hour)
		analyze(t, s, db, table)
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{DryRun: true})
		if err != nil || res.WouldWalk {
			t.Errorf("dry run on a table an eighth expired: %+v, %v; want it not to walk", res, err)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Status != schema.PurgeDone || res.Walked || res.Deleted != 1200 {
			t.Errorf("auto purge of a table an eighth expired: %+v, %v; want it on the index, 1200 deleted", res, err)
		}

		// Bounds, and a walk stopped between batches.
		seedInterleaved(t, s, db, table, "b", 30, 100, 10)
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderStorage, BatchSize: 7, MaxRows: 1234})
		if err != nil || res.Status != schema.PurgeBounded || !res.Walked || res.Deleted != 1234 || left(res) != 3000-1234 {
			t.Errorf("walk with --max-rows 1234: %+v, %v", res, err)
		}
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		res, err = schema.Purge(pctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderStorage, BatchSize: 5,
			Progress: func(r schema.PurgeResult) {
				if r.Batches == 3 {
					cancel()
				}
			}})
		if !errors.Is(err, schema.ErrInterrupted) || res.Status != schema.PurgeInterrupted || res.Batches != 3 {
			t.Errorf("walk interrupted after 3 batches: %+v, %v", res, err)
		}
		if old := countPrefix(t, s, db, table, "bold", 30); old != 3000-1234-res.Deleted || old != left(res) {
			t.Errorf("after an interrupted walk %d expired rows are left; it deleted %d of %d and says %d remain",
				old, res.Deleted, 3000-1234, left(res))
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderStorage})
		if err != nil || res.Status != schema.PurgeDone || countPrefix(t, s, db, table, "bold", 30) != 0 {
			t.Errorf("walk to the end: %+v, %v", res, err)
		}
		if live := countPrefix(t, s, db, table, "alive", 30) + countPrefix(t, s, db, table, "blive", 30) + s.Count(t, db, table, "more"); live != 3000+300+4800 {
			t.Errorf("%d of %d live rows left", live, 3000+300+4800)
		}
	})
}

// TestConnectWaitRetries: --wait retries a refused connection until it
// runs out, then fails naming the database, without its password.
func TestConnectWaitRetries(t *testing.T) {
	c, err := registry.Parse("postgres://u:pw-secret@127.0.0.1:1/db?connect_timeout=1", "")
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
// one to three rows (or storage units, walking) a batch run back to back. A row a refresh has slid
// forward is never deleted before its new expiry; rows nobody refreshes
// are purged.
func TestPurgeKeepsRefreshedRows(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		for _, order := range []schema.Order{schema.OrderExpiry, schema.OrderStorage} {
			t.Run(string(order), func(t *testing.T) { raceRefreshes(t, s, order) })
		}
	})
}

func raceRefreshes(t *testing.T, s dialecttest.Server, order schema.Order) {
	ctx := context.Background()
	db := s.Open(t)
	table := dialecttest.Table("Race")
	s.DropAtCleanup(t, db, table)
	tb := create(t, s, table, schema.CreateOptions{})
	// Few rows a client, so that each comes round often enough to be
	// revived on a loaded machine, where each refresh may take a while.
	const groups, perGroup, clients = 20, 10, 8
	// slow stretches the race's times: each statement takes tens of
	// milliseconds on the TDS stand-in (a T-SQL layer over PostgreSQL),
	// so that at SQL Server's times a client comes round to a row only
	// after it expired beyond the skew, and no race forms.
	slow := time.Duration(1)
	if s.Babelfish(t, db) {
		slow = 4
	}
	var kept [][]string
	for g := range groups {
		// Every 50 ms another group expires: kept rows, which the
		// clients refresh, and abandoned ones, which nobody does.
		in := time.Duration(g) * 50 * time.Millisecond * slow
		s.Seed(t, db, table, fmt.Sprintf("k%02d-", g), perGroup, 10, in)
		s.Seed(t, db, table, fmt.Sprintf("a%02d-", g), perGroup, 10, in)
	}
	for c := range clients {
		var ids []string
		for g := c; g < groups; g += clients {
			for i := 1; i <= perGroup; i++ {
				ids = append(ids, fmt.Sprintf("k%02d-%d", g, i))
			}
		}
		kept = append(kept, ids)
	}

	// The race runs 2.5 s, and on to 30 s until it has seen both a
	// revived row and a purged one: a loaded machine may need longer.
	var revived, lost, purged atomic.Int64
	start := time.Now()
	going := func() bool {
		since := time.Since(start)
		return since < 2500*time.Millisecond*slow ||
			since < 30*time.Second*slow && (revived.Load() == 0 || purged.Load() == 0)
	}
	var wg sync.WaitGroup
	for c, ids := range kept {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 5))
			for len(ids) > 0 && going() && !t.Failed() {
				i := rng.IntN(len(ids))
				id := ids[i]
				_, wasLive := s.Row(t, db, table, id)
				// Slide a little ahead, so that the row is soon at the
				// edge again; an app 300 ms behind still sees a row
				// live for 300 ms after it expired.
				ahead := time.Duration(50+rng.IntN(200)) * time.Millisecond * slow
				slid := time.Now()
				if !s.Slide(t, db, table, id, ahead, 300*time.Millisecond*slow) {
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
	for i := 0; going(); i++ {
		// Batches of 1 to 3 rows on the index; walks sized to take a
		// millisecond a batch.
		opts := schema.PurgeOptions{BatchSize: 1 + i%3, Order: order}
		if order == schema.OrderStorage {
			opts.BatchSize, opts.BatchTime = 0, time.Millisecond
		}
		res, err := schema.Purge(ctx, pdb, tb, opts)
		if err != nil {
			t.Errorf("purge: %v", err)
			break
		}
		deleted += res.Deleted
		purged.Add(res.Deleted)
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
		if n := s.Count(t, db, table, fmt.Sprintf("a%02d-", g)); n != 0 {
			t.Errorf("%d abandoned rows of group %d are left after the purge", n, g)
		}
	}
}

// left is the report's count of expired rows left, or -1 when there is no
// report or it has no count (a failed purge), so that a test that checks
// it after a failure says so instead of panicking.
func left(res *schema.PurgeResult) int64 {
	if res == nil || res.Remaining == nil {
		return -1
	}
	return *res.Remaining
}

// TestPurgeDryRunDeletesNothing: a dry run, and the dialect's explain of a
// batch under it, delete no row on any engine, even where the engine
// ignores the way of explaining without running (Babelfish: tds/README.md,
// "SET SHOWPLAN_TEXT ON"); and the purge after it deletes what it counted.
func TestPurgeDryRunDeletesNothing(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("DryNothing")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		s.Seed(t, db, table, "old", 30, 10, -time.Hour)
		s.Seed(t, db, table, "live", 7, 10, time.Hour)

		for _, o := range []schema.PurgeOptions{{DryRun: true}, {DryRun: true, BatchSize: 5}, {DryRun: true, Order: schema.OrderStorage}} {
			res, err := schema.Purge(ctx, connect(t, s, false), tb, o)
			if err != nil || res.Status != schema.PurgeDryRun || res.Deleted != 0 || left(res) != 30 {
				t.Errorf("dry run %+v: %+v, %v; want 30 expired counted, none deleted", o, res, err)
			}
			if n := s.Count(t, db, table, "old"); n != 30 {
				t.Fatalf("dry run %+v deleted %d expired rows", o, 30-n)
			}
		}
		pdb := connect(t, s, false)
		conn, err := pdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := s.Dialect.ExplainPurge(ctx, conn, tb.Names, 0, 1000); err != nil {
			t.Errorf("explain: %v", err)
		}
		if n := s.Count(t, db, table, "old"); n != 30 {
			t.Fatalf("ExplainPurge deleted %d expired rows", 30-n)
		}
		res, err := schema.Purge(ctx, pdb, tb, schema.PurgeOptions{})
		if err != nil || res.Deleted != 30 || s.Count(t, db, table, "live") != 7 {
			t.Errorf("purge after the dry runs: %+v, %v; want 30 deleted, 7 live kept", res, err)
		}
	})
}
