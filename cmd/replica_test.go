package cmd

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// replicaReport is what the replica tests read of purge's JSON report.
type replicaReport struct {
	Status  string
	Deleted int64
	Yielded *struct {
		MS  int64
		By  map[string]int64
		Why map[string]string
	}
}

// lagOf reads the replica db's lag as purge does.
func lagOf(t *testing.T, s dialecttest.Server, db *sql.DB) dialects.Lag {
	t.Helper()
	lag, err := s.Dialect.(dialects.LagReader).ReplicaLag(context.Background(), db)
	if err != nil {
		t.Fatalf("reading the replica's lag: %v", err)
	}
	return lag
}

// replicaPurge runs the part the replica tests share: with the replica
// held back, a purge of expired rows (3 batches) reads the replica's lag
// before its first batch, and waits, deleting nothing, until release lets
// the replica go on (readAfter says when purge has read the replica's lag
// since a time);
// then it finishes, every live row kept, and its report says it waited
// for the replica and why (whyHas).
func replicaPurge(t *testing.T, s dialecttest.Server, db *sql.DB, replica string, extra []string,
	release func(), readAfter func(time.Time) bool, whyHas string) {
	t.Helper()
	const expired, live, batch = 3000, 100, 1000
	table := dialecttest.Table("Replica")
	must(t, 0, "create", s.DSN, s.Schema, table)
	s.Seed(t, db, table, "old", expired, 20, -time.Hour)
	s.Seed(t, db, table, "live", live, 20, time.Hour)

	args := append([]string{"purge", "-o", "json", "--batch-size", strconv.Itoa(batch), "--replica", replica}, extra...)
	since := time.Now()
	bg := startSessctl(t, append(args, s.DSN, s.Schema, table)...)
	waitFor(t, bg, "purge reading the replica's lag", func() bool { return readAfter(since) })
	since = time.Now()
	waitFor(t, bg, "purge reading the replica's lag again", func() bool { return readAfter(since) })
	if n := s.Count(t, db, table, "old"); n != expired {
		t.Fatalf("purge deleted while the replica was held back: %d of %d expired rows left", n, expired)
	}
	release()
	if code := bg.wait(t); code != 0 {
		t.Fatalf("purge: exit %d\nstdout: %s\nstderr: %s", code, bg.out.String(), bg.errb.String())
	}
	for _, out := range []string{bg.out.String(), bg.errb.String()} {
		if strings.Contains(out, faultPassword) {
			t.Errorf("purge's output has the replica's password:\n%s", out)
		}
	}
	var rep replicaReport
	if err := json.Unmarshal(bg.out.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, bg.out.String())
	}
	if rep.Status != "done" || rep.Deleted != expired || rep.Yielded == nil || rep.Yielded.By["replica lag"] <= 0 ||
		!strings.Contains(rep.Yielded.Why["replica lag"], whyHas) {
		t.Errorf("report %s: want done, %d deleted, time yielded to \"replica lag\", its last reason saying %q", bg.out.String(), expired, whyHas)
	}
	if n := s.Count(t, db, table, "live"); n != live {
		t.Errorf("%d of %d live rows left", n, live)
	}
	if n := s.Count(t, db, table, "old"); n != 0 {
		t.Errorf("%d expired rows left", n)
	}
	t.Logf("purge waited for the replica: %s", bg.out.String())
}

