package dialecttest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
)

// Private is a database server of a test's own, in a temporary folder, on
// a free port of 127.0.0.1: a test may stop, crash and restart it without
// disturbing anyone else's tests on the shared servers. It is stopped, its
// processes killed and its folder removed when the test ends, pass or fail.
type Private struct {
	dialect dialects.Dialect
	schema  string
	dir     string
	port    int
	dsn     string // how sessctl connects: TCP, as the user under test
	admin   string // full rights, over the unix socket
	argv    []string
	cred    *syscall.Credential // who the server runs as; nil: this process's user

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *bytes.Buffer // the server's output since it last started
}

// PostgresOptions say how StartPostgres sets its server up.
type PostgresOptions struct {
	// Password, when set, is the superuser postgres's password, and
	// connections over TCP must give it (scram-sha-256); without one
	// they are trusted. The unix socket is trusted either way.
	Password string
}

// readyWithin bounds a private server's start-up, generously: the machine
// may be busy.
const readyWithin = 90 * time.Second

// unavailable skips t, or fails it when SESSCTL_TEST_REQUIRE names dialect:
// a private server that cannot start is no pass.
func unavailable(t testing.TB, dialect, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required(dialect) {
		t.Fatalf("a private %s server is required by %s but cannot start: %s", dialect, RequireEnv, msg)
	}
	t.Skipf("no private %s server: %s", dialect, msg)
}

// StartPostgres starts a PostgreSQL server of t's own: initdb into a
// temporary folder (as user postgres: initdb and postgres refuse to run as
// root), fsync off.
func StartPostgres(t testing.TB, opts PostgresOptions) *Private {
	t.Helper()
	SkipUnselected(t, "postgres")
	bin := postgresBin()
	if bin == "" {
		unavailable(t, "postgres", "no initdb under /usr/lib/postgresql/*/bin")
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "postgres", "running as root, and there is no user postgres to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	p := newPrivate(t, "postgres", "sessctl-pg-", cred)
	data := filepath.Join(p.dir, "data")
	initdb := []string{filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--no-sync", "--auth-local=trust", "-E", "UTF8", "--locale=C"}
	if opts.Password != "" {
		pwfile := filepath.Join(p.dir, "pwfile")
		if err := os.WriteFile(pwfile, []byte(opts.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p.chown(t, pwfile)
		initdb = append(initdb, "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	} else {
		initdb = append(initdb, "--auth-host=trust")
	}
	if out, err := p.command(initdb...).CombinedOutput(); err != nil {
		unavailable(t, "postgres", "initdb: %v\n%s", err, out)
	}
	p.setPostgres(bin, data, opts.Password)
	p.Start(t)
	return p
}

// setPostgres sets how p's PostgreSQL server, of folder data, is started
// and reached.
func (p *Private) setPostgres(bin, data, password string) {
	p.argv = []string{filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(p.port),
		"-c", "unix_socket_directories=" + p.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning"}
	u := &url.URL{Scheme: "postgres", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)), Path: "/postgres"}
	u.User = url.User("postgres")
	if password != "" {
		u.User = url.UserPassword("postgres", password)
	}
	p.dsn = u.String() + "?connect_timeout=10"
	p.admin = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", p.dir, p.port)
	p.schema = "public"
}

// postgresBin is the bin folder of the newest PostgreSQL installed, or "".
func postgresBin() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[j]))))
		return vi > vj
	})
	if len(found) == 0 {
		return ""
	}
	return filepath.Dir(found[0])
}

// StartMariaDB starts a MariaDB server of t's own, with a small buffer
// pool and no binary log. root has no password, on TCP and the socket;
// its database test is empty.
func StartMariaDB(t testing.TB) *Private {
	t.Helper()
	return startMariaDB(t)
}

