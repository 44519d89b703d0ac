package cmd

import (
	"bufio"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
)

// hostileNamesFile is the corpus of TestHostileNames; its header documents
// the syntax.
const hostileNamesFile = "../testdata/hostile_names.txt"

// hostileAllEnv, set, runs every hostile name on SQL Server too.
const hostileAllEnv = "SESSCTL_TEST_HOSTILE_ALL"

// Outcomes a hostile name may have, as the corpus writes them.
const (
	outcomeOK      = "ok"
	outcomeBad     = "bad"
	outcomeRefused = "refused"
	// outcomeSkipped: a name the TDS stand-in stores otherwise than
	// SQL Server (babelfishStoresOtherwise), not tried there.
	outcomeSkipped = "skipped"
	outcomeAny     = "any"
)

// hostileCase is one line of the corpus.
type hostileCase struct {
	line   int
	kind   string // "table" or "schema"
	name   string
	expect string            // the default outcome
	except map[string]string // dialect → outcome
}

func (c hostileCase) want(dialect string) string {
	if o, ok := c.except[dialect]; ok {
		return o
	}
	return c.expect
}

func (c hostileCase) String() string {
	return fmt.Sprintf("line %d: %s %s", c.line, c.kind, strconv.QuoteToASCII(c.name))
}

// hostileTableName is the table schema cases create in the hostile schema.
const hostileTableName = "HostileCache"

// loadHostileNames reads the corpus.
func loadHostileNames(t *testing.T) []hostileCase {
	t.Helper()
	f, err := os.Open(hostileNamesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []hostileCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := parseHostileLine(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", hostileNamesFile, n, err)
		}
		c.line = n
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// parseHostileLine parses KIND NAME EXPECT... [# comment].
func parseHostileLine(line string) (hostileCase, error) {
	c := hostileCase{except: map[string]string{}}
	kind, rest, _ := strings.Cut(line, " ")
	if kind != "table" && kind != "schema" {
		return c, fmt.Errorf("kind %q: want table or schema", kind)
	}
	c.kind = kind
	rest = strings.TrimSpace(rest)
	var name strings.Builder
	for strings.HasPrefix(rest, `"`) {
		lit, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return c, fmt.Errorf("name: %v", err)
		}
		s, _ := strconv.Unquote(lit)
		rest = rest[len(lit):]
		times := 1
		if strings.HasPrefix(rest, "*") {
			digits := strings.TrimLeft(rest[1:], "0123456789")
			if times, err = strconv.Atoi(rest[1 : len(rest)-len(digits)]); err != nil {
				return c, fmt.Errorf("repeat: %v", err)
			}
			rest = digits
		}
		name.WriteString(strings.Repeat(s, times))
		rest = strings.TrimSpace(rest)
	}
	c.name = name.String()
	if before, _, ok := strings.Cut(rest, "#"); ok {
		rest = before
	}
	words := strings.Fields(rest)
	if len(words) == 0 {
		return c, fmt.Errorf("no expected outcome")
	}
	valid := func(o string) bool {
		return o == outcomeOK || o == outcomeBad || o == outcomeRefused || o == outcomeAny
	}
	c.expect = words[0]
	if !valid(c.expect) {
		return c, fmt.Errorf("outcome %q: want ok, bad, refused or any", c.expect)
	}
	for _, w := range words[1:] {
		d, o, ok := strings.Cut(w, "=")
		if !ok || !valid(o) || !slices.Contains([]string{"mysql", "postgres", "sqlite", "sqlserver"}, d) {
			return c, fmt.Errorf("exception %q: want DIALECT=OUTCOME", w)
		}
		c.except[d] = o
	}
	return c, nil
}

// TestHostileNamesCorpus: the corpus parses, and holds what it must.
func TestHostileNamesCorpus(t *testing.T) {
	cases := loadHostileNames(t)
	if len(cases) < 50 {
		t.Errorf("the corpus has %d names, want at least 50", len(cases))
	}
	kinds := map[string]int{}
	for _, c := range cases {
		kinds[c.kind]++
	}
	if kinds["table"] == 0 || kinds["schema"] == 0 {
		t.Errorf("the corpus has %v: want table and schema names", kinds)
	}
	c, err := parseHostileLine(`table  "é"*2 "a\x00" ok mysql=bad  # x`)
	if err != nil || c.name != "ééa\x00" || c.want("mysql") != "bad" || c.want("sqlite") != "ok" {
		t.Errorf("parse: %+v, %v", c, err)
	}
}

// sentinels are the tables the test schema holds before every case: names a
// careless quoting would hit. Each has one row, a = its index + 1; view v
// reads x.
var sentinels = []string{"SessionData", "x", "y", "users", "order"}

// sentinelView is the view among the sentinels.
const sentinelView = "v"

// TestHostileNames: for every name of the corpus, in every dialect, create
// either makes exactly that table (and its version table) in exactly that
// schema, which verify, purge and drop --yes then handle, or refuses with a
// one-line message; and it creates, changes or drops nothing else, which a
// snapshot of the catalog before and after shows: the schemas, and every
// table, view, index, column, constraint and row count in the test's
// schema, in a second schema beside it, and in the hostile schema.
//
// Each dialect runs its cases in a few workers at once, each with a test
// schema and sentinels of its own: the schema names in one, the table
// names split among the others. Only the workers that make no schemas of
// their own (schema names; SQLite's one) compare the list of schemas.
//
// The key ring (--layout keys) runs every fourth table name, in a worker
// of its own, on PostgreSQL, MariaDB and SQLite: made and dropped (its
// purge refused), or refused, as the corpus says of the cache table.
func TestHostileNames(t *testing.T) {
	cases := loadHostileNames(t)
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		cat, ok := hostileCatalogs[s.Dialect.Name()]
		if !ok {
			t.Fatalf("no catalog snapshot for %s", s.Dialect.Name())
		}
		db := s.Open(t)
		if cat.lock != nil {
			conn, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			cat.lock(t, conn)
		}
		workers := hostileWorkers(cases, s.Dialect.Name())
		var mu sync.Mutex
		count, keys := map[string]int{}, map[string]int{}
		t.Run("workers", func(t *testing.T) {
			for name, cases := range workers {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					h := &hostileRun{s: s, db: db, cat: cat, dir: filepath.Dir(s.DSN), global: name == "all" || name == "schemas",
						babelfish: s.Babelfish(t, db), layout: layouts.Cache}
					if name == keysWorker {
						h.layout = layouts.Keys
						if s.Dialect.Name() == "sqlite" {
							// A file of its own: the other worker watches
							// every table of its one schema.
							h.s.DSN = filepath.Join(t.TempDir(), "keys.db")
							h.db, h.dir = h.s.Open(t), filepath.Dir(h.s.DSN)
						}
					}
					h.setUp(t)
					for _, c := range cases {
						got := h.run(t, c)
						mu.Lock()
						if name == keysWorker {
							keys[got]++
						} else {
							count[got]++
						}
						mu.Unlock()
					}
				})
			}
		})
		tried := 0
		for _, n := range count {
			tried += n
		}
		t.Logf("%s: %d of %d names: %d ok, %d bad, %d refused, %d not tried on Babelfish", s.Dialect.Name(), tried, len(cases), count[outcomeOK], count[outcomeBad], count[outcomeRefused], count[outcomeSkipped])
		if len(workers[keysWorker]) > 0 {
			t.Logf("%s, key ring: %d table names: %d ok, %d bad, %d refused", s.Dialect.Name(), len(workers[keysWorker]), keys[outcomeOK], keys[outcomeBad], keys[outcomeRefused])
		}
	})
}

