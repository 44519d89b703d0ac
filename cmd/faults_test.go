package cmd

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
)

// faultPassword is the password of the private servers' users in the fault
// tests, which no message may show.
const faultPassword = "Fault#pw-7Kq2"

// privateServer starts a private server of dialect name for t, whose DSN
// logs in with faultPassword, and returns it with a superuser connection
// over its unix socket. Only postgres and mysql have one.
func privateServer(t *testing.T, name string) (*dialecttest.Private, dialecttest.Server, *sql.DB) {
	t.Helper()
	switch name {
	case "postgres":
		p := dialecttest.StartPostgres(t, dialecttest.PostgresOptions{Password: faultPassword})
		return p, p.Server(), p.Admin(t)
	case "mysql":
		p := dialecttest.StartMariaDB(t)
		db := p.Admin(t)
		for _, q := range []string{
			"CREATE USER 'sessctl'@'127.0.0.1' IDENTIFIED BY '" + faultPassword + "'",
			"GRANT ALL ON test.* TO 'sessctl'@'127.0.0.1'",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		s := p.Server()
		s.DSN = strings.Replace(s.DSN, "root:@", "sessctl:"+faultPassword+"@", 1)
		return p, s, db
	case "sqlserver":
		p := dialecttest.StartTDS(t)
		db := p.Admin(t)
		for _, q := range []string{
			"CREATE LOGIN sessctl WITH PASSWORD = '" + faultPassword + "'",
			"ALTER SERVER ROLE sysadmin ADD MEMBER sessctl",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s := p.Server()
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("sessctl", faultPassword)
		s.DSN = u.String()
		return p, s, db
	}
	t.Fatalf("no private %s server", name)
	return nil, dialecttest.Server{}, nil
}

// background is a sessctl process the test does something to while it runs.
type background struct {
	cmd         *exec.Cmd
	out, errb   bytes.Buffer
	done        chan struct{}
	code        int
	description string
}

func startSessctl(t *testing.T, args ...string) *background {
	t.Helper()
	return startSessctlTo(t, nil, args...)
}

// startSessctlTo starts sessctl as startSessctl does, its stderr written
// to tty (a terminal, for its progress) when tty is not nil.
func startSessctlTo(t *testing.T, tty *ptyOutput, args ...string) *background {
	t.Helper()
	b := &background{cmd: command(nil, args...), done: make(chan struct{}), description: strings.Join(args[:1], " ")}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errb
	if tty != nil {
		b.cmd.Stderr = tty.slave
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := b.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			b.code = 0
		case errors.As(err, &ee):
			b.code = ee.ExitCode()
		default:
			b.code = -1
		}
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// wait waits for the process to end, failing t if it has not within two
// minutes, and returns its exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(2 * time.Minute):
		b.cmd.Process.Kill()
		<-b.done
		t.Fatalf("sessctl %s did not end within two minutes\nstdout: %s\nstderr: %s", b.description, b.out.String(), b.errb.String())
	}
	return b.code
}

// exited reports whether the process has ended.
func (b *background) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds, failing t after a minute or if bg
// ended first.
func waitFor(t *testing.T, bg *background, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if bg != nil && bg.exited() {
			t.Fatalf("sessctl %s ended (exit %d) before %s\nstdout: %s\nstderr: %s", bg.description, bg.code, what, bg.out.String(), bg.errb.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkFailureMessage fails t unless stderr says in one line, with no
// stack trace and no password, that the connection was lost and that
// running purge again goes on.
func checkFailureMessage(t *testing.T, stderr string, password string) {
	t.Helper()
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "sessctl: ") {
			msgs = append(msgs, l)
		}
	}
	switch {
	case len(msgs) != 1:
		t.Errorf("stderr has %d error lines, want 1:\n%s", len(msgs), stderr)
	case strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic"):
		t.Errorf("stderr has a stack trace:\n%s", stderr)
	case password != "" && strings.Contains(stderr, password):
		t.Errorf("stderr has the password:\n%s", stderr)
	case !strings.Contains(msgs[0], "lost the connection") || !strings.Contains(msgs[0], "run purge again"):
		t.Errorf("the message does not say that the connection was lost and to run purge again:\n%s", stderr)
	}
	t.Logf("purge said: %s", strings.TrimSpace(stderr))
}

// TestPurgeServerRestart: the database restarts in the middle of a purge
// (small batches, a pause between them, many expired rows and some live
// ones). Purge exits 1 saying in one line that the connection was lost and
// that running it again goes on, with no stack trace and no password; in
// JSON its report says what it deleted before. Run again, it finishes
// (exit 0, nothing expired left), and no live row was lost. On private
// PostgreSQL, MariaDB and TDS (Babelfish, the SQL Server stand-in)
// servers, restarted as an administrator does, once with text output and
// once with JSON. SQLite has no server to restart: TestPurgeSQLiteFaults
// is its analogue.
func TestPurgeServerRestart(t *testing.T) {
	const expired, live = 20000, 500
	for _, name := range registry.List() {
		t.Run(name, func(t *testing.T) {
			switch name {
			case "sqlite":
				t.Skip("SQLite has no server to restart: TestPurgeSQLiteFaults kills the process and locks the file instead")
			case "sqlserver":
				dialecttest.Get(t, name) // the server stands in for SQL Server, restarted by its pg_ctl's signals
			}
			t.Parallel()
			p, s, db := privateServer(t, name)
			for _, output := range []string{"text", "json"} {
				table := dialecttest.Table("Restart")
				must(t, 0, "create", s.DSN, s.Schema, table)
				s.Seed(t, db, table, "old", expired, 20, -time.Hour)
				s.Seed(t, db, table, "live", live, 20, time.Hour)

				bg := startSessctl(t, "purge", "-o", output, "--batch-size", "100", "--pause", "20ms", s.DSN, s.Schema, table)
				waitFor(t, bg, "batch deleted", func() bool { return s.Count(t, db, table, "old") < expired })
				p.Restart(t)
				db = p.Admin(t)
				if code := bg.wait(t); code != ExitFailed {
					t.Fatalf("purge across a restart (-o %s): exit %d, want 1\nstdout: %s\nstderr: %s", output, code, bg.out.String(), bg.errb.String())
				}
				checkFailureMessage(t, bg.errb.String(), faultPassword)
				left := s.Count(t, db, table, "old")
				if left == 0 {
					t.Errorf("-o %s: purge deleted every expired row before the restart: it did not land mid-purge", output)
				}
				if output == "json" {
					var rep struct {
						Status  string
						Deleted int64
						Error   string
					}
					if err := json.Unmarshal(bg.out.Bytes(), &rep); err != nil {
						t.Fatalf("no JSON report: %v\n%s", err, bg.out.String())
					}
					if rep.Status != "failed" || rep.Deleted != expired-left || !strings.Contains(rep.Error, "run purge again") {
						t.Errorf("JSON report %+v; %d of %d expired rows are left", rep, left, expired)
					}
				} else if !strings.Contains(bg.out.String(), "deleted ") {
					t.Errorf("purge printed no report of what it deleted before the restart:\n%s", bg.out.String())
				}
				if strings.Contains(bg.out.String(), faultPassword) {
					t.Errorf("stdout has the password:\n%s", bg.out.String())
				}

				must(t, 0, "purge", s.DSN, s.Schema, table)
				if n := s.Count(t, db, table, "old"); n != 0 {
					t.Errorf("-o %s: %d expired rows left after the rerun", output, n)
				}
				if n := s.Count(t, db, table, "live"); n != live {
					t.Errorf("-o %s: %d of %d live rows left", output, n, live)
				}
				t.Logf("-o %s: restart after %d of %d expired rows; rerun finished; %d/%d live rows kept", output, expired-left, expired, live, live)
			}
		})
	}
}

// TestPurgeSQLiteFaults is the SQLite analogue of TestPurgeServerRestart:
// SQLite has no server to restart, so its faults are the purge process
// dying mid-purge (SIGKILL, with no chance to finish its batch), and
// another writer holding the database file locked mid-purge for longer
// than purge waits (busy), which makes purge fail. Either way a rerun
// finishes (exit 0, nothing expired left) and no live row is lost.
func TestPurgeSQLiteFaults(t *testing.T) {
	const expired, live = 20000, 500
	for _, fault := range []string{"killed", "busy"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			s := dialecttest.Get(t, "sqlite")
			db := s.Open(t)
			table := dialecttest.Table("Fault")
			must(t, 0, "create", s.DSN, s.Schema, table)
			s.Seed(t, db, table, "old", expired, 20, -time.Hour)
			s.Seed(t, db, table, "live", live, 20, time.Hour)

			bg := startSessctl(t, "purge", "--batch-size", "100", "--pause", "20ms", s.DSN, s.Schema, table)
			waitFor(t, bg, "batch deleted", func() bool { return s.Count(t, db, table, "old") < expired })
			switch fault {
			case "killed":
				if err := bg.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				if code := bg.wait(t); code != -1 {
					t.Fatalf("purge after SIGKILL: exit %d\n%s%s", code, bg.out.String(), bg.errb.String())
				}
			case "busy":
				tx, err := db.Begin() // BEGIN IMMEDIATE: the write lock
				if err != nil {
					t.Fatal(err)
				}
				code := bg.wait(t)
				tx.Rollback()
				if code != ExitFailed {
					t.Fatalf("purge against a locked file: exit %d, want 1\nstdout: %s\nstderr: %s", code, bg.out.String(), bg.errb.String())
				}
				if msg := strings.TrimSpace(bg.errb.String()); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "locked") {
					t.Errorf("purge against a locked file said\n%s\nwant one line saying the database is locked", msg)
				}
				t.Logf("purge said: %s", strings.TrimSpace(bg.errb.String()))
			}
			left := s.Count(t, db, table, "old")
			if left == 0 {
				t.Errorf("purge deleted every expired row before it was %s: the fault did not land mid-purge", fault)
			}
			must(t, 0, "purge", s.DSN, s.Schema, table)
			must(t, 0, "verify", s.DSN, s.Schema, table)
			if n := s.Count(t, db, table, "old"); n != 0 {
				t.Errorf("%d expired rows left after the rerun", n)
			}
			if n := s.Count(t, db, table, "live"); n != live {
				t.Errorf("%d of %d live rows left", n, live)
			}
			t.Logf("%s after %d of %d expired rows; rerun finished; %d/%d live rows kept", fault, expired-left, expired, live, live)
		})
	}
}

