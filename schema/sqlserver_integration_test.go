package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// The SQL Server tests below run against the server
// SESSCTL_TEST_SQLSERVER_DSN names and skip without it; the first runs
// everywhere.

func TestSQLServerNameLimits(t *testing.T) {
	d, err := registry.Lookup("sqlserver")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schema.NewTable(d, "dbo", strings.Repeat("t", 117)); err != nil {
		t.Errorf("a 117-character table, whose version table has 128: %v", err)
	}
	_, err = schema.NewTable(d, "dbo", strings.Repeat("t", 118))
	if !errors.Is(err, dialects.ErrInvalidName) || !strings.Contains(err.Error(), "_migrations") {
		t.Errorf("a 118-character table, whose version table would have 129: %v", err)
	}
	if _, err := schema.NewTable(d, strings.Repeat("s", 129), "SessionData"); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("a 129-character schema: %v", err)
	}
	for _, name := range []string{"a]b", "it's"} {
		if _, err := schema.NewTable(d, "dbo", name); !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("table %q: %v, want ErrInvalidName", name, err)
		}
		if _, err := schema.NewTable(d, name, "SessionData"); !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("schema %q: %v, want ErrInvalidName", name, err)
		}
	}
}

// sqlServerEnv is one test's connection, table and raw database handle.
type sqlServerEnv struct {
	s   dialecttest.Server
	db  *schema.DB
	raw *sql.DB
	t   *schema.Table
}

// newSQLServerEnv marks t parallel and gives it its own table; a test that
// needs a second table takes it from e.other, since t.Parallel panics when
// called twice.
func newSQLServerEnv(t *testing.T, prefix string) *sqlServerEnv {
	t.Helper()
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	return newSQLServerTable(t, s, prefix)
}

// other is another table of e's server for the same test.
func (e *sqlServerEnv) other(t *testing.T, prefix string) *sqlServerEnv {
	t.Helper()
	return newSQLServerTable(t, e.s, prefix)
}

