package dialecttest

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// purgeDialect is the dialect a purge of info's table runs with.
func (c *conformance) purgeDialect(info *dialects.TableInfo) dialects.Dialect {
	if s, ok := c.s.Dialect.(dialects.Shaper); ok {
		return s.ForTable(info)
	}
	return c.s.Dialect
}

// seeded creates a cache table holding expired rows x1…xN, expired an
// hour ago, and live rows l1…lM, expiring in an hour, and takes its purge
// lock on a connection, as purge does before its batches. It returns the
// names, the dialect to purge with, the locked connection and its unlock
// (called at cleanup too).
func (c *conformance) seeded(t *testing.T, prefix string, expired, live int) (dialects.Names, dialects.Dialect, *sql.Conn, func() error) {
	t.Helper()
	n := c.create(t, prefix)
	c.s.Seed(t, c.db, n.Table, "x", expired, 16, -time.Hour)
	c.s.Seed(t, c.db, n.Table, "l", live, 16, time.Hour)
	info, err := c.s.Dialect.Inspect(t.Context(), c.db, n)
	if err != nil {
		t.Fatal(err)
	}
	d := c.purgeDialect(info)
	conn := c.conn(t)
	unlock, err := d.TryLock(t.Context(), conn, n)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	t.Cleanup(func() { unlock() })
	return n, d, conn, unlock
}

func (c *conformance) purger(t *testing.T) {
	t.Run("TryLock", c.tryLock)
	t.Run("DeleteExpired", c.deleteExpired)
}

// tryLock: a second session cannot take the lock a first holds, can once
// it is unlocked, and can once the holder's connection is closed.
func (c *conformance) tryLock(t *testing.T) {
	d := c.s.Dialect
	ctx := t.Context()
	n := c.create(t, "L")
	one, two := c.conn(t), c.conn(t)
	unlock, err := d.TryLock(ctx, one, n)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	if u, err := d.TryLock(ctx, two, n); !errors.Is(err, dialects.ErrLocked) {
		t.Errorf("TryLock on a second connection while the first holds it = %v, want an error wrapping ErrLocked", err)
		if err == nil {
			u()
		}
	}
	if err := unlock(); err != nil {
		t.Errorf("unlock: %v", err)
	}
	// On another connection: a try that failed may have left its
	// own unusable (SQL Server discards it).
	three := c.conn(t)
	unlock, err = d.TryLock(ctx, three, n)
	if err != nil {
		t.Fatalf("TryLock after the holder's unlock: %v", err)
	}
	t.Cleanup(func() { unlock() })
	t.Run("CloseReleases", func(t *testing.T) { c.closeReleases(t, n, three) })
}

// closeReleases: closing the session that holds the lock releases it.
func (c *conformance) closeReleases(t *testing.T, n dialects.Names, three *sql.Conn) {
	d := c.s.Dialect
	ctx := t.Context()
	if d.Name() == "sqlite" {
		t.Skip("SQLite's purge lock is a byte of a lock file that the process holds until unlock or its end, " +
			"whatever becomes of conn: the contract's \"closing conn releases it too\" does not hold there")
	}
	// The session closed, not only the *sql.Conn, which would go
	// back to the pool with its session.
	_ = three.Raw(func(any) error { return driver.ErrBadConn }) // says "bad connection": that is the point
	three.Close()
	// The server ends the session a moment after the client
	// hangs up.
	var u func() error
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		u, err = d.TryLock(ctx, c.conn(t), n)
		if !errors.Is(err, dialects.ErrLocked) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("TryLock, 10s after the holder's connection closed: %v", err)
	}
	if err := u(); err != nil {
		t.Errorf("unlock: %v", err)
	}
}

