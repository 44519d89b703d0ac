package cmd

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestWaitTimeoutSaysWhy: when --timeout ends a --wait for a database that
// refuses connections, the error names the flag that ran out, that it was
// still waiting, and what the last attempt got from the database; not only
// "context deadline exceeded". When --wait runs out, the error says so, and
// what the last attempt got. Every dialect with a server to wait for.
func TestWaitTimeoutSaysWhy(t *testing.T) {
	closed := closedPort(t)
	for _, tc := range []struct{ conn, schema string }{
		{fmt.Sprintf("postgres://u@127.0.0.1:%d/db", closed), "public"},
		{fmt.Sprintf("Host=127.0.0.1:%d;Database=db;Username=u", closed), "public"},
		{fmt.Sprintf("u:pw@tcp(127.0.0.1:%d)/db", closed), "db"},
		{fmt.Sprintf("sqlserver://sa:pw@127.0.0.1:%d?database=db", closed), "dbo"},
	} {
		t.Run("", func(t *testing.T) {
			start := time.Now()
			r := sessctl(t, nil, "verify", "--wait", "60s", "--timeout", "2s", tc.conn, tc.schema, "SessionData")
			took := time.Since(start)
			if r.code != ExitFailed {
				t.Fatalf("%s: exit %d, want 1\n%s", tc.conn, r.code, r.stderr)
			}
			for _, want := range []string{"timed out after 2s (--timeout)", "while waiting for the database (--wait 1m0s)", "the last attempt failed", "refused"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s: --wait 60s --timeout 2s said\n%s\nwant it to say %q", tc.conn, r.stderr, want)
				}
			}
			if took > 40*time.Second {
				t.Errorf("%s: --timeout 2s returned after %s: it waited out --wait", tc.conn, took)
			}
			r = sessctl(t, nil, "verify", "--wait", "2s", tc.conn, tc.schema, "SessionData")
			for _, want := range []string{"still failing when --wait 2s ran out", "refused"} {
				if r.code != ExitFailed || !strings.Contains(r.stderr, want) {
					t.Errorf("%s: --wait 2s: exit %d, said\n%s\nwant exit 1 saying %q", tc.conn, r.code, r.stderr, want)
				}
			}
		})
	}
}

// TestTimeoutInTheFirstAttempt: --timeout that ends the first attempt,
// still under way, says so, not "context deadline exceeded" alone.
func TestTimeoutInTheFirstAttempt(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, and never answers
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := l.Addr().(*net.TCPAddr).Port
	r := sessctl(t, nil, "verify", "--timeout", "1s", fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable", silent), "public", "SessionData")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "timed out after 1s (--timeout)") || !strings.Contains(r.stderr, "first attempt") {
		t.Errorf("a server that never answers: exit %d, said\n%s\nwant exit 1 saying --timeout ended the first attempt", r.code, r.stderr)
	}
}

// silentPort is a port that accepts connections and reads from them
// forever, never answering: a proxy whose database is gone, a service
// that is not the database.
func silentPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// TestUnansweredAttemptIsBounded: an attempt that the server never
// answers ends when the connection string's own connect timeout says, in
// every form that has one, and the message names the cause, the setting
// and --wait; not when --timeout (here a safety net) ends the command.
func TestUnansweredAttemptIsBounded(t *testing.T) {
	port := silentPort(t)
	for _, tc := range []struct{ conn, schema, setting string }{
		{fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", port), "public", "connect_timeout"},
		{fmt.Sprintf("host=127.0.0.1 port=%d dbname=db user=u sslmode=disable connect_timeout=2", port), "public", "connect_timeout"},
		{fmt.Sprintf("Host=127.0.0.1;Port=%d;Database=db;Username=u;SSL Mode=Disable;Timeout=2", port), "public", "Timeout"},
		{fmt.Sprintf("u:pw@tcp(127.0.0.1:%d)/db?timeout=2s", port), "db", "timeout"},
		{fmt.Sprintf("Server=127.0.0.1;Port=%d;Database=db;User ID=u;Password=pw;Connection Timeout=2;SslMode=None", port), "db", "Connection Timeout"},
		{fmt.Sprintf("sqlserver://sa:pw@127.0.0.1:%d?database=db&encrypt=disable&connection+timeout=2", port), "dbo", "connection timeout"},
		{fmt.Sprintf("Server=127.0.0.1,%d;Database=db;User Id=sa;Password=pw;Encrypt=False;Connect Timeout=2", port), "dbo", "Connect Timeout"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			r := sessctl(t, nil, "verify", "--timeout", "40s", tc.conn, tc.schema, "SessionData")
			for _, want := range []string{"did not answer within 2s", tc.setting, "--wait"} {
				if r.code != ExitFailed || !strings.Contains(r.stderr, want) {
					t.Errorf("%s: exit %d, said\n%s\nwant exit 1 saying %q", tc.conn, r.code, r.stderr, want)
				}
			}
			if strings.Contains(r.stderr, "--timeout") {
				t.Errorf("%s: the attempt was not bounded by %s: --timeout ended it\n%s", tc.conn, tc.setting, r.stderr)
			}
		})
	}
}

// TestUnansweredAttemptWithinWait: with no connect timeout in the string,
// an attempt is bounded by what is left of --wait, and retried until it
// runs out; the message says so, on every dialect with a server.
func TestUnansweredAttemptWithinWait(t *testing.T) {
	port := silentPort(t)
	for _, tc := range []struct{ conn, schema string }{
		{fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable", port), "public"},
		{fmt.Sprintf("Host=127.0.0.1;Port=%d;Database=db;Username=u;SSL Mode=Disable", port), "public"},
		{fmt.Sprintf("u:pw@tcp(127.0.0.1:%d)/db", port), "db"},
		{fmt.Sprintf("sqlserver://sa:pw@127.0.0.1:%d?database=db&encrypt=disable", port), "dbo"},
	} {
		t.Run("", func(t *testing.T) {
			r := sessctl(t, nil, "verify", "--wait", "3s", "--timeout", "40s", tc.conn, tc.schema, "SessionData")
			for _, want := range []string{"still failing when --wait 3s ran out", "did not answer within", "what was left of --wait 3s"} {
				if r.code != ExitFailed || !strings.Contains(r.stderr, want) {
					t.Errorf("%s: exit %d, said\n%s\nwant exit 1 saying %q", tc.conn, r.code, r.stderr, want)
				}
			}
		})
	}
}