// TestPurgeWaitsForPostgresStandby: a private primary and its streaming
// hot standby; the standby's replay paused while the primary writes, so
// that it lags for real. purge --replica STANDBY --max-lag waits before its
// first batch until replay resumes, then finishes.
func TestPurgeWaitsForPostgresStandby(t *testing.T) {
	opts := dialecttest.PostgresOptions{Password: faultPassword}
	p := dialecttest.StartPostgres(t, opts)
	standby := dialecttest.StartPostgresStandby(t, p, opts)
	s, db, sdb := p.Server(), p.Admin(t), standby.Admin(t)
	// A transaction replayed first: a standby that has replayed none since
	// it started cannot tell how far behind it is (it reads as stopped).
	if _, err := db.Exec("CREATE TABLE public.lagmark (n int)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "the standby replaying", func() bool {
		var ok bool
		return sdb.QueryRow("SELECT to_regclass('public.lagmark') IS NOT NULL").Scan(&ok) == nil && ok
	})
	const maxLag = 100 * time.Millisecond
	// A pause is only asked for: replay stops at its next record. Wait
	// until it has, or the insert below may be replayed yet, the standby
	// caught up again by the time purge reads it.
	if _, err := sdb.Exec("SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "replay paused", func() bool {
		var state string
		return sdb.QueryRow("SELECT pg_get_wal_replay_pause_state()").Scan(&state) == nil && state == "paused"
	})
	if _, err := db.Exec("INSERT INTO public.lagmark VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "the standby lagging", func() bool { return lagOf(t, s, sdb).Behind > maxLag })
	readAfter := func(since time.Time) bool {
		var n int
		err := sdb.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL
			AND query LIKE 'SELECT pg_is_in_recovery()%' AND query_start > $1`, since).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	release := func() {
		if _, err := sdb.Exec("SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatal(err)
		}
	}
	replicaPurge(t, s, db, standby.DSN(), []string{"--max-lag", maxLag.String()}, release, readAfter, "over --max-lag 100ms")

	// The primary is no standby: refused before any batch, exit 2.
	r := sessctl(t, nil, "purge", "--replica", p.DSN(), s.DSN, s.Schema, "lagmark")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a read replica") {
		t.Errorf("--replica naming the primary: exit %d, want 2 saying it is not a read replica\n%s", r.code, r.stderr)
	}
}

// TestPurgeWaitsForMariaDBReplica: a private MariaDB primary and its
// replica, whose SQL thread is stopped (Seconds_Behind_Master NULL:
// replication stopped). purge --replica REPLICA (the default --max-lag)
// waits before its first batch until the replica replicates again, then
// finishes.
func TestPurgeWaitsForMariaDBReplica(t *testing.T) {
	p := dialecttest.StartMariaDBPrimary(t)
	r := dialecttest.StartMariaDBReplica(t, p)
	s, db, rdb := p.Server(), p.Admin(t), r.Admin(t)
	for _, q := range []string{
		"CREATE USER 'lagreader'@'127.0.0.1' IDENTIFIED BY '" + faultPassword + "'",
		"GRANT SLAVE MONITOR ON *.* TO 'lagreader'@'127.0.0.1'",
		"GRANT SELECT ON test.* TO 'lagreader'@'127.0.0.1'",
	} {
		if _, err := rdb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitFor(t, nil, "the replica caught up", func() bool { l := lagOf(t, s, rdb); return !l.Stopped && l.Behind == 0 })
	if _, err := rdb.Exec("STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	replica := fmt.Sprintf("lagreader:%s@tcp(127.0.0.1:%d)/test", faultPassword, r.Port())

	// Stopped for good: --max-duration ends the wait, and the run, bounded,
	// the text report saying why it waited.
	bounded := dialecttest.Table("Bounded")
	must(t, 0, "create", s.DSN, s.Schema, bounded)
	s.Seed(t, db, bounded, "old", 2000, 20, -time.Hour)
	out := must(t, 0, "purge", "--batch-size", "1000", "--max-duration", "2s", "--replica", replica, s.DSN, s.Schema, bounded).stdout
	if n := s.Count(t, db, bounded, "old"); n != 2000 || !strings.Contains(out, "replica lag") || !strings.Contains(out, "replication is stopped") {
		t.Errorf("purge --max-duration with the replica stopped: %d of 2000 expired rows left (want all: no batch), report:\n%s", n, out)
	}
	t.Logf("purge --max-duration 2s, replica stopped:\n%s", out)

	readAfter := func(since time.Time) bool {
		var n int
		err := rdb.QueryRow(`SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'lagreader'
			AND COMMAND = 'Sleep' AND TIME_MS < ?`, time.Since(since).Milliseconds()).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	release := func() {
		if _, err := rdb.Exec("START SLAVE SQL_THREAD"); err != nil {
			t.Fatal(err)
		}
	}
	replicaPurge(t, s, db, replica, nil, release, readAfter, "replication is stopped")
}

// TestPurgeReplicaUsage: --max-lag without --replica, --replica with
// --script, a replica of another engine, and SQLite, which has none, are
// refused with exit 2, before any database is read.
func TestPurgeReplicaUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-lag", "2s", "postgres://u@127.0.0.1:1/db", "public", "t"}, "--max-lag needs --replica"},
		{[]string{"--script", "--replica", "postgres://u@127.0.0.1:1/db", "postgres://u@127.0.0.1:1/db", "public", "t"}, "cannot be used together"},
		{[]string{"--replica", "postgres://u@127.0.0.1:1/db", "--max-lag", "0s", "postgres://u@127.0.0.1:1/db", "public", "t"}, "positive duration"},
		{[]string{"--replica", "postgres://u@127.0.0.1:1/db", file, "main", "t"}, "does not apply to sqlite"},
	} {
		r := sessctl(t, nil, append([]string{"purge"}, c.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("purge %s: exit %d, want 2 saying %q\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
		}
	}
	// A replica that does not answer fails the run before its first
	// batch, naming it without its password.
	const pw = "Replica#pw-9Zx"
	r := sessctl(t, nil, "purge", "--replica", "postgres://u:"+pw+"@127.0.0.1:1/db?connect_timeout=2", "postgres://u@127.0.0.1:1/db", "public", "t")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "connecting to replica") || strings.Contains(r.stderr+r.stdout, pw) {
		t.Errorf("purge --replica that does not answer: exit %d, want 1 saying which replica, no password\n%s", r.code, r.stderr)
	}
	t.Logf("%s", r.stderr)
}

// TestProgressLineYielded: the progress line says how long purge has
// yielded in all, by reason (while it waits, TestProgressLine: for what).
func TestProgressLineYielded(t *testing.T) {
	r := schema.PurgeResult{Deleted: 1000, Batches: 1, RowsPerSecond: 500, LastBatchRows: 1000, LastBatch: 9 * time.Millisecond,
		Yielded: &schema.Yielded{MS: 2340, By: map[string]int64{"replica lag": 2340}, Last: "replica db2 lags 1.5s, over --max-lag 1s"}}
	want := "deleted 1000 rows, 500 rows/s, batch 1: 1000 rows in 9ms, yielded 2.3s (replica lag 2.3s)"
	if got := progressLine(r); got != want {
		t.Errorf("progress while yielding:\n got %q\nwant %q", got, want)
	}
}

// TestPurgeReplicaSQLServer: the availability-group query runs on the
// server (Babelfish has sys.dm_hadr_database_replica_states, always
// empty), and a --replica whose database is in no availability group is
// refused with exit 2 before any batch. A real secondary replica needs
// SQL Server itself: not tested here.
func TestPurgeReplicaSQLServer(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	r := sessctl(t, nil, "purge", "--replica", s.DSN, s.DSN, s.Schema, dialecttest.Table("NoReplica"))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "in no availability group") {
		t.Errorf("--replica of a database in no availability group: exit %d, want 2 saying so\n%s", r.code, r.stderr)
	}
}

// text is all the terminal has been written so far.
func (p *ptyOutput) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// standbyReplaying waits until standby has replayed the primary's
// lagmark table (made here): a standby that has replayed no transaction
// since it started cannot tell how far behind it is.
func standbyReplaying(t *testing.T, db *sql.DB, standbys ...*sql.DB) {
	t.Helper()
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS public.lagmark (n int)"); err != nil {
		t.Fatal(err)
	}
	for _, sdb := range standbys {
		waitFor(t, nil, "the standby replaying", func() bool {
			var ok bool
			return sdb.QueryRow("SELECT to_regclass('public.lagmark') IS NOT NULL").Scan(&ok) == nil && ok
		})
	}
}

// pauseReplay pauses sdb's replay and writes on the primary db, until the
// standby lags over maxLag for real.
func pauseReplay(t *testing.T, s dialecttest.Server, db, sdb *sql.DB, maxLag time.Duration) {
	t.Helper()
	if _, err := sdb.Exec("SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "replay paused", func() bool {
		var state string
		return sdb.QueryRow("SELECT pg_get_wal_replay_pause_state()").Scan(&state) == nil && state == "paused"
	})
	if _, err := db.Exec("INSERT INTO public.lagmark VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "the standby lagging", func() bool { return lagOf(t, s, sdb).Behind > maxLag })
}

// TestPurgeWaitsOutPostgresStandbyThatHangs: a private primary and its
// streaming standby, which lags (replay paused) and holds the purge
// before its first batch, then hangs (its server frozen with SIGSTOP).
// Its lag read is cut by its own bound, and purge waits, the lag unknown:
//
//   - with --max-duration, the run ends bounded, nothing deleted, its JSON
//     report's yielded under "replica lag", the last reason naming the
//     standby (without its password) and the read that did not answer;
//   - on a terminal, the progress line says so; once the standby answers
//     again, and catches up, purge goes on and finishes.
//
// Before lag reads had a bound of their own, purge stood still on the
// read until --max-duration cut it, and said only that the standby
// lagged. Last, a purge whose --replica hangs from the start fails before
// its first batch, exit 1, within the string's own connect_timeout.
func TestPurgeWaitsOutPostgresStandbyThatHangs(t *testing.T) {
	opts := dialecttest.PostgresOptions{Password: faultPassword}
	p := dialecttest.StartPostgres(t, opts)
	standby := dialecttest.StartPostgresStandby(t, p, opts)
	s, db, sdb := p.Server(), p.Admin(t), standby.Admin(t)
	standbyReplaying(t, db, sdb)

	// One batch (500 expired rows, batches of 1000).
	const expired, live = 500, 50
	table := dialecttest.Table("Hangs")
	must(t, 0, "create", s.DSN, s.Schema, table)
	s.Seed(t, db, table, "old", expired, 20, -time.Hour)
	s.Seed(t, db, table, "live", live, 20, time.Hour)
	const maxLag = 100 * time.Millisecond
	// Over by more than a second: purge reads it once a second, and it is
	// frozen long before the next read.
	pauseReplay(t, s, db, sdb, maxLag+1500*time.Millisecond)
	st, text := dryRunReplica(t, s, standby.DSN(), []string{"--max-lag", maxLag.String()}, table)
	if st.Stopped || !st.WouldWait || st.LagMS <= maxLag.Milliseconds() || !strings.Contains(text, "over --max-lag 100ms: purge would wait") {
		t.Errorf("dry run with the standby lagging: want its lag, over --max-lag, waited for: %+v\n%s", st, text)
	}
	readAfter := func(since time.Time) bool {
		var n int
		err := sdb.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL
			AND query LIKE 'SELECT pg_is_in_recovery()%' AND query_start > $1`, since).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	args := []string{"purge", "--batch-size", "1000", "--max-lag", maxLag.String(), "--replica", standby.DSN(), s.DSN, s.Schema, table}
	noPassword := func(outs ...string) {
		t.Helper()
		for _, out := range outs {
			if strings.Contains(out, faultPassword) {
				t.Errorf("purge's output has the standby's password:\n%s", out)
			}
		}
	}

	since := time.Now()
	bg := startSessctl(t, append([]string{"purge", "-o", "json", "--max-duration", "15s"}, args[1:]...)...)
	waitFor(t, bg, "purge reading the standby's lag", func() bool { return readAfter(since) })
	// That read may be the check before the first batch, whose failure
	// fails the run: freeze the standby once a read of the run's own has
	// begun, after it.
	first := time.Now()
	waitFor(t, bg, "purge reading the standby's lag again", func() bool { return readAfter(first) })
	standby.Freeze(t)
	if code := bg.wait(t); code != 0 {
		t.Fatalf("purge --max-duration: exit %d\nstdout: %s\nstderr: %s", code, bg.out.String(), bg.errb.String())
	}
	noPassword(bg.out.String(), bg.errb.String())
	var rep replicaReport
	if err := json.Unmarshal(bg.out.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, bg.out.String())
	}
	port := "127.0.0.1:" + strconv.Itoa(standby.Port())
	if rep.Status != "bounded" || rep.Deleted != 0 || rep.Yielded == nil || rep.Yielded.By["replica lag"] <= 0 ||
		!strings.Contains(rep.Yielded.Why["replica lag"], port) || !strings.Contains(rep.Yielded.Why["replica lag"], "lag unknown: the replica did not answer") {
		t.Errorf("report %s: want bounded, none deleted, time yielded to \"replica lag\", the last reason naming the standby (%s) and its unanswered read",
			bg.out.String(), port)
	}
	t.Logf("purge --max-duration, the standby frozen: %s", bg.out.String())
	standby.Thaw(t)

	tty := newPTY(t)
	bg = startSessctlTo(t, tty, args...)
	tty.waitFor(t, "over --max-lag 100ms")
	standby.Freeze(t)
	tty.waitFor(t, "lag unknown")
	if n := s.Count(t, db, table, "old"); n != expired {
		t.Fatalf("purge deleted while the standby did not answer: %d of %d expired rows left", n, expired)
	}
	standby.Thaw(t)
	if _, err := sdb.Exec("SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	if code := bg.wait(t); code != 0 {
		t.Fatalf("purge: exit %d\nstdout: %s\nterminal: %s", code, bg.out.String(), tty.text())
	}
	noPassword(bg.out.String(), tty.text())
	if n := s.Count(t, db, table, "old"); n != 0 {
		t.Errorf("%d expired rows left", n)
	}
	if n := s.Count(t, db, table, "live"); n != live {
		t.Errorf("%d of %d live rows left", n, live)
	}
	t.Logf("purge waited out the standby that hung:\n%s\nterminal: %q", bg.out.String(), tty.text())

	standby.Freeze(t)
	r := sessctl(t, nil, "purge", "--replica", strings.Replace(standby.DSN(), "connect_timeout=10", "connect_timeout=2", 1), s.DSN, s.Schema, table)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "connecting to replica") {
		t.Errorf("purge --replica that hangs from the start: exit %d, want 1 naming the replica\n%s", r.code, r.stderr)
	}
	noPassword(r.stdout, r.stderr)
	t.Logf("%s", r.stderr)
}

