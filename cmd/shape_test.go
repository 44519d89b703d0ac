package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// cacheTableDDL is a cache table made by hand on each engine, with the
// type of Id given: %[1]s is the table, %[2]s the type of Id.
var cacheTableDDL = map[string]string{
	"postgres": `CREATE TABLE %[1]s ("Id" %[2]s COLLATE pg_catalog."default" NOT NULL PRIMARY KEY, "Value" bytea NOT NULL,
		"ExpiresAtTime" timestamp with time zone NOT NULL, "SlidingExpirationInSeconds" double precision, "AbsoluteExpiration" timestamp with time zone)`,
	"mysql": "CREATE TABLE %[1]s (`Id` %[2]s CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, `AbsoluteExpiration` datetime(6) NULL, " +
		"`ExpiresAtTime` datetime(6) NOT NULL, `SlidingExpirationInSeconds` bigint NULL, `Value` longblob NOT NULL)",
	"sqlite": `CREATE TABLE %[1]s ("Id" %[2]s NOT NULL COLLATE BINARY PRIMARY KEY, "Value" BLOB NOT NULL, "ExpiresAtTime" INTEGER NOT NULL,
		"SlidingExpirationInSeconds" INTEGER, "AbsoluteExpiration" INTEGER)`,
	"sqlserver": `CREATE TABLE %[1]s ([Id] %[2]s COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL PRIMARY KEY, [Value] varbinary(max) NOT NULL,
		[ExpiresAtTime] datetimeoffset NOT NULL, [SlidingExpirationInSeconds] bigint NULL, [AbsoluteExpiration] datetimeoffset NULL)`,
}

// TestIDLengthIsChecked: an Id too short for the provider's keys (449
// characters) is an error verify reports on every engine, with its fix,
// and create will not adopt the table; a type that holds 449 characters or
// more, or is unbounded where the provider uses one, passes.
func TestIDLengthIsChecked(t *testing.T) {
	short := map[string][]string{
		"postgres":  {"varchar(100)", "character varying(448)"},
		"mysql":     {"varchar(100)", "varchar(448)"},
		"sqlite":    {"VARCHAR(100)"},
		"sqlserver": {"nvarchar(100)", "nvarchar(448)"},
	}
	enough := map[string][]string{
		"postgres":  {"varchar(449)", "varchar(1000)", "varchar", "text"},
		"mysql":     {"varchar(449)"},
		"sqlite":    {"TEXT"},
		"sqlserver": {"nvarchar(449)"},
	}
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		newTable := func(typ string) string {
			table := dialecttest.Table("IdLen")
			s.DropAtCleanup(t, db, table)
			q := fmt.Sprintf(cacheTableDDL[s.Dialect.Name()], s.Qualified(table), typ)
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return table
		}
		for _, typ := range short[s.Dialect.Name()] {
			table := newTable(typ)
			r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
			f := findingOn(t, r, "column "+s.Dialect.Quote("Id"))
			if f == nil || f["severity"] != "error" || f["fix"] == "" {
				t.Errorf("verify of Id %s: %s", typ, r.stdout)
			}
			r = must(t, 1, "create", s.DSN, s.Schema, table)
			if !strings.Contains(r.stderr, "not a cache table") {
				t.Errorf("create over Id %s said %q", typ, r.stderr)
			}
		}
		for _, typ := range enough[s.Dialect.Name()] {
			table := newTable(typ)
			r := must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)
			if f := findingOn(t, r, "column "+s.Dialect.Quote("Id")); f != nil {
				t.Errorf("verify of Id %s: %v", typ, f)
			}
		}
		if s.Dialect.Name() != "postgres" {
			return
		}
		// Why: a key longer than the column fails when the app writes it.
		table := newTable("varchar(100)")
		_, err := db.Exec(`INSERT INTO `+s.Qualified(table)+` VALUES ($1, '\x00', now(), NULL, NULL)`, strings.Repeat("k", 449))
		if err == nil {
			t.Errorf("a key of 449 characters fitted in varchar(100)")
		}
	})
}

