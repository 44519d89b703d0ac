package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// pomeloDDL is the table `dotnet mysql-cache create` (Pomelo's tool) makes,
// in its own column order and spelling: bigint(20), DEFAULT NULL, no engine.
const pomeloDDL = "CREATE TABLE %s (" +
	"`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, " +
	"`AbsoluteExpiration` datetime(6) DEFAULT NULL, " +
	"`ExpiresAtTime` datetime(6) NOT NULL, " +
	"`SlidingExpirationInSeconds` bigint(20) DEFAULT NULL, " +
	"`Value` longblob NOT NULL, " +
	"PRIMARY KEY (`Id`)%s)"

// pomeloIndex is the index clause of pomeloDDL.
const pomeloIndex = ", KEY `Index_ExpiresAtTime` (`ExpiresAtTime`)"

// mysqlTest is one test's table on the MySQL test server.
type mysqlTest struct {
	s     dialecttest.Server
	raw   *sql.DB // for the test's own SQL
	db    *schema.DB
	table *schema.Table
}

// newMySQLTest makes a table name of the test's own, dropped at cleanup,
// and connects. dsnParams are added to the server's DSN (for session
// variables such as time_zone).
func newMySQLTest(t *testing.T, name string, dsnParams ...string) *mysqlTest {
	t.Helper()
	s := dialecttest.Get(t, "mysql")
	if len(dsnParams) > 0 {
		s.DSN = s.Conn(t).DSN + "&" + strings.Join(dsnParams, "&") // the driver's form always has parameters
	}
	tb, err := schema.NewTable(s.Dialect, s.Schema, name)
	if err != nil {
		t.Fatal(err)
	}
	raw := s.Open(t)
	s.DropAtCleanup(t, raw, name)
	return &mysqlTest{s: s, raw: raw, db: connectMySQL(t, s), table: tb}
}

