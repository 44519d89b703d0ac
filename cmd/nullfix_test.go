package cmd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestNotNullFix: a column that allows NULL is reported in words true of
// that column (a NULL Value is not about purging; a NULL ExpiresAtTime
// never expires), and its fix, run as it is printed, fails while a row
// holds NULL there and says so, with the DELETE that removes those rows;
// after that DELETE, the fix runs and verify reports the column no more.
func TestNotNullFix(t *testing.T) {
	ddl := map[string]string{
		"postgres": `CREATE TABLE %s ("Id" text COLLATE pg_catalog."default" NOT NULL PRIMARY KEY, "Value" bytea,
			"ExpiresAtTime" timestamp with time zone, "SlidingExpirationInSeconds" double precision, "AbsoluteExpiration" timestamp with time zone)`,
		"mysql": "CREATE TABLE %s (`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, `AbsoluteExpiration` datetime(6) NULL, " +
			"`ExpiresAtTime` datetime(6) NULL, `SlidingExpirationInSeconds` bigint NULL, `Value` longblob NULL)",
	}
	nulls := map[string]string{
		"postgres": `INSERT INTO %s ("Id", "Value", "ExpiresAtTime") VALUES ('nullvalue', NULL, now() + interval '1 hour'), ('nullexpiry', '\x00', NULL)`,
		"mysql":    "INSERT INTO %s (`Id`, `Value`, `ExpiresAtTime`) VALUES ('nullvalue', NULL, UTC_TIMESTAMP(6) + INTERVAL 1 HOUR), ('nullexpiry', x'00', NULL)",
	}
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		d := s.Dialect
		if ddl[d.Name()] == "" {
			t.Skipf("%s: no table of nullable columns in this test", d.Name())
		}
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("NullFix")
		s.DropAtCleanup(t, db, table)
		for _, q := range []string{ddl[d.Name()], nulls[d.Name()]} {
			if _, err := db.Exec(fmt.Sprintf(q, s.Qualified(table))); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		r := sessctl(t, nil, "verify", "-o", "json", s.DSN, s.Schema, table)
		for _, col := range []string{"Value", "ExpiresAtTime"} {
			f := findingOn(t, r, "column "+d.Quote(col))
			if f == nil {
				if col == "Value" && d.Name() == "mysql" {
					continue // MySQL's Value is an error too; said below as ExpiresAtTime is
				}
				t.Fatalf("verify has no finding on %s: %s", col, r.stdout)
			}
			msg, fix := f["message"].(string), f["fix"].(string)
			if col == "Value" && strings.Contains(msg, "purge") {
				t.Errorf("the finding on a nullable Value speaks of purging: %q", msg)
			}
			if col == "ExpiresAtTime" && d.Name() == "postgres" && !strings.Contains(msg, "never expires") {
				t.Errorf("the finding on a nullable ExpiresAtTime: %q", msg)
			}
			del := fmt.Sprintf("DELETE FROM %s WHERE %s IS NULL;", s.Qualified(table), d.Quote(col))
			if !strings.Contains(fix, del) {
				t.Fatalf("the fix for %s does not say to delete the NULL rows first (%s): %q", col, del, fix)
			}
			if _, err := db.Exec(fix); err == nil {
				t.Errorf("the fix for %s ran while a row held NULL there: %q", col, fix)
			}
			if _, err := db.Exec(del); err != nil {
				t.Fatalf("%s: %v", del, err)
			}
			if _, err := db.Exec(fix); err != nil {
				t.Fatalf("the fix for %s, after the DELETE it gives: %v", col, err)
			}
		}
		r = sessctl(t, nil, "verify", "-o", "json", s.DSN, s.Schema, table)
		for _, col := range []string{"Value", "ExpiresAtTime"} {
			if f := findingOn(t, r, "column "+d.Quote(col)); f != nil {
				t.Errorf("after the fixes, verify still reports %s: %v", col, f)
			}
		}
	})
}
