package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// pgProvider runs, statement for statement, the SQL that
// Community.Microsoft.Extensions.Caching.PostgreSql runs at run time
// (SqlCommands.cs), binding values as Npgsql does: times as UTC
// timestamptz, sliding seconds as double precision, values as bytea. Its
// clock is the app's, passed in as now.
type pgProvider struct {
	db    *sql.DB
	table string // "schema"."table"
}

func (p pgProvider) set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time) {
	t.Helper()
	expires := now.Add(sliding)
	var slidingSecs any
	if sliding > 0 {
		slidingSecs = sliding.Seconds()
	} else {
		expires = *absolute
	}
	var abs any
	if absolute != nil {
		abs = absolute.UTC()
	}
	_, err := p.db.Exec(`INSERT INTO `+p.table+` ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT("Id") DO
		UPDATE SET
			"Value" = EXCLUDED."Value",
			"ExpiresAtTime" = EXCLUDED."ExpiresAtTime",
			"SlidingExpirationInSeconds" = EXCLUDED."SlidingExpirationInSeconds",
			"AbsoluteExpiration" = EXCLUDED."AbsoluteExpiration"`,
		id, value, expires.UTC(), slidingSecs, abs)
	if err != nil {
		t.Fatalf("provider Set(%q): %v", id, err)
	}
}

// refresh is the provider's UpdateCacheItemSql: slide forward, capped at
// the absolute expiry.
func (p pgProvider) refresh(t *testing.T, now time.Time, id string) {
	t.Helper()
	_, err := p.db.Exec(`UPDATE `+p.table+`
		SET "ExpiresAtTime" = LEAST("AbsoluteExpiration", $1 + "SlidingExpirationInSeconds" * interval '1 second')
		WHERE "Id" = $2
			AND ("ExpiresAtTime" IS NULL OR $1 <= "ExpiresAtTime")
			AND "SlidingExpirationInSeconds" IS NOT NULL
			AND ("AbsoluteExpiration" IS NULL OR "AbsoluteExpiration" <> "ExpiresAtTime")`, now.UTC(), id)
	if err != nil {
		t.Fatalf("provider Refresh(%q): %v", id, err)
	}
}

// get is the provider's Get: the refresh UPDATE, then GetCacheItemSql.
func (p pgProvider) get(t *testing.T, now time.Time, id string) []byte {
	t.Helper()
	p.refresh(t, now, id)
	var v []byte
	err := p.db.QueryRow(`SELECT "Value" FROM `+p.table+`
		WHERE "Id" = $1 AND ("ExpiresAtTime" IS NULL OR $2 <= "ExpiresAtTime")`, id, now.UTC()).Scan(&v)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		t.Fatalf("provider Get(%q): %v", id, err)
	}
	return v
}

func (p pgProvider) remove(t *testing.T, id string) {
	t.Helper()
	if _, err := p.db.Exec(`DELETE FROM `+p.table+` WHERE "Id" = $1`, id); err != nil {
		t.Fatalf("provider Remove(%q): %v", id, err)
	}
}

