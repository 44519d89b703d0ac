package mysql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/mysql"
)

// tableDDL is the table sessctl makes on MySQL (%s: the table).
const tableDDL = "CREATE TABLE %s (`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, " +
	"`AbsoluteExpiration` datetime(6) NULL, `ExpiresAtTime` datetime(6) NOT NULL, `SlidingExpirationInSeconds` bigint NULL, " +
	"`Value` longblob NOT NULL, PRIMARY KEY (`Id`), KEY `Index_ExpiresAtTime` (`ExpiresAtTime`)) ENGINE=InnoDB"

// TestPurgeHeldRowsEveryServer: a batch that meets rows an app
// session holds deletes all the others, on a server with SKIP LOCKED
// (MariaDB 10.6, MySQL 8.0.1 and later) and on one without (the path
// forced on this one), where it halves the batch down to the held rows,
// waiting a second a time, where the server's own wait is 50 s. Later
// batches pass over the held rows, CountHeld counts them, and the
// session's lock wait is restored.
func TestPurgeHeldRowsEveryServer(t *testing.T) {
	s := dialecttest.Get(t, "mysql")
	for _, server := range []struct {
		name       string
		skipLocked bool
	}{
		{"skip-locked", true},
		{"no-skip-locked", false},
	} {
		t.Run(server.name, func(t *testing.T) {
			t.Parallel()
			heldRowsOn(t, s, server.skipLocked)
		})
	}
}

func heldRowsOn(t *testing.T, s dialecttest.Server, skipLocked bool) {
	db := s.Open(t)
	ctx := context.Background()
	table := dialecttest.Table("HeldAt")
	s.DropAtCleanup(t, db, table)
	if _, err := db.Exec(fmt.Sprintf(tableDDL, s.Qualified(table))); err != nil {
		t.Fatal(err)
	}
	const expired = 64
	s.Seed(t, db, table, "old", expired, 20, -time.Hour)
	s.Seed(t, db, table, "live", 10, 20, time.Hour)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	held := []string{"old17", "old50"}
	for _, id := range held {
		if _, err := tx.Exec("SELECT `Id` FROM "+s.Qualified(table)+" WHERE `Id` = ? FOR UPDATE", id); err != nil {
			t.Fatal(err)
		}
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var before int64
	if err := conn.QueryRowContext(ctx, `SELECT @@SESSION.innodb_lock_wait_timeout`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	end, err := mysql.BeginSession(ctx, conn, skipLocked)
	if err != nil {
		t.Fatal(err)
	}
	d, n := s.Dialect, s.Dialect.Names(s.Schema, table)
	start := time.Now()
	got, err := d.DeleteExpired(ctx, conn, n, 0, 1000)
	took := time.Since(start)
	if err != nil || got != expired-int64(len(held)) {
		t.Fatalf("the first batch deleted %d rows (%v), want %d: all but the held", got, err, expired-len(held))
	}
	// log2(64) halvings for each held row, at most a second each: far
	// under the server's 50 s for one.
	if took > 40*time.Second {
		t.Errorf("the first batch took %s", took)
	}
	if got, err := d.DeleteExpired(ctx, conn, n, 0, 1000); err != nil || got != 0 {
		t.Errorf("the next batch deleted %d rows (%v), want 0", got, err)
	}
	if h, err := d.(dialects.HeldCounter).CountHeld(ctx, conn, n, 0, 1000); err != nil || h != int64(len(held)) {
		t.Errorf("CountHeld = %d (%v), want %d", h, err, len(held))
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	var after int64
	if err := conn.QueryRowContext(ctx, `SELECT @@SESSION.innodb_lock_wait_timeout`).Scan(&after); err != nil || after != before {
		t.Errorf("innodb_lock_wait_timeout is %d after the purge (%v), was %d", after, err, before)
	}
	if c := s.Count(t, db, table, "old"); c != int64(len(held)) {
		t.Errorf("%d expired rows left, want the %d held", c, len(held))
	}
	if c := s.Count(t, db, table, "live"); c != 10 {
		t.Errorf("%d live rows left, want 10", c)
	}
	t.Logf("the first batch passed over %d held rows among %d in %s", len(held), expired, took.Round(time.Millisecond))
}
