package cmd

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// The load these tests make, and the thresholds they purge with: sleepers
// sessions each running a sleep raise the engine's signal to at least
// that, above loadMax and at loadCritical or more. (MySQL's
// Threads_running counts the whole server's threads: other tests' add to
// it, which makes a purge wait or stop sooner, never later.)
const (
	sleepers     = 10
	loadMax      = "6"
	loadCritical = "9"
)

// loadMu keeps the tests that raise the load from running at once: one's
// sleepers would be another's load.
var loadMu sync.Mutex

// sleepSQL is a sleep on each engine these tests run on: those with a
// load signal that a sleeping session raises. (SQL Server's needs VIEW
// SERVER STATE, which a test login may lack; Babelfish's pg_stat_activity
// shows a session in WAITFOR DELAY as idle.)
var sleepSQL = map[string]string{
	"postgres": "SELECT pg_sleep(30)",
	"mysql":    "SELECT SLEEP(30)",
}

// cancelSQL stops a sleeper by its session id, from another session.
var cancelSQL = map[string]string{
	"postgres": "SELECT pg_cancel_backend($1)",
	"mysql":    "KILL QUERY ?",
}

var sessionSQL = map[string]string{
	"postgres": "SELECT pg_backend_pid()",
	"mysql":    "SELECT CONNECTION_ID()",
}

// eachLoaded runs fn on the engines of sleepSQL, one test at a time.
func eachLoaded(t *testing.T, fn func(t *testing.T, s dialecttest.Server)) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if _, ok := sleepSQL[s.Dialect.Name()]; !ok {
			// SQLite has no load signal (TestPurgeLoadUsage: refused);
			// SQL Server's reads in dialecttest's LoadReader check.
			t.Skipf("not run on %s: no load signal, or none these sleeps raise on the test server", s.Dialect.Name())
		}
		loadMu.Lock()
		defer loadMu.Unlock()
		fn(t, s)
	})
}

// raiseLoad starts sleepers sessions that each run a sleep, and returns
// once the engine's signal, as purge reads it, counts them all; release
// stops them, and returns once the signal no longer counts them.
func raiseLoad(t *testing.T, s dialecttest.Server, db *sql.DB) (release func()) {
	t.Helper()
	ctx := context.Background()
	name := s.Dialect.Name()
	var wg sync.WaitGroup
	ids := make([]int64, 0, sleepers)
	for range sleepers {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := c.QueryRowContext(ctx, sessionSQL[name]).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		wg.Go(func() {
			defer c.Close()
			_, _ = c.ExecContext(ctx, sleepSQL[name]) // ends when cancelled
		})
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		for _, id := range ids {
			if _, err := db.ExecContext(ctx, cancelSQL[name], id); err != nil {
				t.Errorf("stopping sleeper %d: %v", id, err)
			}
		}
		wg.Wait()
	}
	t.Cleanup(release)
	waitLoad(t, s, db, func(n int64) bool { return n >= sleepers })
	return release
}

// waitLoad waits until the engine's signal, read as purge reads it,
// satisfies ok.
func waitLoad(t *testing.T, s dialecttest.Server, db *sql.DB, ok func(int64) bool) {
	t.Helper()
	r := s.Dialect.(dialects.LoadReader)
	var n int64
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var err error
		if n, err = r.Load(context.Background(), db); err != nil {
			t.Fatalf("reading the load: %v", err)
		}
		if ok(n) {
			return
		}
	}
	t.Fatalf("the load stayed at %d %s", n, r.LoadSignal())
}

// loadTable makes a table with 300 expired rows ("old") and 50 live.
func loadTable(t *testing.T, s dialecttest.Server, db *sql.DB, prefix string) string {
	t.Helper()
	table := dialecttest.Table(prefix)
	s.DropAtCleanup(t, db, table)
	must(t, 0, "create", s.DSN, s.Schema, table)
	s.Seed(t, db, table, "old", 300, 20, -time.Hour)
	s.Seed(t, db, table, "live", 50, 20, time.Hour)
	return table
}