// dryRunReport is what the replica tests read of a dry run's JSON report.
type dryRunReport struct {
	Status    string
	Remaining *int64
	Replicas  []replicaState
}

// replicaState is a replica in a dry run's report.
type replicaState struct {
	Name      string
	LagMS     int64 `json:"lag_ms"`
	Stopped   bool
	Why       string
	WouldWait bool `json:"would_wait"`
}

// dryRunReplica runs purge --dry-run with the replica, once in JSON and
// once in text, and returns what it says of the replica: it must read it
// without waiting, and delete nothing.
func dryRunReplica(t *testing.T, s dialecttest.Server, replica string, extra []string, table string) (replicaState, string) {
	t.Helper()
	args := append(append([]string{"purge", "--dry-run", "--replica", replica}, extra...), s.DSN, s.Schema, table)
	r := must(t, 0, append([]string{"-o", "json"}, args...)...)
	var rep dryRunReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, r.stdout)
	}
	if rep.Status != "dry_run" || len(rep.Replicas) != 1 || strings.Contains(r.stdout+r.stderr, faultPassword) {
		t.Fatalf("purge --dry-run --replica: want a dry run's report with the replica, masked:\n%s\n%s", r.stdout, r.stderr)
	}
	text := must(t, 0, args...)
	if strings.Contains(text.stdout+text.stderr, faultPassword) {
		t.Errorf("purge --dry-run's text has the replica's password:\n%s", text.stdout)
	}
	return rep.Replicas[0], text.stdout
}

