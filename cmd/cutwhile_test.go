package cmd

import (
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestPurgeCutOfASlowStatementClaimsNoLock: a batch slow by itself (a
// trigger that sleeps on every row) still running when --max-duration
// has passed is cut, and the report says a statement was cut, not that
// it waited for a lock another session holds, which nothing did.
func TestPurgeCutOfASlowStatementClaimsNoLock(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		var stmts []string
		db := s.Open(t)
		table := dialecttest.Table("SlowCut")
		s.DropAtCleanup(t, db, table)
		fn := s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(strings.ToLower(table)+"_slow")
		switch s.Dialect.Name() {
		case "postgres":
			stmts = []string{
				`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.pg_sleep(3); RETURN OLD; END $$`,
				`CREATE TRIGGER slow BEFORE DELETE ON ` + s.Qualified(table) + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
			}
			t.Cleanup(func() { db.Exec(`DROP FUNCTION IF EXISTS ` + fn + `() CASCADE`) })
		case "mysql":
			stmts = []string{"CREATE TRIGGER " + fn + " BEFORE DELETE ON " + s.Qualified(table) + " FOR EACH ROW SET @sessctl_slow = SLEEP(3)"}
		default:
			return // SQLite has no sleep to call; SQL Server: not tested here
		}
		must(t, 0, "create", s.DSN, s.Schema, table)
		s.Seed(t, db, table, "old", 20, 10, -time.Hour)
		for _, stmt := range stmts {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		r := must(t, 0, "purge", "--batch-size", "5", "--max-duration", "300ms", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "was cut") || strings.Contains(r.stdout, "lock") {
			t.Errorf("purge cut during a slow batch says:\n%s\nwant it to say a statement was cut, and nothing of a lock", r.stdout)
		}
		if n := s.Count(t, db, table, "old"); n != 20 {
			t.Errorf("the cut batch deleted %d rows", 20-n)
		}
	})
}
