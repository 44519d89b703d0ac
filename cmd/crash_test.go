package cmd

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// crashSeedEnv repeats TestCreateKilled's kill points: set it to the seed
// a failed run logged.
const crashSeedEnv = "SESSCTL_TEST_CRASH_SEED"

// Kill points of TestCreateKilled.
const (
	killAnywhere   = "anywhere"    // 0 to 1.2 times a whole create
	killConnecting = "connecting"  // 0 to the time a process takes to connect and read the catalog
	killAfterFirst = "after-first" // as soon as migration 1 has made the table
)

// killTrial is how many creates TestCreateKilled kills at a kill point,
// each on a table of its own.
type killTrial struct {
	kind string
	n    int
}

// killTrials are TestCreateKilled's kills of layout l's creates on
// engine: the cache table's 40 (a quarter, at least 2 a point, on the TDS
// stand-in, where a create takes seconds: CI keeps within its time); the
// key ring's, one migration, 8 (3 on the stand-in).
func killTrials(l *layouts.Layout, engine string) []killTrial {
	if l != layouts.Cache {
		if engine == "sqlserver" {
			return []killTrial{{killAnywhere, 2}, {killAfterFirst, 1}}
		}
		return []killTrial{{killAnywhere, 5}, {killConnecting, 1}, {killAfterFirst, 2}}
	}
	ks := []killTrial{{killAnywhere, 30}, {killConnecting, 5}, {killAfterFirst, 5}}
	if engine == "sqlserver" {
		for i := range ks {
			ks[i].n = max(2, ks[i].n/4)
		}
	}
	return ks
}

// killsAtOnce is how many trials run at once per dialect.
const killsAtOnce = 2

// TestCreateKilled: a create killed with SIGKILL at any moment, from
// connecting to recording its last version, is finished by the next plain
// create, which exits 0; verify then finds the table ok and the version
// table holds one clean row of the latest version. The kill points are
// drawn from a seeded RNG (logged; crashSeedEnv repeats them) across the
// time a normal create takes, as measured first, and the test counts how
// many kills left the table half made, so that they are known to have hit
// the middle. It runs for the cache table and for the key ring (--layout
// keys), one after the other on each engine; the key ring's next create is
// checked by its catalog and an EF Core write and read (keyRingOK), not by
// verify, which does not read the key ring yet.
func TestCreateKilled(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, v, err)
		}
	}
	t.Logf("kill points from seed %d (%s=%d repeats them)", seed, crashSeedEnv, seed)
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		connecting := medianDuration(t, 5, func() {
			runAtOnce(t, 1, func(int) []string { return []string{"verify", s.DSN, s.Schema, dialecttest.Table("KillNone")} })
		})
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			t.Run(l.Name, func(t *testing.T) { createKilled(t, s, db, l, seed, connecting) })
		}
	})
}

// killTrialOf is one create TestCreateKilled kills.
type killTrialOf struct {
	kind     string
	delay    time.Duration
	srv      dialecttest.Server
	db, poll *sql.DB
	table    string
}

