package registry

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"

	"github.com/jackc/pgx/v5"
)

// TestNpgsqlHosts: Npgsql's Host takes host:port, a list of hosts each
// with or without a port (Port for those without), and IPv6 addresses, in
// brackets when a port follows; each reaches pgx as the hosts and ports it
// tries, and the display shows them all, IPv6 in brackets.
func TestNpgsqlHosts(t *testing.T) {
	for _, tc := range []struct {
		host    string
		hosts   []string
		display string
	}{
		{"Host=127.0.0.1:5432", []string{"127.0.0.1:5432"}, "postgres://u@127.0.0.1:5432/d"},
		{"Host=db.example:6432", []string{"db.example:6432"}, "postgres://u@db.example:6432/d"},
		{"Host=h1:5432,h2:5433", []string{"h1:5432", "h2:5433"}, "postgres://u@h1:5432,h2:5433/d"},
		{"Host=h1, h2 ;Port=5433", []string{"h1:5433", "h2:5433"}, "postgres://u@h1:5433,h2:5433/d"},
		{"Host=h1:5434,h2;Port=5433", []string{"h1:5434", "h2:5433"}, "postgres://u@h1:5434,h2:5433/d"},
		{"Host=h1:5434,h2", []string{"h1:5434", "h2:5432"}, "postgres://u@h1:5434,h2:5432/d"},
		{"Host=[::1]:5432", []string{"[::1]:5432"}, "postgres://u@[::1]:5432/d"},
		{"Host=[::1]", []string{"[::1]:5432"}, "postgres://u@[::1]:5432/d"},
		{"Host=::1;Port=6432", []string{"[::1]:6432"}, "postgres://u@[::1]:6432/d"},
		{"Host=fe80::1:2", []string{"[fe80::1:2]:5432"}, "postgres://u@[fe80::1:2]:5432/d"},
		{"Host=[fe80::1]:7000,10.0.0.2", []string{"[fe80::1]:7000", "10.0.0.2:5432"}, "postgres://u@[fe80::1]:7000,10.0.0.2:5432/d"},
	} {
		raw := tc.host + ";Database=d;Username=u;SSL Mode=Disable"
		for _, dialect := range []string{"", "postgres"} {
			conn, err := Parse(raw, dialect)
			if err != nil {
				t.Errorf("Parse(%q, %q): %v", raw, dialect, err)
				continue
			}
			if got := pgHosts(t, conn); !slices.Equal(got, tc.hosts) {
				t.Errorf("Parse(%q): pgx tries %q, want %q", raw, got, tc.hosts)
			}
			if conn.Display != tc.display {
				t.Errorf("Parse(%q).Display = %q, want %q", raw, conn.Display, tc.display)
			}
		}
	}
	for _, bad := range []string{"Host=h1:notaport", "Host=h1:99999", "Host=h1,,h2", "Host=h1,", "Host=[::1]:x"} {
		_, err := Parse(bad+";Database=d;Username=u", "postgres")
		if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "Host") {
			t.Errorf("Parse(%q) = %v, want a connection-string error about Host", bad, err)
		}
	}
}

// TestPostgresDisplayIPv6: every PostgreSQL form shows an IPv6 host in
// brackets, so that the display reads back as the URL it looks like.
func TestPostgresDisplayIPv6(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://u@[::1]:5432/d":                          "postgres://u@[::1]:5432/d",
		"postgres://u@[::1]:5432,[::2]:5433/d":               "postgres://u@[::1]:5432,[::2]:5433/d",
		"host=::1 port=5433 user=u dbname=d":                 "postgres://u@[::1]:5433/d",
		"host=::1,127.0.0.1 port=1,2 user=u dbname=d":        "postgres://u@[::1]:1,127.0.0.1:2/d",
		"Host=::1;Port=5433;Username=u;Database=d":           "postgres://u@[::1]:5433/d",
		"host=/var/run/postgresql port=5433 user=u dbname=d": "postgres://u@/var/run/postgresql:5433/d",
		"postgres://u@h/d?sslmode=prefer&host=h2,h3":         "postgres://u@h2:5432,h3:5432/d",
		"Host=h;Username=u;Database=d;SSL Mode=Prefer":       "postgres://u@h:5432/d",
		"Host=h1,h2;Username=u;Database=d;SSL Mode=Allow":    "postgres://u@h1:5432,h2:5432/d",
	} {
		conn, err := Parse(raw, "postgres")
		if err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
			continue
		}
		if conn.Display != want {
			t.Errorf("Parse(%q).Display = %q, want %q", raw, conn.Display, want)
		}
	}
}

