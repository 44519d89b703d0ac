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
// files of every dialect. Run `go test ./schema -update` to rewrite them,
// then read the diff.
func TestScriptsGolden(t *testing.T) {
	for _, name := range registry.List() {
		d, _ := registry.Lookup(name)
		for _, tc := range []struct {
			file  string
			table string
		}{
			{"create.sql", "SessionData"},
			{"create_idempotent.sql", "SessionData"},
			{"drop.sql", "SessionData"},
			{"purge.sql", "SessionData"},
			{"create_hostile.sql", hostileTable},
			{"create_idempotent_hostile.sql", hostileTable},
		} {
			t.Run(name+"/"+tc.file, func(t *testing.T) {
				got := script(d, tc.file, tc.table)
				path := filepath.Join("..", "testdata", "golden", name, tc.file)
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
			})
		}
	}
}

// script renders one golden file's script, or the error that stops it.
func script(d dialects.Dialect, file, table string) string {
	return scriptOf(d, layouts.Cache, file, table)
}

// scriptOf renders one golden file's script of a table of layout l.
func scriptOf(d dialects.Dialect, l *layouts.Layout, file, table string) string {
	tb, err := NewTableOf(d, l, dialecttest.DefaultSchema(d), table)
	if err != nil {
		return "-- rejected: " + err.Error() + "\n"
	}
	var sql string
	switch file {
	case "create.sql", "create_hostile.sql":
		sql, err = CreateScript(tb, false)
	case "create_idempotent.sql", "create_idempotent_hostile.sql":
		sql, err = CreateScript(tb, true)
	case "drop.sql":
		sql, err = DropScript(tb)
	case "purge.sql":
		sql = PurgeScript(tb, 5*time.Minute, DefaultBatchSize)
	}
	if err != nil {
		return "-- error: " + err.Error() + "\n"
	}
	return sql
}

// TestClassicSessionScriptsGolden checks the scripts of the classic ASP.NET
// session layouts (SQL Server only) against their golden files, under
// testdata/golden/sqlserver/LAYOUT/: the async provider's table as create
// makes it, and each layout's purge, which compares Expires, a datetime,
// with GETUTCDATE(). Create and drop of the layouts sessctl does not make
// or drop are refusals, golden too. Run `go test ./schema -update` to
// rewrite them, then read the diff.
func TestClassicSessionScriptsGolden(t *testing.T) {
	d, _ := registry.Lookup("sqlserver")
	for _, l := range []*layouts.Layout{layouts.AspState, layouts.AspNetAsync, layouts.Universal} {
		table := map[string]string{"aspstate": "ASPStateTempSessions", "aspnet-async": "ASPNetSessionState", "universal": "Sessions"}[l.Name]
		for _, tc := range []struct{ file, table string }{
			{"create.sql", table},
			{"create_idempotent.sql", table},
			{"drop.sql", table},
			{"purge.sql", table},
			{"create_hostile.sql", hostileTable},
		} {
			t.Run(l.Name+"/"+tc.file, func(t *testing.T) {
				golden(t, filepath.Join("..", "testdata", "golden", "sqlserver", l.Name, tc.file), scriptOf(d, l, tc.file, tc.table))
			})
		}
	}
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