// TestPurgeWaitsOutMariaDBReplicaThatFails: a private MariaDB primary and
// its replica, whose SQL thread is stopped, holding the purge before its
// first batch. Then the replica refuses the lag read (the reader's SLAVE
// MONITOR revoked, its session killed): purge waits, the lag unknown,
// reading again; once the replica replicates, caught up, and lets the
// reader read again, purge goes on and finishes, its JSON report's last
// reason naming the replica (without its password) and the error. Before,
// the first read that failed failed the purge (exit 1).
//
// First, a dry run reads the stopped replica once and reports it, text
// and JSON, without waiting.
func TestPurgeWaitsOutMariaDBReplicaThatFails(t *testing.T) {
	p := dialecttest.StartMariaDBPrimary(t)
	r := dialecttest.StartMariaDBReplica(t, p)
	s, db, rdb := p.Server(), p.Admin(t), r.Admin(t)
	for _, q := range []string{
		"CREATE USER 'lagreader'@'127.0.0.1' IDENTIFIED BY '" + faultPassword + "'",
		"GRANT SLAVE MONITOR ON *.* TO 'lagreader'@'127.0.0.1'",
	} {
		if _, err := rdb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const expired, live = 500, 50
	table := dialecttest.Table("Fails")
	must(t, 0, "create", s.DSN, s.Schema, table)
	s.Seed(t, db, table, "old", expired, 20, -time.Hour)
	s.Seed(t, db, table, "live", live, 20, time.Hour)
	caughtUp := func() bool { l := lagOf(t, s, rdb); return !l.Stopped && l.Behind == 0 }
	waitFor(t, nil, "the replica caught up", caughtUp)
	if _, err := rdb.Exec("STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	replica := fmt.Sprintf("lagreader:%s@tcp(127.0.0.1:%d)/", faultPassword, r.Port())
	port := fmt.Sprintf("127.0.0.1:%d", r.Port())

	st, text := dryRunReplica(t, s, replica, nil, table)
	if !st.Stopped || !st.WouldWait || !strings.Contains(st.Why, "replication is stopped") || !strings.Contains(st.Name, port) ||
		!strings.Contains(text, "purge would wait until it replicates again") {
		t.Errorf("dry run with the replica stopped: want it stopped, waited for, named: %+v\n%s", st, text)
	}
	if n := s.Count(t, db, table, "old"); n != expired {
		t.Fatalf("the dry run deleted: %d of %d expired rows left", n, expired)
	}
	t.Logf("dry run: %+v\n%s", st, text)

	readAfter := func(since time.Time) bool {
		var n int
		err := rdb.QueryRow(`SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'lagreader'
			AND COMMAND = 'Sleep' AND TIME_MS < ?`, time.Since(since).Milliseconds()).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	// The reader's sessions end, so that the next one has its grants as
	// they are now.
	kill := func() {
		rows, err := rdb.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'lagreader'")
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			_, _ = rdb.Exec(fmt.Sprintf("KILL %d", id)) // it may have ended
		}
	}

	since := time.Now()
	bg := startSessctl(t, "purge", "-o", "json", "--batch-size", "1000", "--replica", replica, s.DSN, s.Schema, table)
	waitFor(t, bg, "purge reading the replica's lag", func() bool { return readAfter(since) })
	if _, err := rdb.Exec("REVOKE SLAVE MONITOR ON *.* FROM 'lagreader'@'127.0.0.1'"); err != nil {
		t.Fatal(err)
	}
	kill()
	for range 2 { // a read refused, then another: purge waits and reads again
		since = time.Now()
		waitFor(t, bg, "purge reading the replica's lag again, refused", func() bool { return readAfter(since) })
	}
	if n := s.Count(t, db, table, "old"); n != expired {
		t.Fatalf("purge deleted while the replica's lag was unknown: %d of %d expired rows left", n, expired)
	}
	if _, err := rdb.Exec("START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bg, "the replica caught up", caughtUp)
	if _, err := rdb.Exec("GRANT SLAVE MONITOR ON *.* TO 'lagreader'@'127.0.0.1'"); err != nil {
		t.Fatal(err)
	}
	kill()
	if code := bg.wait(t); code != 0 {
		t.Fatalf("purge: exit %d\nstdout: %s\nstderr: %s", code, bg.out.String(), bg.errb.String())
	}
	if strings.Contains(bg.out.String()+bg.errb.String(), faultPassword) {
		t.Errorf("purge's output has the replica's password:\n%s\n%s", bg.out.String(), bg.errb.String())
	}
	var rep replicaReport
	if err := json.Unmarshal(bg.out.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, bg.out.String())
	}
	if rep.Status != "done" || rep.Deleted != expired || rep.Yielded == nil || rep.Yielded.By["replica lag"] <= 0 ||
		!strings.Contains(rep.Yielded.Why["replica lag"], port) || !strings.Contains(rep.Yielded.Why["replica lag"], "lag unknown") ||
		!strings.Contains(rep.Yielded.Why["replica lag"], "SLAVE MONITOR") {
		t.Errorf("report %s: want done, %d deleted, time yielded to \"replica lag\", the last reason naming the replica (%s) and its error",
			bg.out.String(), expired, port)
	}
	if n := s.Count(t, db, table, "live"); n != live {
		t.Errorf("%d of %d live rows left", n, live)
	}
	t.Logf("purge waited out the replica that failed: %s", bg.out.String())
}

// holdingProxy forwards TCP connections to target, until the client sends
// a packet holding marker: from then on that connection forwards nothing
// either way, and stays open, as one to a server that stopped answering.
// Its address is "127.0.0.1:PORT".
func holdingProxy(t *testing.T, target, marker string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			held := make(chan struct{})
			go func() { // client to server, up to the marker
				b := make([]byte, 64<<10)
				for {
					n, err := c.Read(b)
					if n > 0 && bytes.Contains(b[:n], []byte(marker)) {
						close(held)
						return
					}
					if n > 0 {
						if _, err := s.Write(b[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { // server to client, until held
				b := make([]byte, 64<<10)
				for {
					n, err := s.Read(b)
					select {
					case <-held:
						return
					default:
					}
					if n > 0 {
						if _, err := c.Write(b[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPurgeReplicaCheckBounded: a --replica whose lag read hangs (a
// proxy that lets the connection and its ping through, then holds the
// lag query) fails the run before its first batch, exit 1, naming the
// replica and saying it did not answer, within the read's own bound, not
// --timeout's. The server behind the proxy need be no replica: the query
// never reaches it.
func TestPurgeReplicaCheckBounded(t *testing.T) {
	hostPort := regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+|localhost):\d+`)
	for _, c := range []struct{ engine, marker string }{
		{"postgres", "pg_is_in_recovery"},
		{"mysql", "SHOW REPLICA STATUS"},
	} {
		t.Run(c.engine, func(t *testing.T) {
			s := dialecttest.Get(t, c.engine)
			target := hostPort.FindString(s.DSN)
			if target == "" {
				t.Skipf("no host:port in the %s test server's DSN", c.engine)
			}
			proxy := holdingProxy(t, target, c.marker)
			replica := strings.Replace(s.DSN, target, proxy, 1)
			if c.engine == "postgres" { // the proxy must read the query
				if u, err := url.Parse(replica); err == nil && u.Scheme != "" {
					q := u.Query()
					q.Set("sslmode", "disable")
					u.RawQuery = q.Encode()
					replica = u.String()
				} else {
					replica += " sslmode=disable"
				}
			}
			r := sessctl(t, nil, "purge", "--timeout", "20s", "--replica", replica, s.DSN, s.Schema, dialecttest.Table("Bounded"))
			if r.code != ExitFailed || !strings.Contains(r.stderr, "replica") || !strings.Contains(r.stderr, "did not answer") {
				t.Errorf("purge --replica whose lag read hangs: exit %d, want 1 saying the replica did not answer\n%s", r.code, r.stderr)
			}
			t.Logf("%s", r.stderr)
		})
	}
}
