package dialecttest

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/migrations"
)

// Run is the conformance suite of the contract in dialects/dialect.go, as
// golang-migrate's database/testing.Test is of its database.Driver: an
// engine is done when it passes. It runs d against its test server (the
// one Get chooses: skipped, naming the variable, when there is none, and
// failed when SESSCTL_TEST_REQUIRE names it), one subtest per role and
// one per optional role d implements, each on tables of its own that it
// drops when it ends. The purge's roles (Purger, Walker, HeldCounter) are
// checked on the dialect a purge of the table runs with: d's ForTable,
// where d is a Shaper.
//
// Where the contract does not hold on an engine, the check says so and
// skips there: SQLite's purge lock outlives its conn (see
// Purger/TryLock/CloseReleases).
//
// Call it from the engine's own package, in an external test:
//
//	func TestConformance(t *testing.T) { dialecttest.Run(t, postgres.Dialect{}) }
func Run(t *testing.T, d dialects.Dialect) {
	t.Helper()
	if !slices.Contains(registry.List(), d.Name()) {
		t.Fatalf("Name() = %q, which is not in registry.List() %v: add the engine to the registry", d.Name(), registry.List())
	}
	s := Get(t, d.Name())
	s.Dialect = d // the engine under test, not the registry's
	c := &conformance{s: s}
	t.Run("Connector", c.connector)
	c.db = s.openOwn(t)
	t.Run("Core", c.core)
	t.Run("Migrator", c.migrator)
	t.Run("Inspector", c.inspector)
	t.Run("Denier", c.denier)
	t.Run("Purger", c.purger)
	optional := []struct {
		name string
		ok   bool
		fn   func(*testing.T)
	}{
		{"Walker", is[dialects.Walker](d), c.walker},
		{"HeldCounter", is[dialects.HeldCounter](d), c.heldCounter},
		{"TableInspector", is[dialects.TableInspector](d), c.tableInspector},
		{"Remote", is[dialects.Remote](d), c.remote},
		{"SchemaCreator", is[dialects.SchemaCreator](d), c.schemaCreator},
		{"EngineNamer", is[dialects.EngineNamer](d), c.engineNamer},
		{"Limiter", is[dialects.Limiter](d), c.limiter},
		{"Separator", is[dialects.Separator](d), c.separator},
		{"LoadReader", is[dialects.LoadReader](d), c.loadReader},
	}
	for _, o := range optional {
		if o.ok {
			t.Run(o.name, o.fn)
		} else {
			t.Logf("%s: not implemented by %s, not run", o.name, d.Name())
		}
	}
}

func is[T any](d dialects.Dialect) bool {
	_, ok := d.(T)
	return ok
}

// conformance is one run of Run: the server and a pool on it for the
// suite's own SQL.
type conformance struct {
	s  Server
	db *sql.DB
}

// openOwn is Open through the dialect under test's own ParseConn, not the
// registry's.
func (s Server) openOwn(t *testing.T) *sql.DB {
	t.Helper()
	conn, err := s.Dialect.ParseConn(s.DSN)
	if err != nil {
		t.Fatalf("ParseConn(%s): %v", DSNEnv(s.Dialect.Name()), err)
	}
	db, err := s.Dialect.Open(conn, true)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connecting to the %s test server: %v", s.Dialect.Name(), err)
	}
	return db
}

func (c *conformance) names(table string) dialects.Names { return c.s.Dialect.Names(c.s.Schema, table) }

// hostileNames are built to break careless quoting; each is tried after a
// unique prefix.
var hostileNames = []string{`a"b`, "a`b", "a]b", "a'b", "x; DROP TABLE y", "-- c", "/* c */", `a\b`, "Sessión データ", "select", "$sessctl$", "Mixed Case"}

