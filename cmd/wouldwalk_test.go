package cmd

import (
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestDryRunSaysWhatPurgeDoes: on a backlog (most of the table expired),
// purge --dry-run's text says what its JSON's would_walk says, and the
// purge run with the same flags then does that: walks when the dry run
// said it would, keeps to expiry order when it said so, with and without
// --batch-size, as README says.
func TestDryRunSaysWhatPurgeDoes(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if s.Dialect.Name() == "sqlserver" {
			return // no walk there
		}
		db := s.Open(t)
		for _, flags := range [][]string{nil, {"--batch-size", "50"}, {"--order", "storage"}, {"--order", "expiry"}, {"--batch-size", "50", "--order", "storage"}} {
			table := dialecttest.Table("WouldWalk")
			s.DropAtCleanup(t, db, table)
			must(t, 0, "create", s.DSN, s.Schema, table)
			s.Seed(t, db, table, "old", 3000, 10, -time.Hour)
			s.Seed(t, db, table, "live", 300, 10, time.Hour)
			q := "ANALYZE " + s.Qualified(table)
			if s.Dialect.Name() == "mysql" {
				q = "ANALYZE TABLE " + s.Qualified(table)
			}
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
			run := func(extra ...string) []string {
				return append(append(append([]string{"purge"}, flags...), extra...), s.DSN, s.Schema, table)
			}
			j := must(t, 0, run("--dry-run", "-o", "json")...).json(t)
			would, _ := j["would_walk"].(bool)
			text := must(t, 0, run("--dry-run")...).stdout
			if says := strings.Contains(text, "would walk the table"); says != would {
				t.Errorf("%v: the dry run's JSON says would_walk %v, its text:\n%s", flags, would, text)
			}
			if !would && !strings.Contains(text, "in expiry order") {
				t.Errorf("%v: the dry run's text does not say purge would delete in expiry order:\n%s", flags, text)
			}
			r := must(t, 0, run("-o", "json")...).json(t)
			if walked, _ := r["walked"].(bool); walked != would {
				t.Errorf("%v: the dry run said would_walk %v, the purge walked %v", flags, would, walked)
			}
			if n := s.Count(t, db, table, "old"); n != 0 {
				t.Errorf("%v: %d expired rows left", flags, n)
			}
		}
	})
}