func connectMySQL(t *testing.T, s dialecttest.Server) *schema.DB {
	t.Helper()
	db, err := schema.Connect(context.Background(), s.Conn(t), schema.ConnectOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (m *mysqlTest) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := m.raw.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (m *mysqlTest) qualified() string { return m.s.Qualified(m.table.Table) }

func (m *mysqlTest) create(t *testing.T) *schema.CreateResult {
	t.Helper()
	res, err := schema.Create(context.Background(), m.db, m.table, schema.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return res
}

func (m *mysqlTest) verify(t *testing.T) *schema.Report {
	t.Helper()
	r, err := schema.Verify(context.Background(), m.db, m.table, false)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func (m *mysqlTest) inspect(t *testing.T) *dialects.TableInfo {
	t.Helper()
	info, err := m.s.Dialect.Inspect(context.Background(), m.db, m.table.Names)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestMySQLCycle adopts a table Pomelo's tool made, and takes it through
// verify, purge and drop.
func TestMySQLCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMySQLTest(t, dialecttest.Table("Pomelo"))
	m.exec(t, fmt.Sprintf(pomeloDDL, m.qualified(), pomeloIndex))

	r := m.verify(t)
	if r.Status != schema.StatusOK || len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, "no sessctl version") {
		t.Errorf("verify of Pomelo's table: %+v, want ok with one warning: no version", r)
	}
	res := m.create(t)
	if res.Status != schema.CreateAdopted || res.Version != 2 || len(res.Warnings) != 0 {
		t.Errorf("create of Pomelo's table: %+v, want adopted at version 2 without warnings", res)
	}
	if n := expiryIndexes(m.inspect(t)); n != 1 {
		t.Errorf("%d indexes on ExpiresAtTime after adopting, want Pomelo's one", n)
	}
	if res := m.create(t); res.Status != schema.CreateUpToDate {
		t.Errorf("second create: %s, want up to date", res.Status)
	}
	if r := m.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify after create: %+v, want ok without findings", r)
	}

	m.s.Seed(t, m.raw, m.table.Table, "old", 30, 64, -time.Hour)
	m.s.Seed(t, m.raw, m.table.Table, "live", 10, 64, time.Hour)
	pr, err := schema.Purge(ctx, m.db, m.table, schema.PurgeOptions{DryRun: true})
	if err != nil || *pr.Remaining != 30 || pr.Plan == "" {
		t.Fatalf("purge --dry-run: %+v, %v; want 30 expired rows and a plan", pr, err)
	}
	if !strings.Contains(pr.Plan, "Index_ExpiresAtTime") {
		t.Errorf("the purge batch's plan does not use the expiry index:\n%s", pr.Plan)
	}
	pr, err = schema.Purge(ctx, m.db, m.table, schema.PurgeOptions{BatchSize: 7})
	// 4 batches of 7, one of 2, and one that deletes none: a short
	// batch may be a trigger's doing, so purge goes on until one is empty.
	if err != nil || pr.Deleted != 30 || pr.Batches != 6 {
		t.Fatalf("purge: %+v, %v; want 30 rows deleted in 6 batches", pr, err)
	}
	if n := m.s.Count(t, m.raw, m.table.Table, "live"); n != 10 {
		t.Errorf("purge left %d of 10 live rows", n)
	}

	if _, err := schema.Drop(ctx, m.db, m.table, schema.DropOptions{}); err != nil {
		t.Fatal(err)
	}
	info := m.inspect(t)
	if info.Kind != dialects.KindMissing || info.VersionTable {
		t.Errorf("after drop: %s, version table %v; want both gone", info.Kind, info.VersionTable)
	}
}

// TestMySQLCreateAddsIndexOnce: a table without an expiry index gets one;
// a table with one under another name does not get a second.
func TestMySQLCreateAddsIndexOnce(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("NoIndex"))
	m.exec(t, fmt.Sprintf(pomeloDDL, m.qualified(), ""))
	res := m.create(t)
	info := m.inspect(t)
	if ix, ok := info.ExpiryIndex(); !ok || ix.Name != "Index_ExpiresAtTime" || res.Status != schema.CreateAdopted {
		t.Errorf("create of a table without an expiry index: %+v; indexes %+v", res, info.Indexes)
	}

	other := newMySQLTest(t, dialecttest.Table("OtherIndex"))
	other.exec(t, fmt.Sprintf(pomeloDDL, other.qualified(), ", KEY `IX_Expiry` (`ExpiresAtTime`, `Id`)"))
	other.create(t)
	if n := expiryIndexes(other.inspect(t)); n != 1 {
		t.Errorf("%d indexes on ExpiresAtTime, want only the table's own IX_Expiry", n)
	}
	// The migration itself is guarded too, as create --script --idempotent
	// runs it: by what the index is, not by its name.
	script, err := schema.CreateScript(other.table, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.db.Exec(script); err != nil {
		t.Fatalf("create --script --idempotent on a table that has everything: %v", err)
	}
	if n := expiryIndexes(other.inspect(t)); n != 1 {
		t.Errorf("the idempotent script made a second index on ExpiresAtTime")
	}
}

// TestMySQLCreateFinishesDirtyRun: a run that died after its index
// statement, or before it, leaves version 2 dirty; the next run converges.
func TestMySQLCreateFinishesDirtyRun(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("Dirty"))
	m.create(t)
	vt := m.s.Qualified(m.table.VersionTable)

	m.exec(t, "UPDATE "+vt+" SET dirty = 1")
	if res := m.create(t); res.Status != schema.CreateUpgraded || res.Version != 2 {
		t.Errorf("create after a run died with the index made: %+v", res)
	}
	m.exec(t, "DROP INDEX `Index_ExpiresAtTime` ON "+m.qualified())
	m.exec(t, "UPDATE "+vt+" SET dirty = 1")
	m.create(t)
	info := m.inspect(t)
	if n := expiryIndexes(info); n != 1 || info.Version == nil || info.Version.Dirty {
		t.Errorf("create after a run died before the index: %d expiry indexes, version %+v", n, info.Version)
	}
}

// TestMySQLConcurrentCreates: CI jobs that start together all create the
// same table; every one of them succeeds.
func TestMySQLConcurrentCreates(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("Many"))
	const runs = 16
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range runs {
		db := connectMySQL(t, m.s)
		wg.Go(func() {
			_, err := schema.Create(context.Background(), db, m.table, schema.CreateOptions{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("one of %d creates at once: %v", runs, err)
		}
	}
	if r := m.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify after %d creates at once: %+v", runs, r)
	}
}

// TestMySQLCreateWaitsOutTheLock: golang-migrate's own MySQL lock gives up
// after 10 seconds. A create queued behind a longer one must wait and
// succeed; one that waits past its own limit fails with a clear message
// and leaves nothing half made.
func TestMySQLCreateWaitsOutTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a lock for 12 seconds")
	}
	t.Parallel()
	ctx := context.Background()
	m := newMySQLTest(t, dialecttest.Table("Wait"))
	holder, err := m.s.Dialect.MigrateDriver(m.s.Conn(t), m.table.Names)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}

	_, err = schema.Create(ctx, m.db, m.table, schema.CreateOptions{LockTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "held the lock") {
		t.Errorf("create past its lock timeout: %v, want it to say another create held the lock", err)
	}
	if info := m.inspect(t); info.Kind != dialects.KindMissing {
		t.Errorf("a create that never got the lock left the table %s", info.Kind)
	}

	done := make(chan error, 1)
	go func() {
		_, err := schema.Create(ctx, m.db, m.table, schema.CreateOptions{LockTimeout: time.Minute})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("create ended while another held the lock: %v", err)
	case <-time.After(12 * time.Second):
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("create after waiting 12 seconds for the lock: %v", err)
	}
	if r := m.verify(t); r.Status != schema.StatusOK {
		t.Errorf("verify: %+v", r)
	}
}

