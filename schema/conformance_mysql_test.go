package schema_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// pomeloCache sends what Pomelo.Extensions.Caching.MySql sends, statement
// for statement, against a table sessctl made. Pomelo's named parameters
// (@Id, @UtcNow, …) are ? here, in the order they appear. Like Pomelo, it
// binds every time as a UTC DateTime from its own clock (now), and keeps
// the expiry it computes in the user variable @ExpiresAtTime.
type pomeloCache struct {
	conn  *sql.Conn
	table string
	now   time.Time
}

// The provider's SQL (MySqlQueries.cs), with {0} the quoted table.
const (
	pomeloSetExpiry = "SET @ExpiresAtTime = (CASE WHEN (? IS NUll) THEN ? ELSE DATE_ADD(?, INTERVAL ? SECOND) END)"
	pomeloSet       = "INSERT INTO %s (Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration) " +
		"VALUES (?, ?, @ExpiresAtTime, ?, ?) ON DUPLICATE KEY " +
		"UPDATE Value = ?, ExpiresAtTime = @ExpiresAtTime,SlidingExpirationInSeconds = ?, AbsoluteExpiration = ?"
	pomeloSlide = "UPDATE %s SET ExpiresAtTime = (CASE " +
		"WHEN TIME_TO_SEC(TIMEDIFF(AbsoluteExpiration, ?)) <= SlidingExpirationInSeconds THEN AbsoluteExpiration " +
		"ELSE DATE_ADD(?, INTERVAL SlidingExpirationInSeconds SECOND) END) " +
		"WHERE Id = ? AND ? <= ExpiresAtTime AND SlidingExpirationInSeconds IS NOT NULL " +
		"AND (AbsoluteExpiration IS NULL OR AbsoluteExpiration <> ExpiresAtTime)"
	pomeloGet = "SELECT Id, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration, Value " +
		"FROM %s WHERE Id = ? AND ? <= ExpiresAtTime"
	pomeloRemove        = "DELETE FROM %s WHERE Id = ?"
	pomeloDeleteExpired = "DELETE FROM %s WHERE ? > ExpiresAtTime"
)

// entry is one row as the provider reads it.
type entry struct {
	id       string
	expires  time.Time
	sliding  sql.NullInt64
	absolute sql.NullTime
	value    []byte
}

// set is SetAsync: sliding and absolute are optional (0, zero time).
func (p *pomeloCache) set(t *testing.T, id string, value []byte, sliding time.Duration, absolute time.Time) {
	t.Helper()
	var slide, abs any
	if sliding > 0 {
		slide = int64(sliding.Seconds())
	}
	if !absolute.IsZero() {
		abs = absolute
	}
	if _, err := p.conn.ExecContext(context.Background(), pomeloSetExpiry, slide, abs, p.now, slide); err != nil {
		t.Fatalf("set %s: %v", id, err)
	}
	if _, err := p.conn.ExecContext(context.Background(), fmt.Sprintf(pomeloSet, p.table),
		id, value, slide, abs, value, slide, abs); err != nil {
		t.Fatalf("set %s: %v", id, err)
	}
}

