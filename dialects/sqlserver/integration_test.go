package sqlserver_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// These tests run against the server SESSCTL_TEST_SQLSERVER_DSN names, in
// the schema SESSCTL_TEST_SQLSERVER_SCHEMA (default dbo), and skip
// without it.

// dotnetCreateTable runs the DDL `dotnet sql-cache create` runs, in one
// transaction (aspnetcore's src/Tools/dotnet-sql-cache SqlQueries.cs).
func dotnetCreateTable(t *testing.T, db *sql.DB, qualified string) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		"CREATE TABLE " + qualified + "(Id nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL, " +
			"Value varbinary(MAX) NOT NULL, ExpiresAtTime datetimeoffset NOT NULL, " +
			"SlidingExpirationInSeconds bigint NULL,AbsoluteExpiration datetimeoffset NULL, PRIMARY KEY (Id))",
		"CREATE NONCLUSTERED INDEX Index_ExpiresAtTime ON " + qualified + "(ExpiresAtTime)",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// dotnetCatalog is how the catalog names what dotnetCreateTable made: Id's
// collation, and how the primary key's name begins. SQL Server: the
// collation as written, and PK__ followed by the table's name and a hash.
// Babelfish reports the collation as bbf_unicode_cp1_cs_as and names the
// primary key <table>_pkey (tds/README.md, divergences: "collations are
// reported as bbf_unicode_cp1_cs_as", "the primary key is named
// <table>_pkey"), both in lower case.
func dotnetCatalog(t *testing.T, s dialecttest.Server, db *sql.DB, table string) (collation, pkPrefix string) {
	if s.Babelfish(t, db) {
		return "bbf_unicode_cp1_cs_as", dialecttest.BabelfishFold(table) + "_pkey"
	}
	return "SQL_Latin1_General_CP1_CS_AS", "PK__"
}

func TestSQLServerInspectsDotnetTable(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	table := dialecttest.Table("Inspect")
	s.DropAtCleanup(t, db, table)
	dotnetCreateTable(t, db, s.Qualified(table))

	d := s.Dialect
	info, err := d.Inspect(context.Background(), db, d.Names(s.Schema, table))
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != dialects.KindTable || info.Name != table {
		t.Fatalf("kind %s, name %q", info.Kind, info.Name)
	}
	collation, pkPrefix := dotnetCatalog(t, s, db, table)
	want := []dialects.Column{
		{Name: "Id", Type: "nvarchar", Length: 449, Collation: collation},
		{Name: "Value", Type: "varbinary", Length: -1},
		{Name: "ExpiresAtTime", Type: "datetimeoffset"},
		{Name: "SlidingExpirationInSeconds", Type: "bigint", Nullable: true},
		{Name: "AbsoluteExpiration", Type: "datetimeoffset", Nullable: true},
	}
	if !slices.Equal(info.Columns, want) {
		t.Errorf("columns\n%+v\nwant\n%+v", info.Columns, want)
	}
	if !slices.Equal(info.PrimaryKey, []string{"Id"}) || !strings.HasPrefix(info.PrimaryKeyName, pkPrefix) {
		t.Errorf("primary key %q on %v", info.PrimaryKeyName, info.PrimaryKey)
	}
	ix, ok := info.ExpiryIndex()
	if !ok || ix.Name != "Index_ExpiresAtTime" || !slices.Equal(ix.Columns, []string{"ExpiresAtTime"}) || ix.Unique {
		t.Errorf("expiry index %+v, %v", ix, ok)
	}
	if info.VersionTable || info.Version != nil || len(info.Notes) != 0 {
		t.Errorf("version table %v, version %v, notes %q", info.VersionTable, info.Version, info.Notes)
	}

	missing, err := d.Inspect(context.Background(), db, d.Names(s.Schema, table+"_none"))
	if err != nil || missing.Kind != dialects.KindMissing {
		t.Errorf("a missing table: %+v, %v", missing, err)
	}
}