// TestPurgeMaxLoadWaits: while the load is above --max-load, purge deletes
// nothing (it waits before its first batch, as between batches); once the
// load falls, it purges to the end, and its report says it yielded to the
// load. Without the flag, the same load changes nothing.
func TestPurgeMaxLoadWaits(t *testing.T) {
	eachLoaded(t, func(t *testing.T, s dialecttest.Server) {
		db := s.Open(t)
		table := loadTable(t, s, db, "MaxLoad")
		release := raiseLoad(t, s, db)

		// --max-duration bounds the wait as it bounds the batches, and
		// the table is as it was: waiting, purge deleted nothing.
		m := must(t, 0, "purge", "-o", "json", "--max-load", loadMax, "--max-duration", "500ms", s.DSN, s.Schema, table).json(t)
		if y, _ := m["yielded"].(map[string]any); m["status"] != schema.PurgeBounded || m["deleted"] != float64(0) || y == nil || y["ms"].(float64) <= 0 {
			t.Errorf("purge --max-load --max-duration under load: %v; want bounded, nothing deleted, yielded", m)
		}

		// So does --timeout, as it stops a purge today (exit 1, interrupted).
		m = must(t, ExitFailed, "purge", "-o", "json", "--max-load", loadMax, "--timeout", "500ms", s.DSN, s.Schema, table).json(t)
		if y, _ := m["yielded"].(map[string]any); m["status"] != schema.PurgeInterrupted || m["deleted"] != float64(0) || y == nil {
			t.Errorf("purge --max-load --timeout under load: %v; want interrupted, nothing deleted, yielded", m)
		}

		done := make(chan result, 1)
		args := []string{"purge", "-o", "json", "--max-load", loadMax, s.DSN, s.Schema, table}
		go func() { done <- sessctl(t, nil, args...) }()
		time.Sleep(time.Second) // a purge that did not wait would be done
		if n := s.Count(t, db, table, "old"); n != 300 {
			t.Errorf("with the load above --max-load, purge deleted %d rows", 300-n)
		}
		release()
		m = (<-done).want(t, 0, args...).json(t)
		y, _ := m["yielded"].(map[string]any)
		by, _ := y["by"].(map[string]any)
		if m["status"] != schema.PurgeDone || m["deleted"] != float64(300) || y == nil || by["load"] == nil || by["load"].(float64) <= 0 {
			t.Errorf("purge --max-load: %v; want done, 300 deleted, yielded to the load", m)
		}
		why, _ := y["why"].(map[string]any)
		if last, _ := why["load"].(string); !strings.Contains(last, "--max-load "+loadMax) {
			t.Errorf("yielded.why.load %q does not say the load and --max-load", last)
		}
		if n := s.Count(t, db, table, "live"); n != 50 {
			t.Errorf("%d of 50 live rows left", n)
		}

		// The same load, no flag: purge goes on, never waiting for it
		// (pacing aside, which compares the load with itself, not N).
		s.Seed(t, db, table, "old", 300, 20, -time.Hour)
		raiseLoad(t, s, db)
		m = must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, table).json(t)
		y, _ = m["yielded"].(map[string]any)
		by, _ = y["by"].(map[string]any)
		if _, ok := by["load"]; ok || m["status"] != schema.PurgeDone || m["deleted"] != float64(300) {
			t.Errorf("purge without --max-load under load: %v; want done, 300 deleted, no wait for the load", m)
		}
	})
}

