package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// slowDelete makes every row deleted from table take seconds, by a
// trigger that sleeps: a statement that runs long, holding no one up and
// waiting for no lock.
var slowDelete = map[string]func(s dialecttest.Server, table string) []string{
	"postgres": func(s dialecttest.Server, table string) []string {
		fn := s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(strings.ToLower(table)+"_slow")
		return []string{
			`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.pg_sleep(3); RETURN OLD; END $$`,
			`CREATE TRIGGER slow BEFORE DELETE ON ` + s.Qualified(table) + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
		}
	},
	"mysql": func(s dialecttest.Server, table string) []string {
		return []string{"CREATE TRIGGER " + s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(strings.ToLower(table)+"_slow") +
			" BEFORE DELETE ON " + s.Qualified(table) + " FOR EACH ROW SET @sessctl_slow = SLEEP(3)"}
	},
}

// TestPurgeCutSaysWhatItCut: a purge told to stop cuts a statement still
// running a grace later; the report says it was waiting for a lock only
// when the server said so. A statement slow by itself (a trigger that
// sleeps) is cut with no lock claimed; one waiting for a row an app
// session holds is cut "waiting for a row lock".
func TestPurgeCutSaysWhatItCut(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		mk, ok := slowDelete[s.Dialect.Name()]
		if !ok {
			return // SQLite waits for its write lock in sessctl's own steps; SQL Server: not tested here
		}
		db := s.Open(t)
		table := dialecttest.Table("Cut")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		s.Seed(t, db, table, "old", 20, 10, -time.Hour)
		for _, stmt := range mk(s, table) {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if s.Dialect.Name() == "postgres" {
			t.Cleanup(func() {
				db.Exec(`DROP FUNCTION IF EXISTS ` + s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(strings.ToLower(table)+"_slow") + `() CASCADE`)
			})
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 5})
		if res == nil || !res.Cut {
			t.Fatalf("a purge stopped during a slow batch: %+v, %v; want it cut", res, err)
		}
		if res.CutWhile != "" {
			t.Errorf("a slow statement was cut, reported as %q: it waited for no lock", res.CutWhile)
		}
		if n := s.Count(t, db, table, "old"); n != 20 {
			t.Errorf("the cut batch deleted %d rows: it must be rolled back whole", 20-n)
		}
	})
}
