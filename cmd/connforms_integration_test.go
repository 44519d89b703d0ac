package cmd

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// forward listens on the IPv6 loopback and forwards every connection to
// target, so that a test can reach a server that listens on 127.0.0.1 only
// at an IPv6 address. It returns the port.
func forward(t *testing.T, target string) int {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback to test IPv6 hosts on: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(s, c); done <- struct{}{} }()
				go func() { io.Copy(c, s); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// lifecycle creates, verifies and drops a table through conn, failing t
// unless each exits 0, and returns what create -v said on stderr.
func lifecycle(t *testing.T, conn, schema string) string {
	t.Helper()
	table := dialecttest.Table("Forms")
	r := must(t, 0, "create", "-v", conn, schema, table)
	must(t, 0, "verify", "--strict", conn, schema, table)
	must(t, 0, "drop", "--yes", conn, schema, table)
	return r.stderr
}

// TestNpgsqlHostsConnect: the Host forms of Npgsql strings that copy
// straight from appsettings.json reach the server: host:port, a list of
// hosts that pgx tries in turn (the first refusing), one Port for every
// host of a list, and IPv6 addresses with and without brackets, in every
// PostgreSQL form; verbose output shows every host, IPv6 in brackets.
func TestNpgsqlHostsConnect(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	cfg, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	host, port, user, db := cfg.Host, int(cfg.Port), cfg.User, cfg.Database
	closed := closedPort(t)
	v6 := forward(t, net.JoinHostPort(host, strconv.Itoa(port)))
	rest := fmt.Sprintf(";Database=%s;Username=%s;SSL Mode=Disable", db, user)
	for conn, shows := range map[string]string{
		fmt.Sprintf("Host=%s:%d", host, port) + rest:                                    fmt.Sprintf("@%s:%d/", host, port),
		fmt.Sprintf("Host=%s:%d,%s:%d", host, closed, host, port) + rest:                fmt.Sprintf("@%s:%d,%s:%d/", host, closed, host, port),
		fmt.Sprintf("Host=127.0.0.2,%s;Port=%d", host, port) + rest:                     fmt.Sprintf("@127.0.0.2:%d,%s:%d/", port, host, port),
		fmt.Sprintf("Host=[::1]:%d", v6) + rest:                                         fmt.Sprintf("@[::1]:%d/", v6),
		fmt.Sprintf("Host=::1;Port=%d", v6) + rest:                                      fmt.Sprintf("@[::1]:%d/", v6),
		fmt.Sprintf("postgres://%s@[::1]:%d/%s?sslmode=disable", user, v6, db):          fmt.Sprintf("@[::1]:%d/", v6),
		fmt.Sprintf("host=::1 port=%d user=%s dbname=%s sslmode=disable", v6, user, db): fmt.Sprintf("@[::1]:%d/", v6),
	} {
		if stderr := lifecycle(t, conn, s.Schema); !strings.Contains(stderr, "connecting to postgres://"+user+shows) {
			t.Errorf("%s: create -v said\n%s\nwant it to show the hosts as %q", conn, stderr, shows)
		}
	}
}

// TestMySQLIPv6Connect: MySQL's forms reach a server at an IPv6 address,
// and show it in brackets.
func TestMySQLIPv6Connect(t *testing.T) {
	s := dialecttest.Get(t, "mysql")
	c := s.Conn(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(c.Display, "mysql://"), "/")
	_, hostport, _ := strings.Cut(addr, "@")
	hostport, db, _ := strings.Cut(hostport, "/")
	v6 := forward(t, hostport)
	for _, conn := range []string{
		fmt.Sprintf("root:@tcp([::1]:%d)/%s", v6, db),
		fmt.Sprintf("mysql://root@[::1]:%d/%s", v6, db),
		fmt.Sprintf("Server=[::1];Port=%d;User ID=root;Database=%s;SslMode=None", v6, db),
		fmt.Sprintf("Server=::1;Port=%d;User ID=root;Database=%s;SslMode=None", v6, db),
	} {
		if stderr := lifecycle(t, conn, s.Schema); !strings.Contains(stderr, fmt.Sprintf("connecting to mysql://root@[::1]:%d/", v6)) {
			t.Errorf("%s: create -v said\n%s\nwant the host shown as [::1]:%d", conn, stderr, v6)
		}
	}
}
