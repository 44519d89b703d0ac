package cmd

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// raceLayout is a layout TestPurgeNeverLosesLiveRows races purge on, and
// how its apps write its rows: the SQL of each, "%[1]s" the qualified
// table. The cache table's (name "") is the dialecttest server's own.
type raceLayout struct {
	name   string // --layout; "" is the cache table
	engine string // the one engine it applies to; "" every engine
	ops    int    // refreshes the clients make at the least
	// backlog is how many expired rows the first purge chews through,
	// abandoned how many expire nobody refreshes every 100 ms (by
	// default 10): few enough for the purges to keep up with, so that
	// they come to the clients' rows while those are expired.
	backlog, abandoned int
	// slide is the refresh's fixed slide (the classic provider's Timeout,
	// in minutes); 0, each refresh slides by 0.5–1.5 s. With a fixed one,
	// a client does not spin, refreshing its rows over and over: it comes
	// to each just before it expires (or just after, when its clock runs
	// behind), and that once.
	slide time.Duration
	// precision is how far the expiry column may round a time down
	// (datetime: to 1/300 s), taken off every due time.
	precision time.Duration
	// seed (prefix, n, expiring in ms), slide (Id; ms ahead, for refresh
	// SQL that takes it), insert (Id, ms ahead), exists and expiryNow
	// (Id), count (LIKE pattern).
	seedSQL, slideSQL, insertSQL, existsSQL, countSQL, expiryNowSQL string
	// holdSQL holds row Id in the transaction it runs in, and returns its
	// Id (TestPurgeSkipsHeldRows).
	holdSQL string
}

// raceLayouts are the layouts other than the cache table that
// TestPurgeNeverLosesLiveRows runs on, each on the one engine it has.
var raceLayouts = []raceLayout{{
	// Microsoft.Extensions.Caching.Postgres's table: names folded to lower
	// case, and its refresh (Refresh's UPDATE, with no absolute expiry).
	name: "microsoft", engine: "postgres", ops: 3000, backlog: 500,
	seedSQL: `INSERT INTO %[1]s (id, value, expiresattime, slidingexpirationinseconds)
		SELECT $1 || g, '\x00', now() + make_interval(secs => $3 / 1000.0), 60 FROM generate_series(1, $2) AS g`,
	slideSQL:     `UPDATE %[1]s SET expiresattime = now() + interval '1 millisecond' * $2 WHERE id = $1 AND expiresattime >= now() - interval '1 millisecond' * $3`,
	insertSQL:    `INSERT INTO %[1]s (id, value, expiresattime, slidingexpirationinseconds) VALUES ($1, '\x00', now() + interval '1 millisecond' * $2, 60)`,
	existsSQL:    `SELECT count(*) FROM %[1]s WHERE id = $1`,
	countSQL:     `SELECT count(*) FROM %[1]s WHERE id LIKE $1`,
	expiryNowSQL: `SELECT expiresattime::text, now()::text FROM %[1]s WHERE id = $1`,
	holdSQL:      `SELECT id FROM %[1]s WHERE id = $1 FOR UPDATE`,
}, {
	// ASP.NET's async SQL session state provider: it slides a session by
	// its Timeout in minutes from GETUTCDATE(), whether expired or not
	// (UPDATE … SET Expires = DATEADD(minute, Timeout, @now) WHERE
	// SessionId = @id), into a datetime.
	name: "aspnet-async", engine: "sqlserver", ops: raceClients * raceRowsPerClient, backlog: 20, abandoned: 1,
	slide: time.Minute, precision: 2 * time.Millisecond,
	seedSQL: `INSERT INTO %[1]s (SessionId, Created, Expires, LockDate, LockDateLocal, LockCookie, Timeout, Locked, SessionItemLong, Flags)
		SELECT @p1 + CAST(g.i AS nvarchar(20)), GETUTCDATE(), DATEADD(millisecond, @p3, GETUTCDATE()), GETUTCDATE(), GETDATE(), 1, 1, 0, 0x00, 0
		FROM (SELECT TOP (@p2) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i
			FROM sys.all_columns AS a CROSS JOIN sys.all_columns AS b) AS g`,
	slideSQL:  `UPDATE %[1]s SET Expires = DATEADD(minute, Timeout, GETUTCDATE()) WHERE SessionId = @p1`,
	insertSQL: `INSERT INTO %[1]s (SessionId, Created, Expires, LockDate, LockDateLocal, LockCookie, Timeout, Locked, SessionItemLong, Flags) VALUES (@p1, GETUTCDATE(), DATEADD(minute, 1, GETUTCDATE()), GETUTCDATE(), GETDATE(), 1, 1, 0, 0x00, 0)`,
	existsSQL: `SELECT count(*) FROM %[1]s WHERE SessionId = @p1`,
	countSQL:  `SELECT count(*) FROM %[1]s WHERE SessionId LIKE @p1`,
	expiryNowSQL: `SELECT CONVERT(nvarchar(40), Expires, 121), CONVERT(nvarchar(40), GETUTCDATE(), 121)
		FROM %[1]s WHERE SessionId = @p1`,
}}

