package cmd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
)

// TestDropGuard: drop refuses a plain table, a view and a table with the
// right name but wrong columns without --force, and without --yes touches
// nothing at all. For the cache table and the key ring (--layout keys).
func TestDropGuard(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			t.Run(l.Name, func(t *testing.T) {
				t.Parallel()
				dropGuard(t, s, l)
			})
		}
	})
}

func dropGuard(t *testing.T, s dialecttest.Server, l *layouts.Layout) {
	db := s.Open(t)
	plain, view := dialecttest.Table("Plain"), dialecttest.Table("View")
	s.DropAtCleanup(t, db, plain)
	t.Cleanup(func() { db.Exec("DROP VIEW " + s.Qualified(view)) })
	for _, q := range []string{
		"CREATE TABLE " + s.Qualified(plain) + " (a int)",
		"CREATE VIEW " + s.Qualified(view) + " AS SELECT 1 AS a",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	r := must(t, 1, withLayout(l, "drop", "--yes", s.DSN, s.Schema, plain)...)
	if !strings.Contains(r.stderr, "not a "+l.Noun) || !strings.Contains(r.stderr, "--force") {
		t.Errorf("drop of a plain table said %q", r.stderr)
	}
	r = must(t, 1, withLayout(l, "drop", "--yes", "--force", s.DSN, s.Schema, view)...)
	if !strings.Contains(r.stderr, "view") {
		t.Errorf("drop of a view said %q", r.stderr)
	}
	must(t, 2, withLayout(l, "drop", "--force", s.DSN, s.Schema, plain)...)
	for _, obj := range []string{plain, view} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + s.Qualified(obj)).Scan(&n); err != nil {
			t.Errorf("%s is gone after a refused drop: %v", obj, err)
		}
	}
	must(t, 0, withLayout(l, "drop", "--yes", "--force", s.DSN, s.Schema, plain)...)
	if _, err := db.Exec("SELECT count(*) FROM " + s.Qualified(plain)); err == nil {
		t.Errorf("drop --yes --force left the plain table")
	}
}

// TestDropGuardWrongColumns: a table with the right name but the wrong
// columns is refused without --force, saying which column is wrong; and
// drop without --yes touches nothing, whatever stands under the name, a
// real cache table included: its catalog entry and its rows are as they
// were.
func TestDropGuardWrongColumns(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		d := s.Dialect
		db := s.Open(t)
		// defs are the cache table's column definitions, with column
		// name's replaced by def ("" leaves it out).
		defs := func(name, def string) string {
			var out []string
			for _, c := range d.Columns() {
				switch {
				case c.Name != name:
					out = append(out, c.Definition)
				case def != "":
					out = append(out, def)
				}
			}
			return strings.Join(out, ", ")
		}
		wrong := []struct {
			prefix, columns, say string
		}{
			{"WrongType", defs(dialects.ColExpiresAtTime, d.Quote(dialects.ColExpiresAtTime)+" varchar(30) NOT NULL"), dialects.ColExpiresAtTime},
			{"NoAbsolute", defs(dialects.ColAbsoluteExpiration, ""), dialects.ColAbsoluteExpiration},
			{"Unrelated", d.Quote("Id") + " int, " + d.Quote("Data") + " int, " + d.Quote("Expires") + " int", dialects.ColValue},
		}
		var objects []string
		for _, w := range wrong {
			table := dialecttest.Table(w.prefix)
			s.DropAtCleanup(t, db, table)
			if _, err := db.Exec("CREATE TABLE " + s.Qualified(table) + " (" + w.columns + ")"); err != nil {
				t.Fatal(err)
			}
			objects = append(objects, table)
		}
		plain, view, cache := dialecttest.Table("GuardPlain"), dialecttest.Table("GuardView"), dialecttest.Table("GuardCache")
		s.DropAtCleanup(t, db, plain)
		s.DropAtCleanup(t, db, cache)
		t.Cleanup(func() { db.Exec("DROP VIEW " + s.Qualified(view)) })
		for _, q := range []string{
			"CREATE TABLE " + s.Qualified(plain) + " (a int)",
			"INSERT INTO " + s.Qualified(plain) + " (a) VALUES (1)",
			"CREATE VIEW " + s.Qualified(view) + " AS SELECT a FROM " + s.Qualified(plain),
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		must(t, 0, "create", s.DSN, s.Schema, cache)
		s.Seed(t, db, cache, "k", 3, 10, time.Hour)
		objects = append(objects, plain, view, cache)

		state := func(name string) string {
			n := d.Names(s.Schema, name)
			info, err := d.Inspect(t.Context(), db, n)
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			if err := db.QueryRow("SELECT count(*) FROM " + s.Qualified(name)).Scan(&rows); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			version := "none"
			if v := info.Version; v != nil {
				version = fmt.Sprintf("%+v", *v)
			}
			info.Version = nil
			return fmt.Sprintf("%+v version %s rows %d", *info, version, rows)
		}
		before := map[string]string{}
		for _, obj := range objects {
			before[obj] = state(obj)
		}
		for _, obj := range objects {
			for _, flags := range [][]string{nil, {"--force"}, {"--if-exists"}, {"--force", "--if-exists"}} {
				args := append(append([]string{"drop"}, flags...), s.DSN, s.Schema, obj)
				r := must(t, ExitUsage, args...)
				if !strings.Contains(r.stderr, "--yes") {
					t.Errorf("sessctl %q said %q, want it to ask for --yes", args, r.stderr)
				}
			}
		}
		for i, w := range wrong {
			r := must(t, ExitFailed, "drop", "--yes", s.DSN, s.Schema, objects[i])
			if !strings.Contains(r.stderr, "not a cache table") || !strings.Contains(r.stderr, "--force") || !strings.Contains(r.stderr, w.say) {
				t.Errorf("drop of a %s table said %q, want it to name %s and --force", w.prefix, r.stderr, w.say)
			}
		}
		for _, obj := range objects {
			if got := state(obj); got != before[obj] {
				t.Errorf("%s changed under a refused drop:\nbefore %s\nafter  %s", obj, before[obj], got)
			}
		}
		for i := range wrong {
			must(t, 0, "drop", "--yes", "--force", s.DSN, s.Schema, objects[i])
			if info, err := d.Inspect(t.Context(), db, d.Names(s.Schema, objects[i])); err != nil || info.Kind != dialects.KindMissing {
				t.Errorf("drop --yes --force left %s: %+v, %v", objects[i], info, err)
			}
		}
		must(t, 0, "drop", "--yes", s.DSN, s.Schema, cache)
		if info, err := d.Inspect(t.Context(), db, d.Names(s.Schema, cache)); err != nil || info.Kind != dialects.KindMissing || info.VersionTable {
			t.Errorf("drop --yes left the cache table or its version table: %+v, %v", info, err)
		}
	})
}

