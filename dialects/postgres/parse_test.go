package postgres_test

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, display string
		secret      string
	}{
		{"postgres://app:s3cr%40t@db.example:6432/app?sslmode=disable", "postgres://app@db.example:6432/app", "s3cr@t"},
		{"host=db user=app password='p w\\'d' dbname=app sslmode=disable", "postgres://app@db:5432/app", "p w'd"},
		{"Host=db;Port=6432;Database=app;Username=app;Password=\"x;y\";SSL Mode=Disable;Pooling=true", "postgres://app@db:6432/app", "x;y"},
	} {
		c, err := registry.Parse(tc.in, "")
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if c.Display != tc.display {
			t.Errorf("Parse(%q).Display = %q, want %q", tc.in, c.Display, tc.display)
		}
		if strings.Contains(c.Display, tc.secret) {
			t.Errorf("Display %q shows the password", c.Display)
		}
		if !slices.Contains(c.Secrets, tc.secret) {
			t.Errorf("Parse(%q).Secrets = %q, want it to hold %q", tc.in, c.Secrets, tc.secret)
		}
	}
	c, err := registry.Parse("Host=db;Database=app;Username=app;Pooling=true;Maximum Pool Size=50", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 {
		t.Errorf("Npgsql-only settings should each warn: %q", c.Warnings)
	}
	for _, bad := range []string{
		"Host=db;Database=app;Frobnicate=1",
		"Host=db;Port=lots",
		"Host=db;SSL Mode=Sometimes",
		"postgres://u:pw@h:notaport/db",
	} {
		_, err := registry.Parse(bad, "postgres")
		if !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("Parse(%q) = %v, want ErrConnString", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("Parse(%q) error shows the password: %v", bad, err)
		}
	}
}

// TestNpgsqlPasswordWithFormFeed: a password with \v or \f, which libpq
// and pgx read as white space, must be quoted in the libpq string, or the
// rest of it is read as other settings. Found by FuzzConnSecrets.
func TestNpgsqlPasswordWithFormFeed(t *testing.T) {
	for _, pw := range []string{"a\fhost=elsewhere", "a\vhost=elsewhere", "\f", "\v"} {
		conn, err := registry.Parse(`Host=db;Username=u;Password="`+pw+`";Database=d`, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(conn.DSN)
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if cfg.Password != pw || cfg.Host != "db" {
			t.Errorf("password %q: pgx reads password %q, host %q", pw, cfg.Password, cfg.Host)
		}
	}
}

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
			conn, err := registry.Parse(raw, dialect)
			if err != nil {
				t.Errorf("Parse(%q, %q): %v", raw, dialect, err)
				continue
			}
			if got := pgxHosts(t, conn); !slices.Equal(got, tc.hosts) {
				t.Errorf("Parse(%q): pgx tries %q, want %q", raw, got, tc.hosts)
			}
			if conn.Display != tc.display {
				t.Errorf("Parse(%q).Display = %q, want %q", raw, conn.Display, tc.display)
			}
		}
	}
	for _, bad := range []string{"Host=h1:notaport", "Host=h1:99999", "Host=h1,,h2", "Host=h1,", "Host=[::1]:x"} {
		_, err := registry.Parse(bad+";Database=d;Username=u", "postgres")
		if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "Host") {
			t.Errorf("Parse(%q) = %v, want a connection-string error about Host", bad, err)
		}
	}
}

// TestDisplayIPv6: every PostgreSQL form shows an IPv6 host in
// brackets, so that the display reads back as the URL it looks like.
func TestDisplayIPv6(t *testing.T) {
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
		conn, err := registry.Parse(raw, "postgres")
		if err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
			continue
		}
		if conn.Display != want {
			t.Errorf("Parse(%q).Display = %q, want %q", raw, conn.Display, want)
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
		conn, err := registry.Parse(raw, "")
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
		_, err := registry.Parse("Host=h;Username=u;Database=d;Target Session Attributes="+v, "")
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
			conn, err := registry.Parse(raw, dialect)
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

// pgxHosts are the host:port pairs pgx tries for conn, in order, once each.
func pgxHosts(t *testing.T, conn *dialects.Conn) []string {
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
