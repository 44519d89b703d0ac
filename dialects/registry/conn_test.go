package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

// TestDetect: every form users paste goes to its dialect, and an
// unrecognised string is a usage error that names --dialect.
func TestDetect(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "sessions")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/db":                                           "postgres",
		"postgresql://h/db?sslmode=require":                                  "postgres",
		"host=127.0.0.1 dbname=test user=postgres":                           "postgres",
		"Host=127.0.0.1;Database=test;Username=postgres":                     "postgres",
		"Host=h;Port=5432;Database=d;Username=u;Password=p;SSL Mode=Require": "postgres",
		"Server=h;Port=5432;Database=d;User Id=u":                            "postgres",
		"app.db":                   "sqlite",
		"./data/sessions.sqlite3":  "sqlite",
		"/var/lib/app/cache":       "sqlite",
		existing:                   "sqlite",
		"sqlite:app.db":            "sqlite",
		"sqlite:///var/lib/app.db": "sqlite",
		"file:app.db?cache=shared": "sqlite",
		"Data Source=app.db":       "sqlite",
	} {
		d, err := Detect(in)
		if err != nil {
			t.Errorf("Detect(%q): %v, want %s", in, err, want)
			continue
		}
		if d.Name() != want {
			t.Errorf("Detect(%q) = %s, want %s", in, d.Name(), want)
		}
	}
	for _, in := range []string{"localhost", "Foo=bar;Baz=1", "postgress://h/db", "", "  "} {
		_, err := Detect(in)
		if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "--dialect") {
			t.Errorf("Detect(%q) = %v, want an unrecognised-string error that names --dialect", in, err)
		}
	}
}

func TestParseSQLite(t *testing.T) {
	for in, path := range map[string]string{
		"app.db":                          "app.db",
		"sqlite:app.db":                   "app.db",
		"sqlite://rel/app.db":             "rel/app.db",
		"sqlite:///abs/app.db":            "/abs/app.db",
		"file:dir%20x/app.db?mode=rw":     "dir x/app.db",
		"Data Source=app.db;Cache=Shared": "app.db",
	} {
		c, err := Parse(in, "")
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if c.Path != path {
			t.Errorf("Parse(%q).Path = %q, want %q", in, c.Path, path)
		}
	}
}

// TestParseErrorsHideSecretsInSettingNames: a string of another form, read
// as Key=Value pairs (a MySQL DSN with --dialect postgres), has the
// password in what reads as a setting's name; the error must not quote it.
// Found by FuzzParseConn.
func TestParseErrorsHideSecretsInSettingNames(t *testing.T) {
	const pw = "zq9secret" // lower case: setting names are folded to it
	for _, raw := range []string{
		"u:" + pw + "@tcp(h:3306)/d?parseTime=true",
		"u:" + pw + "@tcp(h:3306)/d;x",
		"u:" + pw + "@tcp(h:3306)/d;x=1",
		"u:" + pw + "@tcp(h:3306)/d?a=1;x='y",
		"u:" + pw + "@tcp(h:3306)/d?a=1;x='y'z",
	} {
		for _, d := range List() {
			_, err := Parse(raw, d)
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("Parse(%q, %s): %v", raw, d, err)
			}
		}
	}
}

// TestParseErrorsMaskSecretsInValues: a ';' missing puts the password in
// the value of another setting, which the error quotes. Found by
// FuzzParseConn.
func TestParseErrorsMaskSecretsInValues(t *testing.T) {
	const pw = "Zq9secret"
	for raw, dialect := range map[string]string{
		"Host=h;Port=5432 password=" + pw + ";Database=d":         "postgres",
		"Server=h;Port=3306 password=" + pw + ";Database=d":       "mysql",
		"Server=h;SslMode=x password=" + pw + ";Database=d":       "mysql",
		"Host=h;SSL Mode=x password=" + pw + ";Database=d":        "postgres",
		"Server=h;Encrypt=x;Integrated Security=x password=" + pw: "sqlserver",
	} {
		_, err := Parse(raw, dialect)
		if err == nil || !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("Parse(%q, %s) = %v, want an ErrConnString", raw, dialect, err)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Parse(%q, %s): %v", raw, dialect, err)
		}
	}
}

// TestParseErrorsHideUnquotedPasswordRest: a password holding an unquoted
// ';' goes on as what reads as the next setting; no message names it.
func TestParseErrorsHideUnquotedPasswordRest(t *testing.T) {
	for _, tc := range []struct{ raw, dialect, rest string }{
		{"Server=h;Database=d;User Id=u;Password=Summer;Fall 2024;", "sqlserver", "Fall 2024"},
		{"Server=h;Database=d;User Id=u;Password=Summer;Fall=2024;", "sqlserver", "fall"},
		{"Host=h;Database=d;Username=u;Password=Summer;Fall=2024", "postgres", "fall"},
		{"Server=h;Port=3306;Database=d;Uid=u;Pwd=Summer;Fall=2024", "mysql", "fall"},
		{"Server=h;Password=ab;cd='x", "sqlserver", "cd"},
		{"Server=h;Password=ab;cd='x' y", "sqlserver", "cd"},
		{"Server=h;Password=ab;cd=ef;gh;", "sqlserver", "gh"},
		{"Host=h;Password=ab;Port=5432;gh=ij", "postgres", "gh"},
	} {
		_, err := Parse(tc.raw, tc.dialect)
		if err == nil || !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("Parse(%q, %s) = %v, want an ErrConnString", tc.raw, tc.dialect, err)
			continue
		}
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.rest)) || !strings.Contains(err.Error(), "must be quoted") {
			t.Errorf("Parse(%q, %s): %v", tc.raw, tc.dialect, err)
		}
	}
}

// TestMySQLURLErrorHidesPassword: url.Parse quotes what it cannot read,
// which with a '/', '?' or '#' in the password is the password's start.
func TestMySQLURLErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{"mysql://u:secret?pw@h/db", "mysql://u:secret/pw@h/db", "mysql://u:secret#pw@h/db", "mysql://u:pass%zzword@h/db"} {
		_, err := Parse(raw, "mysql")
		if err == nil || !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("Parse(%q) = %v, want an ErrConnString", raw, err)
			continue
		}
		for _, part := range []string{"secret", "%zz", "zzword"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("Parse(%q): %v", raw, err)
			}
		}
	}
}
