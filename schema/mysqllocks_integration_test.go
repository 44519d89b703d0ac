package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestMySQLPurgeNeverDeadlocksWithPomelo: purges in tiny batches (5 rows),
// in expiry order and walking the table, run back to back while 8 app
// sessions send Pomelo's upsert (SetAsync) and refresh (RefreshAsync) for
// rows at the edge of expiry: rows a batch has just found, locked or is
// deleting. Neither side ever deadlocks (error 1213) or fails otherwise:
// a batch locks a row by primary key, then its expiry index entry, as the
// app does, and skips (never waits for) a row the app holds. (The old
// one-statement DELETE … ORDER BY ExpiresAtTime LIMIT n deadlocked here in
// one run of three; TestPurgeNeverLosesLiveRows, whose refreshes come just
// as rows expire, catches it on every run.)
func TestMySQLPurgeNeverDeadlocksWithPomelo(t *testing.T) {
	m := newMySQLTest(t, dialecttest.Table("NoDeadlock"))
	m.create(t)
	// Enough rows that some go a second untouched, and expire, however
	// fast the app's statements run (with 40 a client, at 5,000 a second
	// on an idle machine every row was refreshed 16 times a second and
	// none ever expired: the purges had nothing to race for).
	const clients, rowsEach = 8, 400
	// The app's clock runs 200 ms behind the database's, so its refresh
	// revives rows the database already counts as expired: those a batch
	// may have picked.
	const skew = 200 * time.Millisecond
	app := func() time.Time { return time.Now().UTC().Add(-skew) }

	var appOps, appHits, appErrors, purgeErrors atomic.Int64
	var deadlocks atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	report := func(side string, err error) {
		var me *gomysql.MySQLError
		if errors.As(err, &me) && me.Number == 1213 {
			deadlocks.Add(1)
		}
		t.Errorf("%s: %v", side, err)
	}
	for c := range clients {
		conn, err := m.raw.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		p := pomeloProvider{conn: conn, table: m.qualified()}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-%d", c, rng.IntN(rowsEach))
				var res sql.Result
				var err error
				if rng.IntN(3) == 0 {
					// SetAsync with a sliding expiry of a second: the row
					// lives a second, then a batch may take it.
					now := app()
					if _, err = p.conn.ExecContext(ctx, p.sql(pomeloSetExpiry), int64(1), nil, now, int64(1)); err == nil {
						value := []byte(strings.Repeat("v", 100))
						res, err = p.conn.ExecContext(ctx, p.sql(pomeloSet), id, value, int64(1), nil, value, int64(1), nil)
					}
				} else {
					now := app()
					res, err = p.conn.ExecContext(ctx, p.sql(pomeloSlide), now, now, id, now)
				}
				appOps.Add(1)
				if err != nil {
					appErrors.Add(1)
					report("app", err)
					return
				}
				if n, _ := res.RowsAffected(); n > 0 {
					appHits.Add(1)
				}
			}
		})
	}

	var purges, deleted int64
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) && !t.Failed() {
		order := schema.OrderExpiry
		if purges%2 == 1 {
			order = schema.OrderStorage
		}
		res, err := schema.Purge(context.Background(), m.db, m.table, schema.PurgeOptions{BatchSize: 5, Order: order, MaxDuration: time.Second})
		purges++
		if err != nil {
			purgeErrors.Add(1)
			report("purge", err)
			break
		}
		deleted += res.Deleted
	}
	close(stop)
	wg.Wait()
	t.Logf("%d purges deleted %d rows while %d app statements (%d of them changing a row) ran: %d deadlocks, %d app errors, %d purge errors",
		purges, deleted, appOps.Load(), appHits.Load(), deadlocks.Load(), appErrors.Load(), purgeErrors.Load())
	if deleted == 0 || appHits.Load() == 0 {
		t.Errorf("no race: the purges deleted %d rows and the app changed %d; the test needs both", deleted, appHits.Load())
	}
}