func newSQLServerTable(t *testing.T, s dialecttest.Server, prefix string) *sqlServerEnv {
	t.Helper()
	raw := s.Open(t)
	table := dialecttest.Table(prefix)
	s.DropAtCleanup(t, raw, table)
	db, err := schema.Connect(context.Background(), s.Conn(t), schema.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tb, err := schema.NewTable(s.Dialect, s.Schema, table)
	if err != nil {
		t.Fatal(err)
	}
	return &sqlServerEnv{s: s, db: db, raw: raw, t: tb}
}

func (e *sqlServerEnv) exec(t *testing.T, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := e.raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dotnetCreate makes the table exactly as `dotnet sql-cache create` does:
// its two statements in one transaction.
func (e *sqlServerEnv) dotnetCreate(t *testing.T) {
	t.Helper()
	q := e.s.Qualified(e.t.Table)
	tx, err := e.raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, stmt := range []string{
		"CREATE TABLE " + q + "(Id nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL, " +
			"Value varbinary(MAX) NOT NULL, ExpiresAtTime datetimeoffset NOT NULL, " +
			"SlidingExpirationInSeconds bigint NULL,AbsoluteExpiration datetimeoffset NULL, PRIMARY KEY (Id))",
		"CREATE NONCLUSTERED INDEX Index_ExpiresAtTime ON " + q + "(ExpiresAtTime)",
	} {
		if _, err := tx.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (e *sqlServerEnv) create(t *testing.T, opts schema.CreateOptions) *schema.CreateResult {
	t.Helper()
	res, err := schema.Create(context.Background(), e.db, e.t, opts)
	if err != nil {
		t.Fatalf("create %s: %v", e.t, err)
	}
	return res
}

func (e *sqlServerEnv) verify(t *testing.T) *schema.Report {
	t.Helper()
	r, err := schema.Verify(context.Background(), e.db, e.t, false)
	if err != nil {
		t.Fatalf("verify %s: %v", e.t, err)
	}
	return r
}

func (e *sqlServerEnv) inspect(t *testing.T) *dialects.TableInfo {
	t.Helper()
	info, err := e.s.Dialect.Inspect(context.Background(), e.db, e.t.Names)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// expiryIndexes counts the indexes whose first key column is ExpiresAtTime.
func expiryIndexes(info *dialects.TableInfo) int {
	n := 0
	for _, ix := range info.Indexes {
		if len(ix.Columns) > 0 && ix.Columns[0] == dialects.ColExpiresAtTime {
			n++
		}
	}
	return n
}

// TestSQLServerCycle: create → verify → create again → purge → drop.
func TestSQLServerCycle(t *testing.T) {
	e := newSQLServerEnv(t, "Cycle")
	ctx := context.Background()

	res := e.create(t, schema.CreateOptions{})
	if res.Status != schema.CreateCreated || res.Version != 2 {
		t.Errorf("create: %+v", res)
	}
	if r := e.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify of a new table: %+v", r)
	}
	if res := e.create(t, schema.CreateOptions{}); res.Status != schema.CreateUpToDate {
		t.Errorf("second create: %+v", res)
	}
	info := e.inspect(t)
	if ix, _ := info.ExpiryIndex(); ix.Name != "Index_ExpiresAtTime" || expiryIndexes(info) != 1 {
		t.Errorf("indexes %+v", info.Indexes)
	}

	e.s.Seed(t, e.raw, e.t.Table, "old", 50, 100, -time.Hour)
	e.s.Seed(t, e.raw, e.t.Table, "live", 20, 100, time.Hour)
	p, err := schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{BatchSize: 7})
	// 7 batches of 7, one of 1, one that deletes none.
	if err != nil || p.Deleted != 50 || p.Batches != 9 || p.Status != schema.PurgeDone {
		t.Errorf("purge: %+v, %v", p, err)
	}
	if n := e.s.Count(t, e.raw, e.t.Table, "live"); n != 20 {
		t.Errorf("purge left %d of 20 live rows", n)
	}

	d, err := schema.Drop(ctx, e.db, e.t, schema.DropOptions{})
	if err != nil || d.Status != schema.DropDropped {
		t.Fatalf("drop: %+v, %v", d, err)
	}
	if r := e.verify(t); r.Status != schema.StatusMissing {
		t.Errorf("verify after drop: %+v", r)
	}
	if info := e.inspect(t); info.VersionTable {
		t.Error("drop left the version table")
	}
}

// TestSQLServerAdoptsDotnetTable: a table `dotnet sql-cache create` made
// verifies with one warning (no version), is adopted by create without a
// second index, and then verifies clean.
func TestSQLServerAdoptsDotnetTable(t *testing.T) {
	e := newSQLServerEnv(t, "Adopt")
	ctx := context.Background()
	e.dotnetCreate(t)

	r := e.verify(t)
	if r.Status != schema.StatusOK || len(r.Findings) != 1 || r.Findings[0].Severity != schema.SeverityWarning ||
		!strings.HasPrefix(r.Findings[0].Object, "version") {
		t.Errorf("verify of a dotnet-made table: %+v", r)
	}
	res := e.create(t, schema.CreateOptions{})
	if res.Status != schema.CreateAdopted || res.Version != 2 || len(res.Warnings) != 0 {
		t.Errorf("create on a dotnet-made table: %+v", res)
	}
	info := e.inspect(t)
	if expiryIndexes(info) != 1 || len(info.Indexes) != 2 {
		t.Errorf("indexes after adopting: %+v", info.Indexes)
	}
	if r := e.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify after adopting: %+v", r)
	}
	e.s.Seed(t, e.raw, e.t.Table, "old", 10, 10, -time.Hour)
	if p, err := schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{}); err != nil || p.Deleted != 10 {
		t.Errorf("purge: %+v, %v", p, err)
	}
	if _, err := schema.Drop(ctx, e.db, e.t, schema.DropOptions{}); err != nil {
		t.Errorf("drop: %v", err)
	}
}

// TestSQLServerSameCatalogAsDotnet: the table sessctl makes and the one
// `dotnet sql-cache create` makes read the same from the catalog, column
// for column, key for key.
func TestSQLServerSameCatalogAsDotnet(t *testing.T) {
	ours := newSQLServerEnv(t, "Ours")
	theirs := ours.other(t, "Theirs")
	ours.create(t, schema.CreateOptions{})
	theirs.dotnetCreate(t)
	a, b := ours.inspect(t), theirs.inspect(t)
	if !slices.Equal(a.Columns, b.Columns) {
		t.Errorf("columns differ:\nsessctl %+v\ndotnet  %+v", a.Columns, b.Columns)
	}
	named := strings.HasPrefix(a.PrimaryKeyName, "PK__") // SQL Server's name for an unnamed key
	if ours.s.Babelfish(t, ours.raw) {
		// tds/README.md: "the primary key is named <table>_pkey, not PK__…".
		named = strings.HasSuffix(a.PrimaryKeyName, "_pkey") && strings.HasSuffix(b.PrimaryKeyName, "_pkey")
	}
	if !slices.Equal(a.PrimaryKey, b.PrimaryKey) || !named {
		t.Errorf("primary keys differ: %q %v, %q %v", a.PrimaryKeyName, a.PrimaryKey, b.PrimaryKeyName, b.PrimaryKey)
	}
	if len(a.Indexes) != len(b.Indexes) {
		t.Errorf("indexes differ: %+v, %+v", a.Indexes, b.Indexes)
	}
	for i := range min(len(a.Indexes), len(b.Indexes)) {
		x, y := a.Indexes[i], b.Indexes[i]
		if x.Primary != y.Primary || x.Unique != y.Unique || !slices.Equal(x.Columns, y.Columns) || (!x.Primary && x.Name != y.Name) {
			t.Errorf("index %d differs: %+v, %+v", i, x, y)
		}
	}
	// And what the catalog says beyond sessctl's Inspect: clustering, and
	// the precision of the times.
	const q = `SELECT i.type_desc, c.name, c.precision, c.scale
		FROM sys.indexes AS i
		JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
		JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
		WHERE i.object_id = OBJECT_ID(@p1)
		UNION ALL
		SELECT N'column', c.name, c.precision, c.scale FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(@p1)
		ORDER BY 1, 2`
	read := func(e *sqlServerEnv) []string {
		rows, err := e.raw.Query(q, e.s.Qualified(e.t.Table))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var kind, col string
			var precision, scale int
			if err := rows.Scan(&kind, &col, &precision, &scale); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %d %d", kind, col, precision, scale))
		}
		return out
	}
	if x, y := read(ours), read(theirs); !slices.Equal(x, y) {
		t.Errorf("catalogs differ:\nsessctl %q\ndotnet  %q", x, y)
	}
}