// hostileWorkers splits the cases among TestHostileNames' workers on
// engine: the schema names in one, the table names in two, every fourth
// table name in the key ring's (not on SQL Server).
func hostileWorkers(cases []hostileCase, engine string) map[string][]hostileCase {
	// SQLite has one schema: one worker.
	workers := map[string][]hostileCase{}
	tableWorkers, tables := 2, 0
	for i, c := range cases {
		if c.kind == "table" && i%4 == 0 && engine != "sqlserver" {
			workers[keysWorker] = append(workers[keysWorker], c)
		}
		switch {
		case engine == "sqlserver" && i%4 != 0 && os.Getenv(hostileAllEnv) == "":
			// Each command takes a second or two on the TDS
			// stand-in (its catalog views are slow): CI runs every
			// fourth name there, to stay within its time;
			// SESSCTL_TEST_HOSTILE_ALL=1 runs them all.
			continue
		case engine == "sqlite":
			workers["all"] = append(workers["all"], c)
		case c.kind == "schema":
			workers["schemas"] = append(workers["schemas"], c)
		default:
			// In turn, counting the names tried (on SQL Server, every
			// fourth: their index would put them all in one worker).
			w := fmt.Sprintf("tables-%d", tables%tableWorkers+1)
			workers[w] = append(workers[w], c)
			tables++
		}
	}
	return workers
}

// keysWorker is TestHostileNames' worker of the key ring.
const keysWorker = "keys"

