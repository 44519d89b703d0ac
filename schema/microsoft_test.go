package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
)

// TestMicrosoftNames: a name is made as Microsoft.Extensions.Caching.Postgres
// reads it, unquoted and so folded to lower case, and says so; one it
// could never find (needing quotes, a reserved schema) is refused before
// anything is sent; its index is named for its table.
func TestMicrosoftNames(t *testing.T) {
	pg, _ := registry.Lookup("postgres")
	tb, err := NewTableOf(pg, layouts.Microsoft, "Cache", "SessionData")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Schema != "cache" || tb.Names.Table != "sessiondata" || tb.String() != `"cache"."sessiondata"` {
		t.Errorf("SessionData in Cache is %s (%q, %q), want \"cache\".\"sessiondata\"", tb, tb.Schema, tb.Names.Table)
	}
	if len(tb.Notes) != 2 || !strings.Contains(tb.Notes[1], `TableName = "SessionData"`) || !strings.Contains(tb.Notes[1], `"sessiondata"`) {
		t.Errorf("notes %q: want one for the schema and one saying TableName = \"SessionData\" reads \"sessiondata\"", tb.Notes)
	}
	if tb.ExpiryIndex != "ix_sessiondata_expiresattime" || tb.PrimaryKey != "sessiondata_pkey" || tb.Key != "id" || tb.Expiry != "expiresattime" {
		t.Errorf("names %+v", tb.Names)
	}
	if lower, _ := NewTableOf(pg, layouts.Microsoft, "public", "sess_1$x"); len(lower.Notes) != 0 {
		t.Errorf("a name already lower case got notes %q", lower.Notes)
	}
	for _, tc := range []struct{ schema, table, say string }{
		{"public", "Session-Data", "unquoted"},
		{"public", "Session Data", "unquoted"},
		{"public", `Sess"ion`, "unquoted"},
		{"public", "sessiondätä", "ASCII"},
		{"public", "1sessions", "starts with a letter"},
		{"public", "a;DROP TABLE x", "unquoted"},
		{"user", "sessions", "reserved word"},
		{"Select", "sessions", "reserved word"},
		{"my schema", "sessions", "SchemaName"},
		{"pg_cache", "sessions", "pg_"},
		{"public", strings.Repeat("s", 64), "63"},
	} {
		_, err := NewTableOf(pg, layouts.Microsoft, tc.schema, tc.table)
		if !errors.Is(err, dialects.ErrInvalidName) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%q.%q: %v, want ErrInvalidName saying %q", tc.schema, tc.table, err, tc.say)
		}
	}
	// After the dot a keyword is a name: the package's public.user parses.
	if _, err := NewTableOf(pg, layouts.Microsoft, "public", "user"); err != nil {
		t.Errorf("table user: %v", err)
	}
}

// TestMicrosoftOnlyOnPostgres: another engine refuses the layout, saying
// where it lives and what to do.
func TestMicrosoftOnlyOnPostgres(t *testing.T) {
	for _, name := range []string{"sqlite", "mysql", "sqlserver"} {
		d, _ := registry.Lookup(name)
		_, err := NewTableOf(d, layouts.Microsoft, "main", "sessions")
		if !errors.Is(err, layouts.ErrWrongEngine) || !strings.Contains(err.Error(), "postgres only") ||
			!strings.Contains(err.Error(), "this is "+name) || !strings.Contains(err.Error(), "connect to postgres") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMicrosoftUnloggedScript: the table is UNLOGGED, as the package
// makes it, with the risk said in the script; Logged makes a logged one.
func TestMicrosoftUnloggedScript(t *testing.T) {
	pg, _ := registry.Lookup("postgres")
	tb, err := NewTableOf(pg, layouts.Microsoft, "public", "sessions")
	if err != nil {
		t.Fatal(err)
	}
	for _, idempotent := range []bool{false, true} {
		tb.Logged = false
		sql, err := CreateScript(tb, idempotent)
		if err != nil || !strings.Contains(sql, `CREATE UNLOGGED TABLE`) || !strings.Contains(sql, "a crash") {
			t.Errorf("default (idempotent %v): %v\n%s", idempotent, err, sql)
		}
		tb.Logged = true
		if sql, err = CreateScript(tb, idempotent); err != nil || strings.Contains(sql, "UNLOGGED TABLE") || strings.Contains(sql, "a crash") {
			t.Errorf("Logged (idempotent %v): %v\n%s", idempotent, err, sql)
		}
	}
}
