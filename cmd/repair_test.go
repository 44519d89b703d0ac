package cmd

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
)

// TestTableDroppedByHandIsMadeAgain: a DBA who does not know about
// TABLE_migrations drops the cache table by hand and leaves the version
// table. Whatever version that table records (the latest, one behind, the
// latest left dirty), verify says the table is missing and names the
// leftover; the next plain create makes the table and its index again,
// exiting 0, and verify --strict passes. drop, with and without
// --if-exists, removes a version table left without its table, and says
// so; after it nothing of the table is left. The key ring (--layout keys)
// likewise, its version (1, its only one) left as it was or dirty (on the
// TDS stand-in dirty only, and no drop case); it is checked by keyRingOK,
// as verify does not read a key ring yet.
func TestTableDroppedByHandIsMadeAgain(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			t.Run(l.Name, func(t *testing.T) {
				t.Parallel()
				droppedByHand(t, s, l)
			})
		}
	})
}

func droppedByHand(t *testing.T, s dialecttest.Server, l *layouts.Layout) {
	db := s.Open(t)
	latest, err := l.Templates.Latest(s.Dialect.Name())
	if err != nil {
		t.Fatal(err)
	}
	n := func(table string) string { return s.Dialect.Names(s.Schema, table).VersionTable }
	dropByHand := func(table string) { dropTableByHand(t, s, db, table) }
	for _, left := range []struct {
		name string
		set  string // SET clause for the version row left behind; "" leaves it as create wrote it
	}{
		{"latest", ""},
		{"behind", "version = 1"},
		{"dirty", "version = " + itoa(int64(latest)) + ", dirty = " + trueLiteral(s)},
	} {
		if left.name == "behind" && latest == 1 {
			continue // one migration: nothing is behind it
		}
		if l != layouts.Cache && s.Dialect.Name() == "sqlserver" && left.name != "dirty" {
			continue // a create takes seconds on the TDS stand-in: the key ring's dirty case only
		}
		t.Run(left.name, func(t *testing.T) {
			table := dialecttest.Table("Gone")
			s.DropAtCleanup(t, db, table)
			must(t, 0, withLayout(l, "create", s.DSN, s.Schema, table)...)
			if l == layouts.Keys {
				insertKey(t, s, db, table, "key-1", "<key/>")
			} else {
				s.Seed(t, db, table, "r", 10, 10, 0)
			}
			if left.set != "" {
				if _, err := db.Exec("UPDATE " + s.Qualified(n(table)) + " SET " + left.set); err != nil {
					t.Fatal(err)
				}
			}
			dropByHand(table)

			if l == layouts.Cache {
				r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
				if m := r.json(t); m["status"] != "missing" || !strings.Contains(r.stdout, "there without its table") {
					t.Errorf("verify of a table dropped by hand: %s", r.stdout)
				}
			}
			r := must(t, 0, withLayout(l, "create", "-o", "json", s.DSN, s.Schema, table)...)
			if m := r.json(t); m["status"] != "repaired" || m["version"] != float64(latest) ||
				!strings.Contains(r.stdout, "made table "+strings.ReplaceAll(s.Qualified(table), `"`, `\"`)+" again") {
				t.Errorf("create over a table dropped by hand (version %s): %s", left.name, r.stdout)
			}
			if tablesLike(t, s, db, table) != 1 {
				t.Fatalf("create did not make %s again", table)
			}
			if l == layouts.Keys {
				wantKeyVersion(t, s, db, table)
				if err := keyRingOK(s, db, table); err != nil {
					t.Error(err)
				}
			} else {
				wantVerified(t, s, table)
				wantClean(t, s, db, table)
			}
			r = must(t, 0, withLayout(l, "create", "-o", "json", s.DSN, s.Schema, table)...)
			if got := r.json(t)["status"]; got != "up_to_date" {
				t.Errorf("create after the repair: status %v, want up_to_date", got)
			}
		})
	}

	if l != layouts.Cache && s.Dialect.Name() == "sqlserver" {
		return // as above: the cache table's drop case runs there
	}
	t.Run("drop", func(t *testing.T) { droppedByHandDropped(t, s, db, l) })
}

// dropTableByHand drops table as a DBA would, leaving its version table.
func dropTableByHand(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	if _, err := db.Exec("DROP TABLE " + s.Qualified(table)); err != nil {
		t.Fatal(err)
	}
	if tablesLike(t, s, db, s.Dialect.Names(s.Schema, table).VersionTable) != 1 {
		t.Fatalf("dropping %s by hand took its version table too", table)
	}
}

// droppedByHandDropped: drop, with and without --if-exists, removes a
// version table left without its table, and says so.
func droppedByHandDropped(t *testing.T, s dialecttest.Server, db *sql.DB, l *layouts.Layout) {
	n := func(table string) string { return s.Dialect.Names(s.Schema, table).VersionTable }
	dropByHand := func(table string) { dropTableByHand(t, s, db, table) }
	for _, flags := range [][]string{{"--yes", "--if-exists"}, {"--yes"}} {
		table := dialecttest.Table("GoneDrop")
		s.DropAtCleanup(t, db, table)
		must(t, 0, withLayout(l, "create", s.DSN, s.Schema, table)...)
		dropByHand(table)
		args := append(append([]string{"drop", "-o", "json"}, flags...), s.DSN, s.Schema, table)
		r := must(t, 0, withLayout(l, args...)...)
		if got := r.json(t)["status"]; got != "dropped_version_table" {
			t.Errorf("drop %v of a table dropped by hand: %s", flags, r.stdout)
		}
		if got := tablesLike(t, s, db, n(table)); got != 0 {
			t.Errorf("drop %v left the version table %s", flags, n(table))
		}
		r = must(t, 0, withLayout(l, append(append([]string{"drop"}, flags[:1]...), "--if-exists", s.DSN, s.Schema, table)...)...)
		if !strings.Contains(r.stdout, "does not exist; nothing to drop") {
			t.Errorf("drop once nothing is left said %q", r.stdout)
		}
		if l != layouts.Cache {
			continue
		}
		r = must(t, 3, "verify", s.DSN, s.Schema, table)
		if strings.Contains(r.stdout, "without its table") {
			t.Errorf("verify once nothing is left still names a version table: %s", r.stdout)
		}
	}
	// The text report says what drop dropped.
	table := dialecttest.Table("GoneText")
	s.DropAtCleanup(t, db, table)
	must(t, 0, withLayout(l, "create", s.DSN, s.Schema, table)...)
	dropByHand(table)
	r := must(t, 0, withLayout(l, "drop", "--yes", "--if-exists", s.DSN, s.Schema, table)...)
	if want := "dropped its version table " + s.Dialect.Quote(n(table)); !strings.Contains(r.stdout, want) {
		t.Errorf("drop of a version table left alone said %q, want %q", r.stdout, want)
	}
}
