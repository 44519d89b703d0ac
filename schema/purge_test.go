package schema_test

import (
	"context"
	"strings"
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
