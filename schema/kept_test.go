package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// keepers are the ways a database keeps rows a DELETE asked for, as SQL
// on schemaName.table (q quotes a name) that keeps the rows whose
// Id begins with prefix. MySQL and MariaDB have none: a trigger there can
// only fail the statement, and a rule or policy does not exist.
var keepers = map[string]map[string]func(q func(string) string, schemaName, table, name, prefix string) []string{
	"postgres": {
		"trigger": func(q func(string) string, schemaName, table, name, prefix string) []string {
			fn := q(schemaName) + "." + q(name)
			return []string{
				`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF OLD."Id" LIKE '` + prefix + `%' THEN RETURN NULL; END IF; RETURN OLD; END $$`,
				`CREATE TRIGGER ` + q(name) + ` BEFORE DELETE ON ` + q(schemaName) + "." + q(table) + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
			}
		},
		"rule": func(q func(string) string, schemaName, table, name, prefix string) []string {
			return []string{`CREATE RULE ` + q(name) + ` AS ON DELETE TO ` + q(schemaName) + "." + q(table) + ` WHERE old."Id" LIKE '` + prefix + `%' DO INSTEAD NOTHING`}
		},
	},
	"sqlite": {
		"trigger": func(q func(string) string, schemaName, table, name, prefix string) []string {
			return []string{`CREATE TRIGGER ` + q(schemaName) + "." + q(name) + ` BEFORE DELETE ON ` + q(table) +
				` WHEN old."Id" LIKE '` + prefix + `%' BEGIN SELECT RAISE(IGNORE); END`}
		},
	},
}

// TestPurgeGoesOnPastRowsATriggerKeeps: a trigger or rule that keeps some
// of a batch's rows makes the batch delete fewer than it asked for; purge
// goes on, deletes every other expired row, stops when a batch deletes
// none, and says how many rows were kept and why, rather than "done"
// with the rows "held by an app session". On every engine that can keep
// rows so, in both orders and with fixed and sized batches.
func TestPurgeGoesOnPastRowsATriggerKeeps(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ways, ok := keepers[s.Dialect.Name()]
		if !ok {
			return // see keepers: nothing on this engine keeps rows a DELETE asked for
		}
		ctx := context.Background()
		db := s.Open(t)
		for way, sqlFor := range ways {
			for _, opts := range []schema.PurgeOptions{
				{BatchSize: 10, Order: schema.OrderExpiry},
				{BatchSize: 3},
				{},
				{Order: schema.OrderStorage, BatchSize: 10},
			} {
				table := dialecttest.Table("Kept")
				s.DropAtCleanup(t, db, table)
				tb := create(t, s, table, schema.CreateOptions{})
				for _, stmt := range sqlFor(s.Dialect.Quote, s.Schema, table, strings.ToLower(table)+"_keep", "keep") {
					if _, err := db.Exec(stmt); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
				if s.Dialect.Name() == "postgres" && way == "trigger" {
					t.Cleanup(func() {
						db.Exec(`DROP FUNCTION IF EXISTS ` + s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(strings.ToLower(table)+"_keep") + `() CASCADE`)
					})
				}
				// Kept rows among the oldest and in the middle, fewer
				// than a batch at each place.
				s.Seed(t, db, table, "keepA", 2, 10, -3*time.Hour)
				s.Seed(t, db, table, "oldA", 60, 10, -2*time.Hour)
				s.Seed(t, db, table, "keepB", 2, 10, -90*time.Minute)
				s.Seed(t, db, table, "oldB", 40, 10, -time.Hour)
				s.Seed(t, db, table, "live", 20, 10, time.Hour)
				res, err := schema.Purge(ctx, connect(t, s, false), tb, opts)
				if err != nil {
					t.Fatalf("%s, %+v: %v", way, opts, err)
				}
				if n := s.Count(t, db, table, "old"); n != 0 {
					t.Errorf("%s, %+v: %d of 100 deletable expired rows left; report %+v", way, opts, n, res)
				}
				if n := s.Count(t, db, table, "keep") + s.Count(t, db, table, "live"); n != 24 {
					t.Errorf("%s, %+v: %d of the 4 kept and 20 live rows left", way, opts, n)
				}
				if res.Status != schema.PurgeDone || res.Deleted != 100 || res.Remaining == nil || *res.Remaining != 4 || res.Kept.ByTrigger != 4 {
					t.Errorf("%s, %+v: report %+v; want done, 100 deleted, 4 remaining, 4 kept by a trigger or rule", way, opts, res)
				}
			}
		}
	})
}
