package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

// msProvider runs, statement for statement, the SQL that
// Microsoft.Extensions.Caching.Postgres runs at run time (SqlQueries.cs,
// LAYOUTS.md §1.2), its table name spliced in unquoted as the package
// does, its parameters typed as it binds them (@id varchar, @value bytea,
// times timestamptz, sliding seconds bigint). Its clock is the app's.
type msProvider struct {
	db    *sql.DB
	table string // schema.table, unquoted: SchemaName and TableName as the app sets them
}

// msTypes are the package's parameter types (NpgsqlParameterCollectionExtensions.cs).
var msTypes = map[string]string{
	"id": "varchar", "value": "bytea", "utcNow": "timestamptz",
	"absoluteExpiration": "timestamptz", "slidingExpirationInSeconds": "int8",
}

var msParam = regexp.MustCompile(`@[A-Za-z]+`)

// npgsql is the package's statement with its @name parameters as pgx
// takes them, each typed as Npgsql types it, and args in their order.
func (p msProvider) npgsql(stmt string, values map[string]any) (string, []any) {
	var args []any
	at := map[string]int{}
	stmt = strings.ReplaceAll(stmt, "{0}", p.table)
	return msParam.ReplaceAllStringFunc(stmt, func(m string) string {
		name := m[1:]
		if _, ok := at[name]; !ok {
			args = append(args, values[name])
			at[name] = len(args)
		}
		return fmt.Sprintf("($%d::%s)", at[name], msTypes[name])
	}), args
}

func (p msProvider) exec(t *testing.T, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmt string, values map[string]any) int64 {
	t.Helper()
	s, args := p.npgsql(stmt, values)
	res, err := q.ExecContext(context.Background(), s, args...)
	if err != nil {
		t.Fatalf("package SQL %s: %v", s, err)
	}
	n, _ := res.RowsAffected()
	return n
}

const msRefresh = `UPDATE {0}
SET expiresAtTime = CASE WHEN EXTRACT(SECOND FROM AGE(absoluteExpiration, @utcNow)) <= slidingExpirationInSeconds THEN absoluteExpiration
ELSE @utcNow + INTERVAL '1 second' * slidingExpirationInSeconds
END
WHERE id = @id
AND expiresAtTime >= @utcNow
AND slidingExpirationInSeconds IS NOT NULL
AND (absoluteExpiration IS NULL OR absoluteExpiration <> expiresAtTime)`

const msSelect = `SELECT value FROM {0} WHERE id = @id AND expiresAtTime >= @utcNow`

const msSet = `WITH _PARAMS (slidingExpirationInSeconds, absoluteExpiration, utcNow) AS
( VALUES (@slidingExpirationInSeconds, @absoluteExpiration::timestamp, @utcNow::timestamp) )
INSERT INTO {0} (id, value, expiresAtTime, slidingExpirationInSeconds, absoluteExpiration)
SELECT @id, @value, CASE
    WHEN slidingExpirationInSeconds IS NULL THEN absoluteExpiration::timestamp
    ELSE utcNow + INTERVAL '1 second' * slidingExpirationInSeconds::bigint
END, slidingExpirationInSeconds::bigint, absoluteExpiration FROM _PARAMS
ON CONFLICT (id) DO UPDATE
SET value = EXCLUDED.value,
expiresAtTime = EXCLUDED.expiresAtTime,
slidingExpirationInSeconds = EXCLUDED.slidingExpirationInSeconds,
absoluteExpiration = EXCLUDED.absoluteExpiration`

func (p msProvider) set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time) {
	t.Helper()
	v := map[string]any{"id": id, "value": value, "utcNow": now.UTC(), "slidingExpirationInSeconds": nil, "absoluteExpiration": nil}
	if sliding > 0 {
		v["slidingExpirationInSeconds"] = int64(sliding.Seconds())
	}
	if absolute != nil {
		v["absoluteExpiration"] = absolute.UTC()
	}
	p.exec(t, p.db, msSet, v)
}

func (p msProvider) refresh(t *testing.T, now time.Time, id string) {
	t.Helper()
	p.exec(t, p.db, msRefresh, map[string]any{"id": id, "utcNow": now.UTC()})
}