// TestSQLiteStorageIsChecked: a WITHOUT ROWID table, whose rows purge
// cannot delete by rowid, is an error verify reports, and create will not
// adopt it; a table that is not STRICT is a warning, and rows whose expiry
// is text, which no purge ever deletes, are an error. verify's fix makes
// the table again in sessctl's layout, keeping its rows, and refuses (in
// one transaction, changing nothing) while a text expiry is there.
func TestSQLiteStorageIsChecked(t *testing.T) {
	s := dialecttest.Get(t, "sqlite")
	t.Parallel()
	db := s.Open(t)
	layout := fmt.Sprintf(cacheTableDDL["sqlite"], "%[1]s", "TEXT")
	index := func(table string) {
		t.Helper()
		n := s.Dialect.Names(s.Schema, table)
		if _, err := db.Exec(`CREATE INDEX ` + s.Qualified(n.ExpiryIndex) + ` ON ` + s.Dialect.Quote(table) + ` ("ExpiresAtTime")`); err != nil {
			t.Fatal(err)
		}
	}
	fixOf := func(r result, object string) string {
		t.Helper()
		f := findingOn(t, r, object)
		if f == nil {
			t.Fatalf("verify has no finding on %s: %s", object, r.stdout)
		}
		return f["fix"].(string)
	}

	t.Run("without rowid", func(t *testing.T) {
		table := dialecttest.Table("NoRowid")
		s.DropAtCleanup(t, db, table)
		if _, err := db.Exec(fmt.Sprintf(layout, s.Qualified(table)) + " STRICT, WITHOUT ROWID"); err != nil {
			t.Fatal(err)
		}
		index(table)
		s.Seed(t, db, table, "old", 20, 10, -time.Hour)
		s.Seed(t, db, table, "live", 5, 10, time.Hour)
		r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
		if f := findingOn(t, r, "table"); f == nil || f["severity"] != "error" || !strings.Contains(f["message"].(string), "WITHOUT ROWID") {
			t.Errorf("verify of a WITHOUT ROWID table: %s", r.stdout)
		}
		r = must(t, 1, "create", s.DSN, s.Schema, table)
		if !strings.Contains(r.stderr, "WITHOUT ROWID") {
			t.Errorf("create over a WITHOUT ROWID table said %q", r.stderr)
		}
		r = must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
		if _, err := db.Exec(fixOf(r, "table")); err != nil {
			t.Fatalf("verify's fix: %v", err)
		}
		must(t, 0, "create", s.DSN, s.Schema, table)
		wantVerified(t, s, table)
		r = must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, table)
		if m := r.json(t); m["deleted"] != float64(20) {
			t.Errorf("purge after the fix: %s", r.stdout)
		}
		if n := s.Count(t, db, table, "live"); n != 5 {
			t.Errorf("%d of 5 live rows kept through the fix and the purge", n)
		}
	})

	// A time written as text in a table with no expiry index is found too,
	// and create will not adopt the table until it is mended.
	t.Run("text expiry without an index", func(t *testing.T) {
		for _, text := range []string{"'2001-01-01 00:00:00'", "'soon'", "x'31'", "''"} {
			table := dialecttest.Table("TextNoIdx")
			s.DropAtCleanup(t, db, table)
			if _, err := db.Exec(fmt.Sprintf(layout, s.Qualified(table))); err != nil {
				t.Fatal(err)
			}
			s.Seed(t, db, table, "old", 3, 10, -time.Hour)
			s.Seed(t, db, table, "live", 3, 10, time.Hour)
			if _, err := db.Exec(`INSERT INTO ` + s.Qualified(table) + ` VALUES ('text', x'00', ` + text + `, NULL, NULL)`); err != nil {
				t.Fatal(err)
			}
			r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
			f := findingOn(t, r, "column "+s.Dialect.Quote("ExpiresAtTime"))
			if f == nil || f["severity"] != "error" || !strings.Contains(f["message"].(string), "text or a blob") {
				t.Fatalf("verify of a text expiry %s without an index: %s", text, r.stdout)
			}
			must(t, 3, "purge", s.DSN, s.Schema, table)
			r = must(t, 1, "create", s.DSN, s.Schema, table)
			if !strings.Contains(r.stderr, "text or a blob") || !strings.Contains(r.stderr, "DELETE FROM") {
				t.Errorf("create over a table with a text expiry said %q, want the problem and its fix", r.stderr)
			}
			fix := f["fix"].(string)
			if _, err := db.Exec(fix[strings.Index(fix, "DELETE FROM"):]); err != nil {
				t.Fatal(err)
			}
			must(t, 0, "create", s.DSN, s.Schema, table)
			if r := must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, table); r.json(t)["deleted"] != float64(3) {
				t.Errorf("purge after the fix: %s", r.stdout)
			}
		}
	})

	t.Run("not strict", func(t *testing.T) {
		table := dialecttest.Table("Loose")
		s.DropAtCleanup(t, db, table)
		if _, err := db.Exec(fmt.Sprintf(layout, s.Qualified(table))); err != nil {
			t.Fatal(err)
		}
		index(table)
		s.Seed(t, db, table, "live", 5, 10, time.Hour)
		r := must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)
		if f := findingOn(t, r, "table"); f == nil || f["severity"] != "warning" || !strings.Contains(f["message"].(string), "not a STRICT table") {
			t.Errorf("verify of a table that is not STRICT: %s", r.stdout)
		}
		must(t, 3, "verify", "--strict", s.DSN, s.Schema, table)

		// A time written as text, as an app that formats times might.
		if _, err := db.Exec(`INSERT INTO ` + s.Qualified(table) + ` VALUES ('text', x'00', '2001-01-01 00:00:00', NULL, NULL)`); err != nil {
			t.Fatal(err)
		}
		r = must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
		if f := findingOn(t, r, "column "+s.Dialect.Quote("ExpiresAtTime")); f == nil || f["severity"] != "error" ||
			!strings.Contains(f["message"].(string), "text or a blob") {
			t.Errorf("verify of a text expiry: %s", r.stdout)
		}
		// Run as a client does: one session, rolled back when the script
		// fails.
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), fixOf(r, "table")); err == nil {
			t.Errorf("the rebuild took a text expiry into a STRICT table")
		}
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK") // none may be open: the rebuild failed
		conn.Close()
		if exists, _ := s.Row(t, db, table, "text"); !exists {
			t.Fatalf("the failed rebuild lost the row")
		}
		fix := fixOf(r, "column "+s.Dialect.Quote("ExpiresAtTime"))
		del := fix[strings.Index(fix, "DELETE FROM"):]
		if _, err := db.Exec(del); err != nil {
			t.Fatalf("%s: %v", del, err)
		}
		r = must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)
		if _, err := db.Exec(fixOf(r, "table")); err != nil {
			t.Fatalf("verify's rebuild: %v", err)
		}
		must(t, 0, "create", s.DSN, s.Schema, table)
		wantVerified(t, s, table)
		if n := s.Count(t, db, table, "live"); n != 5 {
			t.Errorf("%d of 5 rows kept through the rebuild", n)
		}
	})
}