// TestDisplayIPv6EveryDialect: an IPv6 host is shown in brackets in every
// dialect's display string, which reads back as a URL of that host.
func TestDisplayIPv6EveryDialect(t *testing.T) {
	for raw, dialect := range map[string]string{
		"postgres://u@[::1]:5432/d":                               "postgres",
		"host=::1 user=u dbname=d":                                "postgres",
		"Host=[::1]:5432;Username=u;Database=d":                   "postgres",
		"u:pw@tcp([::1]:3306)/d":                                  "mysql",
		"u:pw@tcp(::1)/d":                                         "mysql",
		"mysql://u:pw@[::1]:3306/d":                               "mysql",
		"Server=::1;Port=3306;User ID=u;Password=pw;Database=d":   "mysql",
		"Server=[::1];Port=3306;User ID=u;Password=pw;Database=d": "mysql",
		"sqlserver://sa:pw@[::1]:1433?database=d":                 "sqlserver",
		"sqlserver://sa:pw@[::1]?database=d":                      "sqlserver",
	} {
		conn, err := Parse(raw, dialect)
		if err != nil {
			t.Errorf("Parse(%q, %s): %v", raw, dialect, err)
			continue
		}
		u, err := url.Parse(conn.Display)
		if err != nil {
			t.Errorf("Parse(%q, %s).Display = %q, which is no URL: %v", raw, dialect, conn.Display, err)
			continue
		}
		if u.Hostname() != "::1" || !strings.Contains(conn.Display, "[::1]") {
			t.Errorf("Parse(%q, %s).Display = %q: want the host ::1 in brackets (url.Parse reads host %q)", raw, dialect, conn.Display, u.Hostname())
		}
	}
}

// TestTargetSessionAttributes: Npgsql's Target Session Attributes reach
// pgx as libpq's target_session_attrs, which it enforces; PreferPrimary,
// which pgx (as libpq) cannot do, and unknown values are refused.
func TestTargetSessionAttributes(t *testing.T) {
	for v, want := range map[string]string{
		"Any": "any", "Primary": "primary", "Standby": "standby", "PreferStandby": "prefer-standby",
		"prefer-standby": "prefer-standby", "ReadWrite": "read-write", "read-write": "read-write",
		"ReadOnly": "read-only", "read only": "read-only",
	} {
		raw := "Host=h1,h2;Username=u;Database=d;Target Session Attributes=" + v
		conn, err := Parse(raw, "")
		if err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
			continue
		}
		if !strings.Contains(conn.DSN, "target_session_attrs="+want) {
			t.Errorf("Parse(%q).DSN = %q, want target_session_attrs=%s", raw, conn.DSN, want)
		}
		cfg, err := pgx.ParseConfig(conn.DSN)
		if err != nil {
			t.Fatal(err)
		}
		if (want != "any") != (cfg.ValidateConnect != nil) {
			t.Errorf("Parse(%q): pgx would not check the server's session attributes", raw)
		}
	}
	for _, v := range []string{"PreferPrimary", "prefer-primary", "Sometimes"} {
		_, err := Parse("Host=h;Username=u;Database=d;Target Session Attributes="+v, "")
		if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "Target Session Attributes") {
			t.Errorf("Target Session Attributes=%s: %v, want it refused, named", v, err)
		}
	}
}