// get is the package's Get: the refresh UPDATE and the SELECT, one
// command (so one implicit transaction).
func (p msProvider) get(t *testing.T, now time.Time, id string) []byte {
	t.Helper()
	tx, err := p.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: nothing to roll back
	v := map[string]any{"id": id, "utcNow": now.UTC()}
	p.exec(t, tx, msRefresh, v)
	s, args := p.npgsql(msSelect, v)
	var value []byte
	switch err := tx.QueryRow(s, args...).Scan(&value); {
	case errors.Is(err, sql.ErrNoRows):
		value = nil
	case err != nil:
		t.Fatalf("package Get(%q): %v", id, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return value
}

func (p msProvider) remove(t *testing.T, id string) {
	t.Helper()
	p.exec(t, p.db, `DELETE FROM {0} WHERE id = @id`, map[string]any{"id": id})
}

func (p msProvider) deleteExpired(t *testing.T, now time.Time) int64 {
	t.Helper()
	return p.exec(t, p.db, `DELETE FROM {0} WHERE expiresAtTime < @utcNow`, map[string]any{"utcNow": now.UTC()})
}

func (p msProvider) expiresAt(t *testing.T, id string) time.Time {
	t.Helper()
	var e time.Time
	if err := p.db.QueryRow(`SELECT expiresattime FROM `+p.table+` WHERE id = $1`, id).Scan(&e); err != nil {
		t.Fatalf("reading expiresattime of %q: %v", id, err)
	}
	return e
}

// getOrCreate is the package's GetOrCreateAsync: a transaction, the
// advisory lock on the key's hash, the read, the factory, the upsert.
func (p msProvider) getOrCreate(t *testing.T, now time.Time, id string, factory func() []byte) []byte {
	t.Helper()
	tx, err := p.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: nothing to roll back
	p.exec(t, tx, `SELECT pg_advisory_xact_lock(hashtextextended(@id, 0))`, map[string]any{"id": id})
	s, args := p.npgsql(msSelect, map[string]any{"id": id, "utcNow": now.UTC()})
	var value []byte
	if err := tx.QueryRow(s, args...).Scan(&value); errors.Is(err, sql.ErrNoRows) {
		value = factory()
		p.exec(t, tx, msSet, map[string]any{"id": id, "value": value, "utcNow": now.UTC(),
			"slidingExpirationInSeconds": int64(1200), "absoluteExpiration": nil})
	} else if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return value
}

// msTable is a table of --layout microsoft in s, dropped at cleanup.
func msTable(t *testing.T, s dialecttest.Server, db *sql.DB, schemaName, table string, logged bool) *schema.Table {
	t.Helper()
	tb, err := schema.NewTableOf(s.Dialect, layouts.Microsoft, schemaName, table)
	if err != nil {
		t.Fatal(err)
	}
	tb.Logged = logged
	t.Cleanup(func() {
		for _, name := range []string{tb.Names.Table, tb.VersionTable} {
			if _, err := db.Exec(`DROP TABLE IF EXISTS ` + s.Dialect.Quote(tb.Schema) + "." + s.Dialect.Quote(name)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return tb
}

// msCreate creates tb, wanting status.
func msCreate(t *testing.T, s dialecttest.Server, tb *schema.Table, status string) *schema.CreateResult {
	t.Helper()
	res, err := schema.Create(context.Background(), connect(t, s, false), tb, schema.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s: %v", tb, err)
	}
	if res.Status != status {
		t.Fatalf("create %s: %s (%q), want %s", tb, res.Status, res.Actions, status)
	}
	return res
}

// TestMicrosoftProviderConformance: the package works, unchanged, on the
// table sessctl makes for TableName = "MS_Conform…": its unquoted name
// finds the lower-case table sessctl made.
func TestMicrosoftProviderConformance(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	typed := dialecttest.Table("MS_Conform")
	tb := msTable(t, s, db, s.Schema, typed, false)
	if tb.Names.Table != strings.ToLower(typed) {
		t.Fatalf("table %q made as %q", typed, tb.Names.Table)
	}
	msCreate(t, s, tb, schema.CreateCreated)
	p := msProvider{db: db, table: s.Schema + "." + typed}
	exercise(t, p)
	now := time.Now().UTC()
	calls := 0
	factory := func() []byte { calls++; return []byte("made") }
	for range 2 {
		if got := string(p.getOrCreate(t, now, "goc", factory)); got != "made" || calls != 1 {
			t.Errorf("GetOrCreate = %q after %d factory calls, want made after 1", got, calls)
		}
	}
}

// relpersistence reads how PostgreSQL keeps tb: 'u' UNLOGGED, 'p' logged.
func relpersistence(t *testing.T, db *sql.DB, tb *schema.Table) string {
	t.Helper()
	var p string
	if err := db.QueryRow(`SELECT relpersistence FROM pg_class WHERE oid = $1::regclass`, tb.String()).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMicrosoftCreate: creates at once make the table once; again, it is
// up to date; it is UNLOGGED unless Logged, and verify warns of that; a
// second table in the schema gets an index of its own.
func TestMicrosoftCreate(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	tb := msTable(t, s, db, s.Schema, dialecttest.Table("ms_create"), false)
	statuses := make([]string, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			res, err := schema.Create(context.Background(), connect(t, s, false), tb, schema.CreateOptions{})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			statuses[i] = res.Status
		})
	}
	wg.Wait()
	if created := strings.Count(strings.Join(statuses, " "), schema.CreateCreated); created != 1 {
		t.Errorf("parallel creates said %q: want created once, up to date the rest", statuses)
	}
	res := msCreate(t, s, tb, schema.CreateUpToDate)
	if relpersistence(t, db, tb) != "u" || !hasWarning(res.Warnings, "UNLOGGED") {
		t.Errorf("default table: relpersistence %q, warnings %v; want UNLOGGED and a warning", relpersistence(t, db, tb), res.Warnings)
	}
	logged := msTable(t, s, db, s.Schema, dialecttest.Table("ms_logged"), true)
	res = msCreate(t, s, logged, schema.CreateCreated)
	if relpersistence(t, db, logged) != "p" || hasWarning(res.Warnings, "UNLOGGED") {
		t.Errorf("--logged table: relpersistence %q, warnings %v; want a logged table, no warning", relpersistence(t, db, logged), res.Warnings)
	}
	for _, x := range []*schema.Table{tb, logged} {
		var ok bool
		if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname = $3)`,
			x.Schema, x.Names.Table, x.ExpiryIndex).Scan(&ok); err != nil || !ok {
			t.Errorf("%s has no index %s: %v", x, x.ExpiryIndex, err)
		}
	}
}

func hasWarning(fs []schema.Finding, say string) bool {
	for _, f := range fs {
		if f.Severity == schema.SeverityWarning && strings.Contains(f.Message, say) {
			return true
		}
	}
	return false
}

// msPackageDDL is the package's own CreateIfNotExists DDL (LAYOUTS.md
// §1.1), for schema.table {0}.
const msPackageDDL = `CREATE SCHEMA IF NOT EXISTS {s};CREATE UNLOGGED TABLE IF NOT EXISTS {0} (
    id VARCHAR(449) COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL,
    expiresattime TIMESTAMPTZ NOT NULL,
    slidingexpirationinseconds BIGINT NULL,
    absoluteexpiration TIMESTAMPTZ NULL
);CREATE INDEX IF NOT EXISTS ix_expiresattime ON {0} (expiresattime) WITH (deduplicate_items=True)`

// TestMicrosoftAdoptsPackageTables: two tables the package made in one
// schema, the second without an index (its ix_expiresattime is the
// first's), pass verify; create adopts the first keeping its
// ix_expiresattime, and gives the second an index of its own.
func TestMicrosoftAdoptsPackageTables(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	sch := dialecttest.Table("ms_pkg")
	t.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA IF EXISTS ` + sch + ` CASCADE`) })
	var tbs []*schema.Table
	for _, name := range []string{"first", "second"} {
		q := strings.NewReplacer("{s}", sch, "{0}", sch+"."+name).Replace(msPackageDDL)
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("the package's DDL: %v", err)
		}
		tbs = append(tbs, msTable(t, s, db, sch, name, false))
	}
	rep, err := schema.Verify(context.Background(), connect(t, s, false), tbs[1], false)
	if err != nil || rep.Status != schema.StatusOK || !hasWarning(rep.Findings, "no index on") {
		t.Errorf("verify of the second: %v %+v; want ok, warning of no index", err, rep)
	}
	first := msCreate(t, s, tbs[0], schema.CreateAdopted)
	second := msCreate(t, s, tbs[1], schema.CreateAdopted)
	if a := strings.Join(first.Actions, "; "); !strings.Contains(a, `kept its expiry index "ix_expiresattime"`) || strings.Contains(a, "created index") {
		t.Errorf("adopting the first: %s", a)
	}
	if a := strings.Join(second.Actions, "; "); !strings.Contains(a, `created index "ix_second_expiresattime"`) {
		t.Errorf("adopting the second: %s", a)
	}
}

// TestMicrosoftLayoutsKnowEachOther: verify says a table of the other
// layout is the other provider's and which --layout to use, both ways;
// drop and purge refuse it.
func TestMicrosoftLayoutsKnowEachOther(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	ctx := context.Background()
	ms := msTable(t, s, db, s.Schema, dialecttest.Table("ms_both"), true)
	msCreate(t, s, ms, schema.CreateCreated)
	community := dialecttest.Table("ms_community")
	s.DropAtCleanup(t, db, community)
	cache := create(t, s, community, schema.CreateOptions{})
	asMS, err := schema.NewTableOf(s.Dialect, layouts.Microsoft, s.Schema, community)
	if err != nil {
		t.Fatal(err)
	}
	asCache, err := schema.NewTable(s.Dialect, s.Schema, ms.Names.Table)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tb  *schema.Table
		say string
	}{
		{asCache, "this is Microsoft.Extensions.Caching.Postgres's table: use --layout microsoft"},
		{asMS, "this is Community.Microsoft.Extensions.Caching.PostgreSql's table: use --layout cache"},
	} {
		rep, err := schema.Verify(ctx, connect(t, s, false), tc.tb, false)
		if err != nil || rep.Status != schema.StatusIncompatible || len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, tc.say) {
			t.Errorf("verify %s as %s: %v %+v; want one finding saying %q", tc.tb, tc.tb.Layout, err, rep, tc.say)
		}
		_, err = schema.Drop(ctx, connect(t, s, false), tc.tb, schema.DropOptions{})
		if !errors.Is(err, schema.ErrNotCacheTable) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("drop %s as %s: %v; want refused saying %q", tc.tb, tc.tb.Layout, err, tc.say)
		}
		_, err = schema.Purge(ctx, connect(t, s, false), tc.tb, schema.PurgeOptions{})
		if !errors.Is(err, schema.ErrIncompatible) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("purge %s as %s: %v; want refused saying %q", tc.tb, tc.tb.Layout, err, tc.say)
		}
	}
	for _, tb := range []*schema.Table{ms, cache} {
		rep, err := schema.Verify(ctx, connect(t, s, false), tb, false)
		if err != nil || rep.Status != schema.StatusOK || hasWarning(rep.Findings, "UNLOGGED") {
			t.Errorf("verify %s under its own layout: %v %+v", tb, err, rep)
		}
	}
	if res, err := schema.Drop(ctx, connect(t, s, false), ms, schema.DropOptions{}); err != nil || res.Status != schema.DropDropped {
		t.Errorf("drop %s under --layout microsoft: %v %+v", ms, err, res)
	}
}

