package cmd

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// keyRow is one row of a key ring, as EF Core's store reads it.
type keyRow struct {
	id         int64
	name, xml  string
	nameIsNull bool
}

// insertKey writes a key as EF Core's EntityFrameworkCoreXmlRepository
// does: FriendlyName and Xml, the Id left to the database.
func insertKey(t *testing.T, s dialecttest.Server, db *sql.DB, table, name, xml string) {
	t.Helper()
	q := s.Dialect.Quote
	_, err := db.Exec(fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (%s, %s)", s.Qualified(table), q("FriendlyName"), q("Xml"),
		dialecttest.QuoteLiteral(s.Dialect, name), dialecttest.QuoteLiteral(s.Dialect, xml)))
	if err != nil {
		t.Fatalf("inserting a key as EF Core does: %v", err)
	}
}

// readKeys reads every row of a key ring, by Id.
func readKeys(t *testing.T, s dialecttest.Server, db *sql.DB, table string) []keyRow {
	t.Helper()
	q := s.Dialect.Quote
	rows, err := db.Query(fmt.Sprintf("SELECT %s, %s, %s FROM %s ORDER BY %s", q("Id"), q("FriendlyName"), q("Xml"), s.Qualified(table), q("Id")))
	if err != nil {
		t.Fatalf("reading the key ring: %v", err)
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		var name sql.NullString
		if err := rows.Scan(&r.id, &name, &r.xml); err != nil {
			t.Fatal(err)
		}
		r.name, r.nameIsNull = name.String, !name.Valid
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// status is the "status" of a create's JSON report.
func status(t *testing.T, r result) string {
	t.Helper()
	s, _ := r.json(t)["status"].(string)
	return s
}

// wantKeyVersion fails t unless table's version table holds version 1,
// clean: the key ring's one migration.
func wantKeyVersion(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	if rows, ok := versionRows(t, s, db, table); !ok || len(rows) != 1 || rows[0] != (versionRow{1, false}) {
		t.Errorf("version table of %s holds %+v (there: %v), want version 1, clean", table, rows, ok)
	}
}

// TestKeysLifecycle: create --layout keys makes the table EF Core's
// migrations make, and finds it up to date the second time; the app
// writes and reads keys as EF Core does (no Id given); drop keeps a key
// ring that holds keys unless --force, saying what is lost; an empty one
// drops with --yes; purge is refused.
func TestKeysLifecycle(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Keys")
		s.DropAtCleanup(t, db, table)
		keys := func(code int, args ...string) result {
			return must(t, code, append([]string{"--layout", "keys"}, args...)...)
		}
		if st := status(t, keys(0, "create", "-o", "json", s.DSN, s.Schema, table)); st != schema.CreateCreated {
			t.Errorf("first create: %s, want created", st)
		}
		if r := keys(0, "create", s.DSN, s.Schema, table); !strings.Contains(r.stdout, "already up to date (version 1)") || r.stderr != "" {
			t.Errorf("second create said\n%s%s", r.stdout, r.stderr)
		}
		wantKeyVersion(t, s, db, table)

		insertKey(t, s, db, table, "key-1", `<key id="1" version="1"/>`)
		insertKey(t, s, db, table, "key-2", `<revocation version="1"/>`)
		got := readKeys(t, s, db, table)
		if len(got) != 2 || got[0].name != "key-1" || got[1].xml != `<revocation version="1"/>` || got[0].id <= 0 || got[1].id <= got[0].id {
			t.Errorf("keys read back: %+v", got)
		}

		r := keys(2, "drop", "--yes", s.DSN, s.Schema, table)
		for _, want := range []string{"holds 2 rows", "unreadable", "Back the rows up", "--force"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("drop of a key ring with keys said %q, want it to say %q", r.stderr, want)
			}
		}
		if n := len(readKeys(t, s, db, table)); n != 2 {
			t.Fatalf("the refused drop left %d of 2 keys", n)
		}
		if r := keys(2, "purge", s.DSN, s.Schema, table); !strings.Contains(r.stderr, "never deletes a key") {
			t.Errorf("purge of a key ring said %q", r.stderr)
		}
		keys(0, "drop", "--yes", "--force", s.DSN, s.Schema, table)
		if n := tablesLike(t, s, db, table); n != 0 {
			t.Errorf("drop --force left %d tables", n)
		}

		keys(0, "create", s.DSN, s.Schema, table)
		if r := keys(0, "drop", "--yes", s.DSN, s.Schema, table); !strings.Contains(r.stdout, "dropped") {
			t.Errorf("drop of an empty key ring said %q", r.stdout)
		}
	})
}