// TestMySQLVerifyFindings makes tables that differ from Pomelo's in the
// ways that matter, checks what verify says, and that its fixes work.
func TestMySQLVerifyFindings(t *testing.T) {
	t.Parallel()
	const (
		id      = "`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"
		abs     = "`AbsoluteExpiration` datetime(6) NULL"
		expires = "`ExpiresAtTime` datetime(6) NOT NULL"
		sliding = "`SlidingExpirationInSeconds` bigint NULL"
		value   = "`Value` longblob NOT NULL"
		pk      = "PRIMARY KEY (`Id`)"
		ix      = "KEY `Index_ExpiresAtTime` (`ExpiresAtTime`)"
	)
	for _, tc := range []struct {
		name    string
		columns []string
		engine  string
		errors  []string // substrings of the error findings, in order
		notes   []string // substrings of warnings
	}{
		{name: "CaseInsensitive",
			columns: []string{"`Id` varchar(449) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL", abs, expires, sliding, value, pk, ix},
			errors:  []string{"collation utf8mb4_general_ci, under which keys that differ only in case collide"},
			notes:   []string{"utf8mb4, not ascii"}},
		{name: "Latin1CaseInsensitive",
			columns: []string{"`Id` varchar(449) CHARACTER SET latin1 NOT NULL", abs, expires, sliding, value, pk, ix},
			errors:  []string{"collation latin1_swedish_ci"},
			notes:   []string{"latin1, not ascii"}},
		{name: "Utf8mb4Bin",
			columns: []string{"`Id` varchar(449) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL", abs, expires, sliding, value, pk, ix},
			notes:   []string{"utf8mb4, not ascii as dotnet mysql-cache makes it: a key takes up to 1796 bytes"}},
		{name: "Seconds",
			columns: []string{id, "`AbsoluteExpiration` datetime NULL", "`ExpiresAtTime` datetime NOT NULL", sliding, value, pk, ix},
			errors: []string{"`AbsoluteExpiration` is datetime; the provider needs datetime(6)",
				"`ExpiresAtTime` is datetime; the provider needs datetime(6)"}},
		{name: "Timestamp",
			columns: []string{id, abs, "`ExpiresAtTime` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)", sliding, value, pk, ix},
			errors:  []string{"`ExpiresAtTime` is timestamp(6); the provider needs datetime(6)"}},
		{name: "Short",
			columns: []string{"`Id` varchar(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", abs, expires, sliding, "`Value` blob NOT NULL", pk, ix},
			errors:  []string{"`Id` is varchar(200); the provider needs varchar(449)", "`Value` is blob; the provider needs longblob"}},
		{name: "NullsWrong",
			columns: []string{id, "`AbsoluteExpiration` datetime(6) NOT NULL", "`ExpiresAtTime` datetime(6) NULL", sliding, value, pk, ix},
			errors:  []string{"`AbsoluteExpiration` is NOT NULL", "`ExpiresAtTime` allows NULL"}},
		{name: "KeyPrefix",
			columns: []string{id, abs, expires, sliding, value, "PRIMARY KEY (`Id`(100))", ix},
			errors:  []string{"is on (Id(100)), not on (Id)"}},
		{name: "LowerCaseColumns",
			columns: []string{"`id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", "`absoluteexpiration` datetime(6) NULL",
				"`expiresattime` datetime(6) NOT NULL", "`slidingexpirationinseconds` bigint NULL", "`VALUE` longblob NOT NULL",
				"PRIMARY KEY (`id`)", "KEY `ix` (`expiresattime`)"}},
		{name: "MyISAM", columns: []string{id, abs, expires, sliding, value, pk, ix}, engine: "MyISAM",
			notes: []string{"ENGINE=MyISAM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMySQLTest(t, dialecttest.Table(tc.name))
			ddl := "CREATE TABLE " + m.qualified() + " (" + strings.Join(tc.columns, ", ") + ")"
			if tc.engine != "" {
				ddl += " ENGINE=" + tc.engine
			}
			m.exec(t, ddl)
			m.exec(t, fmt.Sprintf("CREATE TABLE %s (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)", m.s.Qualified(m.table.VersionTable)))
			m.exec(t, "INSERT INTO "+m.s.Qualified(m.table.VersionTable)+" VALUES (2, 0)")

			r := m.verify(t)
			var errs, notes []schema.Finding
			for _, f := range r.Findings {
				if f.Severity == schema.SeverityError {
					errs = append(errs, f)
				} else {
					notes = append(notes, f)
				}
			}
			if len(errs) != len(tc.errors) {
				t.Fatalf("verify found %d errors, want %d: %+v", len(errs), len(tc.errors), r.Findings)
			}
			for i, want := range tc.errors {
				if !strings.Contains(errs[i].Message, want) {
					t.Errorf("error %d is %q, want it to say %q", i, errs[i].Message, want)
				}
			}
			for _, want := range tc.notes {
				found := false
				for _, f := range notes {
					found = found || strings.Contains(f.Message, want)
				}
				if !found {
					t.Errorf("verify warned %+v, want a warning that says %q", notes, want)
				}
			}
			if (r.Status == schema.StatusOK) != (len(tc.errors) == 0) {
				t.Errorf("status %s with %d errors", r.Status, len(errs))
			}
			// Every fix verify prints that is a statement, run in order,
			// mends the table.
			fixed := 0
			for _, f := range errs {
				if strings.HasPrefix(f.Fix, "ALTER TABLE") {
					m.exec(t, f.Fix)
					fixed++
				}
			}
			if fixed > 0 && fixed == len(errs) {
				if r := m.verify(t); r.Status != schema.StatusOK {
					t.Errorf("verify after running its fixes: %+v", r)
				}
			}
		})
	}
}