// hostileRun is one dialect's run of TestHostileNames.
type hostileRun struct {
	// layout is the layout of the tables it makes.
	layout *layouts.Layout
	s      dialecttest.Server
	db     *sql.DB
	cat    hostileCatalog
	dir    string // SQLite: the folder of the database file

	// schema is the test's own schema, other a second one beside it
	// (none in SQLite).
	schema, other string
	// global is set when the list of schemas is to be compared.
	global bool
	// babelfish is set on Babelfish for PostgreSQL (see owner).
	babelfish bool
}

// hostileCatalog is what TestHostileNames needs of a dialect's catalog.
type hostileCatalog struct {
	// lock takes a lock that other runs of the test (other processes on
	// the same server) wait for, for as long as conn is open: the hostile
	// schema names are fixed.
	lock func(t *testing.T, conn *sql.Conn)
	// createSchema and dropSchema make and remove a schema, for the test's
	// own; dropSchema is given only empty ones unless cascade.
	createSchema func(t *testing.T, h *hostileRun, name string)
	dropSchema   func(h *hostileRun, name string, cascade bool) error
	// schemas lists every schema, as entries.
	schemas func(t *testing.T, h *hostileRun) []string
	// snapshot lists every object of the schemas named, and its row count,
	// each entry mapped to the schema and table it belongs to.
	snapshot func(t *testing.T, h *hostileRun, schemas []string) map[string]owner
	// where lists the schemas that hold a table or view called name.
	where func(t *testing.T, h *hostileRun, name string) []string
}

// owner is the table an entry of a snapshot belongs to.
type owner struct{ schema, table string }

// otherTests are the schemas other tests make, named by dialecttest.Table:
// left out of the list of schemas, as they come and go.
var otherTests = regexp.MustCompile(`_\d+_\d+_\d+$`)

func (h *hostileRun) setUp(t *testing.T) {
	d := h.s.Dialect
	h.schema = h.s.Schema
	if d.Name() != "sqlite" {
		h.schema, h.other = dialecttest.Table("hostile"), dialecttest.Table("hostile_other")
		for _, sc := range []string{h.schema, h.other} {
			h.cat.createSchema(t, h, sc)
		}
	}
	for _, sc := range []string{h.schema, h.other} {
		if sc == "" {
			continue
		}
		for i, name := range sentinels {
			q := d.Quote(sc) + "." + d.Quote(name)
			h.exec(t, "CREATE TABLE "+q+" (a int)")
			h.exec(t, fmt.Sprintf("INSERT INTO %s (a) VALUES (%d)", q, i+1))
		}
	}
	h.exec(t, "CREATE VIEW "+d.Quote(h.schema)+"."+d.Quote(sentinelView)+" AS SELECT a FROM "+d.Quote(h.schema)+"."+d.Quote("x"))
	if d.Name() == "sqlite" && h.layout == layouts.Keys {
		// The key ring's Id is AUTOINCREMENT: the first such table makes
		// SQLite's sqlite_sequence, which no drop removes. Made here.
		h.exec(t, `CREATE TABLE "seq" ("Id" INTEGER PRIMARY KEY AUTOINCREMENT)`)
		h.exec(t, `DROP TABLE "seq"`)
	}
}

// owner is the owner a snapshot names the table schema.table by: as it
// was made, but on Babelfish folded, as its sys views give every name
// (dialecttest.BabelfishFold).
func (h *hostileRun) owner(schema, table string) owner {
	if h.babelfish {
		return owner{dialecttest.BabelfishFold(schema), dialecttest.BabelfishFold(table)}
	}
	return owner{schema, table}
}