// TestKeysParallelCreates: CI jobs that all create one key ring at once
// all exit 0; one says it made it.
func TestKeysParallelCreates(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KeysPar")
		s.DropAtCleanup(t, db, table)
		const jobs = 4
		statuses := map[string]int{}
		for i, p := range runAtOnce(t, jobs, func(int) []string {
			return []string{"create", "--layout", "keys", "-o", "json", s.DSN, s.Schema, table}
		}) {
			var res struct{ Status string }
			if err := json.Unmarshal([]byte(p.stdout), &res); p.code != 0 || err != nil {
				t.Errorf("create %d of %d: exit %d\nstdout: %s\nstderr: %s", i+1, jobs, p.code, p.stdout, p.stderr)
			}
			statuses[res.Status]++
		}
		if statuses[schema.CreateCreated] != 1 || statuses[schema.CreateUpToDate] != jobs-1 {
			t.Errorf("statuses %v: want one created and %d up_to_date", statuses, jobs-1)
		}
		wantKeyVersion(t, s, db, table)
	})
}

// efKeysDDL is a key ring as EF Core's providers' migrations made it, in
// forms found in apps: SQL Server's, pre-3.0 Npgsql's serial, Oracle's
// MySQL provider's longtext without a charset, SQLite's.
func efKeysDDL(s dialecttest.Server, table string) string {
	q, pk := s.Dialect.Quote, s.Dialect.Quote("PK_"+table)
	switch s.Dialect.Name() {
	case "sqlserver":
		return fmt.Sprintf("CREATE TABLE %s ([Id] int NOT NULL IDENTITY, [FriendlyName] nvarchar(max) NULL, [Xml] nvarchar(max) NULL, CONSTRAINT %s PRIMARY KEY ([Id]))", s.Qualified(table), pk)
	case "postgres":
		return fmt.Sprintf(`CREATE TABLE %s ("Id" serial NOT NULL, "FriendlyName" text NULL, "Xml" text NULL, CONSTRAINT %s PRIMARY KEY ("Id"))`, s.Qualified(table), pk)
	case "mysql":
		return fmt.Sprintf("CREATE TABLE %s (`Id` int NOT NULL AUTO_INCREMENT, `FriendlyName` longtext NULL, `Xml` longtext NULL, CONSTRAINT %s PRIMARY KEY (`Id`))", s.Qualified(table), pk)
	}
	return fmt.Sprintf(`CREATE TABLE %s (%s INTEGER NOT NULL CONSTRAINT %s PRIMARY KEY AUTOINCREMENT, "FriendlyName" TEXT NULL, "Xml" TEXT NULL)`, s.Qualified(table), q("Id"), pk)
}