// TestPurgeCriticalLoadStops: at --critical-load, purge stops (exit 4)
// after the batch in flight, with a report that says why: started under
// it, it deletes nothing; reaching it mid-run, it has deleted whole
// batches only, and no live row.
func TestPurgeCriticalLoadStops(t *testing.T) {
	eachLoaded(t, func(t *testing.T, s dialecttest.Server) {
		db := s.Open(t)
		table := loadTable(t, s, db, "CritLoad")
		release := raiseLoad(t, s, db)
		args := []string{"purge", "-o", "json", "--max-load", loadMax, "--critical-load", loadCritical, s.DSN, s.Schema, table}
		r := sessctl(t, nil, args...).want(t, ExitCriticalLoad, args...)
		m := r.json(t)
		if reason, _ := m["reason"].(string); m["status"] != schema.PurgeStopped || m["deleted"] != float64(0) ||
			!strings.Contains(reason, "--critical-load "+loadCritical) {
			t.Errorf("purge at critical load: %v; want stopped, nothing deleted, the reason", m)
		}
		if n := s.Count(t, db, table, "old"); n != 300 || m["remaining"] != float64(300) {
			t.Errorf("stopped before its first batch, purge left %d of 300 expired rows (report: %v)", n, m["remaining"])
		}
		release()

		// Mid-run: batches of 10, paced, until the load comes.
		args = []string{"purge", "-o", "json", "--batch-size", "10", "--pause", "100ms", "--critical-load", loadCritical, s.DSN, s.Schema, table}
		done := make(chan result, 1)
		go func() { done <- sessctl(t, nil, args...) }()
		for end := time.Now().Add(10 * time.Second); s.Count(t, db, table, "old") == 300 && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
		raiseLoad(t, s, db)
		m = (<-done).want(t, ExitCriticalLoad, args...).json(t)
		deleted, _ := m["deleted"].(float64)
		left := s.Count(t, db, table, "old")
		if m["status"] != schema.PurgeStopped || int64(deleted)%10 != 0 || deleted >= 300 || left != 300-int64(deleted) || m["remaining"] != float64(left) {
			t.Errorf("purge reaching critical load: %v; %d expired rows left: want stopped after whole batches of 10", m, left)
		}
		if n := s.Count(t, db, table, "live"); n != 50 {
			t.Errorf("%d of 50 live rows left", n)
		}
		t.Logf("stopped after deleting %v rows", deleted)
	})
}

// TestPurgeLoadUsage: --max-load and --critical-load are checked before
// anything is connected to: SQLite has no load signal, a SIGNAL=N must
// name the engine's, N is a whole number of at least 1, and the critical
// load is above the one purge waits at.
func TestPurgeLoadUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	pg := "postgres://u@127.0.0.1:1/db"
	my := "mysql://u@127.0.0.1:1/db"
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"purge", "--max-load", "5", db, "main", "T"}, "sqlite has no load signal"},
		{[]string{"purge", "--critical-load", "5", db, "main", "T"}, "--batch-time and --pause"},
		{[]string{"purge", "--max-load", "Threads_running=25", pg, "public", "T"}, "active_sessions"},
		{[]string{"purge", "--max-load", "active_sessions=25", my, "db", "T"}, "Threads_running"},
		{[]string{"purge", "--max-load", "0", pg, "public", "T"}, "at least 1"},
		{[]string{"purge", "--max-load", "many", my, "db", "T"}, "whole number"},
		{[]string{"purge", "--max-load", "10", "--critical-load", "10", pg, "public", "T"}, "must be above --max-load"},
		{[]string{"purge", "--max-load", "10", "--script", "--dialect", "postgres", "public", "T"}, "--script"},
	} {
		r := sessctl(t, nil, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.say) {
			t.Errorf("sessctl %q: exit %d, stderr %q; want exit 2 saying %q", tc.args, r.code, r.stderr, tc.say)
		}
	}
}

// TestLoadThresholdForms: N and SIGNAL=N (any case) read the same.
func TestLoadThresholdForms(t *testing.T) {
	d, err := registry.Lookup("mysql")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"25", "Threads_running=25", "threads_running = 25"} {
		if n, err := loadThreshold(d, flagMaxLoad, v); n != 25 || err != nil {
			t.Errorf("--max-load %q: %d, %v; want 25", v, n, err)
		}
	}
}