// createKilled is TestCreateKilled for layout l on s: connecting is how
// long a process takes to connect and read the catalog.
func createKilled(t *testing.T, s dialecttest.Server, db *sql.DB, l *layouts.Layout, seed uint64, connecting time.Duration) {
	latest, err := l.Templates.Latest(s.Dialect.Name())
	if err != nil {
		t.Fatal(err)
	}
	runs := 5
	if l != layouts.Cache {
		runs = 3
	}
	whole := medianDuration(t, runs, func() {
		srv, db := trialServer(t, s, db)
		table := dialecttest.Table("KillRef")
		srv.DropAtCleanup(t, db, table)
		if p := runAtOnce(t, 1, func(int) []string { return withLayout(l, "create", srv.DSN, srv.Schema, table) })[0]; p.code != 0 {
			t.Fatalf("create: exit %d\n%s", p.code, p.stderr)
		}
	})
	t.Logf("%s: a create of the %s takes %s; a process connects and reads the catalog in %s", s.Dialect.Name(), l.Noun, whole, connecting)

	h := fnv.New64a()
	h.Write([]byte(s.Dialect.Name()))
	if l != layouts.Cache {
		h.Write([]byte(l.Name))
	}
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	var trials []killTrialOf
	for _, k := range killTrials(l, s.Dialect.Name()) {
		for range k.n {
			tr := killTrialOf{kind: k.kind, table: dialecttest.Table("Kill")}
			switch k.kind {
			case killAnywhere:
				tr.delay = time.Duration(rng.Int64N(int64(whole) * 6 / 5))
			case killConnecting:
				tr.delay = time.Duration(rng.Int64N(int64(connecting)))
			}
			tr.srv, tr.db = trialServer(t, s, db)
			tr.poll = pollDB(t, tr.srv, tr.db)
			tr.srv.DropAtCleanup(t, tr.db, tr.table)
			trials = append(trials, tr)
		}
	}
	states, converged := runKills(t, l, trials, latest)
	mid := 0
	for k, n := range states {
		if stateOf(k) == stateHalfMade {
			mid += n
		}
	}
	t.Logf("%s, %s: %d kills, %d/%d converged, %d landed mid-migration; by kill point and state: %v",
		s.Dialect.Name(), l.Noun, len(trials), converged, len(trials), mid, states)
	// Kills of a one-migration create (the key ring's: 25 ms on SQLite, one
	// statement) may all miss its middle by chance; the test counts on
	// landing mid-migration only where there are two migrations to land
	// between, and enough kills (8 or more).
	if mid == 0 && latest >= 2 && len(trials) >= 8 {
		t.Errorf("no kill of %d left the table half made: the kills missed the migrations", len(trials))
	}
}

// runKills kills each trial's create, killsAtOnce at a time, and runs
// the next create; it returns how many left each "kind/state" and how
// many then converged.
func runKills(t *testing.T, l *layouts.Layout, trials []killTrialOf, latest uint) (map[string]int, int) {
	var mu sync.Mutex
	states := map[string]int{}
	converged := 0
	sem := make(chan struct{}, killsAtOnce)
	var wg sync.WaitGroup
	for _, tr := range trials {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			state, err := killCreate(tr.srv, tr.db, tr.poll, l, tr.table, tr.kind, tr.delay, latest)
			if err != nil {
				t.Errorf("create of %s killed %s after %s: %v", tr.table, tr.kind, tr.delay, err)
				return
			}
			err = converge(t, tr.srv, tr.db, l, tr.table, latest)
			mu.Lock()
			defer mu.Unlock()
			states[tr.kind+"/"+state]++
			if err != nil {
				t.Errorf("after a create of %s killed %s after %s, leaving it %s: %v", tr.table, tr.kind, tr.delay, state, err)
				return
			}
			converged++
		})
	}
	wg.Wait()
	return states, converged
}

// What a killed create left behind.
const (
	stateUntouched = "untouched"    // no table, no version
	stateNoVersion = "version-only" // golang-migrate's version table, empty, and no table
	stateHalfMade  = "half-made"    // mid-migration: a dirty version, or a table without its latest clean version or its index
	stateDone      = "done"         // all made: the kill came after the last version was recorded
	stateExited    = "exited"       // the create exited by itself before the kill
)

// stateOf is the state in a "kind/state" key.
func stateOf(key string) string {
	_, state, _ := strings.Cut(key, "/")
	return state
}

// trialServer is s with db, or for SQLite a new database file and its db:
// creates of tables in one SQLite file wait for each other in SQLite's busy
// handler, which would stretch them past the measured time.
func trialServer(t *testing.T, s dialecttest.Server, db *sql.DB) (dialecttest.Server, *sql.DB) {
	t.Helper()
	if s.Dialect.Name() != "sqlite" {
		return s, db
	}
	srv := s
	srv.DSN = filepath.Join(t.TempDir(), "kill.db")
	return srv, srv.Open(t)
}