// TestLibpqQuotedSemicolon: a libpq string whose quoted value holds a ';'
// (or a space, or a quote) is libpq's, detected and parsed as libpq reads
// it, with or without --dialect postgres; so is an unquoted ';' inside a
// value, which libpq reads as the value's.
func TestLibpqQuotedSemicolon(t *testing.T) {
	for raw, pw := range map[string]string{
		"host=h dbname=d user=u password='ab;cd'":          "ab;cd",
		"host=h password='a b;c\\'d' dbname=d user=u":      "a b;c'd",
		"password = 'x;y' host=h":                          "x;y",
		"host=h dbname=d password=ab;cd user=u":            "ab;cd",
		"host=h sslmode=disable password=';' dbname='a;b'": ";",
	} {
		for _, dialect := range []string{"", "postgres"} {
			conn, err := Parse(raw, dialect)
			if err != nil {
				t.Errorf("Parse(%q, %q): %v", raw, dialect, err)
				continue
			}
			cfg, err := pgx.ParseConfig(conn.DSN)
			if err != nil || cfg.Password != pw || cfg.Host != "h" {
				t.Errorf("Parse(%q, %q): pgx reads password %q, host %q (%v); want %q, h", raw, dialect, cfg.Password, cfg.Host, err, pw)
			}
			if !slices.Contains(conn.Secrets, pw) {
				t.Errorf("Parse(%q): the password %q is not among the secrets %q", raw, pw, conn.Secrets)
			}
		}
	}
	// Key=Value;… in lower case is not libpq: a ';' that ends a value
	// is a separator.
	for _, raw := range []string{"host=h;dbname=d", "host=h; dbname=d", "password=ab;port=5432 host=h"} {
		if dialects.IsLibpq(raw) {
			t.Errorf("isLibpq(%q) = true, want false", raw)
		}
	}
}

// TestUnknownSettingNamed: a string of a recognisable form with one
// setting sessctl does not know is refused naming that setting, detected
// as with --dialect; a libpq string too; but never a word that may be the
// rest of a password.
func TestUnknownSettingNamed(t *testing.T) {
	for raw, dialect := range map[string]string{
		"Host=h;Database=d;Username=u;Frob=1":                        "postgres",
		"Host=h;Port=5432;Database=d;Frobnicate Level=2":             "postgres",
		"Server=h;Port=3306;Uid=u;Database=d;Frob=1":                 "mysql",
		"Server=h;Uid=u;Database=d;SslMode=Required;Frob=1":          "mysql",
		"Server=tcp:h,1433;Initial Catalog=d;User Id=u;Frob=1":       "sqlserver",
		"Data Source=.\\SQLEXPRESS;Integrated Security=false;Frob=1": "sqlserver",
		"Data Source=app.db;Frob=1":                                  "sqlite",
	} {
		_, auto := Parse(raw, "")
		_, explicit := Parse(raw, dialect)
		if !errors.Is(auto, dialects.ErrConnString) || !strings.Contains(strings.ToLower(auto.Error()), `"frob`) {
			t.Errorf("Parse(%q) = %v, want an error that names the setting", raw, auto)
			continue
		}
		if explicit == nil || auto.Error() != explicit.Error() {
			t.Errorf("Parse(%q) = %v; with --dialect %s = %v: want the same", raw, auto, dialect, explicit)
		}
	}
	_, err := Parse("Server=h;Database=d;User Id=u;Frob=1", "")
	if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), `"frob"`) ||
		!strings.Contains(err.Error(), "--dialect mysql") || !strings.Contains(err.Error(), "--dialect sqlserver") {
		t.Errorf("an ambiguous string with an unknown setting: %v, want the setting and both --dialect named", err)
	}
	for raw, want := range map[string]string{
		"host=h dbnmae=d user=u": `"dbnmae"`,
		"host=h dbname=d frob=1": `"frob"`,
	} {
		for _, dialect := range []string{"", "postgres"} {
			_, err := Parse(raw, dialect)
			if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "libpq") {
				t.Errorf("Parse(%q, %q) = %v, want a libpq error naming %s", raw, dialect, err, want)
			}
		}
	}
	// The rest of an unquoted password with a space, or a ';', is not named.
	for raw, rest := range map[string]string{
		"host=h password=Summer fall=2024":               "fall",
		"Host=h;Database=d;Username=u;Password=ab;cd=ef": "cd",
	} {
		_, err := Parse(raw, "")
		if !errors.Is(err, dialects.ErrConnString) || strings.Contains(strings.ToLower(err.Error()), rest) || !strings.Contains(err.Error(), "quoted") {
			t.Errorf("Parse(%q) = %v: want it refused without naming %q, saying to quote", raw, err, rest)
		}
	}
}