// TestCreateRefusesForeignTable: create does not adopt a table it cannot
// use; it says why.
func TestCreateRefusesForeignTable(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Foreign")
		s.DropAtCleanup(t, db, table)
		if _, err := db.Exec("CREATE TABLE " + s.Qualified(table) + ` (a int)`); err != nil {
			t.Fatal(err)
		}
		r := must(t, 1, "create", s.DSN, s.Schema, table)
		if !strings.Contains(r.stderr, "not a cache table") || !strings.Contains(r.stderr, "column "+s.Dialect.Quote("Id")+" is missing") {
			t.Errorf("create over a foreign table said %q", r.stderr)
		}
		r = must(t, 3, "verify", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "fix:") {
			t.Errorf("verify of a foreign table gave no fix: %q", r.stdout)
		}
	})
}

// TestCreateFinishesDirtyMigration: a create killed after golang-migrate
// marked a migration dirty is finished by the next plain create, and verify
// passes after.
func TestCreateFinishesDirtyMigration(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Dirty")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		n := s.Dialect.Names(s.Schema, table)
		vt := s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(n.VersionTable)
		// As a run killed inside migration 2 leaves it: marked dirty, and
		// the index not made.
		if _, err := db.Exec("UPDATE " + vt + " SET dirty = " + trueLiteral(s) + ", version = 2"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("DROP INDEX " + dropIndexTarget(s, n.ExpiryIndex, table)); err != nil {
			t.Fatal(err)
		}
		r := must(t, 0, "verify", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "dirty") {
			t.Errorf("verify of a dirty version said %q", r.stdout)
		}
		r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
		if m := r.json(t); m["status"] != "upgraded" {
			t.Errorf("create after a crash: %s", r.stdout)
		}
		r = must(t, 0, "verify", "--strict", "-o", "json", s.DSN, s.Schema, table)
		if len(r.json(t)["findings"].([]any)) != 0 {
			t.Errorf("verify after the finished migration: %s", r.stdout)
		}
	})
}

func trueLiteral(s dialecttest.Server) string {
	if s.Dialect.Name() == "sqlserver" {
		return "1"
	}
	return "true"
}

// dropIndexTarget is what DROP INDEX takes in each dialect.
func dropIndexTarget(s dialecttest.Server, index, table string) string {
	switch s.Dialect.Name() {
	case "mysql":
		return s.Dialect.Quote(index) + " ON " + s.Qualified(table)
	case "sqlserver":
		return s.Dialect.Quote(index) + " ON " + s.Qualified(table)
	}
	return s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(index)
}

// TestVersionBehindAndAhead: verify warns of a version behind or ahead;
// create upgrades one behind and leaves one ahead alone, exiting 0 both
// times.
func TestVersionBehindAndAhead(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Ver")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		vt := s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(s.Dialect.Names(s.Schema, table).VersionTable)
		setVersion := func(v int) {
			if _, err := db.Exec("UPDATE " + vt + " SET version = " + itoa(int64(v))); err != nil {
				t.Fatal(err)
			}
		}

		setVersion(1)
		r := must(t, 0, "verify", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "version 1 is behind") {
			t.Errorf("verify of version 1 said %q", r.stdout)
		}
		must(t, 3, "verify", "--strict", s.DSN, s.Schema, table)
		r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
		if m := r.json(t); m["status"] != "upgraded" || m["version"] != float64(2) {
			t.Errorf("create over version 1: %s", r.stdout)
		}

		setVersion(99)
		r = must(t, 0, "verify", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "ahead") {
			t.Errorf("verify of version 99 said %q", r.stdout)
		}
		r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
		if m := r.json(t); m["status"] != "ahead" || m["version"] != float64(99) {
			t.Errorf("create over version 99: %s", r.stdout)
		}
	})
}
