package cmd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// extremeExpiries are, per engine, the expiry that never comes (the
// latest the column holds: PostgreSQL's infinity) and the one that came
// before any other (PostgreSQL's -infinity), as SQL, and how a dry run
// reports the second as the oldest expiry.
var extremeExpiries = map[string]struct{ never, always, oldest string }{
	"postgres":  {`'infinity'`, `'-infinity'`, "-infinity"},
	"mysql":     {`'9999-12-31 23:59:59.999999'`, `'1000-01-01 00:00:00'`, "1000-01-01T00:00:00Z"},
	"sqlite":    {`9223372036854775807`, `-9223372036854775808`, "-290308-12-21T19:59:05.224192Z"},
	"sqlserver": {`'9999-12-31 23:59:59.9999999 +00:00'`, `'0001-01-01 00:00:00 +00:00'`, "0001-01-01T00:00:00Z"},
}

// TestPurgeExtremeExpiries: rows at the extremes of the expiry column's
// range are purged like any other: the one that never expires is kept,
// the one that always has is deleted, and the dry run, the progress count
// and the report count them and name the oldest expiry, on every engine
// (PostgreSQL's infinity and -infinity once failed them with a scan error;
// SQLite's smallest expiry, a year before 0, could not be written as
// JSON).
func TestPurgeExtremeExpiries(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		d := s.Dialect
		db := s.Open(t)
		x := extremeExpiries[d.Name()]
		value := valueSQL[d.Name()]
		for _, order := range []string{"auto", "expiry", "storage"} {
			table := dialecttest.Table("Extreme")
			s.DropAtCleanup(t, db, table)
			must(t, 0, "create", s.DSN, s.Schema, table)
			s.Seed(t, db, table, "old", 10, 10, -time.Hour)
			s.Seed(t, db, table, "live", 10, 10, time.Hour)
			for id, at := range map[string]string{"never": x.never, "always": x.always} {
				q := fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES ('%s', %s, %s)", s.Qualified(table),
					d.Quote("Id"), d.Quote("Value"), d.Quote("ExpiresAtTime"), id, value, at)
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			m := must(t, 0, "purge", "--dry-run", "-o", "json", s.DSN, s.Schema, table).json(t)
			if m["remaining"] != float64(11) || m["oldest_expiry"] != x.oldest {
				t.Errorf("purge --dry-run: %v; want 11 rows expired, the oldest at %s", m, x.oldest)
			}
			r := must(t, 0, "purge", "--dry-run", s.DSN, s.Schema, table)
			if want := "11 rows of " + s.Qualified(table) + " expired and would be deleted; the oldest expired at " + x.oldest; !strings.Contains(r.stdout, want) {
				t.Errorf("purge --dry-run said\n%s\nwant %q", r.stdout, want)
			}
			// The progress count on a terminal is the count a dry run
			// makes; --order expiry --batch-size 4 takes several batches.
			args := []string{"purge", "-o", "json", "--order", order}
			if order == "expiry" {
				args = append(args, "--batch-size", "4")
			}
			args = append(args, s.DSN, s.Schema, table)
			m = must(t, 0, args...).json(t)
			if m["status"] != "done" || m["deleted"] != float64(11) || m["remaining"] != float64(0) {
				t.Errorf("sessctl %s: %v; want 11 deleted, none left", strings.Join(args, " "), m)
			}
			if n := s.Count(t, db, table, "always"); n != 0 {
				t.Errorf("--order %s: the row that expires at %s is still there", order, x.always)
			}
			if n := s.Count(t, db, table, "never") + s.Count(t, db, table, "live"); n != 11 {
				t.Errorf("--order %s: %d of the 11 rows that have not expired are left", order, n)
			}
		}
	})
}