// TestSettingsHonouredOrRefused: a setting that changes what may be
// written, or who connects to which server, is never ignored: it reaches
// the driver, or the string is refused naming it.
func TestSettingsHonouredOrRefused(t *testing.T) {
	honouredOrRefused(t, []setting{
		{"Host=h;Username=u;Target Session Attributes=Primary", "postgres", "target_session_attrs=primary"},
		{"Host=h;Username=u;Check Certificate Revocation=true", "postgres", ""},
		{"Host=h;Username=u;GSS Encryption Mode=Require", "postgres", ""},
		{"Host=h;Username=u;Channel Binding=Require", "postgres", "channel_binding=require"},
		{"Host=h;Username=u;Require Auth=ScramSHA256", "postgres", "require_auth=scram-sha-256"},
		{"Host=h;Username=u;SSL Negotiation=Direct;SSL Mode=Require", "postgres", "sslnegotiation=direct"},
		{"Server=h;Port=3306;Uid=u;TlsCipherSuites=TLS_AES_128_GCM_SHA256", "mysql", ""},
		{"Server=h;Port=3306;Uid=u;SslMode=Required;TlsVersion=Tls1.3", "mysql", "tls=sessctl-"},
		{"u:pw@tcp(h:3306)/d?x-migrations-table=m", "mysql", ""},
		{"mysql://u:pw@h:3306/d?x-migrations-table=m", "mysql", ""},
		{"u:pw@tcp(h:3306)/d?tls=custom&x-tls-ca=/ca.pem", "mysql", ""},
		{"Server=h;Database=d;User Id=u;Password=pw;User Instance=True", "sqlserver", ""},
	})
}

func honouredOrRefused(t *testing.T, settings []setting) {
	t.Helper()
	for _, tc := range settings {
		conn, err := Parse(tc.Raw, tc.Dialect)
		if tc.In == "" {
			if !errors.Is(err, dialects.ErrConnString) {
				t.Errorf("Parse(%q, %s) = %v, want it refused", tc.Raw, tc.Dialect, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q, %s): %v", tc.Raw, tc.Dialect, err)
			continue
		}
		if !strings.Contains(conn.DSN, tc.In) {
			t.Errorf("Parse(%q, %s).DSN = %q, want it to hold %q", tc.Raw, tc.Dialect, conn.DSN, tc.In)
		}
		for _, w := range conn.Warnings {
			t.Errorf("Parse(%q, %s) warns %q: that setting must be honoured, not ignored", tc.Raw, tc.Dialect, w)
		}
	}
}

// pgHosts are the host:port pairs pgx tries for conn, in order, once each.
func pgHosts(t *testing.T, conn *dialects.Conn) []string {
	t.Helper()
	cfg, err := pgx.ParseConfig(conn.DSN)
	if err != nil {
		t.Fatalf("pgx does not read the DSN sessctl made: %v", err)
	}
	var out []string
	add := func(h string, p uint16) {
		if hp := net.JoinHostPort(h, strconv.Itoa(int(p))); !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	add(cfg.Host, cfg.Port)
	for _, f := range cfg.Fallbacks {
		add(f.Host, f.Port)
	}
	return out
}

// setting is a connection string and what its driver's DSN must hold to
// honour its setting ("": the string must be refused).
type setting struct{ Raw, Dialect, In string }
