package schema

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
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
			l     *layouts.Layout
		}{
			{"create.sql", "SessionData", layouts.Cache},
			{"create_idempotent.sql", "SessionData", layouts.Cache},
			{"drop.sql", "SessionData", layouts.Cache},
			{"purge.sql", "SessionData", layouts.Cache},
			{"create_hostile.sql", hostileTable, layouts.Cache},
			{"create_idempotent_hostile.sql", hostileTable, layouts.Cache},
			// The key ring (--layout keys): its files are keys_*.sql.
			{"keys_create.sql", "DataProtectionKeys", layouts.Keys},
			{"keys_create_idempotent.sql", "DataProtectionKeys", layouts.Keys},
			{"keys_drop.sql", "DataProtectionKeys", layouts.Keys},
			{"keys_create_hostile.sql", hostileTable, layouts.Keys},
			{"keys_create_idempotent_hostile.sql", hostileTable, layouts.Keys},
		} {
			t.Run(name+"/"+tc.file, func(t *testing.T) {
				got := script(d, tc.l, strings.TrimPrefix(tc.file, "keys_"), tc.table)
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
func script(d dialects.Dialect, l *layouts.Layout, file, table string) string {
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