// TestMySQLPurgeUsesUTC: the columns hold UTC, so purge compares them with
// UTC_TIMESTAMP(6). NOW() follows the session's time zone: east of UTC it
// would delete live sessions, west of it keep expired ones.
func TestMySQLPurgeUsesUTC(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"+05:00", "-05:00"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			m := newMySQLTest(t, dialecttest.Table("Zone"), "time_zone="+url.QueryEscape("'"+zone+"'"))
			m.create(t)
			var offset float64
			if err := m.db.QueryRow("SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW())").Scan(&offset); err != nil || offset == 0 {
				t.Fatalf("the session's clock is %v minutes from UTC (%v); the test needs a session time zone other than UTC", offset, err)
			}
			ins := "INSERT INTO " + m.qualified() + " (Id, Value, ExpiresAtTime) VALUES (?, 0x00, UTC_TIMESTAMP(6) + INTERVAL ? MINUTE)"
			for i, minutes := range []int{-1, -1, -1, 60, 60, 6 * 60} {
				if _, err := m.db.Exec(ins, fmt.Sprintf("row%d", i), minutes); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			pr, err := schema.Purge(ctx, m.db, m.table, schema.PurgeOptions{DryRun: true})
			if err != nil || *pr.Remaining != 3 {
				t.Fatalf("purge --dry-run with time zone %s: %+v, %v; want the 3 rows expired by UTC", zone, pr, err)
			}
			pr, err = schema.Purge(ctx, m.db, m.table, schema.PurgeOptions{})
			if err != nil || pr.Deleted != 3 {
				t.Fatalf("purge with time zone %s: %+v, %v; want the 3 rows expired by UTC deleted", zone, pr, err)
			}
			if n := m.s.Count(t, m.raw, m.table.Table, "row"); n != 3 {
				t.Errorf("%d rows left, want the 3 live ones", n)
			}
		})
	}
}

