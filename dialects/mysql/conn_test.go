package mysql

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessctl/sessctl/dialects"
)

// dsnOf parses the driver form ParseConn made, as Open does.
func dsnOf(t *testing.T, c *dialects.Conn) *gomysql.Config {
	t.Helper()
	cfg, err := gomysql.ParseDSN(c.DSN)
	if err != nil {
		t.Fatalf("the DSN ParseConn made does not parse: %v", err)
	}
	return cfg
}

func TestParseConn(t *testing.T) {
	for _, tc := range []struct {
		name, raw                      string
		user, pass, net, addr, db, tls string
		display                        string
		warning                        string // a substring of one warning
	}{
		{name: "DSN", raw: "root:@tcp(127.0.0.1:3306)/test",
			user: "root", net: "tcp", addr: "127.0.0.1:3306", db: "test", display: "mysql://root@127.0.0.1:3306/test"},
		{name: "DSN password with @ / :", raw: "app:p@ss/w:rd@tcp(db.example:3307)/cache?tls=skip-verify",
			user: "app", pass: "p@ss/w:rd", net: "tcp", addr: "db.example:3307", db: "cache", tls: "skip-verify",
			display: "mysql://app@db.example:3307/cache"},
		{name: "DSN unix socket", raw: "app:pw@unix(/run/mysqld/mysqld.sock)/cache",
			user: "app", pass: "pw", net: "unix", addr: "/run/mysqld/mysqld.sock", db: "cache",
			display: "mysql://app@unix(/run/mysqld/mysqld.sock)/cache"},
		{name: "DSN local time", raw: "app:pw@tcp(db)/cache?loc=Local",
			user: "app", pass: "pw", net: "tcp", addr: "db:3306", db: "cache", display: "mysql://app@db:3306/cache",
			warning: "ignoring loc=Local"},
		{name: "DSN golang-migrate parameter", raw: "app:pw@tcp(db)/cache?x-no-lock=true",
			user: "app", pass: "pw", net: "tcp", addr: "db:3306", db: "cache", display: "mysql://app@db:3306/cache",
			warning: "x-no-lock"},
		{name: "URL", raw: "mysql://app:p%40ss%2Fword@db.example/cache?tls=true",
			user: "app", pass: "p@ss/word", net: "tcp", addr: "db.example:3306", db: "cache", tls: "true",
			display: "mysql://app@db.example:3306/cache"},
		{name: "URL IPv6 and port", raw: "mysql://app:pw@[::1]:3307/cache",
			user: "app", pass: "pw", net: "tcp", addr: "[::1]:3307", db: "cache", display: "mysql://app@[::1]:3307/cache"},
		{name: "golang-migrate URL", raw: "mysql://app:p%40ss@tcp(db:3306)/cache",
			user: "app", pass: "p@ss", net: "tcp", addr: "db:3306", db: "cache", display: "mysql://app@db:3306/cache"},
		{name: "MySqlConnector", raw: "Server=db.example;Port=3307;Database=cache;User ID=app;Password=pw",
			user: "app", pass: "pw", net: "tcp", addr: "db.example:3307", db: "cache", tls: "preferred",
			display: "mysql://app@db.example:3307/cache"},
		{name: "MySqlConnector Uid Pwd", raw: "server=db;database=cache;uid=app;pwd='p;w''d'",
			user: "app", pass: "p;w'd", net: "tcp", addr: "db:3306", db: "cache", tls: "preferred",
			display: "mysql://app@db:3306/cache"},
		{name: "MySqlConnector SslMode None", raw: "Server=db;Database=cache;Uid=app;Pwd=pw;SslMode=None",
			user: "app", pass: "pw", net: "tcp", addr: "db:3306", db: "cache", tls: "false", display: "mysql://app@db:3306/cache"},
		{name: "MySqlConnector SslMode Required", raw: "Server=db;Database=cache;Uid=app;Pwd=pw;Ssl Mode=Required",
			user: "app", pass: "pw", net: "tcp", addr: "db:3306", db: "cache", tls: "skip-verify", display: "mysql://app@db:3306/cache"},
		{name: "MySqlConnector SslMode VerifyFull", raw: "Server=db;Database=cache;Uid=app;Pwd=pw;SslMode=VerifyFull",
			user: "app", pass: "pw", net: "tcp", addr: "db:3306", db: "cache", tls: "true", display: "mysql://app@db:3306/cache"},
		{name: "MySqlConnector socket", raw: "Server=/run/mysqld/mysqld.sock;Protocol=Unix;Database=cache;Uid=app",
			user: "app", net: "unix", addr: "/run/mysqld/mysqld.sock", db: "cache", tls: "preferred",
			display: "mysql://app@unix(/run/mysqld/mysqld.sock)/cache"},
		{name: "MySqlConnector hosts", raw: "Server=db1, db2;Database=cache;Uid=app;Pooling=true;AllowUserVariables=true",
			user: "app", net: "tcp", addr: "db1:3306", db: "cache", tls: "preferred", display: "mysql://app@db1:3306/cache",
			warning: "connects to the first, db1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dialect{}.ParseConn(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			cfg := dsnOf(t, c)
			got := []string{cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName, cfg.TLSConfig, c.Display}
			want := []string{tc.user, tc.pass, tc.net, tc.addr, tc.db, tc.tls, tc.display}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("user, password, net, address, database, tls, display = %q, want %q", got, want)
					break
				}
			}
			if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.MultiStatements || cfg.Timeout == 0 {
				t.Errorf("parseTime=%v loc=%v multiStatements=%v timeout=%v, want true, UTC, true, a dial timeout",
					cfg.ParseTime, cfg.Loc, cfg.MultiStatements, cfg.Timeout)
			}
			for k := range cfg.Params {
				if strings.HasPrefix(k, "x-") {
					t.Errorf("parameter %q would reach the server as a variable", k)
				}
			}
			warned := tc.warning == ""
			for _, w := range c.Warnings {
				warned = warned || strings.Contains(w, tc.warning)
			}
			if !warned {
				t.Errorf("warnings %q, want one that says %q", c.Warnings, tc.warning)
			}
			if tc.pass != "" {
				if strings.Contains(c.Display, tc.pass) {
					t.Errorf("Display %q shows the password", c.Display)
				}
				if !slices.Contains(c.Secrets, tc.pass) {
					t.Errorf("Secrets %q do not list the password %q", c.Secrets, tc.pass)
				}
			}
		})
	}
}

