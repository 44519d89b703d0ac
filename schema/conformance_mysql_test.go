package schema_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// pomeloProvider sends what Pomelo.Extensions.Caching.MySql sends,
// statement for statement. Pomelo's named parameters (@Id, @UtcNow, …) are
// ? here, in the order they appear. Like Pomelo, it binds every time as a
// UTC DateTime from the app's clock (now), and keeps the expiry it computes
// in the user variable @ExpiresAtTime, so it needs one session.
type pomeloProvider struct {
	conn  *sql.Conn
	table string // `schema`.`table`
}

// The provider's SQL (MySqlQueries.cs), with {0} for its quoted table.
const (
	pomeloSetExpiry = "SET @ExpiresAtTime = (CASE WHEN (? IS NUll) THEN ? ELSE DATE_ADD(?, INTERVAL ? SECOND) END)"
	pomeloSet       = "INSERT INTO {0} (Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration) " +
		"VALUES (?, ?, @ExpiresAtTime, ?, ?) ON DUPLICATE KEY " +
		"UPDATE Value = ?, ExpiresAtTime = @ExpiresAtTime,SlidingExpirationInSeconds = ?, AbsoluteExpiration = ?"
	pomeloSlide = "UPDATE {0} SET ExpiresAtTime = (CASE " +
		"WHEN TIME_TO_SEC(TIMEDIFF(AbsoluteExpiration, ?)) <= SlidingExpirationInSeconds THEN AbsoluteExpiration " +
		"ELSE DATE_ADD(?, INTERVAL SlidingExpirationInSeconds SECOND) END) " +
		"WHERE Id = ? AND ? <= ExpiresAtTime AND SlidingExpirationInSeconds IS NOT NULL " +
		"AND (AbsoluteExpiration IS NULL OR AbsoluteExpiration <> ExpiresAtTime)"
	pomeloGet = "SELECT Id, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration, Value " +
		"FROM {0} WHERE Id = ? AND ? <= ExpiresAtTime"
	pomeloRemove        = "DELETE FROM {0} WHERE Id = ?"
	pomeloDeleteExpired = "DELETE FROM {0} WHERE ? > ExpiresAtTime"
)

func (p pomeloProvider) sql(q string) string { return strings.ReplaceAll(q, "{0}", p.table) }

