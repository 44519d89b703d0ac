package postgres_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestWalkKeepsLockTimeout: a walk batch gives up on a row lock
// after its own short lock_timeout, but leaves the session's as it found
// it, so that no other statement of the purge gives up early.
func TestWalkKeepsLockTimeout(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	table := dialecttest.Table("Timeout")
	s.DropAtCleanup(t, db, table)
	if _, err := db.Exec(`CREATE TABLE ` + s.Qualified(table) + ` ("Id" text PRIMARY KEY, "ExpiresAtTime" timestamptz NOT NULL);
		INSERT INTO ` + s.Qualified(table) + ` SELECT 'k' || i, now() - interval '1 hour' FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET lock_timeout = '3s'`); err != nil {
		t.Fatal(err)
	}
	w := s.Dialect.(dialects.Walker)
	n, next, err := w.DeleteExpiredFrom(ctx, conn, s.Dialect.Names(s.Schema, table), time.Duration(0), "", 1000, math.MaxInt32)
	if err != nil || n != 100 || next != "" {
		t.Fatalf("walk: %d rows, next %q, %v; want 100, the end", n, next, err)
	}
	var setting string
	if err := conn.QueryRowContext(ctx, `SHOW lock_timeout`).Scan(&setting); err != nil || setting != "3s" {
		t.Errorf("lock_timeout after a walk batch: %q (%v), want the session's 3s", setting, err)
	}
}
