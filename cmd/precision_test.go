package cmd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestTimePrecision: an expiry column that keeps fewer fractional-second
// digits than the microseconds the provider writes gets the same verdict
// on every engine with such a type: an error, with the fix, which makes
// the table pass. PostgreSQL timestamptz(p), MySQL datetime(p), p < 6.
func TestTimePrecision(t *testing.T) {
	ddl := map[string]string{
		"postgres": `CREATE TABLE %[1]s ("Id" text COLLATE pg_catalog."default" NOT NULL PRIMARY KEY, "Value" bytea NOT NULL,
			"ExpiresAtTime" %[2]s NOT NULL, "SlidingExpirationInSeconds" double precision, "AbsoluteExpiration" timestamp with time zone)`,
		"mysql": "CREATE TABLE %[1]s (`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, `AbsoluteExpiration` datetime(6) NULL, " +
			"`ExpiresAtTime` %[2]s NOT NULL, `SlidingExpirationInSeconds` bigint NULL, `Value` longblob NOT NULL)",
	}
	types := map[string][]string{
		"postgres": {"timestamptz(0)", "timestamptz(3)", "timestamp(5) with time zone"},
		"mysql":    {"datetime(0)", "datetime(3)", "datetime(5)"},
	}
	full := map[string]string{"postgres": "timestamptz(6)", "mysql": "datetime(6)"}
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		d := s.Dialect
		if ddl[d.Name()] == "" {
			t.Skipf("%s: its time types keep what the provider writes, or are not checked here", d.Name())
		}
		t.Parallel()
		db := s.Open(t)
		for _, typ := range append(types[d.Name()], full[d.Name()]) {
			table := dialecttest.Table("Prec")
			s.DropAtCleanup(t, db, table)
			q := fmt.Sprintf(ddl[d.Name()], s.Qualified(table), typ)
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if typ == full[d.Name()] {
				if f := findingOn(t, must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table), "column "+d.Quote("ExpiresAtTime")); f != nil {
					t.Errorf("ExpiresAtTime %s: %v", typ, f)
				}
				continue
			}
			r := must(t, 3, "verify", "-o", "json", s.DSN, s.Schema, table)
			f := findingOn(t, r, "column "+d.Quote("ExpiresAtTime"))
			if f == nil || f["severity"] != "error" || !strings.Contains(f["message"].(string), "the provider needs") {
				t.Fatalf("ExpiresAtTime %s: %s", typ, r.stdout)
			}
			if _, err := db.Exec(f["fix"].(string)); err != nil {
				t.Fatalf("the fix %q: %v", f["fix"], err)
			}
			if f := findingOn(t, must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table), "column "+d.Quote("ExpiresAtTime")); f != nil {
				t.Errorf("after the fix, ExpiresAtTime %s: %v", typ, f)
			}
		}
	})
}