func (p pomeloProvider) exec(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	res, err := p.conn.ExecContext(context.Background(), p.sql(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// set is SetAsync: the expiry into @ExpiresAtTime, then the upsert.
func (p pomeloProvider) set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time) {
	t.Helper()
	var slide, abs any
	if sliding > 0 {
		slide = int64(sliding.Seconds())
	}
	if absolute != nil {
		abs = absolute.UTC()
	}
	p.exec(t, pomeloSetExpiry, slide, abs, now.UTC(), slide)
	p.exec(t, pomeloSet, id, value, slide, abs, value, slide, abs)
}

// refresh is RefreshAsync: the slide alone.
func (p pomeloProvider) refresh(t *testing.T, now time.Time, id string) {
	t.Helper()
	p.exec(t, pomeloSlide, now.UTC(), now.UTC(), id, now.UTC())
}

// pomeloRow is a row as GetAsync reads it.
type pomeloRow struct {
	id       string
	expires  time.Time
	sliding  sql.NullInt64
	absolute sql.NullTime
	value    []byte
}

// read is GetAsync: the slide, then the read. It returns nil for a missing
// or expired entry.
func (p pomeloProvider) read(t *testing.T, now time.Time, id string) *pomeloRow {
	t.Helper()
	p.refresh(t, now, id)
	var r pomeloRow
	err := p.conn.QueryRowContext(context.Background(), p.sql(pomeloGet), id, now.UTC()).
		Scan(&r.id, &r.expires, &r.sliding, &r.absolute, &r.value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatalf("provider Get(%q): %v", id, err)
	}
	return &r
}

func (p pomeloProvider) get(t *testing.T, now time.Time, id string) []byte {
	t.Helper()
	if r := p.read(t, now, id); r != nil {
		return r.value
	}
	return nil
}

func (p pomeloProvider) remove(t *testing.T, id string) {
	t.Helper()
	p.exec(t, pomeloRemove, id)
}

func (p pomeloProvider) deleteExpired(t *testing.T, now time.Time) int64 {
	t.Helper()
	return p.exec(t, pomeloDeleteExpired, now.UTC())
}

func (p pomeloProvider) expiresAt(t *testing.T, id string) time.Time {
	t.Helper()
	var expires time.Time
	if err := p.conn.QueryRowContext(context.Background(), "SELECT ExpiresAtTime FROM "+p.table+" WHERE Id = ?", id).Scan(&expires); err != nil {
		t.Fatalf("reading the row %q: %v", id, err)
	}
	return expires
}

// newPomelo connects to m's table as the app does. The app's session is
// in a time zone other than UTC, which must change nothing: the provider
// binds UTC times to datetime(6) columns.
func newPomelo(t *testing.T, m *mysqlTest) pomeloProvider {
	t.Helper()
	app := m.s
	app.DSN = m.s.Conn(t).DSN + "&time_zone=" + url.QueryEscape("'+09:00'")
	conn, err := connectMySQL(t, app).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pomeloProvider{conn: conn, table: m.qualified()}
}

// TestMySQLProviderConformance: the provider works, unchanged, on the table
// sessctl creates, and on one Pomelo's tool made that sessctl adopted.
func TestMySQLProviderConformance(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("Conform"))
	m.create(t)
	exercise(t, newPomelo(t, m))

	adopted := newMySQLTest(t, dialecttest.Table("ConformAdopted"))
	adopted.exec(t, fmt.Sprintf(pomeloDDL, adopted.qualified(), pomeloIndex))
	adopted.create(t)
	exercise(t, newPomelo(t, adopted))
}

// TestMySQLProviderRows checks, row by row, what the provider's SQL leaves
// in a table sessctl made: exact UTC microseconds, the cap at the absolute
// expiry, binary values, keys apart by case.
func TestMySQLProviderRows(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	m := newMySQLTest(t, dialecttest.Table("Rows"))
	m.create(t)
	p := newPomelo(t, m)

	p.set(t, t0, "sliding", []byte("v1"), 20*time.Minute, nil)
	r := p.read(t, at(5*time.Minute), "sliding")
	if r == nil || r.expires.Location() != time.UTC || !r.expires.Equal(at(25*time.Minute)) || r.sliding.Int64 != 1200 || r.absolute.Valid {
		t.Errorf("a sliding entry read at +5m: %+v; want it to expire at %v (UTC), sliding 1200, no absolute", r, at(25*time.Minute))
	}

	abs := at(15 * time.Minute)
	p.set(t, t0, "capped", []byte("v"), 10*time.Minute, &abs)
	if r := p.read(t, t0, "capped"); r == nil || !r.expires.Equal(at(10*time.Minute)) {
		t.Fatalf("a capped entry just set: %+v, want it to expire at +10m", r)
	}
	if r := p.read(t, at(8*time.Minute), "capped"); r == nil || !r.expires.Equal(abs) {
		t.Errorf("a capped entry read at +8m: %+v, want its expiry capped at %v", r, abs)
	}
	if r := p.read(t, abs.Add(time.Microsecond), "capped"); r != nil {
		t.Errorf("a capped entry read a microsecond after its absolute expiry: %+v", r)
	}

	big := bytes.Repeat([]byte{0xff, 0x00, 0x5c, 0x27}, 1<<18) // 1 MB of bytes that need escaping
	p.set(t, t0, "sliding", big, 5*time.Minute, nil)
	if r := p.read(t, t0, "sliding"); r == nil || !bytes.Equal(r.value, big) || !r.expires.Equal(at(5*time.Minute)) {
		t.Errorf("an upserted entry does not read back as written")
	}
	if n := m.s.Count(t, m.raw, m.table.Table, "sliding"); n != 1 {
		t.Errorf("%d rows for one key after an upsert", n)
	}
}

// TestMySQLPurgeAfterProvider: the provider and sessctl share the table;
// what the provider wrote with its clock, purge deletes by the database's
// UTC clock, and verify still passes.
func TestMySQLPurgeAfterProvider(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("Shared"))
	m.create(t)
	p := newPomelo(t, m)
	now := time.Now().UTC().Truncate(time.Microsecond)
	capped := now.Add(10 * time.Minute)
	p.set(t, now.Add(-2*time.Hour), "expired", []byte("v"), time.Minute, nil)
	p.set(t, now, "live", []byte("v"), 20*time.Minute, nil)
	p.set(t, now, "capped", []byte("v"), time.Hour, &capped)

	pr, err := schema.Purge(context.Background(), m.db, m.table, schema.PurgeOptions{})
	if err != nil || pr.Deleted != 1 {
		t.Fatalf("purge: %+v, %v; want the one expired entry deleted", pr, err)
	}
	if p.get(t, now, "live") == nil || p.get(t, now, "capped") == nil || p.get(t, now, "expired") != nil {
		t.Errorf("purge deleted the wrong entries")
	}
	if r := m.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify of the table the provider used: %+v", r)
	}
}