func (c *conformance) core(t *testing.T) {
	d := c.s.Dialect
	t.Run("CheckName", func(t *testing.T) {
		for _, bad := range []string{"", "a\x00b", "a\nb", "\xff"} {
			if err := d.CheckName(bad); !errors.Is(err, dialects.ErrInvalidName) {
				t.Errorf("CheckName(%q) = %v, want an error wrapping ErrInvalidName", bad, err)
			}
		}
		if err := d.CheckName("SessionData"); err != nil {
			t.Errorf("CheckName(SessionData): %v", err)
		}
		long := strings.Repeat("a", 10000)
		err := d.CheckName(long)
		switch {
		case errors.Is(err, dialects.ErrInvalidName):
		case err != nil:
			t.Errorf("CheckName of a %d-character name = %v, want an error wrapping ErrInvalidName", len(long), err)
		default:
			// The engine takes it: then the server must hold it whole.
			t.Logf("CheckName takes a %d-character name: checking the server holds it", len(long))
			c.roundTrip(t, long)
		}
	})
	t.Run("Names", func(t *testing.T) {
		for _, table := range []string{"SessionData", Table("N")} {
			n := d.Names(c.s.Schema, table)
			if n.Schema != c.s.Schema || n.Table != table {
				t.Errorf("Names(%q, %q) names schema %q, table %q", c.s.Schema, table, n.Schema, n.Table)
			}
			for what, name := range map[string]string{"VersionTable": n.VersionTable, "ExpiryIndex": n.ExpiryIndex} {
				if name == "" {
					t.Errorf("Names(%q, %q).%s is empty", c.s.Schema, table, what)
				} else if err := d.CheckName(name); err != nil {
					t.Errorf("Names(%q, %q).%s = %q, which CheckName refuses: %v", c.s.Schema, table, what, name, err)
				}
			}
			if n.VersionTable == table {
				t.Errorf("Names(%q, %q).VersionTable is the table itself", c.s.Schema, table)
			}
		}
	})
	t.Run("Columns", func(t *testing.T) {
		want := []string{dialects.ColID, dialects.ColValue, dialects.ColExpiresAtTime, dialects.ColSliding, dialects.ColAbsoluteExpiration}
		var got []string
		for _, col := range d.Columns() {
			got = append(got, col.Name)
			if len(col.Types) == 0 || col.Definition == "" {
				t.Errorf("column %s has no Types or no Definition: %+v", col.Name, col)
			}
		}
		// In the order the engine's provider creates them (Migrator
		// checks the table's): the set is the same everywhere.
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("Columns() are %v, want %v, in the order create makes them", got, want)
		}
	})
	t.Run("Quote", func(t *testing.T) {
		tried := 0
		for _, h := range hostileNames {
			name := Table("Q") + h
			if err := d.CheckName(name); err != nil {
				t.Logf("not tried, CheckName refuses it: %v", err)
				continue
			}
			if c.s.Babelfish(t, c.db) {
				if why := babelfishStoresOtherwise(name); why != "" {
					t.Logf("%q not tried on Babelfish for PostgreSQL, the SQL Server stand-in: %s (tds/README.md, divergences)", name, why)
					continue
				}
			}
			tried++
			c.roundTrip(t, name)
		}
		if tried == 0 {
			t.Errorf("CheckName refused every hostile name: none was tried")
		}
	})
}

// babelfishStoresOtherwise says why Babelfish stores name otherwise than
// SQL Server, or "" (as cmd's TestHostileNames skips them).
func babelfishStoresOtherwise(name string) string {
	if len(BabelfishFold(name)) > 63 || len(BabelfishFold(name)+"_migrations") > 63 {
		return "a name over 63 bytes is stored cut short with an MD5 after it"
	}
	return ""
}