func (h *hostileRun) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := h.db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// run tries one case and returns its outcome.
func (h *hostileRun) run(t *testing.T, c hostileCase) string {
	t.Helper()
	d := h.s.Dialect
	want := c.want(d.Name())
	if h.babelfish && want != outcomeBad {
		if why := babelfishStoresOtherwise(c); why != "" {
			t.Logf("%s: not tried on Babelfish: %s", c, why)
			return outcomeSkipped
		}
	}
	schema, table := h.schema, c.name
	var args []string
	if c.kind == "schema" {
		schema, table = c.name, hostileTableName
		args = append(args, "--"+flagCreateSchema)
	}
	// The hostile schema is looked at only where it can be made: a name
	// the database cannot hold cannot be a query's parameter either.
	watched := []string{h.schema}
	if h.other != "" {
		watched = append(watched, h.other)
	}
	newSchema := c.kind == "schema" && want != outcomeBad && d.Name() != "sqlite"
	if newSchema {
		if slices.Contains(h.cat.schemas(t, h), "schema "+schema) {
			t.Errorf("%s: the schema is there already, left by an earlier run: drop it", c)
			return ""
		}
		watched = append(watched, schema)
		t.Cleanup(func() { h.cat.dropSchema(h, schema, true) })
	}
	var schemasBefore []string
	if h.global {
		schemasBefore = h.cat.schemas(t, h)
	}
	before := h.cat.snapshot(t, h, watched)
	var whereBefore [][]string
	if want != outcomeBad {
		n := d.Names(schema, table)
		whereBefore = [][]string{h.cat.where(t, h, table), h.cat.where(t, h, n.VersionTable)}
	}

	target := []string{"--", h.s.DSN, schema, table}
	r := sessctl(t, nil, withLayout(h.layout, append(append([]string{"create"}, args...), target...)...)...)
	got := ""
	switch r.code {
	case ExitOK:
		got = outcomeOK
		h.checkMade(t, c, schema, table, before, h.cat.snapshot(t, h, watched), whereBefore)
		h.follow(t, c, target, true)
		if newSchema {
			if err := h.cat.dropSchema(h, schema, false); err != nil {
				t.Errorf("%s: the schema is not empty after drop: %v", c, err)
			}
		}
	case ExitUsage:
		got = outcomeBad
		h.checkMessage(t, c, r)
		h.follow(t, c, target, false)
	case ExitFailed:
		if strings.Contains(r.stderr, "not a "+h.layout.Noun) {
			got = outcomeRefused
			h.checkMessage(t, c, r)
			break
		}
		fallthrough
	default:
		t.Errorf("%s: create: exit %d\nstdout: %s\nstderr: %s", c, r.code, r.stdout, r.stderr)
	}
	if want != outcomeAny && got != want {
		t.Errorf("%s: %s, want %s\nstdout: %s\nstderr: %s", c, got, want, r.stdout, r.stderr)
	}
	if after := h.cat.snapshot(t, h, watched); !maps.Equal(before, after) {
		t.Errorf("%s: the catalog changed:\n%s", c, diffEntries(before, after))
	}
	if !h.global {
		return got
	}
	if after := h.cat.schemas(t, h); !slices.Equal(schemasBefore, after) {
		t.Errorf("%s: the schemas changed: before %q, after %q", c, schemasBefore, after)
	}
	return got
}

// follow runs the commands that follow a create (afterCreate) on target:
// each exits 0 when create made the table (the key ring's purge: 2,
// refused), 2 when create rejected the name.
func (h *hostileRun) follow(t *testing.T, c hostileCase, target []string, made bool) {
	t.Helper()
	for _, cmd := range h.afterCreate() {
		want := ExitUsage
		if made && (cmd[0] != "purge" || h.layout.Purges()) {
			want = ExitOK
		}
		if r := sessctl(t, nil, withLayout(h.layout, append(cmd, target...)...)...); r.code != want {
			t.Errorf("%s: %s (create made it: %v): exit %d, want %d\nstdout: %s\nstderr: %s", c, cmd[0], made, r.code, want, r.stdout, r.stderr)
		}
	}
}

// sequencesOf lists the sequences PostgreSQL made for the columns of
// schema.table (the key ring's identity Id), by the catalog's own names.
func (h *hostileRun) sequencesOf(t *testing.T, schema, table string) []string {
	if h.s.Dialect.Name() != "postgres" || h.layout == layouts.Cache {
		return nil
	}
	var seqs []string
	h.query(t, func(rows *sql.Rows) error {
		var name string
		err := rows.Scan(&name)
		seqs = append(seqs, name)
		return err
	}, `SELECT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
		JOIN pg_class t ON d.refobjid = t.oid JOIN pg_namespace n ON t.relnamespace = n.oid
		WHERE s.relkind = 'S' AND t.relname = $1 AND n.nspname = $2`, table, schema)
	return seqs
}

// afterCreate are the commands run on a name after its create: verify,
// purge and drop --yes; the key ring's purge and drop (verify --layout
// keys does not read a key ring yet).
func (h *hostileRun) afterCreate() [][]string {
	if h.layout != layouts.Cache {
		return [][]string{{"purge"}, {"drop", "--yes"}}
	}
	return [][]string{{"verify"}, {"purge"}, {"drop", "--yes"}}
}

