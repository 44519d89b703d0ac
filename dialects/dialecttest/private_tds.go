package dialecttest

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sessctl/sessctl/dialects/registry"
)

// TDSEnv names start-tds, the script that starts the TDS test server
// (Babelfish for PostgreSQL), when it is not at shared/tds/start-tds in a
// folder above the test's.
const TDSEnv = "SESSCTL_TEST_TDS_START"

// tdsScript finds start-tds: TDSEnv, or shared/tds/start-tds beside a
// folder the test runs in or one above it.
func tdsScript() (string, error) {
	if p := os.Getenv(TDSEnv); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "tds", "start-tds")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no shared/tds/start-tds above the test's folder: set %s", TDSEnv)
		}
		dir = parent
	}
}

// StartTDS starts a private Babelfish for PostgreSQL server, the stand-in
// for SQL Server (shared/tds/README.md): start-tds sets it up in a folder
// of its own on free ports and starts it, then it is stopped and run again
// under the test's control, as postgres in the foreground, so that the
// test can stop, crash and restart it. Never the shared server on 1433.
// Its DSN logs in as the sysadmin babelfish_user to the database
// sessiontest; Admin is the same login.
func StartTDS(t testing.TB) *Private {
	t.Helper()
	SkipUnselected(t, "sqlserver")
	script, err := tdsScript()
	if err != nil {
		unavailable(t, "sqlserver", "no private TDS server: %v", err)
	}
	d, err := registry.Lookup("sqlserver")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sessctl-tds-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Private{dialect: d, dir: dir, port: freePort(t), schema: "dbo"}
	start := exec.Command(script, dir)
	start.Env = append(os.Environ(), "TDS_PORT="+strconv.Itoa(p.port), "TDS_PG_PORT="+strconv.Itoa(freePort(t)))
	var stderr bytes.Buffer
	start.Stderr = &stderr
	out, err := start.Output()
	if err != nil {
		unavailable(t, "sqlserver", "start-tds %s: %v\n%s", dir, err, stderr.String())
	}
	p.dsn = strings.TrimSpace(string(out))
	if _, err := url.Parse(p.dsn); err != nil || !strings.HasPrefix(p.dsn, "sqlserver://") {
		t.Fatalf("start-tds printed %q, not a DSN", out)
	}
	p.admin = p.dsn
	// Stopped again, to run under the test: start-tds leaves it to pg_ctl.
	stop := exec.Command(filepath.Join(filepath.Dir(script), "stop-tds"), dir)
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stop-tds %s: %v\n%s", dir, err, out)
	}
	data := filepath.Join(dir, "data")
	if fi, err := os.Stat(data); err == nil && os.Getuid() == 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			p.cred = &syscall.Credential{Uid: st.Uid, Gid: st.Gid}
		}
	}
	p.argv = []string{filepath.Join(dir, "bbf", "bin", "postgres"), "-D", data}
	// Registered after the folder's removal, so run before it.
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	p.Start(t)
	return p
}