// startMariaDB is StartMariaDB, the server started with extra options too.
func startMariaDB(t testing.TB, extra ...string) *Private {
	t.Helper()
	SkipUnselected(t, "mysql")
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		unavailable(t, "mysql", "no mariadb-install-db: %v", err)
	}
	server := "/usr/sbin/mariadbd"
	if _, err := os.Stat(server); err != nil {
		unavailable(t, "mysql", "no %s: %v", server, err)
	}
	p := newPrivate(t, "mysql", "sessctl-my-", nil)
	data := filepath.Join(p.dir, "data")
	cmd := p.command(install, "--no-defaults", "--auth-root-authentication-method=normal",
		"--datadir="+data, "--user=root", "--skip-test-db", "--skip-name-resolve")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(t, "mysql", "mariadb-install-db: %v\n%s", err, out)
	}
	sock := filepath.Join(p.dir, "mysqld.sock")
	// Its own temporary folder: temporary tables' file names hold only the
	// server's pid in hex and a counter, so in a /tmp shared with another
	// server two files can clash, and one server deletes the other's (the
	// shared MariaDB here once crashed on it).
	tmp := filepath.Join(p.dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	p.argv = []string{server, "--no-defaults", "--datadir=" + data, "--socket=" + sock, "--tmpdir=" + tmp,
		"--port=" + strconv.Itoa(p.port), "--bind-address=127.0.0.1", "--user=root", "--skip-log-bin",
		"--skip-name-resolve", "--pid-file=" + filepath.Join(p.dir, "mysqld.pid"),
		"--innodb-buffer-pool-size=16M", "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0", "--performance-schema=OFF", "--max-connections=60", "--log-error=" + filepath.Join(p.dir, "error.log")}
	p.argv = append(p.argv, extra...)
	p.dsn = fmt.Sprintf("root:@tcp(127.0.0.1:%d)/test", p.port)
	p.admin = fmt.Sprintf("root:@unix(%s)/mysql", sock)
	p.schema = "test"
	p.Start(t)
	db := p.Admin(t)
	// With --skip-name-resolve, TCP connections come from 127.0.0.1, not
	// localhost: give root that host too.
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
		"GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
		"CREATE DATABASE IF NOT EXISTS test",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("setting up the private MariaDB: %s: %v", q, err)
		}
	}
	return p
}

// newPrivate makes the server's folder, owned by cred's user, removed at
// cleanup, and picks its port.
func newPrivate(t testing.TB, dialect, prefix string, cred *syscall.Credential) *Private {
	t.Helper()
	d, err := registry.Lookup(dialect)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parents are private to root, and the socket path
	// must stay short.
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Private{dialect: d, dir: dir, cred: cred, port: freePort(t)}
	p.chown(t, dir)
	// Registered after the folder's removal, so run before it.
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	return p
}

// freePort is a TCP port of 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (p *Private) chown(t testing.TB, path string) {
	t.Helper()
	if p.cred == nil {
		return
	}
	if err := os.Chown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		t.Fatal(err)
	}
}

// command runs argv as the server's user, in a process group of its own,
// so that the whole group can be killed.
func (p *Private) command(argv ...string) *exec.Cmd {
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = p.dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	return c
}

// DSN is the server as sessctl connects to it: over TCP, as the superuser
// (with the password, if it has one).
func (p *Private) DSN() string { return p.dsn }

// Port is the server's TCP port.
func (p *Private) Port() int { return p.port }

// Server is the private server as Each gives servers, for the helpers
// that take one (Seed, Count, Table…). Open it with Admin, not Open:
// tests cut TCP connections.
func (p *Private) Server() Server {
	return Server{Dialect: p.dialect, DSN: p.dsn, Schema: p.schema}
}