// checkMade checks that create made exactly the table and its version
// table in the schema, and nothing else.
func (h *hostileRun) checkMade(t *testing.T, c hostileCase, schema, table string, before, after map[string]owner, whereBefore [][]string) {
	t.Helper()
	n := h.s.Dialect.Names(schema, table)
	mine := map[owner]bool{h.owner(schema, table): true, h.owner(schema, n.VersionTable): true}
	for _, seq := range h.sequencesOf(t, schema, table) {
		mine[h.owner(schema, seq)] = true // the key ring's Id, on PostgreSQL
	}
	for e, o := range after {
		if _, ok := before[e]; !ok && !mine[h.owner(o.schema, o.table)] {
			t.Errorf("%s: create made %q, which is neither the table nor its version table", c, e)
		}
	}
	for e := range before {
		if _, ok := after[e]; !ok {
			t.Errorf("%s: create removed or changed %q", c, e)
		}
	}
	if whereBefore == nil {
		t.Errorf("%s: create made a name the corpus says is bad", c)
		return
	}
	for i, name := range []string{table, n.VersionTable} {
		want := append(slices.Clone(whereBefore[i]), schema)
		slices.Sort(want)
		where := h.cat.where(t, h, name)
		slices.Sort(where)
		if slices.Contains(whereBefore[i], schema) || !slices.Equal(where, want) {
			t.Errorf("%s: a table called exactly %s was in schemas %q before create and is in %q after, want %q",
				c, strconv.QuoteToASCII(name), whereBefore[i], where, want)
		}
	}
}

// checkMessage checks that a refusal is one line that names the problem,
// and no stack trace.
func (h *hostileRun) checkMessage(t *testing.T, c hostileCase, r result) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code == ExitUsage && len(lines) == 2 && lines[1] == "Run 'sessctl --help' for usage." {
		lines = lines[:1]
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "sessctl: ") ||
		strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
		t.Errorf("%s: exit %d with the message %q: want one line", c, r.code, r.stderr)
	}
	if r.code == ExitUsage && !strings.Contains(r.stderr, "invalid name") {
		t.Errorf("%s: exit 2 saying %q: want it to say the name is invalid, and why", c, r.stderr)
	}
}

// diffEntries lists what differs between two snapshots.
func diffEntries(before, after map[string]owner) string {
	var b strings.Builder
	for _, e := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[e]; !ok {
			fmt.Fprintf(&b, "  - %q\n", e)
		}
	}
	for _, e := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[e]; !ok {
			fmt.Fprintf(&b, "  + %q\n", e)
		}
	}
	return b.String()
}

// query runs q and calls scan for every row. A failed read is tried again
// twice: MariaDB under load now and then loses the temporary table an
// information_schema query builds (Error 6, "Error on delete of …").
// schemaNames lists, sorted, the schemas query q names, but those of other
// tests running meanwhile.
func (h *hostileRun) schemaNames(t *testing.T, q string) []string {
	t.Helper()
	var out []string
	h.query(t, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		if !otherTests.MatchString(name) || name == h.schema || name == h.other {
			out = append(out, "schema "+name)
		}
		return err
	}, q)
	slices.Sort(out)
	return out
}