// deleteExpired: counts and deletes the expired rows, at most limit at a
// time, never a live one, and fewer than limit only when fewer are left.
func (c *conformance) deleteExpired(t *testing.T) {
	const expired, live, limit = 7, 5, 3
	n, d, conn, _ := c.seeded(t, "P", expired, live)
	ctx := t.Context()
	if got, oldest, err := d.CountExpired(ctx, conn, n, 2*time.Hour); err != nil || got != 0 || !oldest.IsZero() {
		t.Errorf("CountExpired with a grace of 2h = %d, %v, %v; want 0, the zero time: the rows expired 1h ago", got, oldest, err)
	}
	got, oldest, err := d.CountExpired(ctx, conn, n, 0)
	if err != nil || got != expired {
		t.Errorf("CountExpired = %d, %v; want %d", got, err, expired)
	}
	if ago := time.Since(oldest); ago < 50*time.Minute || ago > 70*time.Minute {
		t.Errorf("CountExpired: the oldest expiry is %v, %v ago; want about an hour ago", oldest, ago)
	}
	if plan, err := d.ExplainPurge(ctx, conn, n, 0, limit); err != nil || strings.TrimSpace(plan) == "" {
		t.Errorf("ExplainPurge = %q, %v; want the plan", plan, err)
	}
	if del, err := d.DeleteExpired(ctx, conn, n, 2*time.Hour, limit); err != nil || del != 0 {
		t.Errorf("DeleteExpired with a grace of 2h = %d, %v; want 0", del, err)
	}
	left := int64(expired)
	for range expired + 1 {
		del, err := d.DeleteExpired(ctx, conn, n, 0, limit)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if del > limit {
			t.Errorf("DeleteExpired(limit %d) deleted %d", limit, del)
		}
		left -= del
		if got := c.s.Count(t, c.db, n.Table, "x"); got != left {
			t.Errorf("DeleteExpired said %d deleted, leaving %d expired rows; %d are left", del, left, got)
			left = got
		}
		if del < limit && left > 0 {
			t.Errorf("DeleteExpired(limit %d) deleted %d with %d expired rows left", limit, del, left)
		}
		if got := c.s.Count(t, c.db, n.Table, "l"); got != live {
			t.Fatalf("DeleteExpired deleted a live row: %d of %d left", got, live)
		}
		if del < limit {
			break
		}
	}
	if left != 0 {
		t.Errorf("%d expired rows left after DeleteExpired returned fewer than its limit", left)
	}
	if got, _, err := d.CountExpired(ctx, conn, n, 0); err != nil || got != 0 {
		t.Errorf("CountExpired after the purge = %d, %v; want 0", got, err)
	}
	if script := d.PurgeScript(n, 0, 100); strings.TrimSpace(script) == "" {
		t.Errorf("PurgeScript is empty")
	}
}

func (c *conformance) walker(t *testing.T) {
	const expired, live = 7, 5
	n, d, conn, _ := c.seeded(t, "W", expired, live)
	ctx := t.Context()
	w, ok := d.(dialects.Walker)
	if !ok {
		t.Skipf("the dialect a purge of this table runs with is no Walker")
	}
	if stored, err := w.StoredRows(ctx, conn, n); err != nil || stored < 0 {
		t.Errorf("StoredRows = %d, %v", stored, err)
	}
	var deleted int64
	from := ""
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatalf("DeleteExpiredFrom walked 10000 steps of span 1 without reaching the end, at %q", from)
		}
		del, next, err := w.DeleteExpiredFrom(ctx, conn, n, 0, from, 1, 100)
		if err != nil {
			t.Fatalf("DeleteExpiredFrom(%q): %v", from, err)
		}
		deleted += del
		if next == "" {
			break
		}
		if next == from {
			t.Fatalf("DeleteExpiredFrom(%q) went on from where it began", from)
		}
		from = next
	}
	if deleted != expired {
		t.Errorf("a walk from the start to the end deleted %d rows, want %d", deleted, expired)
	}
	if got := c.s.Count(t, c.db, n.Table, "x"); got != 0 {
		t.Errorf("a walk from the start to the end left %d expired rows", got)
	}
	if got := c.s.Count(t, c.db, n.Table, "l"); got != live {
		t.Errorf("a walk deleted a live row: %d of %d left", got, live)
	}
}

func (c *conformance) heldCounter(t *testing.T) {
	const expired = 5
	n, d, conn, unlock := c.seeded(t, "H", expired, 1)
	ctx := t.Context()
	hc, ok := d.(dialects.HeldCounter)
	if !ok {
		t.Skipf("the dialect a purge of this table runs with is no HeldCounter")
	}
	if held, err := hc.CountHeld(ctx, conn, n, 0, 100); err != nil || held != 0 {
		t.Errorf("CountHeld with no row held = %d, %v; want 0", held, err)
	}
	// An app session holds x1, as the provider's refresh does.
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	q := fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", c.s.Qualified(n.Table), c.s.Dialect.Quote(dialects.ColValue),
		c.s.Dialect.Quote(dialects.ColValue), c.s.Dialect.Quote(dialects.ColID), placeholder(c.s.Dialect.Name()))
	if _, err := tx.ExecContext(ctx, q, "x1"); err != nil {
		t.Fatalf("holding x1: %v", err)
	}
	if held, err := hc.CountHeld(ctx, conn, n, 0, 100); err != nil || held != 1 {
		t.Errorf("CountHeld with x1 held = %d, %v; want 1", held, err)
	}
	if del, err := d.DeleteExpired(ctx, conn, n, 0, 100); err != nil || del != expired-1 {
		t.Errorf("DeleteExpired with x1 held = %d, %v; want %d, x1 passed over", del, err, expired-1)
	}
	if exists, _ := c.s.Row(t, c.db, n.Table, "x1"); !exists {
		t.Errorf("DeleteExpired deleted x1, which an app session held")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A purge's session may remember the rows it passed over as held, and
	// pass over them to its end (MySQL, SQL Server); the next purge takes
	// them.
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	next := c.conn(t)
	unlock, err = d.TryLock(ctx, next, n)
	if err != nil {
		t.Fatalf("TryLock for the next purge: %v", err)
	}
	defer unlock()
	if del, err := d.DeleteExpired(ctx, next, n, 0, 100); err != nil || del != 1 {
		t.Errorf("DeleteExpired in the next purge, x1 free = %d, %v; want 1", del, err)
	}
}
