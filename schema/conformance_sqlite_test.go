package schema_test

import (
	"context"
	"database/sql"
	"math"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// sqliteApp does to sessctl's SQLite layout what the providers do to
// theirs: the operations the README documents for apps on SQLite. Times
// are INTEGER microseconds since the Unix epoch, UTC.
type sqliteApp struct {
	db    *sql.DB
	table string
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func (p sqliteApp) set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time) {
	t.Helper()
	expires := now.Add(sliding)
	var slidingSecs, abs any
	if sliding > 0 {
		slidingSecs = int64(sliding.Seconds())
	} else {
		expires = *absolute
	}
	if absolute != nil {
		abs = micros(*absolute)
	}
	_, err := p.db.Exec(`INSERT INTO `+p.table+` ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
		VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT ("Id") DO UPDATE SET
			"Value" = excluded."Value",
			"ExpiresAtTime" = excluded."ExpiresAtTime",
			"SlidingExpirationInSeconds" = excluded."SlidingExpirationInSeconds",
			"AbsoluteExpiration" = excluded."AbsoluteExpiration"`,
		id, value, micros(expires), slidingSecs, abs)
	if err != nil {
		t.Fatalf("Set(%q): %v", id, err)
	}
}

func (p sqliteApp) refresh(t *testing.T, now time.Time, id string) {
	t.Helper()
	_, err := p.db.Exec(`UPDATE `+p.table+`
		SET "ExpiresAtTime" = min(coalesce("AbsoluteExpiration", ?3), ?1 + "SlidingExpirationInSeconds" * 1000000)
		WHERE "Id" = ?2
			AND ?1 <= "ExpiresAtTime"
			AND "SlidingExpirationInSeconds" IS NOT NULL
			AND ("AbsoluteExpiration" IS NULL OR "AbsoluteExpiration" <> "ExpiresAtTime")`, micros(now), id, int64(math.MaxInt64))
	if err != nil {
		t.Fatalf("Refresh(%q): %v", id, err)
	}
}

func (p sqliteApp) get(t *testing.T, now time.Time, id string) []byte {
	t.Helper()
	p.refresh(t, now, id)
	var v []byte
	err := p.db.QueryRow(`SELECT "Value" FROM `+p.table+` WHERE "Id" = ?1 AND ?2 <= "ExpiresAtTime"`, id, micros(now)).Scan(&v)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return v
}

func (p sqliteApp) remove(t *testing.T, id string) {
	t.Helper()
	if _, err := p.db.Exec(`DELETE FROM `+p.table+` WHERE "Id" = ?1`, id); err != nil {
		t.Fatalf("Remove(%q): %v", id, err)
	}
}

func (p sqliteApp) deleteExpired(t *testing.T, now time.Time) int64 {
	t.Helper()
	res, err := p.db.Exec(`DELETE FROM `+p.table+` WHERE ?1 > "ExpiresAtTime"`, micros(now))
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

func (p sqliteApp) expiresAt(t *testing.T, id string) time.Time {
	t.Helper()
	var e int64
	if err := p.db.QueryRow(`SELECT "ExpiresAtTime" FROM `+p.table+` WHERE "Id" = ?1`, id).Scan(&e); err != nil {
		t.Fatalf("reading ExpiresAtTime of %q: %v", id, err)
	}
	return time.UnixMicro(e).UTC()
}

// TestSQLiteAppConformance: the documented operations work on the table
// sessctl creates, and STRICT keeps the types exact.
func TestSQLiteAppConformance(t *testing.T) {
	s := dialecttest.Get(t, "sqlite")
	db, table := s.Open(t), "SessionData"
	tb := create(t, s, table, schema.CreateOptions{})
	exercise(t, sqliteApp{db: db, table: tb.String()})

	// A time written as text would sort wrongly and never purge: STRICT
	// refuses it.
	if _, err := db.Exec(`INSERT INTO ` + tb.String() + ` VALUES ('x', x'00', '2026-01-01T00:00:00Z', NULL, NULL)`); err == nil {
		t.Errorf("the table accepted a text ExpiresAtTime")
	}
}

// TestSQLitePurgeUsesDatabaseClock: purge deletes exactly the rows whose
// expiry is before now minus the grace, on SQLite's clock.
func TestSQLitePurgeUsesDatabaseClock(t *testing.T) {
	s := dialecttest.Get(t, "sqlite")
	db, table := s.Open(t), "SessionData"
	tb := create(t, s, table, schema.CreateOptions{})
	s.Seed(t, db, table, "hour", 10, 10, -time.Hour)
	s.Seed(t, db, table, "minute", 10, 10, -time.Minute)
	s.Seed(t, db, table, "live", 10, 10, time.Minute)
	res, err := schema.Purge(context.Background(), connect(t, s, false), tb, schema.PurgeOptions{Grace: 10 * time.Minute, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 10 || s.Count(t, db, table, "hour") != 0 || s.Count(t, db, table, "minute") != 10 || s.Count(t, db, table, "live") != 10 {
		t.Errorf("purge --grace 10m deleted %d rows; left hour=%d minute=%d live=%d; want only the 10 hour-old rows gone",
			res.Deleted, s.Count(t, db, table, "hour"), s.Count(t, db, table, "minute"), s.Count(t, db, table, "live"))
	}
}
