package cmd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// expiresSQL is an expiry, offset seconds from the database's now, as
// each engine's sessctl table holds it.
func expiresSQL(dialect string, offset int) string {
	return expiresInSQL(dialect, time.Duration(offset)*time.Second)
}

// expiresInSQL is expiresSQL to the microsecond (SQL Server: millisecond).
func expiresInSQL(dialect string, in time.Duration) string {
	switch dialect {
	case "postgres":
		return fmt.Sprintf("now() + make_interval(secs => %d / 1000000.0)", in.Microseconds())
	case "mysql":
		return fmt.Sprintf("UTC_TIMESTAMP(6) + INTERVAL %d MICROSECOND", in.Microseconds())
	case "sqlite":
		return fmt.Sprintf("CAST(unixepoch('subsec') * 1000000 AS INTEGER) + %d", in.Microseconds())
	case "sqlserver":
		return fmt.Sprintf("DATEADD(millisecond, %d, SYSDATETIMEOFFSET())", in.Milliseconds())
	}
	panic("no expiry SQL for " + dialect)
}

// valueSQL is a one-byte Value literal in each engine's SQL.
var valueSQL = map[string]string{"postgres": `'\x00'`, "mysql": "X'00'", "sqlite": "X'00'", "sqlserver": "0x00"}

// wrongExpiry is an ExpiresAtTime column of a type that looks right to a
// person and is not: a time without its zone (PostgreSQL, SQL Server),
// MySQL's timestamp, which converts to the session's time zone, text in
// SQLite.
var wrongExpiry = map[string]string{
	"postgres":  `"ExpiresAtTime" timestamp without time zone NOT NULL`,
	"mysql":     "`ExpiresAtTime` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
	"sqlite":    `"ExpiresAtTime" TEXT NOT NULL`,
	"sqlserver": `[ExpiresAtTime] datetime2 NOT NULL`,
}

// wrongExpiresSQL is expiresSQL for a wrongExpiry column.
func wrongExpiresSQL(dialect string, offset int) string {
	switch dialect {
	case "postgres":
		return fmt.Sprintf("localtimestamp + make_interval(secs => %d)", offset)
	case "sqlserver":
		return fmt.Sprintf("DATEADD(second, %d, SYSDATETIME())", offset)
	case "mysql":
		return fmt.Sprintf("NOW(6) + INTERVAL %d SECOND", offset)
	}
	return expiresSQL(dialect, offset)
}

// cacheColumns is the cache table's column definitions, with column
// name's replaced by def ("" leaves it out), and its primary key.
func cacheColumns(d dialects.Dialect, name, def string) string {
	var out []string
	for _, c := range d.Columns() {
		switch {
		case c.Name != name:
			out = append(out, c.Definition)
		case def != "":
			out = append(out, def)
		}
	}
	if d.Name() != "sqlite" { // SQLite's Id is the primary key where it is defined
		out = append(out, "PRIMARY KEY ("+d.Quote(dialects.ColID)+")")
	}
	return strings.Join(out, ", ")
}