func (p pgProvider) deleteExpired(t *testing.T, now time.Time) int64 {
	t.Helper()
	res, err := p.db.Exec(`DELETE FROM `+p.table+` WHERE $1 > "ExpiresAtTime"`, now.UTC())
	if err != nil {
		t.Fatalf("provider DeleteExpired: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

func (p pgProvider) expiresAt(t *testing.T, id string) time.Time {
	t.Helper()
	var e time.Time
	if err := p.db.QueryRow(`SELECT "ExpiresAtTime" FROM `+p.table+` WHERE "Id" = $1`, id).Scan(&e); err != nil {
		t.Fatalf("reading ExpiresAtTime of %q: %v", id, err)
	}
	return e
}

// TestPostgresProviderConformance: the provider works, unchanged, on the
// table sessctl creates.
func TestPostgresProviderConformance(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db, table := s.Open(t), dialecttest.Table("Conform")
	s.DropAtCleanup(t, db, table)
	tb := create(t, s, table, schema.CreateOptions{})
	exercise(t, pgProvider{db: db, table: tb.String()})
}

// providerDDL is the table the provider creates for itself
// (CreateSchemaAndTableSql), with its fixed primary key name.
const providerDDL = `CREATE TABLE IF NOT EXISTS %s
(
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea,
    "ExpiresAtTime" timestamp with time zone,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT "DistCache_pkey" PRIMARY KEY ("Id")
)`

// TestPostgresAdoptsProviderTable: a table the provider made passes verify
// with warnings, is adopted by create (version recorded, index added, and
// said), keeps working with the provider, and purges.
func TestPostgresAdoptsProviderTable(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	ctx := context.Background()
	db := s.Open(t)
	// The provider's fixed "DistCache_pkey" allows one such table per
	// schema, so this test gets a schema of its own.
	schemaName := dialecttest.Table("provider")
	if _, err := db.Exec(`CREATE SCHEMA ` + s.Dialect.Quote(schemaName)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP SCHEMA ` + s.Dialect.Quote(schemaName) + ` CASCADE`) })
	s.Schema = schemaName
	table := "SessionData"
	tb, err := schema.NewTable(s.Dialect, schemaName, table)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf(providerDDL, tb)); err != nil {
		t.Fatal(err)
	}
	p := pgProvider{db: db, table: tb.String()}
	exercise(t, p)

	sdb := connect(t, s, false)
	r, err := schema.Verify(ctx, sdb, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != schema.StatusOK {
		t.Fatalf("verify of the provider's own table: %s %+v, want ok with warnings", r.Status, r.Findings)
	}
	wantWarnings(t, r.Findings, `column "Value" allows NULL`, `column "ExpiresAtTime" allows NULL`, "no index on", "no sessctl version")
	if r, _ := schema.Verify(ctx, sdb, tb, true); r.Status != schema.StatusIncompatible {
		t.Errorf("verify --strict of the provider's table: %s, want incompatible", r.Status)
	}

	res, err := schema.Create(ctx, connect(t, s, true), tb, schema.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != schema.CreateAdopted {
		t.Errorf("create of the provider's table: status %s, want adopted", res.Status)
	}
	said := strings.Join(res.Actions, "; ")
	for _, want := range []string{"adopted existing table", `created index "SessionData_ExpiresAtTime_idx"`, "recorded version 2"} {
		if !strings.Contains(said, want) {
			t.Errorf("create said %q, want it to say %q", said, want)
		}
	}
	r, _ = schema.Verify(ctx, sdb, tb, false)
	wantWarnings(t, r.Findings, `column "Value" allows NULL`, `column "ExpiresAtTime" allows NULL`)
	if r.Status != schema.StatusOK || len(r.Findings) != 2 {
		t.Errorf("verify after adoption: %s %+v, want ok with the two NULL warnings", r.Status, r.Findings)
	}
	exercise(t, p)

	// A second create is a no-op: no second index, nothing re-recorded.
	res, err = schema.Create(ctx, connect(t, s, true), tb, schema.CreateOptions{})
	if err != nil || res.Status != schema.CreateUpToDate {
		t.Fatalf("second create: %+v, %v; want up_to_date", res, err)
	}
	var indexes int
	if err := db.QueryRow(`SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, schemaName, table).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 2 { // the primary key and the expiry index
		t.Errorf("the adopted table has %d indexes, want 2", indexes)
	}
}

// TestPostgresAdoptKeepsOtherExpiryIndex: an index on ExpiresAtTime under
// another name is the expiry index: create adds no second one.
func TestPostgresAdoptKeepsOtherExpiryIndex(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db, table := s.Open(t), dialecttest.Table("OtherIx")
	s.DropAtCleanup(t, db, table)
	tb, _ := schema.NewTable(s.Dialect, s.Schema, table)
	ddl := strings.Replace(fmt.Sprintf(providerDDL, tb), `"DistCache_pkey"`, s.Dialect.Quote(table+"_pk"), 1)
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE INDEX ` + s.Dialect.Quote(table+"_exp") + ` ON ` + tb.String() + ` ("ExpiresAtTime", "Id")`); err != nil {
		t.Fatal(err)
	}
	res, err := schema.Create(context.Background(), connect(t, s, true), tb, schema.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(res.Actions, ";"), "created index") {
		t.Errorf("create added an index to a table that has one: %v", res.Actions)
	}
	var indexes int
	if err := db.QueryRow(`SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, s.Schema, table).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 2 {
		t.Errorf("table has %d indexes after create, want 2", indexes)
	}
}

// TestPostgresTwoTablesInOneSchema: per-table constraint, index and
// version-table names let two cache tables share a schema.
func TestPostgresTwoTablesInOneSchema(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	a, b := dialecttest.Table("TwoA"), dialecttest.Table("TwoB")
	s.DropAtCleanup(t, db, a)
	s.DropAtCleanup(t, db, b)
	ta := create(t, s, a, schema.CreateOptions{})
	tb := create(t, s, b, schema.CreateOptions{})
	exercise(t, pgProvider{db: db, table: ta.String()})
	exercise(t, pgProvider{db: db, table: tb.String()})
	for _, tt := range []*schema.Table{ta, tb} {
		r, err := schema.Verify(context.Background(), connect(t, s, false), tt, true)
		if err != nil || r.Status != schema.StatusOK {
			t.Errorf("verify --strict %s: %+v, %v", tt, r, err)
		}
	}
}

// TestPostgresSchemaMissing: a missing schema is an error naming
// --create-schema, which creates it.
func TestPostgresSchemaMissing(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	schemaName := dialecttest.Table("NoSuchSchema")
	t.Cleanup(func() { db.Exec(`DROP SCHEMA IF EXISTS ` + s.Dialect.Quote(schemaName) + ` CASCADE`) })
	tb, _ := schema.NewTable(s.Dialect, schemaName, "SessionData")
	_, err := schema.Create(context.Background(), connect(t, s, true), tb, schema.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "--create-schema") {
		t.Fatalf("create in a missing schema: %v, want an error naming --create-schema", err)
	}
	res, err := schema.Create(context.Background(), connect(t, s, true), tb, schema.CreateOptions{CreateSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Actions, ";"), "created schema") || res.Status != schema.CreateCreated {
		t.Errorf("create --create-schema: %+v", res)
	}
}

// create makes table on s with sessctl and returns it.
func create(t *testing.T, s dialecttest.Server, table string, opts schema.CreateOptions) *schema.Table {
	t.Helper()
	tb, err := schema.NewTable(s.Dialect, s.Schema, table)
	if err != nil {
		t.Fatal(err)
	}
	res, err := schema.Create(context.Background(), connect(t, s, true), tb, opts)
	if err != nil {
		t.Fatalf("create %s: %v", tb, err)
	}
	if res.Status != schema.CreateCreated {
		t.Fatalf("create %s: status %s, want created", tb, res.Status)
	}
	return tb
}

// connect opens s through schema.Connect, closed at cleanup.
func connect(t *testing.T, s dialecttest.Server, mayCreate bool) *schema.DB {
	t.Helper()
	db, err := schema.Connect(context.Background(), s.Conn(t), schema.ConnectOptions{Create: mayCreate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wantWarnings fails t unless, for each want, a warning contains it.
func wantWarnings(t *testing.T, fs []schema.Finding, wants ...string) {
	t.Helper()
	for _, want := range wants {
		found := false
		for _, f := range fs {
			if f.Severity == schema.SeverityWarning && strings.Contains(f.Message, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning says %q; findings: %+v", want, fs)
		}
	}
}
