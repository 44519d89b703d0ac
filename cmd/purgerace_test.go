package cmd

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// Clients of TestPurgeNeverLosesLiveRows, the rows each keeps live, and
// the operations they make in all before the test stops them.
const (
	raceClients       = 16
	raceRowsPerClient = 25
	raceOps           = 10_000
)

// TestPurgeNeverLosesLiveRows: while purge processes with tiny batches
// (5 rows, or sized to take a millisecond) run back to back, walking the
// table or reading the expiry index in turn, 16 clients keep sliding their
// rows forward as the providers' refresh does. Each refreshes first the
// row closest to expiry: half of them as fast as they can, so that most
// refreshes come in the last second of a row's life; the other half, apps
// whose clock runs 250 ms behind the database's, just after the row
// expired, reviving rows a purge batch may already have picked. No row is
// ever gone before the expiry its last refresh gave it, every row a client
// kept is there at the end, and the rows nobody refreshed are purged.
func TestPurgeNeverLosesLiveRows(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		for _, mode := range []struct {
			name  string
			flags []string
		}{
			{"batch-size-5", []string{"--batch-size", "5", "--pause", "0"}},
			{"batch-time-1ms", []string{"--batch-time", "1ms", "--pause", "0"}},
		} {
			t.Run(mode.name, func(t *testing.T) { raceClientsAndPurge(t, s, cacheRace, mode.flags) })
		}
		// The other layouts on their engine, in one mode each, with fewer
		// refreshes: the race is the same, its SQL the layout's.
		for _, l := range raceLayouts {
			if l.engine == s.Dialect.Name() {
				t.Run(l.name, func(t *testing.T) {
					raceClientsAndPurge(t, s, l, []string{"--batch-size", "5", "--pause", "0"})
				})
			}
		}
	})
}

// raceClient is what one client did.
type raceClient struct {
	edge    map[string]bool // rows it refreshed in the last second before their expiry
	revived int64           // refreshes of rows already expired by the database's clock
	late    int             // rows it came back to too late, and let go
	kept    []keptRow       // rows it kept live to the end
}

// wallNow is the time by the wall clock only, which the database's clock
// follows, so that a step of the wall clock moves both alike. (Go compares
// times read with their monotonic clock reading by that reading.)
func wallNow() time.Time { return time.Now().Round(0) }

// keptRow is a row a client keeps live.
type keptRow struct {
	id string
	// due is when the row expires at the earliest: the wall clock when
	// its client asked for the last refresh, plus how far ahead it slid it.
	due time.Time
}