// roundTrip creates a table of one column named name, quoted by Quote,
// and checks that Inspect finds it under exactly that name.
func (c *conformance) roundTrip(t *testing.T, name string) {
	t.Helper()
	d := c.s.Dialect
	q := fmt.Sprintf("CREATE TABLE %s (%s int)", c.s.Qualified(name), d.Quote("x"))
	if _, err := c.db.ExecContext(t.Context(), q); err != nil {
		t.Errorf("creating a table named %q: %s: %v", name, q, err)
		return
	}
	t.Cleanup(func() {
		if _, err := c.db.Exec("DROP TABLE " + c.s.Qualified(name)); err != nil {
			t.Errorf("cleanup: dropping %q: %v", name, err)
		}
	})
	info, err := d.Inspect(t.Context(), c.db, c.names(name))
	switch {
	case err != nil:
		t.Errorf("Inspect of the table named %q: %v", name, err)
	case info.Kind != dialects.KindTable:
		t.Errorf("Inspect of the table named %q: Kind %s, want %s", name, info.Kind, dialects.KindTable)
	case info.Name != name:
		t.Errorf("Inspect of the table named %q: Name %q", name, info.Name)
	}
}

func (c *conformance) connector(t *testing.T) {
	d := c.s.Dialect
	if claim := d.Claim(dialects.NewRawConn(c.s.DSN)); claim == dialects.Never {
		t.Errorf("Claim(%s) is Never", DSNEnv(d.Name()))
	}
	conn, err := d.ParseConn(c.s.DSN)
	if err != nil {
		t.Fatalf("ParseConn(%s): %v", DSNEnv(d.Name()), err)
	}
	if conn.Dialect == nil || conn.Dialect.Name() != d.Name() {
		t.Errorf("ParseConn: the Conn's Dialect is %v, want %s", conn.Dialect, d.Name())
	}
	if conn.Display == "" {
		t.Errorf("ParseConn: the Conn has no Display")
	}
	for _, secret := range conn.Secrets {
		if secret != "" && strings.Contains(conn.Display, secret) {
			t.Errorf("ParseConn: the Display shows a secret")
		}
	}
	db, err := d.Open(conn, true)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if err := db.PingContext(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// create makes a cache table of a name no other test uses, as create
// does: the migrations of package migrations rendered with TemplateData,
// run by golang-migrate through MigrateDriver. It is dropped at cleanup.
func (c *conformance) create(t *testing.T, prefix string) dialects.Names {
	t.Helper()
	n := c.names(Table(prefix))
	c.s.DropAtCleanup(t, c.db, n.Table)
	if err := c.migrate(n); err != nil {
		t.Fatalf("creating %s: %v", n.Table, err)
	}
	return n
}

// migrate runs the migrations of n's table up.
func (c *conformance) migrate(n dialects.Names) error {
	d := c.s.Dialect
	ms, err := migrations.Up(d.Name(), d.TemplateData(n))
	if err != nil {
		return fmt.Errorf("rendering the migrations with TemplateData: %w", err)
	}
	if len(ms) == 0 {
		return errors.New("no migrations")
	}
	src, err := iofs.New(migrations.FS(ms), ".")
	if err != nil {
		return err
	}
	conn, err := d.ParseConn(c.s.DSN)
	if err != nil {
		return err
	}
	drv, err := d.MigrateDriver(conn, n)
	if err != nil {
		return fmt.Errorf("MigrateDriver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, d.Name(), drv)
	if err != nil {
		drv.Close()
		return err
	}
	defer m.Close()
	return m.Up()
}

func (c *conformance) migrator(t *testing.T) {
	d := c.s.Dialect
	n := c.create(t, "M")
	info, err := d.Inspect(t.Context(), c.db, n)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	c.checkCompatible(t, n, info)
	latest, err := migrations.Latest(d.Name())
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !info.VersionTable:
		t.Errorf("Inspect: no version table %s", n.VersionTable)
	case info.Version == nil:
		t.Errorf("Inspect: the version table %s has no version", n.VersionTable)
	case info.Version.Version != int64(latest) || info.Version.Dirty:
		t.Errorf("Inspect: version %+v, want %d, clean", *info.Version, latest)
	}
	if err := c.migrate(n); !errors.Is(err, migrate.ErrNoChange) {
		t.Errorf("migrating %s again = %v, want migrate.ErrNoChange", n.Table, err)
	}
}

// checkCompatible checks that info is the table create makes.
func (c *conformance) checkCompatible(t *testing.T, n dialects.Names, info *dialects.TableInfo) {
	t.Helper()
	if info.Kind != dialects.KindTable {
		t.Fatalf("Inspect: Kind %s, want %s", info.Kind, dialects.KindTable)
	}
	if info.Name != n.Table {
		t.Errorf("Inspect: Name %q, want %q", info.Name, n.Table)
	}
	for _, spec := range c.s.Dialect.Columns() {
		col, ok := info.Column(spec.Name)
		switch {
		case !ok:
			t.Errorf("Inspect: no column %s among %+v", spec.Name, info.Columns)
		case !slices.Contains(spec.Types, col.Type):
			t.Errorf("Inspect: column %s is %s, not one of %v", spec.Name, col.Type, spec.Types)
		case spec.Null == dialects.Nullable && !col.Nullable:
			t.Errorf("Inspect: column %s is NOT NULL, want it nullable", spec.Name)
		case spec.Null != dialects.Nullable && col.Nullable:
			t.Errorf("Inspect: column %s is nullable, want NOT NULL", spec.Name)
		}
	}
	var specs, cols []string
	for _, spec := range c.s.Dialect.Columns() {
		specs = append(specs, spec.Name)
	}
	for _, col := range info.Columns {
		cols = append(cols, col.Name)
	}
	if !slices.Equal(cols, specs) {
		t.Errorf("Inspect: columns %v, want Columns()' order %v", cols, specs)
	}
	if !slices.Equal(info.PrimaryKey, []string{dialects.ColID}) {
		t.Errorf("Inspect: primary key %v, want [%s]", info.PrimaryKey, dialects.ColID)
	}
	ix, ok := info.ExpiryIndex()
	switch {
	case !ok:
		t.Errorf("Inspect: no usable expiry index among %+v", info.Indexes)
	case ix.Name != c.s.IndexName(t, c.db, n.ExpiryIndex):
		t.Errorf("Inspect: the expiry index is %q, want %q", ix.Name, n.ExpiryIndex)
	}
	if u := info.UnusableExpiryIndexes(); len(u) > 0 {
		t.Errorf("Inspect: unusable expiry indexes %+v", u)
	}
}

func (c *conformance) inspector(t *testing.T) {
	d := c.s.Dialect
	ctx := t.Context()
	missing := c.names(Table("I"))
	info, err := d.Inspect(ctx, c.db, missing)
	switch {
	case err != nil:
		t.Errorf("Inspect of a missing table: %v, want Kind %s", err, dialects.KindMissing)
	case info.Kind != dialects.KindMissing:
		t.Errorf("Inspect of a missing table: Kind %s, want %s", info.Kind, dialects.KindMissing)
	case info.VersionTable:
		t.Errorf("Inspect of a missing table: a version table")
	}
	if ok, err := d.SchemaExists(ctx, c.db, c.s.Schema); err != nil || !ok {
		t.Errorf("SchemaExists(%q) = %v, %v; want true, the test schema", c.s.Schema, ok, err)
	}
	madeUp := fmt.Sprintf("sessctl_none_%d_%d", os.Getpid(), seq.Add(1))
	if ok, err := d.SchemaExists(ctx, c.db, madeUp); err != nil || ok {
		t.Errorf("SchemaExists(%q) = %v, %v; want false", madeUp, ok, err)
	}
	n := c.names("SessionData")
	// Where the engine has no statement that mends a column (SQL Server:
	// Id and ExpiresAtTime, which the key and the index depend on; SQLite:
	// any type, which it cannot change in place), verify gives a hint; an
	// engine that can alter none must say how to make the table again.
	rebuild := d.FixSQL(n, dialects.ColumnSpec{}, dialects.ProblemRebuild)
	fixes := 0
	for _, col := range d.Columns() {
		if fix := d.FixSQL(n, col, dialects.ProblemType); strings.TrimSpace(fix) != "" {
			fixes++
		}
		if col.Null == dialects.Nullable {
			if fix := d.FixSQL(n, col, dialects.ProblemMissing); strings.TrimSpace(fix) == "" {
				t.Errorf("FixSQL(%s, ProblemMissing) is empty: a nullable column can be added", col.Name)
			}
		}
	}
	if fixes == 0 && strings.TrimSpace(rebuild) == "" {
		t.Errorf("FixSQL(ProblemType) is empty for every column, and so is FixSQL(ProblemRebuild)")
	}
}

func (c *conformance) denier(t *testing.T) {
	_, err := c.db.ExecContext(t.Context(), "SELEC 1")
	if err == nil {
		t.Fatal("SELEC 1 ran")
	}
	if why, denied := c.s.Dialect.Denied(t.Context(), c.db, err, "purge", c.names("SessionData")); denied {
		t.Errorf("Denied(a syntax error: %v) = true, %q", err, why)
	}
}

// conn is a connection of c's pool of its own, closed at cleanup.
func (c *conformance) conn(t *testing.T) *sql.Conn {
	t.Helper()
	conn, err := c.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (c *conformance) tableInspector(t *testing.T) {
	n := c.create(t, "T")
	full, err := c.s.Dialect.Inspect(t.Context(), c.db, n)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.s.Dialect.(dialects.TableInspector).InspectTable(t.Context(), c.db, n)
	if err != nil {
		t.Fatalf("InspectTable: %v", err)
	}
	c.checkCompatible(t, n, info)
	if info.VersionTable || info.Version != nil {
		t.Errorf("InspectTable read the version table: %v, %+v", info.VersionTable, info.Version)
	}
	if fmt.Sprint(info.Columns) != fmt.Sprint(full.Columns) || fmt.Sprint(info.Indexes) != fmt.Sprint(full.Indexes) {
		t.Errorf("InspectTable and Inspect differ:\n%+v\n%+v", info, full)
	}
	missing, err := c.s.Dialect.(dialects.TableInspector).InspectTable(t.Context(), c.db, c.names(Table("T")))
	if err != nil || missing.Kind != dialects.KindMissing {
		t.Errorf("InspectTable of a missing table = %+v, %v; want Kind %s", missing, err, dialects.KindMissing)
	}
}

func (c *conformance) remote(t *testing.T) {
	r := c.s.Dialect.(dialects.Remote)
	_, err := c.db.ExecContext(t.Context(), "SELEC 1")
	if err == nil {
		t.Fatal("SELEC 1 ran")
	}
	if r.Disconnected(err) {
		t.Errorf("Disconnected(a syntax error: %v) = true", err)
	}
}

func (c *conformance) schemaCreator(t *testing.T) {
	q := c.s.Dialect.(dialects.SchemaCreator).CreateSchemaSQL(c.s.Schema)
	if _, err := c.db.ExecContext(t.Context(), q); err != nil {
		t.Errorf("CreateSchemaSQL(%q), which exists: %s: %v", c.s.Schema, q, err)
	}
}

func (c *conformance) engineNamer(t *testing.T) {
	if e, err := c.s.Dialect.(dialects.EngineNamer).Engine(t.Context(), c.db); err != nil || e == "" {
		t.Errorf("Engine = %q, %v", e, err)
	}
}

func (c *conformance) limiter(t *testing.T) {
	if l := c.s.Dialect.(dialects.Limiter).Limits(); l.MaxBatch < 0 || l.Pause < 0 || l == (dialects.Limits{}) {
		t.Errorf("Limits() = %+v: a Limiter with no limits, or negative ones", l)
	}
}

func (c *conformance) separator(t *testing.T) {
	// "" is no separator, as for a dialect that is no Separator; else it
	// is one line.
	if sep := c.s.Dialect.(dialects.Separator).ScriptSeparator(); strings.Count(strings.TrimSuffix(sep, "\n"), "\n") > 0 ||
		sep != "" && strings.TrimSpace(sep) == "" {
		t.Errorf("ScriptSeparator() = %q, not one line", sep)
	}
}
