package registry

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

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

// setting is a connection string and what its driver's DSN must hold to
// honour its setting ("": the string must be refused).
type setting struct{ Raw, Dialect, In string }