// TestPurgeRefusesIncompatibleTables: purge, its dry run and every order
// of it refuse, exit 3, name the problem, say to run verify and delete
// nothing, from anything that is not a compatible cache table: another
// app's table that has an ExpiresAtTime column (what a typo of TABLE in a
// cron job finds), a cache-shaped table whose expiry column has the wrong
// type, a view, a table that is not there. A compatible table with only
// warnings (no version recorded) is purged.
func TestPurgeRefusesIncompatibleTables(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		d := s.Dialect
		db := s.Open(t)
		q := d.Quote
		idType := map[string]string{"postgres": "int", "mysql": "int", "sqlite": "INTEGER", "sqlserver": "int"}[d.Name()]
		var expiryDef string
		for _, c := range d.Columns() {
			if c.Name == dialects.ColExpiresAtTime {
				expiryDef = c.Definition
			}
		}
		orders, wrongType, view, missing := dialecttest.Table("Orders"), dialecttest.Table("WrongTz"), dialecttest.Table("CacheView"), dialecttest.Table("Sesions")
		for _, table := range []string{orders, wrongType} {
			s.DropAtCleanup(t, db, table)
		}
		t.Cleanup(func() { db.Exec("DROP VIEW " + s.Qualified(view)) })
		ddl := []string{
			// Another app's table: its own key and payload, and an expiry
			// column exactly like the cache table's.
			"CREATE TABLE " + s.Qualified(orders) + " (" + q("OrderId") + " " + idType + " PRIMARY KEY, " + expiryDef + ")",
			"INSERT INTO " + s.Qualified(orders) + " (" + q("OrderId") + ", " + q("ExpiresAtTime") + ") VALUES (1, " + expiresSQL(d.Name(), -86400) + ")",
			"INSERT INTO " + s.Qualified(orders) + " (" + q("OrderId") + ", " + q("ExpiresAtTime") + ") VALUES (2, " + expiresSQL(d.Name(), 3600) + ")",
			// The cache's five columns, the expiry of the wrong type.
			"CREATE TABLE " + s.Qualified(wrongType) + " (" + cacheColumns(d, dialects.ColExpiresAtTime, wrongExpiry[d.Name()]) + ")",
		}
		for i, id := range []string{"old", "live"} {
			ddl = append(ddl, fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES ('%s', %s, %s)", s.Qualified(wrongType),
				q("Id"), q("Value"), q("ExpiresAtTime"), id, valueSQL[d.Name()],
				wrongExpiresSQL(d.Name(), []int{-86400, 3600}[i])))
		}
		ddl = append(ddl, "CREATE VIEW "+s.Qualified(view)+" AS SELECT * FROM "+s.Qualified(wrongType))
		for _, stmt := range ddl {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		count := func(table string) int {
			var n int
			if err := db.QueryRow("SELECT count(*) FROM " + s.Qualified(table)).Scan(&n); err != nil {
				t.Fatalf("counting %s: %v", table, err)
			}
			return n
		}

		runs := [][]string{{"purge"}, {"purge", "--dry-run"}, {"purge", "--order", "storage"}, {"purge", "--order", "expiry", "--batch-size", "1"},
			{"purge", "-o", "json"}, {"purge", "--grace", "1s", "-q"}}
		for _, c := range []struct {
			table string
			say   []string
		}{
			{orders, []string{"purge refused", "is not a compatible cache table", "nothing was deleted", "`sessctl verify`", `column ` + q("Id") + ` is missing`}},
			{wrongType, []string{"purge refused", "is not a compatible cache table", "nothing was deleted", "`sessctl verify`", `column ` + q("ExpiresAtTime") + ` is`}},
			{view, []string{"purge refused", "is a view, not a table", "`sessctl verify`"}},
			{missing, []string{"purge refused", s.Qualified(missing) + " does not exist", "nothing was deleted", "`sessctl create`"}},
		} {
			for _, args := range runs {
				args = append(args, s.DSN, s.Schema, c.table)
				r := must(t, ExitIncompatible, args...)
				out := r.stderr
				if strings.Contains(strings.Join(args, " "), "-o json") {
					m := r.json(t)
					if m["exit_code"] != float64(ExitIncompatible) || m["status"] != "error" {
						t.Errorf("sessctl %s: JSON %v, want status error, exit_code 3", strings.Join(args, " "), m)
					}
					out, _ = m["error"].(string)
				}
				for _, want := range c.say {
					if !strings.Contains(out, want) {
						t.Errorf("sessctl %s said %q; want it to say %q", strings.Join(args, " "), out, want)
					}
				}
			}
		}
		if n := count(orders); n != 2 {
			t.Errorf("another app's table holds %d of its 2 rows after the refused purges", n)
		}
		if n := count(wrongType); n != 2 {
			t.Errorf("the table with the wrong expiry type holds %d of its 2 rows after the refused purges", n)
		}

		// Warnings only: a cache table without a recorded version (made
		// by another tool) is purged.
		adopted := dialecttest.Table("NoVersion")
		s.DropAtCleanup(t, db, adopted)
		if _, err := db.Exec("CREATE TABLE " + s.Qualified(adopted) + " (" + cacheColumns(d, "", "") + ")"); err != nil {
			t.Fatal(err)
		}
		s.Seed(t, db, adopted, "old", 20, 10, -time.Hour)
		s.Seed(t, db, adopted, "live", 5, 10, time.Hour)
		must(t, 0, "purge", "--dry-run", s.DSN, s.Schema, adopted)
		if m := must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, adopted).json(t); m["deleted"] != float64(20) || m["status"] != "done" {
			t.Errorf("purge of a compatible table with no version recorded: %v, want 20 deleted", m)
		}
		if n := s.Count(t, db, adopted, "live"); n != 5 {
			t.Errorf("%d of 5 live rows left", n)
		}
	})
}