// TestKeysAdoptsEFTable: a key ring an EF migration made, keys in it, is
// adopted: its version recorded, its keys kept, and the app goes on
// writing to it.
func TestKeysAdoptsEFTable(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KeysEF")
		s.DropAtCleanup(t, db, table)
		if _, err := db.Exec(efKeysDDL(s, table)); err != nil {
			t.Fatal(err)
		}
		insertKey(t, s, db, table, "key-1", "<key/>")
		if st := status(t, must(t, 0, "--layout", "keys", "create", "-o", "json", s.DSN, s.Schema, table)); st != schema.CreateAdopted {
			t.Errorf("create over EF's table: %s, want adopted", st)
		}
		wantKeyVersion(t, s, db, table)
		insertKey(t, s, db, table, "key-2", "<key/>")
		if got := readKeys(t, s, db, table); len(got) != 2 || got[0].name != "key-1" || got[1].name != "key-2" {
			t.Errorf("keys after adopting: %+v", got)
		}
	})
}

// wantGuards: the wrong-table guard works both ways: drop --layout keys
// refuses the cache table, and drop (the cache layout) refuses the key
// ring. (create's guard is the same: refuseForeign.)
func wantGuards(t *testing.T, s dialecttest.Server, db *sql.DB, cache, keys string) {
	t.Helper()
	if r := must(t, 1, "--layout", "keys", "drop", "--yes", s.DSN, s.Schema, cache); !strings.Contains(r.stderr, "is not a key ring table") {
		t.Errorf("drop --layout keys of a cache table said %q", r.stderr)
	}
	if r := must(t, 1, "drop", "--yes", s.DSN, s.Schema, keys); !strings.Contains(r.stderr, "is not a cache table") {
		t.Errorf("drop of a key ring as a cache table said %q", r.stderr)
	}
	if n := tablesLike(t, s, db, cache) + tablesLike(t, s, db, keys); n != 2 {
		t.Errorf("the refused drops left %d of the 2 tables", n)
	}
}

// TestKeysHostileNames: a key ring under a name made to break careless
// quoting is made exactly under that name, holds a key, and drops; or the
// name is refused before anything is sent. The table such a name would
// drop is still there.
func TestKeysHostileNames(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		victim := dialecttest.Table("V") // short: the name below holds it
		s.DropAtCleanup(t, db, victim)
		if _, err := db.Exec(efKeysDDL(s, victim)); err != nil {
			t.Fatal(err)
		}
		id := dialecttest.Table("")
		for _, name := range []string{`a"b` + id, "a`b" + id, "a]b" + id, "x; DROP TABLE " + victim + "; --"} {
			if s.Dialect.Name() == "sqlserver" && strings.ContainsAny(name, "`\"") {
				// Neither quotes a name there, and each command takes a
				// second or two on the TDS stand-in.
				continue
			}
			if s.Dialect.Name() == "sqlserver" && strings.Contains(name, "]") {
				// golang-migrate's sqlserver driver splices names unescaped.
				if r := must(t, 2, "--layout", "keys", "create", s.DSN, s.Schema, name); strings.Count(strings.TrimSpace(r.stderr), "\n") != 1 {
					t.Errorf("refusal of %q: %q", name, r.stderr)
				}
				continue
			}
			s.DropAtCleanup(t, db, name)
			must(t, 0, "--layout", "keys", "create", s.DSN, s.Schema, name)
			insertKey(t, s, db, name, name, "<key/>")
			if got := readKeys(t, s, db, name); len(got) != 1 || got[0].name != name {
				t.Errorf("%q holds %+v", name, got)
			}
			must(t, 2, "--layout", "keys", "drop", "--yes", s.DSN, s.Schema, name)
			must(t, 0, "--layout", "keys", "drop", "--yes", "--force", s.DSN, s.Schema, name)
			if n := tablesLike(t, s, db, name); n != 0 {
				t.Errorf("drop of %q left it", name)
			}
		}
		if n := tablesLike(t, s, db, victim); n != 1 {
			t.Errorf("the table %s is gone", victim)
		}
	})
}