// Admin opens the server as its superuser over the unix socket, closed at
// cleanup. A restart breaks its connections: open another after one.
func (p *Private) Admin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := p.open()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		t.Fatalf("connecting to the private %s server: %v", p.dialect.Name(), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (p *Private) open() (*sql.DB, error) {
	c, err := registry.Parse(p.admin, p.dialect.Name())
	if err != nil {
		return nil, err
	}
	return p.dialect.Open(c, true)
}

// Start starts the server and waits until it accepts connections.
func (p *Private) Start(t testing.TB) {
	t.Helper()
	if p.cmd != nil {
		t.Fatalf("the private %s server is running already", p.dialect.Name())
	}
	c := p.command(p.argv...)
	p.log = &bytes.Buffer{}
	c.Stdout, c.Stderr = p.log, p.log
	if err := c.Start(); err != nil {
		t.Fatalf("starting the private %s server: %v", p.dialect.Name(), err)
	}
	p.cmd, p.done = c, make(chan struct{})
	go func(done chan struct{}) { _ = c.Wait(); close(done) }(p.done) // the server stops when the test ends it

	db, err := p.open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(readyWithin)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("the private %s server exited while starting: %v\n%s", p.dialect.Name(), c.ProcessState, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private %s server did not accept connections within %s: %v\n%s", p.dialect.Name(), readyWithin, err, p.logTail())
		}
	}
}

// logTail is the end of the server's output and error log, for failures.
func (p *Private) logTail() string {
	out := p.log.Bytes()
	if b, err := os.ReadFile(filepath.Join(p.dir, "error.log")); err == nil {
		out = append(out, b...)
	}
	if len(out) > 4000 {
		out = out[len(out)-4000:]
	}
	return string(out)
}

// Stop shuts the server down as an administrator would (PostgreSQL: fast
// shutdown, MariaDB: normal), ending every session, and waits until it has.
func (p *Private) Stop(t testing.TB) {
	t.Helper()
	p.stop(t, p.shutdownSignal())
}

// Crash kills the server at once, as a power cut would (SIGKILL to every
// process of the server): it recovers from its log when it starts again.
func (p *Private) Crash(t testing.TB) {
	t.Helper()
	p.stop(t, syscall.SIGKILL)
}

// Restart stops the server as Stop does and starts it again.
func (p *Private) Restart(t testing.TB) {
	t.Helper()
	p.Stop(t)
	p.Start(t)
}

func (p *Private) shutdownSignal() syscall.Signal {
	if p.dialect.Name() == "postgres" || p.dialect.Name() == "sqlserver" {
		return syscall.SIGINT // fast shutdown (the TDS server is PostgreSQL underneath)
	}
	return syscall.SIGTERM
}

// stop signals the server and waits for it to end; if it has not within
// a minute, or sig is SIGKILL, its whole process group is killed.
func (p *Private) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	defer func() {
		// Nothing of the server may outlive it, whatever happened.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		p.cmd = nil
	}()
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	} else if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("stopping the private %s server: %v", p.dialect.Name(), err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Errorf("the private %s server did not stop within a minute of %s; killed\n%s", p.dialect.Name(), sig, p.logTail())
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Freeze stops every process of the server (SIGSTOP to it and all it
// started: PostgreSQL's backends are process groups of their own), as a
// host that hangs would: its connections stay open, the kernel still
// accepts new ones, and nothing answers until Thaw. The server is thawed
// at cleanup, so that it can be stopped.
func (p *Private) Freeze(t testing.TB) {
	t.Helper()
	p.signalAll(t, syscall.SIGSTOP)
	t.Cleanup(func() { p.Thaw(t) })
}

// Thaw lets a frozen server go on (SIGCONT); a server not frozen is left
// as it is.
func (p *Private) Thaw(t testing.TB) {
	t.Helper()
	p.signalAll(t, syscall.SIGCONT)
}

// signalAll sends sig to the server's process group, then to every
// process descended from it (the server stopped first forks none).
func (p *Private) signalAll(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("%s to the private %s server: %v", sig, p.dialect.Name(), err)
	}
	for _, child := range descendants(pid) {
		_ = syscall.Kill(child, sig) // one may have ended meanwhile
	}
}

// descendants are the processes under pid, as /proc lists them now.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 {
			parent[n], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for n, pp := range parent {
			if pp == queue[0] {
				out = append(out, n)
				queue = append(queue, n)
			}
		}
	}
	return out
}