// TestSQLServerCaseInsensitiveIDFails: keys that differ only in case would
// collide under a case-insensitive collation; verify says so.
func TestSQLServerCaseInsensitiveIDFails(t *testing.T) {
	e := newSQLServerEnv(t, "CI")
	e.exec(t, "CREATE TABLE "+e.s.Qualified(e.t.Table)+"(Id nvarchar(449) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL, "+
		"Value varbinary(MAX) NOT NULL, ExpiresAtTime datetimeoffset NOT NULL, "+
		"SlidingExpirationInSeconds bigint NULL, AbsoluteExpiration datetimeoffset NULL, PRIMARY KEY (Id))")
	r := e.verify(t)
	if r.Status != schema.StatusIncompatible {
		t.Fatalf("verify: %+v", r)
	}
	found := false
	for _, f := range r.Findings {
		if f.Severity == schema.SeverityError && strings.Contains(f.Message, e.s.Collation(t, e.raw, "SQL_Latin1_General_CP1_CI_AS")) {
			found = true
		}
	}
	if !found {
		t.Errorf("no error on the collation of Id: %+v", r.Findings)
	}
	if _, err := schema.Create(context.Background(), e.db, e.t, schema.CreateOptions{}); !errors.Is(err, schema.ErrNotCacheTable) {
		t.Errorf("create on it: %v, want ErrNotCacheTable", err)
	}
}