// TestSQLiteColumnCase: SQLite matches column names in any case, as MySQL
// does, so a table whose columns differ from the provider's only in case
// (what some tools make) is a cache table: verify passes it, with no fix
// that adds a column it has, create adopts it and purge purges it.
func TestSQLiteColumnCase(t *testing.T) {
	s := dialecttest.Get(t, "sqlite")
	db := s.Open(t)
	for _, cols := range [][5]string{
		{"id", "value", "expiresattime", "slidingexpirationinseconds", "absoluteexpiration"},
		{"ID", "VALUE", "EXPIRESATTIME", "SLIDINGEXPIRATIONINSECONDS", "ABSOLUTEEXPIRATION"},
		{"Id", "value", "ExpiresAtTime", "slidingExpirationInSeconds", "AbsoluteExpiration"},
	} {
		table := dialecttest.Table("Case")
		s.DropAtCleanup(t, db, table)
		q := fmt.Sprintf(`CREATE TABLE %s (%q TEXT NOT NULL COLLATE BINARY PRIMARY KEY, %q BLOB NOT NULL, %q INTEGER NOT NULL,
			%q INTEGER, %q INTEGER) STRICT`, s.Qualified(table), cols[0], cols[1], cols[2], cols[3], cols[4])
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if _, err := db.Exec(`CREATE INDEX ` + s.Dialect.Quote(table+"_exp") + ` ON ` + s.Dialect.Quote(table) + ` (` + s.Dialect.Quote(cols[2]) + `)`); err != nil {
			t.Fatal(err)
		}
		r := must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)
		for _, f := range findingsOf(t, r) {
			if f["object"] != "version "+s.Dialect.Quote(table+"_migrations") {
				t.Errorf("verify of a table with columns %v: %v", cols, f)
			}
		}
		must(t, 0, "create", s.DSN, s.Schema, table)
		must(t, 0, "verify", "--strict", s.DSN, s.Schema, table)
		s.Seed(t, db, table, "old", 4, 10, -time.Hour)
		s.Seed(t, db, table, "live", 2, 10, time.Hour)
		if r := must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, table); r.json(t)["deleted"] != float64(4) {
			t.Errorf("purge of a table with columns %v: %s", cols, r.stdout)
		}
	}
}

// TestNoDeclaredType: a SQLite column declared without a type is said to
// have none, not to be of type "".
func TestNoDeclaredType(t *testing.T) {
	s := dialecttest.Get(t, "sqlite")
	db := s.Open(t)
	table := dialecttest.Table("Untyped")
	s.DropAtCleanup(t, db, table)
	if _, err := db.Exec(`CREATE TABLE ` + s.Qualified(table) + ` ("Id" NOT NULL PRIMARY KEY, "Value" BLOB NOT NULL, "ExpiresAtTime" NOT NULL,
		"SlidingExpirationInSeconds" INTEGER, "AbsoluteExpiration" INTEGER)`); err != nil {
		t.Fatal(err)
	}
	r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
	for _, col := range []string{"Id", "ExpiresAtTime"} {
		f := findingOn(t, r, "column "+s.Dialect.Quote(col))
		if f == nil || !strings.Contains(f["message"].(string), "of no declared type") || strings.Contains(f["message"].(string), "is ;") {
			t.Errorf("verify of an untyped %s: %v", col, f)
		}
	}
}
