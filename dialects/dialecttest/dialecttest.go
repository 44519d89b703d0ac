// Package dialecttest chooses the database servers integration tests run
// against. SQLite always runs, on a file in the test's temporary folder.
// Every other dialect runs when SESSCTL_TEST_<DIALECT>_DSN holds a
// connection string for it; without one its tests skip, naming the
// variable, unless SESSCTL_TEST_REQUIRE lists the dialect, in which case
// they fail: in CI a missing server must never read as a pass.
// SESSCTL_TEST_ENGINES, set, narrows the run to the engines it lists
// (make test-postgres): the others' tests skip, SQLite's included, and
// so do their private servers and tools.
package dialecttest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
)

// RequireEnv lists, comma-separated, the dialects whose server must be there.
const RequireEnv = "SESSCTL_TEST_REQUIRE"

// EnginesEnv lists, comma-separated, the engines tests run on; every
// other engine's tests skip, saying so, even where SESSCTL_TEST_REQUIRE
// names it. Unset or empty: every engine.
const EnginesEnv = "SESSCTL_TEST_ENGINES"

// Server is one database to test against.
type Server struct {
	Dialect dialects.Dialect
	// DSN is a connection string for it, in a form users give.
	DSN string
	// Schema is the schema (MySQL: database) tests create tables in.
	Schema string
}

// DSNEnv is the variable that holds the test server of dialect name.
func DSNEnv(name string) string { return "SESSCTL_TEST_" + strings.ToUpper(name) + "_DSN" }

// SchemaEnv overrides the schema tests use on dialect name's server.
func SchemaEnv(name string) string { return "SESSCTL_TEST_" + strings.ToUpper(name) + "_SCHEMA" }

// defaultSchemas are the schemas tests use unless SchemaEnv says otherwise.
var defaultSchemas = map[string]string{
	"postgres":  "public",
	"sqlserver": "dbo",
	"mysql":     "test",
	"sqlite":    "main",
}