// pollDB is db, or for SQLite the database file opened with no busy
// timeout, so that a poll that finds it locked tries again at once
// instead of sleeping in SQLite's busy handler past what it waits for.
func pollDB(t *testing.T, s dialecttest.Server, db *sql.DB) *sql.DB {
	t.Helper()
	if s.Dialect.Name() != "sqlite" {
		return db
	}
	p, err := sql.Open("sqlite", "file:"+s.DSN+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// killCreate starts a create of table and kills it with SIGKILL after
// delay, or for killAfterFirst as soon as poll shows the table, and
// reports the state the create left.
func killCreate(s dialecttest.Server, db, poll *sql.DB, l *layouts.Layout, table, kind string, delay time.Duration, latest uint) (string, error) {
	c := command(nil, withLayout(l, "create", s.DSN, s.Schema, table)...)
	if err := c.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var waited error
	exited := false
	if kind == killAfterFirst {
		deadline := time.Now().Add(time.Minute)
	poll:
		for {
			select {
			case waited = <-done:
				exited = true
				break poll
			default:
			}
			// An error is the database busy, or the file not made yet.
			if n, err := countTables(s, poll, table); (err == nil && n > 0) || time.Now().After(deadline) {
				break
			}
		}
	} else {
		select {
		case waited = <-done:
			exited = true
		case <-time.After(delay):
		}
	}
	if !exited {
		c.Process.Kill()
		waited = <-done
	}
	if c.ProcessState.Success() {
		return stateExited, nil
	}
	if !c.ProcessState.Exited() {
		waited = nil // killed, as meant
	}
	if waited != nil {
		return "", fmt.Errorf("create exited %d before it was killed: %v", c.ProcessState.ExitCode(), waited)
	}
	return leftState(s, db, l, table, latest)
}

// leftState reads the state a killed create left table in (a layout
// without an expiry index, the key ring, is done without one).
func leftState(s dialecttest.Server, db *sql.DB, l *layouts.Layout, table string, latest uint) (string, error) {
	n, err := countTables(s, db, table)
	if err != nil {
		return "", err
	}
	rows, hasVersionTable, err := readVersionRows(s, db, table)
	if err != nil {
		return "", err
	}
	if len(rows) > 1 {
		return "", fmt.Errorf("the version table holds %d rows: %+v", len(rows), rows)
	}
	clean := len(rows) == 1 && rows[0] == versionRow{int64(latest), false}
	indexed := !l.Purges()
	if n > 0 && l.Purges() {
		info, err := s.Dialect.Inspect(context.Background(), db, l.NamesIn(s.Dialect, s.Schema, table))
		if err != nil {
			return "", err
		}
		_, indexed = info.ExpiryIndex()
	}
	switch {
	case n > 0 && clean && indexed:
		return stateDone, nil
	case n > 0 || slices.ContainsFunc(rows, func(r versionRow) bool { return r.dirty }):
		return stateHalfMade, nil
	case len(rows) > 0:
		return "", fmt.Errorf("no table, but a clean version %+v", rows[0])
	case hasVersionTable:
		return stateNoVersion, nil
	}
	return stateUntouched, nil
}

// converge runs the next plain create of table and verify, and checks the
// version table directly. The key ring is checked by keyRingOK (its
// catalog and an EF Core write and read) and by verify --layout keys, which
// finds it sound and empty.
func converge(t *testing.T, s dialecttest.Server, db *sql.DB, l *layouts.Layout, table string, latest uint) error {
	if r := sessctl(t, nil, withLayout(l, "create", s.DSN, s.Schema, table)...); r.code != 0 {
		return fmt.Errorf("the next create: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if l == layouts.Keys {
		if err := keyRingOK(s, db, table); err != nil {
			return err
		}
		// The ring is whole and empty: verify finds its shape sound and
		// no key in it (exit 3, "unusable"), not a broken table.
		r := sessctl(t, nil, "verify", "--layout", "keys", "-o", "json", s.DSN, s.Schema, table)
		if r.code != ExitIncompatible || !strings.Contains(r.stdout, `"status": "unusable"`) {
			return fmt.Errorf("verify --layout keys after the next create: exit %d, want 3 and status unusable (an empty ring)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	} else if r := sessctl(t, nil, "verify", "--strict", s.DSN, s.Schema, table); r.code != 0 {
		return fmt.Errorf("verify after the next create: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	rows, _, err := readVersionRows(s, db, table)
	if err != nil {
		return err
	}
	if want := (versionRow{int64(latest), false}); len(rows) != 1 || rows[0] != want {
		return fmt.Errorf("after the next create the version table holds %+v, want %+v", rows, want)
	}
	return nil
}

// keyRingOK checks table is the key ring EF Core reads: its columns Id,
// FriendlyName and Xml, its primary key on Id; and a key written as EF
// Core writes it (the Id left to the database) reads back.
func keyRingOK(s dialecttest.Server, db *sql.DB, table string) error {
	d := s.Dialect
	info, err := d.Inspect(context.Background(), db, layouts.Keys.NamesIn(d, s.Schema, table))
	if err != nil {
		return err
	}
	var cols []string
	for _, c := range info.Columns {
		cols = append(cols, strings.ToLower(c.Name))
	}
	if info.Kind != dialects.KindTable || !slices.Equal(cols, []string{"id", "friendlyname", "xml"}) || len(info.PrimaryKey) != 1 || !strings.EqualFold(info.PrimaryKey[0], "Id") {
		return fmt.Errorf("the key ring is %s with columns %q, primary key %q; want a table (Id, FriendlyName, Xml), primary key Id", info.Kind, cols, info.PrimaryKey)
	}
	q := d.Quote
	if _, err := db.Exec(fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES ('k', '<key/>')", s.Qualified(table), q("FriendlyName"), q("Xml"))); err != nil {
		return fmt.Errorf("writing a key as EF Core does: %w", err)
	}
	var xml string
	if err := db.QueryRow(fmt.Sprintf("SELECT %s FROM %s WHERE %s = 'k'", q("Xml"), s.Qualified(table), q("FriendlyName"))).Scan(&xml); err != nil || xml != "<key/>" {
		return fmt.Errorf("reading the key back: %q, %v", xml, err)
	}
	return nil
}

// medianDuration runs fn n times and returns the median of how long it
// took.
func medianDuration(t *testing.T, n int, fn func()) time.Duration {
	t.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		fn()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// TestCreateKilledWhileIndexing: a create killed while it builds the
// expiry index of a table with many rows (a CI job timing out while it
// upgrades or adopts a big table) is finished by the next plain create,
// which exits 0 and leaves one expiry index. The server may still be
// building the index for the killed create when the next one starts: the
// next must wait for it, not build a second one and fail on its name.
func TestCreateKilledWhileIndexing(t *testing.T) {
	const rows = 200_000
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KillIx")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		// As an older sessctl left it: version 1, no expiry index.
		n := s.Dialect.Names(s.Schema, table)
		if _, err := db.Exec("DROP INDEX " + dropIndexTarget(s, n.ExpiryIndex, table)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE " + s.Qualified(n.VersionTable) + " SET version = 1"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < rows; i += 100_000 {
			s.Seed(t, db, table, fmt.Sprintf("r%d-", i), min(100_000, rows-i), 10, time.Hour)
		}

		c := command(nil, "create", s.DSN, s.Schema, table)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		poll := pollDB(t, s, db)
		indexing := versionRow{int64(migrations.ExpiryIndex), true}
		deadline := time.Now().Add(time.Minute)
		for {
			select {
			case err := <-done:
				t.Fatalf("create exited (%v) before it was seen building the index: seed more rows", err)
			default:
			}
			if vs, _, err := readVersionRows(s, poll, table); err == nil && len(vs) == 1 && vs[0] == indexing {
				break
			}
			if time.Now().After(deadline) {
				c.Process.Kill()
				<-done
				t.Fatalf("create did not start the index migration in a minute")
			}
		}
		c.Process.Kill()
		<-done
		info, err := s.Dialect.Inspect(context.Background(), db, n)
		if err != nil {
			t.Fatal(err)
		}
		_, built := info.ExpiryIndex()
		t.Logf("%s: killed while building the index of %d rows; right after the kill the index is there: %v", s.Dialect.Name(), rows, built)

		must(t, 0, "create", s.DSN, s.Schema, table)
		wantVerified(t, s, table)
		wantClean(t, s, db, table)
		if info, err = s.Dialect.Inspect(context.Background(), db, n); err != nil {
			t.Fatal(err)
		}
		var expiry []string
		for _, ix := range info.Indexes {
			if len(ix.Columns) > 0 && ix.Columns[0] == "ExpiresAtTime" {
				expiry = append(expiry, ix.Name)
			}
		}
		if len(expiry) != 1 {
			t.Errorf("indexes on ExpiresAtTime after the next create: %q, want one", expiry)
		}
		if got := s.Count(t, db, table, "r"); got != rows {
			t.Errorf("%d of %d rows left", got, rows)
		}
	})
}