// cutSQL ends every session that came over TCP, that is every session of
// sessctl's and none of the test's own, which come over the unix socket.
var cutSQL = map[string]string{
	"postgres": `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND pid <> pg_backend_pid()`,
	"mysql":    `SELECT ID FROM information_schema.PROCESSLIST WHERE HOST LIKE '127.0.0.1:%'`,
	// The private TDS server's admin connects over TCP too: sessctl's are
	// those of its own login (privateServer).
	"sqlserver": `SELECT session_id FROM sys.dm_exec_sessions WHERE login_name = N'sessctl'`,
}

// cutSessions ends every TCP session of the private server.
func cutSessions(t *testing.T, name string, db *sql.DB) {
	t.Helper()
	if name == "postgres" {
		if _, err := db.Exec(cutSQL[name]); err != nil {
			t.Fatal(err)
		}
		return
	}
	rows, err := db.Query(cutSQL[name])
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
		db.Exec(fmt.Sprintf("KILL %d", id)) // it may have ended meanwhile
	}
}

// sessions counts the TCP sessions of the private server; blocked those
// of them waiting for a lock (PostgreSQL only).
func sessions(t *testing.T, name string, db *sql.DB, blocked bool) int {
	t.Helper()
	q := `SELECT count(*) FROM information_schema.PROCESSLIST WHERE HOST LIKE '127.0.0.1:%'`
	if name == "sqlserver" {
		q = `SELECT count(*) FROM sys.dm_exec_sessions WHERE login_name = N'sessctl'`
	}
	if name == "postgres" {
		q = `SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL`
		if blocked {
			q += ` AND wait_event_type = 'Lock'`
		}
	}
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// converges fails t unless create, run again on table, exits 0 and verify
// then finds it sound, with its version recorded and not dirty.
func converges(t *testing.T, s dialecttest.Server, db *sql.DB, table, moment string) bool {
	t.Helper()
	r := sessctl(t, nil, "create", s.DSN, s.Schema, table)
	v := sessctl(t, nil, "verify", "-o", "json", s.DSN, s.Schema, table)
	var dirty int
	q := "SELECT count(*) FROM " + s.Qualified(s.Dialect.Names(s.Schema, table).VersionTable) + " WHERE dirty"
	if s.Dialect.Name() == "sqlserver" {
		q += " = 1" // a bit, which T-SQL does not take for a condition
	}
	err := db.QueryRow(q).Scan(&dirty)
	switch {
	case r.code != 0:
		t.Errorf("%s: create again: exit %d\n%s%s", moment, r.code, r.stdout, r.stderr)
	case v.code != 0 || !strings.Contains(v.stdout, `"status": "ok"`):
		t.Errorf("%s: verify after create again: exit %d\n%s%s", moment, v.code, v.stdout, v.stderr)
	case err != nil || dirty != 0:
		t.Errorf("%s: the version table: %d dirty, %v", moment, dirty, err)
	default:
		return true
	}
	return false
}

// TestCreateConnectionCut: create's connection is cut while it runs, at
// several moments, and create run again converges: it exits 0, verify
// finds the table sound, and no version is left dirty.
//
// On private PostgreSQL and MariaDB servers, it is cut two ways: every
// session of create's ended by the server (pg_terminate_backend, KILL), and
// the whole server killed (SIGKILL, then started again), each at moments
// after create connects. On PostgreSQL three moments are also made exact:
// an open transaction of the test's holds the name of the version table,
// the cache table or its expiry index, so create waits inside that step,
// and is cut there (in golang-migrate's version table set-up, in migration
// 1 and in migration 2, the last two with the version recorded dirty).
// SQLite has no connection to cut: its create process is killed (SIGKILL)
// at moments after it starts, and once while it waits for a write lock
// the test holds. SQL Server runs on its stand-in, a private TDS server
// (Babelfish), whose sessions are cut with KILL.
func TestCreateConnectionCut(t *testing.T) {
	delays := []time.Duration{0, 5 * time.Millisecond, 15 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond}
	for _, name := range registry.List() {
		t.Run(name, func(t *testing.T) {
			switch name {
			case "sqlite":
				t.Parallel()
				createKilledSQLite(t, delays)
				return
			case "sqlserver":
				dialecttest.Get(t, name) // the TDS stand-in: sessions cut by KILL, the server killed as PostgreSQL
			}
			t.Parallel()
			p, s, db := privateServer(t, name)
			moments, converged, cut := 0, 0, 0
			try := func(moment string, table string, bg *background, fault func()) {
				t.Helper()
				fault()
				code := bg.wait(t)
				if code != 0 {
					cut++
					if code != ExitFailed {
						t.Errorf("%s: create exited %d, want 1\n%s%s", moment, code, bg.out.String(), bg.errb.String())
					}
					if strings.Contains(bg.out.String()+bg.errb.String(), faultPassword) {
						t.Errorf("%s: create printed the password:\n%s%s", moment, bg.out.String(), bg.errb.String())
					}
				}
				moments++
				if converges(t, s, db, table, moment) {
					converged++
				}
			}

			if name == "postgres" {
				for _, step := range []string{"version table", "table", "expiry index"} {
					table := dialecttest.Table("Cut")
					n := s.Dialect.Names(s.Schema, table)
					hold := map[string]string{"version table": n.VersionTable, "table": n.Table, "expiry index": n.ExpiryIndex}[step]
					tx, err := db.Begin()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := tx.Exec("CREATE TABLE " + s.Qualified(hold) + " (x int)"); err != nil {
						t.Fatal(err)
					}
					bg := startSessctl(t, "create", s.DSN, s.Schema, table)
					moment := "waiting to make the " + step
					waitFor(t, bg, "create "+moment, func() bool { return sessions(t, name, db, true) > 0 })
					try(moment, table, bg, func() {
						cutSessions(t, name, db)
						tx.Rollback()
					})
					if bg.code == 0 {
						t.Errorf("%s: create was not cut", moment)
					}
				}
			}

			for _, how := range []string{"sessions ended", "server killed"} {
				for _, d := range delays {
					table := dialecttest.Table("Cut")
					bg := startSessctl(t, "create", s.DSN, s.Schema, table)
					deadline := time.Now().Add(time.Minute)
					for !bg.exited() && sessions(t, name, db, false) == 0 && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(d) // not a wait for anything: the moment of the cut
					try(fmt.Sprintf("%s %s after create connected", how, d), table, bg, func() {
						if how == "sessions ended" {
							cutSessions(t, name, db)
							return
						}
						p.Crash(t)
						p.Start(t)
						db = p.Admin(t)
					})
				}
			}
			if cut == 0 {
				t.Errorf("no cut landed while create ran: every create finished first")
			}
			t.Logf("%d moments, create cut at %d, %d/%d converged", moments, cut, converged, moments)
		})
	}
}

// createKilledSQLite kills SQLite create processes at delays after they
// start, and once while one waits for the write lock; each time create
// run again converges.
func createKilledSQLite(t *testing.T, delays []time.Duration) {
	s := dialecttest.Get(t, "sqlite")
	must(t, 0, "create", s.DSN, s.Schema, dialecttest.Table("First")) // the file
	db := s.Open(t)
	moments, converged, cut := 0, 0, 0
	kill := func(moment, table string, bg *background, after func()) {
		t.Helper()
		bg.cmd.Process.Kill()
		if bg.wait(t) != 0 {
			cut++
		}
		after()
		moments++
		if converges(t, s, db, table, moment) {
			converged++
		}
	}
	table := dialecttest.Table("Cut")
	tx, err := db.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	bg := startSessctl(t, "create", s.DSN, s.Schema, table)
	time.Sleep(300 * time.Millisecond) // create waits up to 10s for the lock
	if bg.exited() {
		t.Fatalf("create did not wait for the write lock: exit %d\n%s%s", bg.code, bg.out.String(), bg.errb.String())
	}
	kill("killed while waiting for the write lock", table, bg, func() { tx.Rollback() })
	for _, d := range delays {
		table := dialecttest.Table("Cut")
		bg := startSessctl(t, "create", s.DSN, s.Schema, table)
		time.Sleep(20*time.Millisecond + d) // the moment of the kill; the process starts in about 20ms
		kill(fmt.Sprintf("killed %s after start", 20*time.Millisecond+d), table, bg, func() {})
	}
	if cut == 0 {
		t.Errorf("no kill landed while create ran: every create finished first")
	}
	t.Logf("%d moments, create killed at %d, %d/%d converged", moments, cut, converged, moments)
}