func TestSQLServerInspectsViewsAndFilteredIndexes(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	table := dialecttest.Table("Filtered")
	view := table + "_v"
	s.DropAtCleanup(t, db, table)
	dotnetCreateTable(t, db, s.Qualified(table))
	for _, q := range []string{
		"DROP INDEX Index_ExpiresAtTime ON " + s.Qualified(table),
		"CREATE INDEX IX_Filtered ON " + s.Qualified(table) + " (ExpiresAtTime) WHERE SlidingExpirationInSeconds IS NULL",
		"CREATE VIEW " + s.Qualified(view) + " AS SELECT * FROM " + s.Qualified(table),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { db.Exec("DROP VIEW " + s.Qualified(view)) })

	d := s.Dialect
	info, err := d.Inspect(context.Background(), db, d.Names(s.Schema, table))
	if err != nil {
		t.Fatal(err)
	}
	if ix, ok := info.ExpiryIndex(); ok {
		t.Errorf("a filtered index %q counts as the expiry index", ix.Name)
	}
	v, err := d.Inspect(context.Background(), db, d.Names(s.Schema, view))
	if err != nil || v.Kind != dialects.KindView {
		t.Errorf("a view: %+v, %v", v, err)
	}
}

func TestSQLServerTryLock(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	ctx := context.Background()
	n := s.Dialect.Names(s.Schema, dialecttest.Table("Lock"))
	conn := func() *sql.Conn {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// refused tries the lock on a new connection and wants it refused,
	// and that connection gone: stock Babelfish crashes at the fifth
	// refused sp_getapplock on one connection, so none may ask twice.
	refused := func(what string) {
		t.Helper()
		c := conn()
		if _, err := s.Dialect.TryLock(ctx, c, n); !errors.Is(err, dialects.ErrLocked) {
			t.Fatalf("%s: %v; want %v", what, err, dialects.ErrLocked)
		}
		if err := c.PingContext(ctx); !errors.Is(err, sql.ErrConnDone) {
			t.Fatalf("%s: the refused connection is still open (ping: %v): a retry on it would ask sp_getapplock again", what, err)
		}
	}
	c1 := conn()
	unlock, err := s.Dialect.TryLock(ctx, c1, n)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	refused("second lock while the first is held")
	other := s.Dialect.Names(s.Schema, n.Table+"_other")
	if u, err := s.Dialect.TryLock(ctx, conn(), other); err != nil {
		t.Fatalf("another table's lock: %v", err)
	} else {
		u()
	}
	// The lock belongs to the session, not to a transaction.
	if _, err := c1.ExecContext(ctx, "BEGIN TRANSACTION; COMMIT;"); err != nil {
		t.Fatal(err)
	}
	refused("the lock after a transaction of its session ended")
	// Refused connections left the pool, and the pool still serves.
	for i := range 6 {
		refused(fmt.Sprintf("lock %d while held", i+3))
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	u2, err := s.Dialect.TryLock(ctx, conn(), n)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u2()
}

func TestSQLServerDeleteExpiredOverTheCap(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	ctx := context.Background()
	table := dialecttest.Table("Cap")
	s.DropAtCleanup(t, db, table)
	dotnetCreateTable(t, db, s.Qualified(table))
	s.Seed(t, db, table, "old", 4500, 10, -time.Hour)
	s.Seed(t, db, table, "recent", 10, 10, -time.Minute)
	s.Seed(t, db, table, "live", 10, 10, time.Hour)

	d, n := s.Dialect, s.Dialect.Names(s.Schema, table)
	count, oldest, err := d.CountExpired(ctx, db, n, 10*time.Minute)
	if err != nil || count != 4500 || time.Since(oldest) < 59*time.Minute || oldest.Location() != time.UTC {
		t.Errorf("CountExpired with 10m grace: %d, oldest %s, %v; want 4500, an hour ago, UTC", count, oldest, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plan, err := d.ExplainPurge(ctx, conn, n, 10*time.Minute, 10000)
	if err != nil || !strings.Contains(plan, "Index_ExpiresAtTime") {
		t.Errorf("plan does not read the expiry index (%v):\n%s", err, plan)
	}
	// The session is back to running statements.
	if left := s.Count(t, db, table, "old"); left != 4500 {
		t.Fatalf("ExplainPurge deleted rows: %d left", left)
	}
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after ExplainPurge the session does not run statements: %v", err)
	}

	deleted, err := d.DeleteExpired(ctx, conn, n, 10*time.Minute, 10000)
	if err != nil || deleted != 4500 {
		t.Fatalf("DeleteExpired over the cap: %d, %v; want 4500", deleted, err)
	}
	for prefix, want := range map[string]int64{"old": 0, "recent": 10, "live": 10} {
		if got := s.Count(t, db, table, prefix); got != want {
			t.Errorf("%s rows left: %d, want %d", prefix, got, want)
		}
	}
	deleted, err = d.DeleteExpired(ctx, conn, n, 0, 5)
	if err != nil || deleted != 5 {
		t.Errorf("DeleteExpired without grace, limit 5: %d, %v", deleted, err)
	}
}

func TestSQLServerSchema(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	ctx := context.Background()
	d := s.Dialect
	name := dialecttest.Table("sessctl schema")
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + d.Quote(name)) })
	if ok, err := d.SchemaExists(ctx, db, name); err != nil || ok {
		t.Fatalf("SchemaExists before: %v, %v", ok, err)
	}
	for i := range 2 {
		if _, err := db.ExecContext(ctx, d.(dialects.SchemaCreator).CreateSchemaSQL(name)); err != nil {
			t.Fatalf("CreateSchemaSQL, run %d: %v", i+1, err)
		}
	}
	if ok, err := d.SchemaExists(ctx, db, name); err != nil || !ok {
		t.Fatalf("SchemaExists after: %v, %v", ok, err)
	}
}