func TestParseConnErrors(t *testing.T) {
	const secret = "hunter2"
	for _, raw := range []string{
		"Server=db;Port=abc;Database=cache;Uid=app;Pwd=" + secret,
		"Server=db;Database=cache;Uid=app;Pwd=" + secret + ";Frobnicate=yes",
		"Server=db;Database=cache;Uid=app;Pwd=" + secret + ";SslMode=Require",
		"Server=db;Database=cache;Uid=app;Pwd=" + secret + ";Protocol=Pipe",
		"Server=db;Database=cache;Uid=app;Pwd=" + secret + ";CertificateFile=c.pfx;CertificatePassword=" + secret,
		"Server=db;Database=cache;Uid=app;Pwd=" + secret + ";SslCa=/nonexistent/ca.pem",
		"app:" + secret + "@tcp(db:3306/cache",
		"app:" + secret + "@tcp(db:3306)/cache?strict=true",
		"app:" + secret + "@tcp(db:3306)/cache?parseTime=maybe",
		"host=db dbname=cache password=" + secret,
		"mysql:" + secret,
		// Found by FuzzParseConn: parts go-sql-driver's DSN cannot hold.
		"Server=@;Database=cache;Uid=app;Pwd=" + secret,
		"Server=db@x;Database=cache;Uid=app;Pwd=" + secret,
		"Server=db;Database=cache;Uid=a:b;Pwd=" + secret,
	} {
		_, err := Dialect{}.ParseConn(raw)
		if !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("ParseConn(%q) = %v, want ErrConnString", raw, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseConn(%q): %q shows the password", raw, err)
		}
	}
}

func TestClaim(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want dialects.Certainty
	}{
		{"root:@tcp(127.0.0.1:3306)/test", dialects.Surely},
		{"app:pw@unix(/run/mysqld/mysqld.sock)/cache?parseTime=true", dialects.Surely},
		{"app:pw@/cache", dialects.Surely},
		{"mysql://app:pw@db/cache", dialects.Surely},
		{"Server=db;Port=3306;Database=cache;User ID=app;Password=pw", dialects.Surely},
		{"Server=db;Database=cache;Uid=app;Pwd=pw;SslMode=Preferred", dialects.Surely},
		{"Server=db;Database=cache;Uid=app;Pwd=pw;AllowPublicKeyRetrieval=true", dialects.Surely},
		{"Server=db;Database=cache;User Id=app;Password=pw", dialects.Possibly},
		{"Data Source=db;Initial Catalog=cache;User ID=app;Password=pw", dialects.Possibly},
		{"Server=db;Port=3307;Database=cache;Uid=app;Pwd=pw", dialects.Possibly},
		{"Server=db;Port=5432;Database=cache;Uid=app;Pwd=pw", dialects.Never},
		{"Server=db,1433;Database=cache;User Id=app;Password=pw;TrustServerCertificate=true", dialects.Never},
		{"Data Source=app.db", dialects.Never},
		{"Data Source=app", dialects.Never},
		{"Host=db;Database=cache;Username=app;Password=pw;SslMode=Require", dialects.Possibly},
		{"host=db dbname=cache", dialects.Never},
		{"postgres://app@db/cache", dialects.Never},
		{"app.db", dialects.Never},
		{"/var/lib/app.db", dialects.Never},
	} {
		if got := (Dialect{}).Claim(dialects.NewRawConn(tc.raw)); got != tc.want {
			t.Errorf("claim(%q) = %d, want %d", tc.raw, got, tc.want)
		}
	}
}