func raceClientsAndPurge(t *testing.T, s dialecttest.Server, l raceLayout, purgeFlags []string) {
	db := s.Open(t)
	table := dialecttest.Table("keep") // lower case: the microsoft layout folds it
	s.DropAtCleanup(t, db, table)
	must(t, 0, slices.Concat([]string{"create"}, l.flags(), []string{s.DSN, s.Schema, table})...)
	purgeFlags = slices.Concat(l.flags(), purgeFlags)

	// A backlog for the first purge to chew through a few rows a batch,
	// and rows nobody refreshes, expiring every 100 ms for four seconds.
	// (A longer backlog would only starve the clients on SQLite, where a
	// purge with no pause between batches holds the one write lock until
	// it is done.)
	l.seed(t, s, db, table, "old-", l.backlog, -time.Hour)
	const abandonedGroups = 40
	for g := range abandonedGroups {
		l.seed(t, s, db, table, fmt.Sprintf("a%02d-", g), cmp.Or(l.abandoned, 10), time.Duration(g)*100*time.Millisecond)
	}
	// The clients' rows last, with time to spare for the seeding.
	clients := make([]*raceClient, raceClients)
	for c := range clients {
		in := 2*time.Second + time.Duration(50*c)*time.Millisecond
		seeded := wallNow()
		l.seed(t, s, db, table, fmt.Sprintf("k%02d-", c), raceRowsPerClient, in)
		rc := &raceClient{edge: map[string]bool{}}
		for i := 1; i <= raceRowsPerClient; i++ {
			rc.kept = append(rc.kept, keptRow{id: fmt.Sprintf("k%02d-%d", c, i), due: seeded.Add(in - l.precision)})
		}
		clients[c] = rc
	}
	lastAbandoned := time.Now().Add(abandonedGroups * 100 * time.Millisecond)

	// The clients' pool keeps a session each, as an app's does. On SQLite
	// they share one, as an app on SQLite does, so that they queue in the
	// app rather than in SQLite's busy handler, and it does not wait for
	// the disk at each commit (synchronous=OFF), so that 10,000 refreshes
	// take seconds, not minutes: what this test checks is which rows
	// purge deletes, not whether a commit survives a power cut.
	clientServer := s
	if s.Dialect.Name() == "sqlite" {
		clientServer.DSN = "sqlite:" + s.DSN + "?_pragma=synchronous(OFF)"
	}
	cdb := clientServer.Open(t)
	cdb.SetMaxIdleConns(raceClients)
	if s.Dialect.Name() == "sqlite" {
		cdb.SetMaxOpenConns(1)
	}
	var ops, lost atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// halt stops the clients and waits for them, also when a purge fails
	// the test: none may report after it has ended.
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt()
	var active atomic.Int64
	for c, rc := range clients {
		active.Add(1)
		wg.Go(func() {
			defer active.Add(-1)
			skew := time.Duration(0)
			if c%2 == 1 {
				skew = 250 * time.Millisecond
			}
			rng := rand.New(rand.NewPCG(uint64(c), 6))
			for len(rc.kept) > 0 && !t.Failed() {
				select {
				case <-stop:
					return
				default:
				}
				i := 0
				for j := range rc.kept {
					if rc.kept[j].due.Before(rc.kept[i].due) {
						i = j
					}
				}
				row := &rc.kept[i]
				if skew == 0 && l.slide > 0 {
					// A provider that slides by minutes: its user comes
					// back in the last milliseconds of the row's life.
					early := time.Duration(rng.IntN(int(20 * time.Millisecond)))
					select {
					case <-stop:
						return
					case <-time.After(time.Until(row.due.Add(-early))):
					}
				}
				if skew > 0 {
					// An app whose clock runs skew behind the database's
					// sees the row live until due + skew: its user comes
					// back just after the row expired, when a purge may
					// already have picked it. (Later, and the purges,
					// which run every ten milliseconds or so, would
					// mostly have deleted it. With the expiry test at
					// delete time taken out of MySQL's batch, this
					// failed in 5 of 6 runs.)
					late := time.Duration(rng.IntN(int(3 * time.Millisecond)))
					if l.slide > 0 {
						// A provider that revives any row still there, on a
						// server whose purge batches take a tenth of a
						// second, and whose purges take one to start: up
						// to 1.5 s late, so that purge and refresh race
						// for the expired rows. (With the expiry test at
						// delete time taken out of SQL Server's DELETE,
						// this lost rows in 1 of 3 runs.)
						late = time.Duration(rng.IntN(int(1500 * time.Millisecond)))
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Until(row.due.Add(late))):
					}
				}
				ahead := time.Duration(500+rng.IntN(1000)) * time.Millisecond
				if l.slide > 0 {
					ahead = l.slide
				}
				start := wallNow()
				left := row.due.Sub(start)
				slid := l.refresh(t, s, cdb, table, row.id, ahead, skew)
				end := wallNow()
				ops.Add(1)
				if slid {
					if left < time.Second {
						rc.edge[row.id] = true
					}
					if left < 0 {
						rc.revived++
					}
					row.due = start.Add(ahead - l.precision)
					continue
				}
				// Not slid: expired beyond the client's skew, or gone.
				// Before its due time it can be neither.
				if end.Before(row.due) {
					const us = "15:04:05.000000"
					lost.Add(1)
					t.Errorf("%s was not there to refresh from %s to %s, before %s, the expiry its last refresh gave it; now it is %s",
						row.id, start.UTC().Format(us), end.UTC().Format(us), row.due.UTC().Format(us), l.expiryNow(s, db, table, row.id))
				}
				rc.late++
				// A client held up longer than its rows live (on a loaded
				// machine; on SQLite, behind the purges' write lock) lets
				// them go. It takes a new row in the old one's place, as
				// the app's next session would, so that the race goes on
				// with as many rows as it began with: without, a stall
				// let all but a few go, and the run tested nothing.
				fresh := fmt.Sprintf("k%02d-r%d", c, rc.late)
				seeded := wallNow()
				if err := l.insert(s, cdb, table, fresh, ahead); err != nil {
					t.Errorf("a new row for client %d: %v", c, err)
					return
				}
				*row = keptRow{id: fresh, due: seeded.Add(ahead - l.precision)}
			}
		})
	}

	// Purges run until the clients have made raceOps refreshes and the
	// last rows nobody refreshes have expired, so that the clients whose
	// clock runs behind get a few rounds past their rows' first expiry.
	var purges, deleted int64
	deadline := time.Now().Add(2 * time.Minute)
	for (ops.Load() < int64(l.ops) || time.Now().Before(lastAbandoned)) && active.Load() > 0 && time.Now().Before(deadline) && !t.Failed() {
		order := "expiry"
		if purges%2 == 1 {
			order = "storage"
		}
		deleted += purgeProcess(t, s, table, slices.Concat(purgeFlags, []string{"--order", order})...)
		purges++
	}
	halt()
	if ops.Load() < int64(l.ops) {
		t.Errorf("the clients made only %d of %d refreshes (%d clients still had rows to keep)", ops.Load(), l.ops, active.Load())
	}

	// Every row a client kept is there until the expiry its last refresh
	// gave it; no purge runs now.
	var kept, late, edge int
	var revived int64
	for _, rc := range clients {
		checked := wallNow()
		for _, row := range rc.kept {
			if exists := l.exists(t, s, db, table, row.id); !exists && checked.Before(row.due) {
				lost.Add(1)
				t.Errorf("%s, which its client kept live, is gone %s before the expiry its last refresh gave it", row.id, row.due.Sub(checked))
			}
			if checked.Before(row.due) {
				kept++
			} else {
				late++ // its client did not come back in time
			}
		}
		late += rc.late
		edge += len(rc.edge)
		revived += rc.revived
	}
	t.Logf("%s: %d refreshes by %d clients during %d purges (%s) that deleted %d rows: %d of %d rows kept live to the end, "+
		"%d lost; %d rows on the edge (refreshed in their last second), %d refreshes revived an expired row; %d rows let go late",
		strings.Join(append([]string{s.Dialect.Name()}, l.flags()...), " "), ops.Load(), raceClients, purges, purgeFlags, deleted, kept, raceClients*raceRowsPerClient, lost.Load(), edge, revived, late)
	if deleted == 0 || edge == 0 || revived == 0 || kept < raceRowsPerClient {
		t.Errorf("no race: the purges deleted %d rows, %d rows were refreshed at the edge, %d refreshes revived an expired row, "+
			"%d rows were kept live to the end; the test needs them all", deleted, edge, revived, kept)
	}

	// The rows nobody refreshed are purged once they have expired.
	time.Sleep(time.Until(lastAbandoned))
	purgeProcess(t, s, table, purgeFlags...)
	for _, prefix := range []string{"old-", "a"} {
		if n := l.count(t, s, db, table, prefix); n != 0 {
			t.Errorf("%d expired rows %s… nobody refreshed are left after the purge", n, prefix)
		}
	}
}