// TestCreateWithKeys: create --with-keys makes the cache table and the
// key ring, a line for each, and reports both in JSON; the guards tell
// the two apart (wantGuards); when the cache
// table cannot be made, neither is, and it says so; when the key ring
// cannot be, it says the cache table is made.
func TestCreateWithKeys(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		cache, keys := dialecttest.Table("WithKeysC"), dialecttest.Table("WithKeysK")
		s.DropAtCleanup(t, db, cache)
		s.DropAtCleanup(t, db, keys)
		r := must(t, 0, "create", "--with-keys="+keys, s.DSN, s.Schema, cache)
		if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 ||
			!strings.Contains(lines[0], cache) || !strings.Contains(lines[1], "created table") || !strings.Contains(lines[1], keys) {
			t.Errorf("create --with-keys said\n%s", r.stdout)
		}
		m := must(t, 0, "create", "--with-keys="+keys, "-o", "json", s.DSN, s.Schema, cache).json(t)
		if m["status"] != "ok" {
			t.Errorf("JSON status %v, want ok", m["status"])
		}
		for _, which := range []string{"cache", "keys"} {
			if res, _ := m[which].(map[string]any); res["status"] != schema.CreateUpToDate {
				t.Errorf("JSON %s: %v", which, m[which])
			}
		}
		wantKeyVersion(t, s, db, keys)
		wantGuards(t, s, db, cache, keys)

		// A table that is no cache table under the cache table's name.
		other, ring := dialecttest.Table("WithKeysX"), dialecttest.Table("WithKeysR")
		s.DropAtCleanup(t, db, other)
		s.DropAtCleanup(t, db, ring)
		if _, err := db.Exec("CREATE TABLE " + s.Qualified(other) + " (x int)"); err != nil {
			t.Fatal(err)
		}
		if r := must(t, 1, "create", "--with-keys="+ring, s.DSN, s.Schema, other); !strings.Contains(r.stderr, "was not made either") {
			t.Errorf("create --with-keys over a foreign table said %q", r.stderr)
		}
		if n := tablesLike(t, s, db, ring); n != 0 {
			t.Errorf("the key ring was made though the cache table was not")
		}
		// And one under the key ring's.
		m = must(t, 1, "create", "--with-keys="+other, "-o", "json", s.DSN, s.Schema, ring).json(t)
		if res, _ := m["cache"].(map[string]any); m["status"] != "error" || res["status"] != schema.CreateCreated ||
			!strings.Contains(fmt.Sprint(m["error"]), "is made (created), but the key ring") {
			t.Errorf("create --with-keys over a foreign key ring: %v", m)
		}
	})
}

// TestCreateWithKeysScript: --with-keys --script prints the key ring's
// script after the cache table's, a batch of its own on SQL Server; and
// --with-keys is refused where it means nothing.
func TestCreateWithKeysScript(t *testing.T) {
	for _, name := range registry.List() {
		for _, idem := range []bool{false, true} {
			args := []string{"create", "--with-keys", "--script", "--dialect", name}
			if idem {
				args = append(args, "--idempotent")
			}
			d, _ := registry.Lookup(name)
			out := must(t, 0, append(args, dialecttest.DefaultSchema(d), "SessionData")...).stdout
			at, ring := strings.Index(out, "SessionData"), strings.Index(out, `DataProtectionKeys`)
			if at < 0 || ring < at || !strings.Contains(out[ring:], "FriendlyName") {
				t.Errorf("%s: --with-keys --script printed\n%s", name, out)
			}
			if name == "sqlserver" && !strings.Contains(out[:ring], "\nGO\n") {
				t.Errorf("sqlserver: no GO before the key ring's batch:\n%s", out)
			}
		}
	}
	must(t, 2, "--layout", "keys", "create", "--with-keys", "--script", "--dialect", "postgres", "public", "K")
	must(t, 2, "create", "--with-keys=S", "--script", "--dialect", "postgres", "public", "S")
	if r := must(t, 2, "--layout", "keys", "purge", "--script", "--dialect", "postgres", "public", "K"); r.stdout != "" {
		t.Errorf("purge --layout keys --script printed %q", r.stdout)
	}
}