// list is the names an environment variable lists, comma-separated.
func list(env string) []string {
	var names []string
	for _, n := range strings.Split(os.Getenv(env), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// Selected reports whether SESSCTL_TEST_ENGINES lets the tests of engine
// name run: it is unset, or lists name. A tool is selected with its
// engine.
func Selected(name string) bool {
	if tl, ok := tools[name]; ok {
		name = tl.engine
	}
	engines := list(EnginesEnv)
	if len(engines) == 0 {
		return true
	}
	for _, e := range engines {
		if strings.EqualFold(e, name) {
			return true
		}
	}
	return false
}

// SkipUnselected skips t when SESSCTL_TEST_ENGINES leaves engine name out.
func SkipUnselected(t testing.TB, name string) {
	t.Helper()
	if !Selected(name) {
		t.Skipf("%s is not among %s=%s", name, EnginesEnv, os.Getenv(EnginesEnv))
	}
}

// Required reports whether SESSCTL_TEST_REQUIRE lists dialect (or tool)
// name and SESSCTL_TEST_ENGINES selects it.
func Required(name string) bool {
	if !Selected(name) {
		return false
	}
	for _, r := range list(RequireEnv) {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// checkEnv fails t when SESSCTL_TEST_REQUIRE or SESSCTL_TEST_ENGINES
// names an engine sessctl does not know (nor, for the first, a tool).
func checkEnv(t testing.TB) {
	t.Helper()
	for _, env := range []string{RequireEnv, EnginesEnv} {
		for _, r := range list(env) {
			if _, tool := tools[r]; tool && env == RequireEnv {
				continue
			}
			if _, err := registry.Lookup(r); err != nil {
				t.Fatalf("%s names %q: %v", env, r, err)
			}
		}
	}
}

// Get returns the server of dialect name, skipping or failing t when there
// is none, and skipping t when SESSCTL_TEST_ENGINES leaves it out.
func Get(t testing.TB, name string) Server {
	t.Helper()
	checkEnv(t)
	d, err := registry.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	SkipUnselected(t, name)
	schema := os.Getenv(SchemaEnv(name))
	if schema == "" {
		schema = defaultSchemas[name]
	}
	if name == "sqlite" {
		return Server{Dialect: d, DSN: filepath.Join(t.TempDir(), "sessctl-test.db"), Schema: "main"}
	}
	dsn := os.Getenv(DSNEnv(name))
	if dsn == "" {
		if Required(name) {
			t.Fatalf("%s is required by %s=%s but %s is not set", name, RequireEnv, os.Getenv(RequireEnv), DSNEnv(name))
		}
		t.Skipf("no %s server: set %s to run these tests", name, DSNEnv(name))
	}
	return Server{Dialect: d, DSN: dsn, Schema: schema}
}

// tools are the commands some tests run, the Debian package of each, and
// the engine whose tests they are. SESSCTL_TEST_REQUIRE names them as it
// names dialects, so that CI fails where one is missing instead of
// skipping those tests.
var tools = map[string]struct{ pkg, engine string }{"sqlite3": {pkg: "sqlite3", engine: "sqlite"}}

// Tool returns the path of the command name, one of tools. Without it, t
// skips, naming the package to install; or fails, when SESSCTL_TEST_REQUIRE
// names it. It skips too when SESSCTL_TEST_ENGINES leaves its engine out.
func Tool(t testing.TB, name string) string {
	t.Helper()
	tl, ok := tools[name]
	if !ok {
		t.Fatalf("dialecttest: %q is not a tool tests know", name)
	}
	SkipUnselected(t, tl.engine)
	pkg := tl.pkg
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if Required(name) {
		t.Fatalf("%s is required by %s=%s but is not installed (apt-get install -y %s)", name, RequireEnv, os.Getenv(RequireEnv), pkg)
	}
	t.Skipf("no %s command: install the %s package (apt-get install -y %s) to run this test", name, pkg, pkg)
	return ""
}

// Each runs fn as a subtest for every dialect, named after it; those
// SESSCTL_TEST_ENGINES leaves out skip. A dialect that SESSCTL_TEST_REQUIRE
// or SESSCTL_TEST_ENGINES names but sessctl does not know (nor is a tool)
// fails it.
//
// It runs t in parallel with the package's other parallel tests (a test
// that calls Each must not call t.Parallel, nor Each twice): every test
// uses tables of its own (Table), and one engine's subtest, the TDS
// server's mostly, would otherwise hold the package up while the others
// wait, each test's slowest subtest added to the next one's.
func Each(t *testing.T, fn func(t *testing.T, s Server)) {
	t.Helper()
	t.Parallel()
	checkEnv(t)
	for _, name := range registry.List() {
		t.Run(name, func(t *testing.T) {
			fn(t, Get(t, name))
		})
	}
}

var seq atomic.Int64

// Table returns a table name no other test uses, beginning with prefix, so
// that tests can run in parallel on one server.
func Table(prefix string) string {
	return fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
}

// Conn parses the server's connection string.
func (s Server) Conn(t testing.TB) *dialects.Conn {
	t.Helper()
	c, err := registry.Parse(s.DSN, s.Dialect.Name())
	if err != nil {
		t.Fatalf("parsing %s: %v", DSNEnv(s.Dialect.Name()), err)
	}
	return c
}

// Open opens the server's database for a test's own SQL, closed at cleanup.
func (s Server) Open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := s.Dialect.Open(s.Conn(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("connecting to the %s test server: %v", s.Dialect.Name(), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// DropAtCleanup drops table and its version table when t ends.
func (s Server) DropAtCleanup(t testing.TB, db *sql.DB, table string) {
	t.Helper()
	n := s.Dialect.Names(s.Schema, table)
	t.Cleanup(func() {
		for _, name := range []string{n.Table, n.VersionTable} {
			q := "DROP TABLE IF EXISTS " + s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(name)
			if _, err := db.Exec(q); err != nil {
				t.Errorf("cleanup: %s: %v", q, err)
			}
		}
	})
}

// seedSQL inserts rows Id = $prefix || i for i in 1..n, with a value of
// size bytes, expiring at the database's now + offset seconds (negative:
// expired). Its parameters are prefix, size, offset seconds, n. (MySQL's
// makes at most 100,000 rows a call.)
var seedSQL = map[string]string{
	"mysql": `INSERT INTO %[1]s (Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration)
		SELECT CONCAT(?, g.i), UNHEX(REPEAT('AB', ?)), UTC_TIMESTAMP(6) + INTERVAL ROUND(? * 1000000) MICROSECOND, NULL, NULL
		FROM (WITH d AS (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
				UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
			SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS i FROM d a, d b, d c, d e, d f) AS g
		WHERE g.i <= ?`,
	"postgres": `INSERT INTO %[1]s ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
		SELECT $1 || g, decode(repeat('ab', $2), 'hex'), now() + make_interval(secs => $3), NULL, NULL
		FROM generate_series(1, $4) AS g`,
	"sqlite": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?4)
		INSERT INTO %[1]s ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
		SELECT ?1 || i, zeroblob(?2), CAST(unixepoch('subsec') * 1000000 AS INTEGER) + CAST(?3 * 1000000 AS INTEGER), NULL, NULL FROM g`,
	"sqlserver": `INSERT INTO %[1]s ([Id], [Value], [ExpiresAtTime], [SlidingExpirationInSeconds], [AbsoluteExpiration])
		SELECT @p1 + CAST(g.i AS nvarchar(20)), CAST(REPLICATE(CAST(0xAB AS varbinary(max)), @p2) AS varbinary(max)),
			DATEADD(millisecond, CAST(@p3 * 1000 AS int), SYSDATETIMEOFFSET()), NULL, NULL
		FROM (SELECT TOP (@p4) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i
			FROM sys.all_columns AS a CROSS JOIN sys.all_columns AS b) AS g`,
}

// slideSQL moves a row's expiry to the database's now + $1 seconds if it
// expired no more than $3 seconds ago by the database's clock: what the
// providers' refresh does from an app whose clock runs $3 seconds behind
// the database's. Its parameters are seconds ahead, Id, seconds of skew.
var slideSQL = map[string]string{
	"postgres": `UPDATE %[1]s SET "ExpiresAtTime" = now() + make_interval(secs => $1)
		WHERE "Id" = $2 AND "ExpiresAtTime" >= now() - make_interval(secs => $3)`,
	"sqlite": `UPDATE %[1]s SET "ExpiresAtTime" = CAST(unixepoch('subsec') * 1000000 AS INTEGER) + CAST(?1 * 1000000 AS INTEGER)
		WHERE "Id" = ?2 AND "ExpiresAtTime" >= CAST(unixepoch('subsec') * 1000000 AS INTEGER) - CAST(?3 * 1000000 AS INTEGER)`,
	"mysql": "UPDATE %[1]s SET `ExpiresAtTime` = TIMESTAMPADD(MICROSECOND, CAST(? * 1000000 AS SIGNED), UTC_TIMESTAMP(6))" +
		" WHERE `Id` = ? AND `ExpiresAtTime` >= TIMESTAMPADD(MICROSECOND, -CAST(? * 1000000 AS SIGNED), UTC_TIMESTAMP(6))",
	"sqlserver": `UPDATE %[1]s SET [ExpiresAtTime] = DATEADD(millisecond, CAST(@p1 * 1000 AS int), SYSDATETIMEOFFSET())
		WHERE [Id] = @p2 AND [ExpiresAtTime] >= DATEADD(millisecond, -CAST(@p3 * 1000 AS int), SYSDATETIMEOFFSET())`,
}

// Slide moves the expiry of row id of table to the database's now + ahead,
// as an app's refresh does, if the row expired no more than skew ago by the
// database's clock (an app whose clock is skew behind still sees it live).
// It reports whether the row was there to slide.
func (s Server) Slide(t testing.TB, db *sql.DB, table, id string, ahead, skew time.Duration) bool {
	t.Helper()
	q, ok := slideSQL[s.Dialect.Name()]
	if !ok {
		t.Fatalf("dialecttest: no slide SQL for %s", s.Dialect.Name())
	}
	res, err := db.Exec(fmt.Sprintf(q, s.Qualified(table)), ahead.Seconds(), id, skew.Seconds())
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

// Row reports whether row id of table is there, and whether it is live by
// the database's clock.
func (s Server) Row(t testing.TB, db *sql.DB, table, id string) (exists, live bool) {
	t.Helper()
	var n, l int64
	q := fmt.Sprintf(`SELECT count(*), count(CASE WHEN %s >= %s THEN 1 END) FROM %s WHERE %s = %s`,
		s.Dialect.Quote("ExpiresAtTime"), nowSQL[s.Dialect.Name()], s.Qualified(table), s.Dialect.Quote("Id"), placeholder(s.Dialect.Name()))
	if err := db.QueryRow(q, id).Scan(&n, &l); err != nil {
		t.Errorf("reading %s of %s: %v", id, table, err)
	}
	return n == 1, l == 1
}

// nowSQL is the database's clock in the table's representation.
var nowSQL = map[string]string{
	"postgres":  "now()",
	"sqlite":    "CAST(unixepoch('subsec') * 1000000 AS INTEGER)",
	"mysql":     "UTC_TIMESTAMP(6)",
	"sqlserver": "SYSDATETIMEOFFSET()",
}

// Qualified is schema.table, quoted.
func (s Server) Qualified(table string) string {
	return s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(table)
}

// Seed inserts n rows with keys prefix1…prefixN and values of size bytes,
// expiring expiresIn from the database's now (negative: already expired).
func (s Server) Seed(t testing.TB, db *sql.DB, table, prefix string, n, size int, expiresIn time.Duration) {
	t.Helper()
	q, ok := seedSQL[s.Dialect.Name()]
	if !ok {
		t.Fatalf("dialecttest: no seed SQL for %s", s.Dialect.Name())
	}
	if _, err := db.Exec(fmt.Sprintf(q, s.Qualified(table)), prefix, size, expiresIn.Seconds(), n); err != nil {
		t.Fatalf("seeding %s: %v", table, err)
	}
}

// Count counts the rows of table whose Id begins with prefix.
func (s Server) Count(t testing.TB, db *sql.DB, table, prefix string) int64 {
	t.Helper()
	var n int64
	q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s LIKE %s`, s.Qualified(table), s.Dialect.Quote("Id"), placeholder(s.Dialect.Name()))
	if err := db.QueryRow(q, prefix+"%").Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// placeholder is the first bind parameter in dialect name's syntax.
func placeholder(name string) string {
	switch name {
	case "postgres":
		return "$1"
	case "sqlserver":
		return "@p1"
	}
	return "?"
}

// usualSchemas are the schemas most users of each engine mean.
var usualSchemas = map[string]string{"postgres": "public", "mysql": "app", "sqlite": "main", "sqlserver": "dbo"}

// DefaultSchema is the schema most users of d mean (public, app, main,
// dbo), for tests that need one.
func DefaultSchema(d dialects.Core) string { return usualSchemas[d.Name()] }

// QuoteLiteral is d's string literal of s, as its engine package renders
// it into SQL files (every engine has one; it is not part of the contract,
// which binds values).
func QuoteLiteral(d dialects.Core, s string) string {
	return d.(interface{ QuoteLiteral(string) string }).QuoteLiteral(s)
}