func (h *hostileRun) query(t *testing.T, scan func(*sql.Rows) error, q string, args ...any) {
	t.Helper()
	var err error
	for range 3 {
		if err = h.tryQuery(scan, q, args...); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", q, err)
}

func (h *hostileRun) tryQuery(scan func(*sql.Rows) error, q string, args ...any) error {
	rows, err := h.db.Query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// countRows adds to snap the row count of every table of owners that are
// tables.
func (h *hostileRun) countRows(t *testing.T, snap map[string]owner, tables []owner) {
	t.Helper()
	for _, o := range tables {
		var n int64
		q := "SELECT count(*) FROM " + h.s.Dialect.Quote(o.schema) + "." + h.s.Dialect.Quote(o.table)
		if err := h.db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		snap[fmt.Sprintf("rows %q.%q %d", o.schema, o.table, n)] = o
		if slices.Contains(sentinels, o.table) {
			var sum int64
			q := "SELECT COALESCE(sum(a), 0) FROM " + h.s.Dialect.Quote(o.schema) + "." + h.s.Dialect.Quote(o.table)
			if err := h.db.QueryRow(q).Scan(&sum); err == nil {
				snap[fmt.Sprintf("sum %q.%q %d", o.schema, o.table, sum)] = o
			}
		}
	}
}

// hostileCatalogs are the catalog queries of each dialect.
var hostileCatalogs = map[string]hostileCatalog{
	"postgres": {
		lock: func(t *testing.T, conn *sql.Conn) {
			if _, err := conn.ExecContext(t.Context(), `SELECT pg_advisory_lock(hashtext('sessctl TestHostileNames'))`); err != nil {
				t.Fatal(err)
			}
		},
		createSchema: func(t *testing.T, h *hostileRun, name string) {
			h.exec(t, "CREATE SCHEMA "+h.s.Dialect.Quote(name))
			t.Cleanup(func() { h.cat.dropSchema(h, name, true) })
		},
		dropSchema: func(h *hostileRun, name string, cascade bool) error {
			q := "DROP SCHEMA IF EXISTS " + h.s.Dialect.Quote(name)
			if cascade {
				q += " CASCADE"
			}
			_, err := h.db.Exec(q)
			return err
		},
		schemas: func(t *testing.T, h *hostileRun) []string {
			return h.schemaNames(t, `SELECT nspname FROM pg_catalog.pg_namespace
				WHERE nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%' ORDER BY nspname`)
		},
		snapshot: func(t *testing.T, h *hostileRun, schemas []string) map[string]owner {
			snap := map[string]owner{}
			var tables []owner
			h.query(t, func(r *sql.Rows) error {
				var sc, name, kind, tbl string
				err := r.Scan(&sc, &name, &kind, &tbl)
				snap[fmt.Sprintf("relation %q.%q kind %s on %q", sc, name, kind, tbl)] = owner{sc, tbl}
				if kind == "r" {
					tables = append(tables, owner{sc, name})
				}
				return err
			}, `SELECT n.nspname, c.relname, c.relkind::text, COALESCE(t.relname, c.relname)
				FROM pg_catalog.pg_class c
				JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
				LEFT JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
				WHERE n.nspname = ANY($1)`, schemas)
			h.query(t, func(r *sql.Rows) error {
				var sc, rel, col, typ string
				var notNull bool
				err := r.Scan(&sc, &rel, &col, &typ, &notNull)
				snap[fmt.Sprintf("column %q.%q.%q %s not null %t", sc, rel, col, typ, notNull)] = owner{sc, rel}
				return err
			}, `SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
				FROM pg_catalog.pg_attribute a
				JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
				JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped`, schemas)
			h.query(t, func(r *sql.Rows) error {
				var sc, name, kind, rel string
				err := r.Scan(&sc, &name, &kind, &rel)
				snap[fmt.Sprintf("constraint %q.%q %s on %q", sc, name, kind, rel)] = owner{sc, rel}
				return err
			}, `SELECT n.nspname, con.conname, con.contype::text, c.relname
				FROM pg_catalog.pg_constraint con
				JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
				JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
				WHERE n.nspname = ANY($1)`, schemas)
			h.countRows(t, snap, tables)
			return snap
		},
		where: func(t *testing.T, h *hostileRun, name string) []string {
			var out []string
			h.query(t, func(r *sql.Rows) error {
				var sc string
				err := r.Scan(&sc)
				out = append(out, sc)
				return err
			}, `SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`, name)
			return out
		},
	},
	// MySQL's catalog is read with SHOW, not information_schema: MariaDB
	// builds an on-disk temporary table for information_schema.COLUMNS,
	// and it crashed (signal 11 in ha_maria::drop_table) when another
	// server sharing /tmp removed that file under it.
	"mysql": {
		lock: func(t *testing.T, conn *sql.Conn) {
			var got sql.NullInt64
			if err := conn.QueryRowContext(t.Context(), `SELECT GET_LOCK('sessctl TestHostileNames', 600)`).Scan(&got); err != nil || got.Int64 != 1 {
				t.Fatalf("GET_LOCK: %v, %v", got, err)
			}
		},
		createSchema: func(t *testing.T, h *hostileRun, name string) {
			h.exec(t, "CREATE DATABASE "+h.s.Dialect.Quote(name))
			t.Cleanup(func() { h.cat.dropSchema(h, name, true) })
		},
		dropSchema: func(h *hostileRun, name string, cascade bool) error {
			if !cascade {
				var tables []string
				if err := h.tryQuery(func(r *sql.Rows) error {
					var name, kind string
					err := r.Scan(&name, &kind)
					tables = append(tables, name)
					return err
				}, "SHOW FULL TABLES FROM "+h.s.Dialect.Quote(name)); err != nil {
					return err
				}
				if len(tables) > 0 {
					return fmt.Errorf("database %q holds %q", name, tables)
				}
			}
			_, err := h.db.Exec("DROP DATABASE IF EXISTS " + h.s.Dialect.Quote(name))
			return err
		},
		schemas: func(t *testing.T, h *hostileRun) []string {
			return h.schemaNames(t, `SHOW DATABASES`)
		},
		snapshot: func(t *testing.T, h *hostileRun, schemas []string) map[string]owner {
			d := h.s.Dialect
			snap := map[string]owner{}
			var tables []owner
			for _, sc := range schemas {
				if !slices.Contains(h.cat.schemas(t, h), "schema "+sc) {
					continue
				}
				var objs []owner
				h.query(t, func(r *sql.Rows) error {
					var name, kind string
					err := r.Scan(&name, &kind)
					snap[fmt.Sprintf("table %q.%q %s", sc, name, kind)] = owner{sc, name}
					objs = append(objs, owner{sc, name})
					if kind == "BASE TABLE" {
						tables = append(tables, owner{sc, name})
					}
					return err
				}, "SHOW FULL TABLES FROM "+d.Quote(sc))
				// SHOW CREATE TABLE has every column, index and key.
				for _, o := range objs {
					h.query(t, func(r *sql.Rows) error {
						cols, err := r.Columns()
						if err != nil {
							return err
						}
						vals := make([]sql.NullString, len(cols))
						ptrs := make([]any, len(cols))
						for i := range vals {
							ptrs[i] = &vals[i]
						}
						err = r.Scan(ptrs...)
						snap[fmt.Sprintf("definition %q.%q: %s", sc, o.table, vals[1].String)] = o
						return err
					}, "SHOW CREATE TABLE "+d.Quote(sc)+"."+d.Quote(o.table))
				}
			}
			h.countRows(t, snap, tables)
			return snap
		},
		where: func(t *testing.T, h *hostileRun, name string) []string {
			var out []string
			for _, sc := range h.cat.schemas(t, h) {
				sc = strings.TrimPrefix(sc, "schema ")
				if _, err := h.db.Exec("SELECT 1 FROM " + h.s.Dialect.Quote(sc) + "." + h.s.Dialect.Quote(name) + " LIMIT 0"); err == nil {
					out = append(out, sc)
				}
			}
			return out
		},
	},
	"sqlite": {
		schemas: func(t *testing.T, h *hostileRun) []string {
			var out []string
			h.query(t, func(r *sql.Rows) error {
				var seq int
				var name, file string
				err := r.Scan(&seq, &name, &file)
				out = append(out, "schema "+name+" "+file)
				return err
			}, `PRAGMA database_list`)
			// A database file is a schema too: no other may appear.
			files, err := os.ReadDir(h.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				// SQLite's journals come and go; sessctl's lock file
				// (dialects/lockfile_*.go) stays beside the database.
				if name := f.Name(); !strings.HasSuffix(name, "-journal") && !strings.HasSuffix(name, "-wal") &&
					!strings.HasSuffix(name, "-shm") && !strings.HasSuffix(name, ".sessctl-lock") {
					out = append(out, "file "+name)
				}
			}
			return out
		},
		snapshot: func(t *testing.T, h *hostileRun, schemas []string) map[string]owner {
			snap := map[string]owner{}
			var tables []owner
			h.query(t, func(r *sql.Rows) error {
				var kind, name, tbl string
				var def sql.NullString
				err := r.Scan(&kind, &name, &tbl, &def)
				snap[fmt.Sprintf("%s %q on %q: %s", kind, name, tbl, def.String)] = owner{"main", tbl}
				if kind == "table" {
					tables = append(tables, owner{"main", name})
				}
				return err
			}, `SELECT type, name, tbl_name, sql FROM main.sqlite_master`)
			h.countRows(t, snap, tables)
			return snap
		},
		where: func(t *testing.T, h *hostileRun, name string) []string {
			var out []string
			h.query(t, func(r *sql.Rows) error {
				var sc string
				err := r.Scan(&sc)
				out = append(out, sc)
				return err
			}, `SELECT 'main' FROM main.sqlite_master WHERE type IN ('table', 'view') AND name = ?`, name)
			return out
		},
	},
	"sqlserver": {
		lock: func(t *testing.T, conn *sql.Conn) {
			var got int
			if err := conn.QueryRowContext(t.Context(), `DECLARE @r int;
				EXEC @r = sp_getapplock @Resource = N'sessctl TestHostileNames', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 600000;
				SELECT @r`).Scan(&got); err != nil || got < 0 {
				t.Fatalf("sp_getapplock: %d, %v", got, err)
			}
		},
		createSchema: func(t *testing.T, h *hostileRun, name string) {
			h.exec(t, "EXEC(N'CREATE SCHEMA "+strings.ReplaceAll(h.s.Dialect.Quote(name), "'", "''")+"')")
			t.Cleanup(func() { h.cat.dropSchema(h, name, true) })
		},
		dropSchema: func(h *hostileRun, name string, cascade bool) error {
			d := h.s.Dialect
			if cascade {
				rows, err := h.db.Query(`SELECT CAST(o.name AS nvarchar(128)), RTRIM(o.type) FROM sys.objects o
					WHERE o.schema_id = SCHEMA_ID(@p1) AND o.type IN ('U', 'V') ORDER BY CASE o.type WHEN 'V' THEN 0 ELSE 1 END`, name)
				if err != nil {
					return err
				}
				var drops []string
				for rows.Next() {
					var obj, kind string
					if err := rows.Scan(&obj, &kind); err != nil {
						rows.Close()
						return err
					}
					what := "TABLE"
					if kind == "V" {
						what = "VIEW"
					}
					drops = append(drops, "DROP "+what+" "+d.Quote(name)+"."+d.Quote(obj))
				}
				rows.Close()
				for _, q := range drops {
					if _, err := h.db.Exec(q); err != nil {
						return err
					}
				}
			}
			_, err := h.db.Exec("IF SCHEMA_ID(@p1) IS NOT NULL EXEC(N'DROP SCHEMA "+strings.ReplaceAll(d.Quote(name), "'", "''")+"')", name)
			return err
		},
		schemas: func(t *testing.T, h *hostileRun) []string {
			return h.schemaNames(t, `SELECT CAST(name AS nvarchar(128)) FROM sys.schemas`)
		},
		snapshot: func(t *testing.T, h *hostileRun, schemas []string) map[string]owner {
			snap := map[string]owner{}
			var tables []owner
			for _, sc := range schemas {
				h.query(t, func(r *sql.Rows) error {
					var name, kind, parent string
					err := r.Scan(&name, &kind, &parent)
					snap[fmt.Sprintf("object %q.%q %s on %q", sc, name, kind, parent)] = owner{sc, parent}
					if kind == "U" {
						tables = append(tables, owner{sc, name})
					}
					return err
				}, `SELECT CAST(o.name AS nvarchar(128)), RTRIM(o.type), CAST(COALESCE(p.name, o.name) AS nvarchar(128)) FROM sys.objects o
					LEFT JOIN sys.objects p ON p.object_id = o.parent_object_id
					WHERE o.schema_id = SCHEMA_ID(@p1)`, sc)
				h.query(t, func(r *sql.Rows) error {
					var rel, col, typ string
					var length int
					var null bool
					err := r.Scan(&rel, &col, &typ, &length, &null)
					snap[fmt.Sprintf("column %q.%q.%q %s(%d) null %t", sc, rel, col, typ, length, null)] = owner{sc, rel}
					return err
				}, `SELECT CAST(o.name AS nvarchar(128)), CAST(c.name AS nvarchar(128)), t.name, c.max_length, c.is_nullable FROM sys.columns c
					JOIN sys.objects o ON o.object_id = c.object_id
					JOIN sys.types t ON t.user_type_id = c.user_type_id
					WHERE o.schema_id = SCHEMA_ID(@p1) AND o.type IN ('U', 'V')`, sc)
				h.query(t, func(r *sql.Rows) error {
					var rel, name string
					err := r.Scan(&rel, &name)
					snap[fmt.Sprintf("index %q.%q.%q", sc, rel, name)] = owner{sc, rel}
					return err
				}, `SELECT CAST(o.name AS nvarchar(128)), CAST(COALESCE(i.name, '') AS nvarchar(128)) FROM sys.indexes i
					JOIN sys.objects o ON o.object_id = i.object_id
					WHERE o.schema_id = SCHEMA_ID(@p1) AND o.type = 'U'`, sc)
			}
			h.countRows(t, snap, tables)
			return snap
		},
		where: func(t *testing.T, h *hostileRun, name string) []string {
			var out []string
			h.query(t, func(r *sql.Rows) error {
				var sc string
				err := r.Scan(&sc)
				out = append(out, sc)
				return err
			}, `SELECT CAST(s.name AS nvarchar(128)) FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id
				WHERE CAST(o.name AS nvarchar(128)) = @p1 AND o.type IN ('U', 'V')`, name)
			slices.Sort(out)
			return out
		},
	},
}

// babelfishStoresOtherwise says why the TDS stand-in (Babelfish for
// PostgreSQL) keeps the objects a create of c would make under other names
// than SQL Server does, so that a snapshot of its catalog cannot be
// compared name for name; "" when it keeps them alike. Seen on the TDS
// server (README, "SQL Server and Babelfish"): names over PostgreSQL's 63
// bytes, the derived TABLE_migrations included, are stored cut short with
// an MD5 after them; a name its collation matches to another (a
// fullwidth, BOM or zero-width variant of the sentinel) is that other; and
// a table named @p1 clashes with the parameter @p1 (tds/README.md).
func babelfishStoresOtherwise(c hostileCase) string {
	name := dialecttest.BabelfishFold(c.name)
	switch {
	case len(name) > 63 || len(name+"_migrations") > 63:
		return "a name over 63 bytes is stored cut short with an MD5 after it"
	case strings.ContainsAny(c.name, "\ufeff\u200b\u200c\u200d"),
		strings.IndexFunc(c.name, func(r rune) bool { return r >= 0xff01 && r <= 0xff5e }) >= 0:
		return "its collation matches fullwidth, BOM and zero-width variants of a name to the name"
	case strings.HasPrefix(c.name, "@"):
		return "a table named @p1 clashes with the parameter @p1"
	}
	return ""
}