// TestSQLServerWrongPasswordIsPermanent: --wait does not retry a login
// the server refused.
func TestSQLServerWrongPasswordIsPermanent(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	c := s.Conn(t)
	if c.Driver != "sqlserver" {
		t.Skip("the test server signs in with Azure AD")
	}
	wrong := *c
	if u, err := url.Parse(c.DSN); err == nil && u.Scheme == "sqlserver" && u.User != nil {
		u.User = url.UserPassword(u.User.Username(), "not-the-password")
		wrong.DSN = u.String()
	} else {
		wrong.DSN = c.DSN + `;password="not-the-password"`
	}
	db, err := s.Dialect.Open(&wrong, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if err == nil {
		t.Skip("the server accepted a wrong password: it does not use SQL Server logins")
	}
	if !dialects.Permanent(s.Dialect, err) {
		t.Errorf("a refused login is not permanent: %v", err)
	}
}

// TestSQLServerInspectsNamesAsStored: names with spaces, quotes, brackets
// and letters outside code page 1252, in mixed case, read back as they
// were made: the table's, its columns', and sessctl's index's, on SQL
// Server and on Babelfish alike (whose sys views give them lower-cased,
// with such letters as '?').
func TestSQLServerInspectsNamesAsStored(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	t.Parallel()
	db := s.Open(t)
	for _, prefix := range []string{"Сессии Ж", "My \"Täble\" [x", "会话 Data", "Ünïcødé_Λ"} {
		table := dialecttest.Table(prefix)
		s.DropAtCleanup(t, db, table)
		dotnetCreateTable(t, db, s.Qualified(table))
		if _, err := db.Exec("ALTER TABLE " + s.Qualified(table) + " ADD [Ёлка Col] int NULL"); err != nil {
			t.Fatal(err)
		}
		d := s.Dialect
		info, err := d.Inspect(context.Background(), db, d.Names(s.Schema, table))
		if err != nil {
			t.Fatal(err)
		}
		if info.Kind != dialects.KindTable || info.Name != table {
			t.Errorf("%q: kind %s, name %q", table, info.Kind, info.Name)
			continue
		}
		var cols []string
		for _, c := range info.Columns {
			cols = append(cols, c.Name)
		}
		if want := []string{"Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration", "Ёлка Col"}; !slices.Equal(cols, want) {
			t.Errorf("%q: columns %q, want %q", table, cols, want)
		}
		if !slices.Equal(info.PrimaryKey, []string{"Id"}) {
			t.Errorf("%q: primary key on %q", table, info.PrimaryKey)
		}
		if ix, ok := info.ExpiryIndex(); !ok || ix.Name != "Index_ExpiresAtTime" {
			t.Errorf("%q: expiry index %+v, %v", table, ix, ok)
		} else if _, err := db.Exec(ix.Drop); err != nil {
			t.Errorf("%q: the index's own drop %q: %v", table, ix.Drop, err)
		}
	}
}