// TestSQLServerWrongTypesFail: a narrower key or value, and a datetime2
// expiry, are errors with fixes.
func TestSQLServerWrongTypesFail(t *testing.T) {
	e := newSQLServerEnv(t, "Types")
	e.exec(t, "CREATE TABLE "+e.s.Qualified(e.t.Table)+"(Id nvarchar(200) COLLATE Latin1_General_BIN2 NOT NULL PRIMARY KEY, "+
		"Value varbinary(8000) NOT NULL, ExpiresAtTime datetime2 NOT NULL, "+
		"SlidingExpirationInSeconds bigint NOT NULL, AbsoluteExpiration datetimeoffset NULL)")
	r := e.verify(t)
	objects := map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity == schema.SeverityError {
			objects[f.Object] = true
		}
	}
	for _, col := range []string{"Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds"} {
		if !objects["column ["+col+"]"] {
			t.Errorf("no error on %s: %+v", col, r.Findings)
		}
	}
	if objects["column [AbsoluteExpiration]"] {
		t.Errorf("an error on a correct column: %+v", r.Findings)
	}
}

// TestSQLServerKeepsExpiryIndexOfAnotherName: a table with an index on
// ExpiresAtTime under another name gets no second one.
func TestSQLServerKeepsExpiryIndexOfAnotherName(t *testing.T) {
	e := newSQLServerEnv(t, "OtherIndex")
	e.dotnetCreate(t)
	q := e.s.Qualified(e.t.Table)
	e.exec(t, "DROP INDEX Index_ExpiresAtTime ON "+q, "CREATE INDEX IX_Expiry ON "+q+" (ExpiresAtTime, Id)")
	res := e.create(t, schema.CreateOptions{})
	if res.Status != schema.CreateAdopted || !strings.Contains(strings.Join(res.Actions, "\n"), "["+e.s.IndexName(t, e.raw, "IX_Expiry")+"]") {
		t.Errorf("create: %+v", res)
	}
	if info := e.inspect(t); expiryIndexes(info) != 1 {
		t.Errorf("indexes: %+v", info.Indexes)
	}
	// A dropped index is made again by the next create.
	e.exec(t, "DROP INDEX IX_Expiry ON "+q)
	res = e.create(t, schema.CreateOptions{})
	if res.Status != schema.CreateRepaired {
		t.Errorf("create after the index was dropped: %+v", res)
	}
	if ix, ok := e.inspect(t).ExpiryIndex(); !ok || ix.Name != "Index_ExpiresAtTime" {
		t.Errorf("repaired index %+v, %v", ix, ok)
	}
}

// TestSQLServerFinishesDirtyVersion: a create that died half-way is
// finished by the next.
func TestSQLServerFinishesDirtyVersion(t *testing.T) {
	e := newSQLServerEnv(t, "Dirty")
	e.create(t, schema.CreateOptions{})
	vt := e.s.Qualified(e.t.VersionTable)
	e.exec(t, "UPDATE "+vt+" SET dirty = 1")
	if r := e.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, "dirty") {
		t.Errorf("verify of a dirty version: %+v", r)
	}
	res := e.create(t, schema.CreateOptions{})
	if res.Status != schema.CreateUpgraded || res.Version != 2 {
		t.Errorf("create on a dirty version: %+v", res)
	}
	if r := e.verify(t); len(r.Findings) != 0 {
		t.Errorf("verify after: %+v", r.Findings)
	}
}