// TestMySQLHostileNames runs the cycle on names built to break quoting,
// with and without NO_BACKSLASH_ESCAPES.
func TestMySQLHostileNames(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES"} {
		for _, hostile := range []string{"`x", "'; DROP TABLE y; --", `\'`, `a"b]c%_`} {
			t.Run(mode+hostile, func(t *testing.T) {
				t.Parallel()
				var params []string
				if mode != "" {
					params = append(params, "sql_mode="+url.QueryEscape("'"+mode+"'"))
				}
				m := newMySQLTest(t, dialecttest.Table("H")+hostile, params...)
				ctx := context.Background()
				if res := m.create(t); res.Status != schema.CreateCreated {
					t.Errorf("create: %+v", res)
				}
				if res := m.create(t); res.Status != schema.CreateUpToDate {
					t.Errorf("second create: %+v", res)
				}
				if r := m.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
					t.Errorf("verify: %+v", r)
				}
				m.s.Seed(t, m.raw, m.table.Table, "old", 5, 8, -time.Minute)
				if pr, err := schema.Purge(ctx, m.db, m.table, schema.PurgeOptions{}); err != nil || pr.Deleted != 5 {
					t.Errorf("purge: %+v, %v", pr, err)
				}
				if _, err := schema.Drop(ctx, m.db, m.table, schema.DropOptions{}); err != nil {
					t.Fatal(err)
				}
				if info := m.inspect(t); info.Kind != dialects.KindMissing || info.VersionTable {
					t.Errorf("after drop: %+v", info)
				}
			})
		}
	}
}

// TestMySQLNamesKeepTheirCase: where table names are case-sensitive,
// SessionData and sessiondata are two tables, and sessctl never takes one
// for the other.
func TestMySQLNamesKeepTheirCase(t *testing.T) {
	t.Parallel()
	upper := newMySQLTest(t, dialecttest.Table("CaseTable"))
	var fold int
	if err := upper.raw.QueryRow("SELECT @@lower_case_table_names").Scan(&fold); err != nil {
		t.Fatal(err)
	}
	if fold != 0 {
		t.Skipf("lower_case_table_names = %d: table names are not case-sensitive on this server", fold)
	}
	lower := newMySQLTest(t, strings.ToLower(upper.table.Table))
	lower.exec(t, "CREATE TABLE "+lower.qualified()+" (other int)")
	if r := upper.verify(t); r.Status != schema.StatusMissing {
		t.Errorf("verify of %s while only %s exists: %s", upper.table, lower.table, r.Status)
	}
	upper.create(t)
	if r := upper.verify(t); r.Status != schema.StatusOK {
		t.Errorf("verify of %s: %+v", upper.table, r)
	}
	if r := lower.verify(t); r.Status != schema.StatusIncompatible {
		t.Errorf("verify of %s, which is not a cache table: %s", lower.table, r.Status)
	}
}

// TestMySQLVerifyAsAppUser: verify runs as the app's own user, which may
// read the cache table and nothing else.
func TestMySQLVerifyAsAppUser(t *testing.T) {
	t.Parallel()
	m := newMySQLTest(t, dialecttest.Table("AppUser"))
	m.create(t)
	user := strings.ToLower(dialecttest.Table("app"))
	account := "'" + user + "'@'%'"
	if _, err := m.raw.Exec("CREATE USER " + account + " IDENTIFIED BY 'app-pw'"); err != nil {
		var me *gomysql.MySQLError
		if errors.As(err, &me) && me.Number == 1227 { // ER_SPECIFIC_ACCESS_DENIED_ERROR
			t.Skipf("the test server's user may not create users: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { m.raw.Exec("DROP USER " + account) })
	m.exec(t, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+m.qualified()+" TO "+account)

	c := m.s.Conn(t)
	cfg, err := gomysql.ParseDSN(c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = user, "app-pw"
	app := m.s
	app.DSN = cfg.FormatDSN()
	appDB := connectMySQL(t, app)
	r, err := schema.Verify(context.Background(), appDB, m.table, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != schema.StatusOK || !strings.Contains(fmt.Sprint(r.Findings), "could not be read") {
		t.Errorf("verify as a user who may not read the version table: %+v", r)
	}
	m.exec(t, "GRANT SELECT ON "+m.s.Qualified(m.table.VersionTable)+" TO "+account)
	if r, err := schema.Verify(context.Background(), appDB, m.table, true); err != nil || r.Status != schema.StatusOK || *r.Version != 2 {
		t.Errorf("verify --strict as the app's user: %+v, %v", r, err)
	}
	if pr, err := schema.Purge(context.Background(), appDB, m.table, schema.PurgeOptions{}); err != nil || pr.Status != schema.PurgeDone {
		t.Errorf("purge as the app's user: %+v, %v", pr, err)
	}
}