// TestMicrosoftPurge: purge deletes the expired rows in bounded batches,
// keeps every live row and passes over a row an app session holds; a walk
// in storage order does as well.
func TestMicrosoftPurge(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	ctx := context.Background()
	tb := msTable(t, s, db, s.Schema, dialecttest.Table("ms_purge"), false)
	msCreate(t, s, tb, schema.CreateCreated)
	if _, err := db.Exec(`INSERT INTO ` + tb.String() + ` (id, value, expiresattime, slidingexpirationinseconds)
		SELECT CASE WHEN g <= 20 THEN 'old' ELSE 'live' END || g, '\x00', now() + CASE WHEN g <= 20 THEN -interval '1 hour' ELSE interval '1 hour' END, 1200
		FROM generate_series(1, 25) AS g`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // the test's hold ends with it
	if _, err := tx.Exec(`SELECT 1 FROM ` + tb.String() + ` WHERE id = 'old7' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 4, Order: schema.OrderExpiry})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 19 || res.Batches < 5 || res.Held == nil || *res.Held != 1 {
		t.Errorf("purge: deleted %d in %d batches, held %v; want 19 in batches of 4, 1 held", res.Deleted, res.Batches, res.Held)
	}
	count := func(like string) (n int) {
		if err := db.QueryRow(`SELECT count(*) FROM `+tb.String()+` WHERE id LIKE $1`, like).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if live, old := count("live%"), count("old%"); live != 5 || old != 1 {
		t.Errorf("after purge: %d live rows (want 5), %d expired (want the held one)", live, old)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderStorage})
	if err != nil || res.Deleted != 1 || count("live%") != 5 {
		t.Errorf("walk: %v, deleted %d; live rows %d; want 1 deleted, 5 live", err, res.Deleted, count("live%"))
	}
}

// msSeed inserts n expired rows old1…oldN, an hour apart, and live rows
// live1…liveM into the table called qualified.
func msSeed(t *testing.T, db *sql.DB, qualified string, n, m int) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO `+qualified+` (id, value, expiresattime)
		SELECT 'old' || g, '\x00'::bytea, now() - g * interval '1 hour' FROM generate_series(1, $1) AS g
		UNION ALL SELECT 'live' || g, '\x00'::bytea, now() + interval '1 hour' FROM generate_series(1, $2) AS g`, n, m); err != nil {
		t.Fatal(err)
	}
}

// TestMicrosoftPurgeByID: the statements purge falls back on to pass over
// rows a foreign key references read and delete by the layout's id and
// expiresattime.
func TestMicrosoftPurgeByID(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	ctx := context.Background()
	tb := msTable(t, s, db, s.Schema, dialecttest.Table("ms_byid"), true)
	msCreate(t, s, tb, schema.CreateCreated)
	msSeed(t, db, tb.String(), 3, 1)
	d := tb.Dialect.(dialects.IDDeleter)
	ids, err := d.ExpiredIDs(ctx, db, tb.Names, 0, 10, []string{"old2"})
	if err != nil || strings.Join(ids, " ") != "old3 old1" {
		t.Errorf("ExpiredIDs skipping old2 = %q, %v; want old3 old1, oldest first", ids, err)
	}
	still, err := d.StillExpired(ctx, db, tb.Names, 0, []string{"old1", "live1", "nosuch"})
	if err != nil || strings.Join(still, " ") != "old1" {
		t.Errorf("StillExpired = %q, %v; want old1", still, err)
	}
	if n, err := d.DeleteIDs(ctx, db, tb.Names, 0, []string{"old1", "live1"}); err != nil || n != 1 {
		t.Errorf("DeleteIDs(old1, live1) = %d, %v; want 1, the live row kept", n, err)
	}
	if n, _, err := tb.Dialect.CountExpired(ctx, db, tb.Names, 0); err != nil || n != 2 {
		t.Errorf("CountExpired = %d, %v; want 2", n, err)
	}
}

// TestMicrosoftPurgePartitioned: a partitioned table of the layout purges
// in either order, keeping its live rows.
func TestMicrosoftPurgePartitioned(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	tb := msTable(t, s, db, s.Schema, dialecttest.Table("ms_parts"), true)
	q := tb.String()
	for _, stmt := range []string{
		`CREATE TABLE ` + q + ` (id character varying(449) COLLATE "C" NOT NULL, value bytea NOT NULL,
			expiresattime timestamp with time zone NOT NULL, slidingexpirationinseconds bigint,
			absoluteexpiration timestamp with time zone, PRIMARY KEY (id)) PARTITION BY HASH (id)`,
		`CREATE TABLE ` + s.Dialect.Quote(tb.Schema) + `.` + s.Dialect.Quote(tb.Names.Table+"_0") + ` PARTITION OF ` + q + ` FOR VALUES WITH (MODULUS 2, REMAINDER 0)`,
		`CREATE TABLE ` + s.Dialect.Quote(tb.Schema) + `.` + s.Dialect.Quote(tb.Names.Table+"_1") + ` PARTITION OF ` + q + ` FOR VALUES WITH (MODULUS 2, REMAINDER 1)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	msCreate(t, s, tb, schema.CreateAdopted)
	for _, order := range []schema.Order{schema.OrderExpiry, schema.OrderStorage} {
		msSeed(t, db, q, 10, 4)
		res, err := schema.Purge(context.Background(), connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 3, Order: order})
		var live int
		if err := db.QueryRow(`SELECT count(*) FROM ` + q + ` WHERE id LIKE 'live%'`).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if err != nil || res.Deleted != 10 || live != 4 {
			t.Errorf("purge in %s order: %v, deleted %v, %d live rows; want 10 deleted, 4 live", order, err, res, live)
		}
		if _, err := db.Exec(`DELETE FROM ` + q); err != nil {
			t.Fatal(err)
		}
	}
}