// refresh is RefreshAsync: the sliding update alone.
func (p *pomeloCache) refresh(t *testing.T, id string) int64 {
	t.Helper()
	res, err := p.conn.ExecContext(context.Background(), fmt.Sprintf(pomeloSlide, p.table), p.now, p.now, id, p.now)
	if err != nil {
		t.Fatalf("refresh %s: %v", id, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// get is GetAsync: slide, then read. It returns nil for a missing or
// expired entry.
func (p *pomeloCache) get(t *testing.T, id string) *entry {
	t.Helper()
	p.refresh(t, id)
	var e entry
	err := p.conn.QueryRowContext(context.Background(), fmt.Sprintf(pomeloGet, p.table), id, p.now).
		Scan(&e.id, &e.expires, &e.sliding, &e.absolute, &e.value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return &e
}

func (p *pomeloCache) remove(t *testing.T, id string) {
	t.Helper()
	if _, err := p.conn.ExecContext(context.Background(), fmt.Sprintf(pomeloRemove, p.table), id); err != nil {
		t.Fatalf("remove %s: %v", id, err)
	}
}

func (p *pomeloCache) deleteExpired(t *testing.T) int64 {
	t.Helper()
	res, err := p.conn.ExecContext(context.Background(), fmt.Sprintf(pomeloDeleteExpired, p.table), p.now)
	if err != nil {
		t.Fatalf("delete expired: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

// newPomeloCache creates the table with sessctl and connects as the app
// does. The app's session is in a time zone other than UTC, which must
// change nothing: the provider binds UTC times to datetime(6) columns.
func newPomeloCache(t *testing.T, now time.Time) (*mysqlTest, *pomeloCache) {
	t.Helper()
	m := newMySQLTest(t, dialecttest.Table("Conform"), "time_zone="+url.QueryEscape("'+09:00'"))
	m.create(t)
	conn, err := m.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return m, &pomeloCache{conn: conn, table: m.qualified(), now: now}
}

func TestMySQLConformsToPomelo(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	t.Run("SlidingEntrySlidesOnGet", func(t *testing.T) {
		t.Parallel()
		_, p := newPomeloCache(t, t0)
		p.set(t, "k", []byte("v1"), 20*time.Minute, time.Time{})
		p.now = at(5 * time.Minute)
		e := p.get(t, "k")
		if e == nil || !bytes.Equal(e.value, []byte("v1")) {
			t.Fatalf("get: %+v", e)
		}
		if want := at(25 * time.Minute); !e.expires.Equal(want) || e.sliding.Int64 != 1200 || e.absolute.Valid {
			t.Errorf("after a get at +5m: expires %v, sliding %v, absolute %v; want %v, 1200, NULL", e.expires, e.sliding, e.absolute, want)
		}
		if e.expires.Location() != time.UTC {
			t.Errorf("times read back in %v, want UTC", e.expires.Location())
		}
	})

	t.Run("SlidingStopsAtAbsolute", func(t *testing.T) {
		t.Parallel()
		_, p := newPomeloCache(t, t0)
		p.set(t, "k", []byte("v"), 10*time.Minute, at(15*time.Minute))
		if e := p.get(t, "k"); e == nil || !e.expires.Equal(at(10*time.Minute)) {
			t.Fatalf("after set: %+v, want it to expire at +10m", e)
		}
		p.now = at(8 * time.Minute)
		if e := p.get(t, "k"); e == nil || !e.expires.Equal(at(15*time.Minute)) {
			t.Errorf("after a get at +8m: %+v, want the expiry capped at the absolute +15m", e)
		}
		p.now = at(9 * time.Minute)
		if n := p.refresh(t, "k"); n != 0 {
			t.Errorf("refresh at the absolute expiry changed %d rows", n)
		}
		p.now = at(15*time.Minute + time.Microsecond)
		if e := p.get(t, "k"); e != nil {
			t.Errorf("get after the absolute expiry: %+v, want nothing", e)
		}
	})

	t.Run("AbsoluteOnly", func(t *testing.T) {
		t.Parallel()
		_, p := newPomeloCache(t, t0)
		p.set(t, "k", []byte("v"), 0, at(time.Hour))
		p.now = at(30 * time.Minute)
		if n := p.refresh(t, "k"); n != 0 {
			t.Errorf("refresh of an entry without sliding changed %d rows", n)
		}
		if e := p.get(t, "k"); e == nil || !e.expires.Equal(at(time.Hour)) || !e.absolute.Time.Equal(at(time.Hour)) || e.sliding.Valid {
			t.Errorf("get: %+v, want it to expire at its absolute +1h", e)
		}
	})

	t.Run("UpsertReplaces", func(t *testing.T) {
		t.Parallel()
		m, p := newPomeloCache(t, t0)
		p.set(t, "k", []byte("old"), 20*time.Minute, time.Time{})
		p.now = at(time.Minute)
		big := bytes.Repeat([]byte{0xff, 0x00, 0x5c, 0x27}, 1<<18) // 1 MB of bytes that need escaping
		p.set(t, "k", big, 5*time.Minute, time.Time{})
		e := p.get(t, "k")
		if e == nil || !bytes.Equal(e.value, big) || !e.expires.Equal(at(6*time.Minute)) || e.sliding.Int64 != 300 {
			t.Errorf("after a second set: expires %v sliding %v, value replaced %v", e.expires, e.sliding, e != nil && bytes.Equal(e.value, big))
		}
		if n := m.s.Count(t, m.raw, m.table.Table, "k"); n != 1 {
			t.Errorf("%d rows for one key", n)
		}
	})

	t.Run("KeysAreCaseSensitive", func(t *testing.T) {
		t.Parallel()
		_, p := newPomeloCache(t, t0)
		p.set(t, "Session", []byte("upper"), time.Hour, time.Time{})
		p.set(t, "session", []byte("lower"), time.Hour, time.Time{})
		upper, lower := p.get(t, "Session"), p.get(t, "session")
		if upper == nil || lower == nil || string(upper.value) != "upper" || string(lower.value) != "lower" {
			t.Errorf("keys that differ only in case share a row: %+v, %+v", upper, lower)
		}
	})

	t.Run("RemoveAndDeleteExpired", func(t *testing.T) {
		t.Parallel()
		_, p := newPomeloCache(t, t0)
		p.set(t, "gone", []byte("v"), time.Hour, time.Time{})
		p.set(t, "short", []byte("v"), time.Minute, time.Time{})
		p.set(t, "long", []byte("v"), 2*time.Hour, time.Time{})
		p.remove(t, "gone")
		if e := p.get(t, "gone"); e != nil {
			t.Errorf("get after remove: %+v", e)
		}
		p.now = at(time.Hour)
		if n := p.deleteExpired(t); n != 1 {
			t.Errorf("delete expired at +1h deleted %d rows, want 1", n)
		}
		if p.get(t, "long") == nil {
			t.Errorf("delete expired took a live entry")
		}
	})

	// The provider and sessctl share the table: what the provider writes
	// with its clock, purge deletes by the database's UTC clock.
	t.Run("PurgeDeletesWhatTheProviderWrote", func(t *testing.T) {
		t.Parallel()
		now := time.Now().UTC().Truncate(time.Microsecond)
		m, p := newPomeloCache(t, now.Add(-2*time.Hour))
		p.set(t, "expired", []byte("v"), time.Minute, time.Time{})
		p.now = now
		p.set(t, "live", []byte("v"), 20*time.Minute, time.Time{})
		p.set(t, "capped", []byte("v"), time.Hour, now.Add(10*time.Minute))
		pr, err := schema.Purge(context.Background(), m.db, m.table, schema.PurgeOptions{})
		if err != nil || pr.Deleted != 1 {
			t.Fatalf("purge: %+v, %v; want the one expired entry deleted", pr, err)
		}
		if p.get(t, "live") == nil || p.get(t, "capped") == nil || p.get(t, "expired") != nil {
			t.Errorf("purge deleted the wrong entries")
		}
		if r := m.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
			t.Errorf("verify of the table the provider used: %+v", r)
		}
	})
}