// expiryNowSQL reads a row's expiry and the database's clock, as text.
var expiryNowSQL = map[string]string{
	"postgres":  `SELECT "ExpiresAtTime"::text, now()::text FROM %s WHERE "Id" = $1`,
	"mysql":     "SELECT CAST(`ExpiresAtTime` AS CHAR), CAST(UTC_TIMESTAMP(6) AS CHAR) FROM %s WHERE `Id` = ?",
	"sqlite":    `SELECT CAST("ExpiresAtTime" AS TEXT), CAST(CAST(unixepoch('subsec') * 1000000 AS INTEGER) AS TEXT) FROM %s WHERE "Id" = ?`,
	"sqlserver": `SELECT CONVERT(nvarchar(40), [ExpiresAtTime], 127), CONVERT(nvarchar(40), SYSDATETIMEOFFSET(), 127) FROM %s WHERE [Id] = @p1`,
}

// purgeProcess runs one purge process of table and returns how many rows it
// deleted.
func purgeProcess(t *testing.T, s dialecttest.Server, table string, flags ...string) int64 {
	t.Helper()
	var out, errb bytes.Buffer
	c := command(nil, append(append([]string{"purge", "-o", "json"}, flags...), s.DSN, s.Schema, table)...)
	c.Stdout, c.Stderr = &out, &errb
	if code := exitStatus(t, c.Run()); code != 0 {
		t.Fatalf("purge %v: exit %d\n%s%s", flags, code, out.String(), errb.String())
	}
	var rep struct{ Deleted int64 }
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("purge %v printed no JSON: %v\n%s", flags, err, out.String())
	}
	return rep.Deleted
}