// TestSQLServerMissingSchema: create names --create-schema, and with it
// makes the schema.
func TestSQLServerMissingSchema(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	raw := s.Open(t)
	ctx := context.Background()
	schemaName := dialecttest.Table("sessctl_schema")
	tb, err := schema.NewTable(s.Dialect, schemaName, "SessionData")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP TABLE IF EXISTS " + tb.String(),
			"DROP TABLE IF EXISTS " + s.Dialect.Quote(schemaName) + "." + s.Dialect.Quote(tb.VersionTable),
			"DROP SCHEMA IF EXISTS " + s.Dialect.Quote(schemaName)} {
			if _, err := raw.Exec(q); err != nil {
				t.Errorf("cleanup: %s: %v", q, err)
			}
		}
	})
	db, err := schema.Connect(ctx, s.Conn(t), schema.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = schema.Create(ctx, db, tb, schema.CreateOptions{})
	if !errors.Is(err, dialects.ErrSchemaMissing) || !strings.Contains(err.Error(), "--create-schema") {
		t.Fatalf("create in a missing schema: %v", err)
	}
	res, err := schema.Create(ctx, db, tb, schema.CreateOptions{CreateSchema: true})
	if err != nil || res.Status != schema.CreateCreated {
		t.Fatalf("create --create-schema: %+v, %v", res, err)
	}
}

// TestSQLServerOddNames: names that need quoting, but that golang-migrate's
// driver can still take, go through every command.
func TestSQLServerOddNames(t *testing.T) {
	e := newSQLServerEnv(t, `Odd "x; DROP TABLE y; --`)
	ctx := context.Background()
	e.create(t, schema.CreateOptions{})
	if r := e.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify: %+v", r)
	}
	e.s.Seed(t, e.raw, e.t.Table, "old", 3, 10, -time.Hour)
	if p, err := schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{DryRun: true}); err != nil || left(p) != 3 || p.Plan == "" {
		t.Errorf("purge --dry-run: %+v, %v", p, err)
	}
	if p, err := schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{}); err != nil || p.Deleted != 3 {
		t.Errorf("purge: %+v, %v", p, err)
	}
	if _, err := schema.Drop(ctx, e.db, e.t, schema.DropOptions{}); err != nil {
		t.Errorf("drop: %v", err)
	}
}

// TestSQLServerPurgeSkipsRowsBeingSlid: a row an app session is sliding
// forward while purge runs is not deleted, and purge does not wait on it.
func TestSQLServerPurgeSkipsRowsBeingSlid(t *testing.T) {
	e := newSQLServerEnv(t, "Slide")
	ctx := context.Background()
	e.create(t, schema.CreateOptions{})
	e.s.Seed(t, e.raw, e.t.Table, "old", 20, 10, -time.Hour)

	tx, err := e.raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE "+e.t.String()+" SET ExpiresAtTime = DATEADD(hour, 1, SYSDATETIMEOFFSET()) WHERE Id = @p1", "old7"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var res *schema.PurgeResult
	go func() {
		var err error
		res, err = schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{BatchSize: 5})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Error("purge waited on the row an app session holds")
		if err := tx.Commit(); err != nil {
			t.Error(err)
		}
		err = <-done
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 19 || e.s.Count(t, e.raw, e.t.Table, "old7") != 1 {
		t.Errorf("purge deleted %d, row old7 left: %d; want 19 deleted and old7 kept", res.Deleted, e.s.Count(t, e.raw, e.t.Table, "old7"))
	}
}

// TestSQLServerPurgeLock: a second purge of the table skips while the
// first holds the lock.
func TestSQLServerPurgeLock(t *testing.T) {
	e := newSQLServerEnv(t, "PurgeLock")
	ctx := context.Background()
	e.create(t, schema.CreateOptions{})
	conn, err := e.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	unlock, err := e.s.Dialect.TryLock(ctx, conn, e.t.Names)
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer unlock()
	res, err := schema.Purge(ctx, e.db, e.t, schema.PurgeOptions{})
	if err != nil || res.Status != schema.PurgeSkipped {
		t.Errorf("purge while locked: %+v, %v", res, err)
	}
}
