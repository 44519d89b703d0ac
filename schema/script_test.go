package schema

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// hostileTable is a table name built to break careless quoting.
const hostileTable = "Sess\"ion]Da`ta'; DROP TABLE y; --"

// TestScriptsGolden checks the SQL of every --script against the golden
// files of every dialect, and of every layout but the cache table's
// (files named for the layout: microsoft_create.sql) in the dialects it
// lives in. Run `go test ./schema -update` to rewrite them, then read the
// diff.
func TestScriptsGolden(t *testing.T) {
	for _, name := range registry.List() {
		d, _ := registry.Lookup(name)
		for _, tc := range goldenCases(name) {
			t.Run(name+"/"+tc.file, func(t *testing.T) {
				golden(t, filepath.Join("..", "testdata", "golden", name, tc.file), script(d, tc))
			})
		}
	}
}

// goldenCase is one golden file: the script it holds (kind), of which
// table.
type goldenCase struct {
	file, kind string
	layout     *layouts.Layout
	table      string
	logged     bool
}

// goldenCases are the golden files of engine name.
func goldenCases(name string) []goldenCase {
	cases := []goldenCase{
		{"create.sql", "create", layouts.Cache, "SessionData", false},
		{"create_idempotent.sql", "idempotent", layouts.Cache, "SessionData", false},
		{"drop.sql", "drop", layouts.Cache, "SessionData", false},
		{"purge.sql", "purge", layouts.Cache, "SessionData", false},
		{"create_hostile.sql", "create", layouts.Cache, hostileTable, false},
		{"create_idempotent_hostile.sql", "idempotent", layouts.Cache, hostileTable, false},
	}
	// The key ring (--layout keys), on every engine.
	cases = append(cases,
		goldenCase{"keys_create.sql", "create", layouts.Keys, "DataProtectionKeys", false},
		goldenCase{"keys_create_idempotent.sql", "idempotent", layouts.Keys, "DataProtectionKeys", false},
		goldenCase{"keys_drop.sql", "drop", layouts.Keys, "DataProtectionKeys", false},
		goldenCase{"keys_create_hostile.sql", "create", layouts.Keys, hostileTable, false},
		goldenCase{"keys_create_idempotent_hostile.sql", "idempotent", layouts.Keys, hostileTable, false},
	)
	if layouts.Microsoft.In(name) {
		cases = append(cases,
			goldenCase{"microsoft_create.sql", "create", layouts.Microsoft, "SessionData", false},
			goldenCase{"microsoft_create_logged.sql", "create", layouts.Microsoft, "sessiondata", true},
			goldenCase{"microsoft_create_idempotent.sql", "idempotent", layouts.Microsoft, "SessionData", false},
			goldenCase{"microsoft_drop.sql", "drop", layouts.Microsoft, "SessionData", false},
			goldenCase{"microsoft_purge.sql", "purge", layouts.Microsoft, "SessionData", false},
			goldenCase{"microsoft_create_hostile.sql", "create", layouts.Microsoft, hostileTable, false},
		)
	}
	if layouts.AspState.In(name) {
		// The classic ASP.NET session layouts, in a folder each: the async
		// provider's table as create makes it, each one's purge (Expires, a
		// datetime, against GETUTCDATE()), and the refusals to create or
		// drop a table sessctl does not make or drop.
		for _, l := range []*layouts.Layout{layouts.AspState, layouts.AspNetAsync, layouts.Universal} {
			table := map[string]string{"aspstate": "ASPStateTempSessions", "aspnet-async": "ASPNetSessionState", "universal": "Sessions"}[l.Name]
			cases = append(cases,
				goldenCase{l.Name + "/create.sql", "create", l, table, false},
				goldenCase{l.Name + "/create_idempotent.sql", "idempotent", l, table, false},
				goldenCase{l.Name + "/drop.sql", "drop", l, table, false},
				goldenCase{l.Name + "/purge.sql", "purge", l, table, false},
				goldenCase{l.Name + "/create_hostile.sql", "create", l, hostileTable, false},
			)
		}
	}
	return cases
}

// script renders one golden file's script, or the error that stops it.
func script(d dialects.Dialect, tc goldenCase) string {
	tb, err := NewTableOf(d, tc.layout, dialecttest.DefaultSchema(d), tc.table)
	if err != nil {
		return "-- rejected: " + err.Error() + "\n"
	}
	tb.Logged = tc.logged
	var sql string
	switch tc.kind {
	case "create":
		sql, err = CreateScript(tb, false)
	case "idempotent":
		sql, err = CreateScript(tb, true)
	case "drop":
		sql, err = DropScript(tb)
	case "purge":
		sql = PurgeScript(tb, 5*time.Minute, DefaultBatchSize)
	}
	if err != nil {
		return "-- error: " + err.Error() + "\n"
	}
	return sql
}

// golden compares got with the file at path, or writes it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
