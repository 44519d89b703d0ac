package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestPurgePacesItself: a purge paces itself unless told not to, and says
// so in its report. On a server, pacing reads the database's busy
// sessions on a connection of its own, taking its baseline before the
// second batch, and the run reads it without a warning; on SQLite, batches
// leave a gap for the app's writers while nobody else writes, and are cut
// short, with pauses, once another connection commits. With PaceOff the
// run never pauses of itself.
func TestPurgePacesItself(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Pace")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		sqlite := s.Dialect.Name() == "sqlite"

		s.Seed(t, db, table, "old", 600, 10, -time.Hour)
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 100})
		if err != nil || res.Status != schema.PurgeDone || res.Deleted != 600 || res.Yielded == nil || res.Yielded.Why[schema.KindPace] == "" || len(res.Warnings) > 0 {
			t.Fatalf("a paced purge: %+v (yielded %+v), %v; want done, its pauses reported, no warning", res, res.Yielded, err)
		}
		if why := res.Yielded.Why[schema.KindPace]; sqlite && !strings.Contains(why, "none seen yet") {
			t.Errorf("SQLite, nobody else writing: the pace's reason is %q; want its gap for the app's writers", why)
		}
		if !sqlite && res.Yielded.By[schema.KindPace] < 100 {
			t.Errorf("a server: paced %d ms; want at least the baseline's 100 ms", res.Yielded.By[schema.KindPace])
		}

		if sqlite {
			// The app: another connection that commits after each batch
			// (Progress is called between batches, the write lock free).
			s.Seed(t, db, table, "old2", 600, 10, -time.Hour)
			app := s.Open(t)
			if _, err := app.Exec(`CREATE TABLE app_` + table + ` (x)`); err != nil {
				t.Fatal(err)
			}
			var appErr error
			res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 100, Progress: func(schema.PurgeResult) {
				if _, err := app.Exec(`INSERT INTO app_` + table + ` VALUES (1)`); err != nil && appErr == nil {
					appErr = err
				}
			}})
			if appErr != nil {
				t.Fatalf("the app's commit: %v", appErr)
			}
			if why := res.Yielded.Why[schema.KindPace]; err != nil || res.Deleted != 600 || !strings.Contains(why, "another connection committed") {
				t.Errorf("SQLite, the app writing: %+v, %v; the pace's reason %q, want the app's commits", res, err, why)
			}
		}

		s.Seed(t, db, table, "old3", 300, 10, -time.Hour)
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 100, Pace: schema.PaceOff})
		if err != nil || res.Status != schema.PurgeDone || res.Deleted != 300 || res.Yielded != nil {
			t.Errorf("--pace off: %+v (yielded %+v), %v; want done, never paused", res, res.Yielded, err)
		}
	})
}
