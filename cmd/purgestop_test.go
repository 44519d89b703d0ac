//go:build linux

package cmd

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// stopBound is how long after it is told to stop (a signal, or its
// --timeout or --max-duration running out) a purge whose statement waits
// for a lock must have exited. It cuts the statement a second after; the
// rest is room for a loaded machine. Without the cut it would wait for as
// long as the blocker holds its lock (here: until the test ends), or, on
// SQLite, its 10 s busy timeout, and then fail.
const stopBound = 8 * time.Second

// blocker is an app session holding a lock that makes a purge's statements
// wait, kept until release.
type blocker struct {
	sessions []int64 // its sessions' ids on the server, to tell them from the purge's
	release  func()
}

// blockers are the kinds of blocker each engine has. (SQLite's BEGIN
// EXCLUSIVE, in a rollback journal, also blocks readers, so a purge waits
// for it already in connecting, whose statement cannot be cut: see
// README.)
var blockers = map[string][]string{
	"postgres": {"lock-table", "alter-queued"},
	"mysql":    {"lock-tables", "alter-queued"},
	"sqlite":   {"begin-immediate"},
}

// block starts a blocker of kind on table.
func block(t *testing.T, s dialecttest.Server, db *sql.DB, table, kind string) *blocker {
	t.Helper()
	ctx := context.Background()
	b := &blocker{}
	session := func() *sql.Conn {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		q := map[string]string{"postgres": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()", "sqlite": "SELECT 0"}[s.Dialect.Name()]
		if err := c.QueryRowContext(ctx, q).Scan(&id); err != nil {
			t.Fatal(err)
		}
		b.sessions = append(b.sessions, id)
		return c
	}
	exec := func(c *sql.Conn, queries ...string) {
		for _, q := range queries {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	tbl := s.Qualified(table)
	switch kind {
	case "lock-table": // LOCK TABLE in an open transaction: ACCESS EXCLUSIVE
		c := session()
		exec(c, "BEGIN", "LOCK TABLE "+tbl)
		b.release = func() { exec(c, "ROLLBACK"); c.Close() }
	case "lock-tables":
		c := session()
		exec(c, "LOCK TABLES "+tbl+" WRITE")
		b.release = func() { exec(c, "UNLOCK TABLES"); c.Close() }
	case "alter-queued": // an ALTER TABLE waiting for a reader; the purge queues behind it
		reader, alter := session(), session()
		exec(reader, "BEGIN", "SELECT count(*) FROM "+tbl)
		ddl := map[string]string{
			"postgres": "ALTER TABLE " + tbl + " ADD COLUMN sessctl_test_extra int",
			"mysql":    "ALTER TABLE " + tbl + " COMMENT = 'sessctl test'",
		}[s.Dialect.Name()]
		if s.Dialect.Name() == "postgres" {
			exec(alter, "BEGIN") // so that the ALTER can be rolled back
		}
		altered := make(chan error, 1)
		go func() {
			_, err := alter.ExecContext(ctx, ddl)
			altered <- err
		}()
		awaitThat(t, "the ALTER TABLE to wait", func() bool { return len(waiting(t, s, db, table, nil)) > 0 })
		b.release = func() {
			exec(reader, "ROLLBACK")
			if err := <-altered; err != nil {
				t.Errorf("%s: %v", ddl, err)
			}
			if s.Dialect.Name() == "postgres" {
				exec(alter, "ROLLBACK")
			}
			reader.Close()
			alter.Close()
		}
	case "begin-immediate": // another connection's write transaction
		c := session()
		exec(c, "BEGIN IMMEDIATE")
		b.release = func() { exec(c, "ROLLBACK"); c.Close() }
	default:
		t.Fatalf("no blocker %q", kind)
	}
	return b
}

// waiting lists the server's sessions, but for this one and those in
// not, that wait for a lock in a statement on table.
func waiting(t *testing.T, s dialecttest.Server, db *sql.DB, table string, not []int64) []int64 {
	t.Helper()
	var q string
	switch s.Dialect.Name() {
	case "postgres":
		q = "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0"
	case "mysql":
		q = "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for %lock%' AND ID <> CONNECTION_ID() AND LOCATE(?, INFO) > 0"
	default:
		return nil
	}
	rows, err := db.Query(q, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !containsID(not, id) {
			out = append(out, id)
		}
	}
	return out
}

// active lists the server's sessions, but for this one and those in not,
// that run a statement on table: a purge's, if any is left.
func active(t *testing.T, s dialecttest.Server, db *sql.DB, table string, not []int64) []string {
	t.Helper()
	var q string
	switch s.Dialect.Name() {
	case "postgres":
		q = "SELECT pid, query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0"
	case "mysql":
		q = "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND LOCATE(?, INFO) > 0"
	default:
		return nil
	}
	rows, err := db.Query(q, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var query sql.NullString
		if err := rows.Scan(&id, &query); err != nil {
			t.Fatal(err)
		}
		if !containsID(not, id) {
			out = append(out, fmt.Sprintf("%d: %s", id, query.String))
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func awaitThat(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPurgeStopsWhileWaiting: while a purge's statement waits for a lock
// an app session holds (PostgreSQL: a LOCK TABLE, an ALTER TABLE queued
// ahead; MariaDB: LOCK TABLES … WRITE, an ALTER TABLE queued ahead;
// SQLite: another connection's BEGIN IMMEDIATE), SIGINT,
// SIGTERM, --timeout and --max-duration each stop it within a second or
// so, not when the lock goes: the waiting statement is cut on the server
// (no session of the purge is left waiting there), the report is printed
// (cut, nothing deleted), and the exit code is the documented one: 130,
// 1 saying --timeout, 0 with status bounded. With --batch-time 10s a
// statement may run on 20 s after a signal; a second signal cuts it at
// once, and the first says on a terminal that it would. Once the lock is
// gone a purge deletes every expired row: the cut left the table as it was.
// On PostgreSQL, --layout microsoft too, behind a LOCK TABLE, stopped by
// SIGINT and by --timeout.
func TestPurgeStopsWhileWaiting(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if s.Dialect.Name() == "sqlserver" {
			// Not yet written for SQL Server: its purge statements wait for a
			// lock at most SET LOCK_TIMEOUT (100 ms) and then wait between
			// statements, where the deadline or signal ends the run, so
			// nothing is cut on the server, and this test's blockers and
			// its "cut while waiting for a lock" report do not apply; on
			// the TDS stand-in table hints are ignored and T-SQL has no
			// LOCK TABLE, so a blocker would have to be DDL in an open
			// transaction. See README, "SQL Server and Babelfish".
			t.Skip("no SQL Server blocker in this test yet: its purge waits for a lock at most SET LOCK_TIMEOUT 100 ms, then between statements (README: SQL Server and Babelfish)")
		}
		for _, kind := range blockers[s.Dialect.Name()] {
			for _, stop := range []string{"SIGINT", "SIGTERM", "timeout", "max-duration", "second-signal"} {
				t.Run(kind+"/"+stop, func(t *testing.T) {
					if s.Dialect.Name() != "sqlite" {
						t.Parallel() // each SQLite test has a file of its own, but the machine has two cores
					}
					purgeStopsWhileWaiting(t, s, cacheRace, kind, stop)
				})
			}
		}
		for _, l := range raceLayouts {
			if l.engine != s.Dialect.Name() || l.name != "microsoft" {
				continue
			}
			for _, stop := range []string{"SIGINT", "timeout"} {
				t.Run(l.name+"/lock-table/"+stop, func(t *testing.T) {
					t.Parallel()
					purgeStopsWhileWaiting(t, s, l, "lock-table", stop)
				})
			}
		}
	})
}

func purgeStopsWhileWaiting(t *testing.T, s dialecttest.Server, l raceLayout, kind, stop string) {
	db := s.Open(t)
	table := dialecttest.Table("wait")
	s.DropAtCleanup(t, db, table)
	must(t, 0, slices.Concat([]string{"create"}, l.flags(), []string{s.DSN, s.Schema, table})...)
	const expired, live = 500, 20
	l.seed(t, s, db, table, "old", expired, -time.Hour)
	l.seed(t, s, db, table, "live", live, time.Hour)
	b := block(t, s, db, table, kind)
	released := false
	defer func() {
		if !released {
			b.release()
		}
	}()

	args := append([]string{"purge", "-o", "json"}, l.flags()...)
	switch stop {
	case "timeout":
		args = append(args, "--timeout", "3s")
	case "max-duration":
		args = append(args, "--max-duration", "2s")
	case "second-signal":
		args = append(args, "--batch-time", "10s")
	}
	var out, errb bytes.Buffer
	c := command(nil, append(args, s.DSN, s.Schema, table)...)
	c.Stdout, c.Stderr = &out, &errb
	var tty *ptyOutput
	if stop == "second-signal" {
		tty = newPTY(t)
		c.Stderr = tty.slave
	}
	started := time.Now()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	defer c.Process.Kill()

	// The purge waits for the lock.
	if s.Dialect.Name() == "sqlite" {
		time.Sleep(1500 * time.Millisecond) // no way to see it wait: time enough to get there
	} else {
		awaitThat(t, "the purge to wait for the lock", func() bool { return len(waiting(t, s, db, table, b.sessions)) > 0 })
	}
	told := started
	switch stop {
	case "SIGINT", "SIGTERM":
		sig := map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM}[stop]
		told = time.Now()
		if err := c.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	case "timeout":
		told = started.Add(3 * time.Second)
	case "max-duration":
		told = started.Add(2 * time.Second)
	case "second-signal":
		if err := c.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		tty.waitFor(t, "interrupt again to abort it at once")
		// Its grace is 20 s: only the second signal ends it now.
		time.Sleep(500 * time.Millisecond)
		told = time.Now()
		if err := c.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(time.Until(told.Add(stopBound))):
		c.Process.Kill()
		<-exited
		t.Fatalf("%s: the purge was still waiting %s after it was told to stop\nstdout: %s\nstderr: %s", stop, stopBound, out.String(), errb.String())
	}
	t.Logf("%s %s: exited %s after it was told to stop", s.Dialect.Name(), stop, time.Since(told).Round(10*time.Millisecond))
	code := exitStatus(t, err)
	want := map[string]int{"SIGINT": ExitInterrupted, "SIGTERM": ExitInterrupted, "second-signal": ExitInterrupted, "timeout": ExitFailed, "max-duration": ExitOK}[stop]
	if code != want {
		t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", stop, code, want, out.String(), errb.String())
	}
	if stop == "timeout" && !strings.Contains(errb.String(), "--timeout") {
		t.Errorf("--timeout: stderr %q does not name --timeout", errb.String())
	}
	var rep struct {
		Status   string
		Deleted  int64
		Cut      bool
		CutWhile string `json:"cut_while"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%s: no JSON report: %v\n%s", stop, err, out.String())
	}
	wantStatus := "interrupted"
	if stop == "max-duration" {
		wantStatus = "bounded"
	}
	if rep.Status != wantStatus || !rep.Cut || rep.Deleted != 0 {
		t.Errorf("%s: report %+v, want status %s, cut, nothing deleted", stop, rep, wantStatus)
	}
	// The server saw it wait for the blocker's lock (SQLite waits in
	// sessctl's own steps, which no other session can see).
	if s.Dialect.Name() != "sqlite" && !strings.Contains(rep.CutWhile, "lock") {
		t.Errorf("%s: the report says the cut statement was %q, want it waiting for the blocker's lock", stop, rep.CutWhile)
	}
	// Nothing of the purge is left on the server, waiting to delete
	// once the lock goes.
	if left := active(t, s, db, table, b.sessions); len(left) > 0 {
		t.Errorf("%s: the purge's statement is still on the server after it exited: %v", stop, left)
	}

	b.release()
	released = true
	if n := l.count(t, s, db, table, "old"); n != expired {
		t.Errorf("%s: %d of %d expired rows left after the cut purge, which reported deleting none", stop, n, expired)
	}
	r := must(t, 0, slices.Concat([]string{"purge", "-o", "json"}, l.flags(), []string{s.DSN, s.Schema, table})...).json(t)
	if r["status"] != "done" || r["deleted"] != float64(expired) {
		t.Errorf("%s: the purge after the lock went: %v, want done with %d deleted", stop, r, expired)
	}
	if n := l.count(t, s, db, table, "live"); n != live {
		t.Errorf("%s: %d of %d live rows left", stop, n, live)
	}
}

// ptyOutput is a pseudo-terminal a child writes to, and what it wrote.
type ptyOutput struct {
	slave *os.File
	mu    sync.Mutex
	buf   bytes.Buffer
}

// newPTY opens a pseudo-terminal (Linux: /dev/ptmx) and reads all that is
// written to its slave, until the test ends.
func newPTY(t *testing.T) *ptyOutput {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyOutput{slave: slave}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { slave.Close(); master.Close() })
	return p
}

func (p *ptyOutput) waitFor(t *testing.T, s string) {
	t.Helper()
	awaitThat(t, fmt.Sprintf("%q on the terminal", s), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return strings.Contains(p.buf.String(), s)
	})
}