// cacheRace is the cache table's race.
var cacheRace = raceLayout{ops: raceOps, backlog: 500}

// flags are the --layout flags of the layout's commands.
func (l raceLayout) flags() []string {
	if l.name == "" {
		return nil
	}
	return []string{"--layout", l.name}
}

func (l raceLayout) seed(t *testing.T, s dialecttest.Server, db *sql.DB, table, prefix string, n int, in time.Duration) {
	t.Helper()
	if l.name == "" {
		s.Seed(t, db, table, prefix, n, 10, in)
		return
	}
	if _, err := db.Exec(fmt.Sprintf(l.seedSQL, s.Qualified(table)), prefix, n, in.Milliseconds()); err != nil {
		t.Fatalf("seeding %s: %v", prefix, err)
	}
}

// refresh slides row id forward as the layout's provider does, ahead
// unless the layout's slide is fixed, if the row is there (and, but for
// a provider that revives any row still there, expired no more than skew
// ago). It reports whether it was there to slide.
func (l raceLayout) refresh(t *testing.T, s dialecttest.Server, db *sql.DB, table, id string, ahead, skew time.Duration) bool {
	t.Helper()
	if l.name == "" {
		return s.Slide(t, db, table, id, ahead, skew)
	}
	args := []any{id}
	if l.slide == 0 {
		args = append(args, ahead.Milliseconds(), skew.Milliseconds())
	}
	res, err := db.Exec(fmt.Sprintf(l.slideSQL, s.Qualified(table)), args...)
	if err != nil {
		t.Errorf("sliding %s of %s: %v", id, table, err)
		return false
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.Errorf("sliding %s of %s: %v", id, table, err)
	}
	return n == 1
}

// insert adds row id, expiring ahead (or the layout's fixed slide) from
// the database's now.
func (l raceLayout) insert(s dialecttest.Server, db *sql.DB, table, id string, ahead time.Duration) error {
	if l.name == "" {
		_, err := db.Exec(fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES ('%s', %s, %s)", s.Qualified(table),
			s.Dialect.Quote("Id"), s.Dialect.Quote("Value"), s.Dialect.Quote("ExpiresAtTime"), id,
			valueSQL[s.Dialect.Name()], expiresInSQL(s.Dialect.Name(), ahead)))
		return err
	}
	args := []any{id}
	if l.slide == 0 {
		args = append(args, ahead.Milliseconds())
	}
	_, err := db.Exec(fmt.Sprintf(l.insertSQL, s.Qualified(table)), args...)
	return err
}

func (l raceLayout) exists(t *testing.T, s dialecttest.Server, db *sql.DB, table, id string) bool {
	t.Helper()
	if l.name == "" {
		exists, _ := s.Row(t, db, table, id)
		return exists
	}
	var n int64
	if err := db.QueryRow(fmt.Sprintf(l.existsSQL, s.Qualified(table)), id).Scan(&n); err != nil {
		t.Errorf("reading %s of %s: %v", id, table, err)
	}
	return n == 1
}

func (l raceLayout) count(t *testing.T, s dialecttest.Server, db *sql.DB, table, prefix string) int64 {
	t.Helper()
	if l.name == "" {
		return s.Count(t, db, table, prefix)
	}
	var n int64
	if err := db.QueryRow(fmt.Sprintf(l.countSQL, s.Qualified(table)), prefix+"%").Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// expiryNow says whether row id of table is there, when it expires and
// what the database's clock says, for a failure's message.
func (l raceLayout) expiryNow(s dialecttest.Server, db *sql.DB, table, id string) string {
	q := fmt.Sprintf(expiryNowSQL[s.Dialect.Name()], s.Qualified(table))
	if l.name != "" {
		q = fmt.Sprintf(l.expiryNowSQL, s.Qualified(table))
	}
	var exp, now string
	err := db.QueryRow(q, id).Scan(&exp, &now)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "gone"
	case err != nil:
		return err.Error()
	}
	return fmt.Sprintf("there, expiring at %s, the database's clock at %s", exp, now)
}
