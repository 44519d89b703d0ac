package dialects_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
)

// connSeeds are typical and hostile connection strings of every form.
var connSeeds = []string{
	"postgres://postgres:s3cr3t-pw@127.0.0.1:5432/test?sslmode=disable",
	"postgresql://u:p%40ss%3Aw%2Frd@[::1]:5432/db",
	"postgres://u:pw@h:99999/db", "postgres://u:pw@[bad", "postgres://:@/", "postgres://u:@h/d",
	"host=127.0.0.1 port=5432 user=u password='it''s \\' secret' dbname=x",
	"host=h password=plain-pw dbname=d sslpassword=kp", "host=h password=", "password='unterminated",
	"Host=h;Database=d;Username=u;Password=\"a;b\"\"c\";Pooling=true",
	"Host=h;Password=Zq9-distinctive;Frobnicate=1", "Host=h;Port=5432;SSL Mode=Bogus;Password=pw",
	"Server=tcp:h,1433;Database=d;User Id=u;Password='it''s;here';Encrypt=True",
	"Data Source=.\\SQLEXPRESS;Initial Catalog=d;Integrated Security=SSPI",
	"Server=(localdb)\\MSSQLLocalDB;Password=pw", "Server=h;Authentication=Active Directory Interactive;Password=pw",
	"Server=h;Authentication=Active Directory Service Principal;User Id=app;Password=client-secret",
	"sqlserver://sa:Pass%3Bword@h:1433?database=d&encrypt=disable",
	"sqlserver://sa:pw@h?database=d&certificate=/nonexistent.pem",
	"Server=h;Port=3306;User ID=u;Password=pw;Database=d;SslMode=Required",
	"Server=h;Uid=u;Pwd=pw;Database=d;Certificate Password=cert-secret;Port=3306",
	"u:p@ss:w/rd@tcp(127.0.0.1:3306)/db?parseTime=true", "root:@tcp(127.0.0.1:3306)/test", "u:pw@unix(/tmp/s)/d",
	"u:pw@tcp(h:3306)/d?strict=true", "u:pw@tcp(h:3306)/d?x-migrations-table=t", "u:pw@tcp(h/d", "u:pw@/d?loc=Bogus",
	"mysql://u:pw@h:3306/d", "mysql://u:p%2Fw@tcp(h:3306)/d", "mysql://u:%zz@h/d",
	"sqlite:app.db", "file:app.db?mode=ro", "file:a%zz.db", "Data Source=app.db;Mode=ReadOnly", "app.db", "./dir/app",
	"", " ", ";", "=", "==", "'", `"`, "a=b", "://", "?", "@", "@tcp(", "\x00", "\xff", "Password=\"", "Password=''x",
	// Npgsql's host forms, libpq's quoting, settings honoured or refused,
	// unknown settings in detected forms.
	"Host=127.0.0.1:5432;Database=d;Username=u;Password=pw", "Host=h1:5432,h2:5433;Database=d;Username=u",
	"Host=h1, h2;Port=5433;Username=u", "Host=[::1]:5432;Username=u", "Host=::1;Port=6432", "Host=[fe80::1]:7000,10.0.0.2",
	"Host=h1:notaport;Password=pw", "Host=h1,,h2", "Host=[::1]:x", "Host=/var/run/postgresql;Port=5433",
	"Host=h1,h2;Target Session Attributes=ReadWrite", "Host=h;Target Session Attributes=PreferPrimary",
	"Host=h;Require Auth=ScramSHA256,!md5;Channel Binding=Require", "Host=h;GSS Encryption Mode=Require;Password=pw",
	"Host=h;Check Certificate Revocation=true", "Host=h;Database=d;Username=u;Frob=1;Password=pw",
	"host=h dbname=d user=u password='ab;cd'", "host=h password='a b;c\\'d' dbname=d", "host=h password=ab;cd dbname=d",
	"host=h dbnmae=d password=pw", "host=h password=Summer fall=2024", "host=h;port=5432", "host=h; dbname=d",
	"host=::1,127.0.0.1 port=1,2 user=u dbname=d", "postgres://u:pw@[::1]:5432,[::2]:5433/d",
	"Server=h;Port=3306;Uid=u;Pwd=pw;TlsVersion=Tls1.2,Tls1.3;SslMode=Required", "Server=h;Port=3306;Uid=u;TlsCipherSuites=x",
	"Server=[::1];Port=3306;Uid=u;Pwd=pw", "u:pw@tcp([::1]:3306)/d?x-migrations-table=m", "mysql://u:pw@h/d?x-tls-ca=/ca.pem",
	"Server=h;Database=d;User Id=u;Password=pw;User Instance=True", "Server=h;Database=d;User Id=u;Frob=1;Password=pw",
	"sqlserver://sa:pw@[::1]?database=d",
	"Data Source=app.db;Mode=ReadWrite", "Data Source=app.db;Mode=Memory", "Data Source=app.db;Foreign Keys=True",
	"Data Source=app.db;Recursive Triggers=yes", "Data Source=app.db;Frob=1", "file:app.db?immutable=1", "file:app.db?mode=memory",
	":memory:", "Data Source=:memory:",
}

// hermetic reports whether parsing raw touches only what a fuzz worker
// may: some settings name files a driver reads while parsing (certificates,
// pgpass), and a device or proc file could block or never end.
func hermetic(raw string) bool {
	for _, p := range []string{"/dev", "/proc", "/sys", `\\`} {
		if strings.Contains(raw, p) {
			return false
		}
	}
	return true
}

// FuzzParseConn: Detect and Parse, with every --dialect and without, never
// panic; their errors are connection-string errors that repeat none of the
// secrets SecretsOf finds in the string; and a string that parses has the
// password its driver will log in with among its secrets, so the
// redactor masks it.
func FuzzParseConn(f *testing.F) {
	for _, s := range connSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !hermetic(raw) {
			t.Skip("names a device, proc or network file")
		}
		if _, err := registry.Detect(raw); err != nil && !errors.Is(err, dialects.ErrConnString) {
			t.Errorf("Detect: %v is not an ErrConnString", err)
		}
		secrets := dialects.SecretsOf(raw)
		for _, dn := range append(registry.List(), "") {
			conn, err := registry.Parse(raw, dn)
			if err != nil {
				if !errors.Is(err, dialects.ErrConnString) {
					t.Errorf("Parse(--dialect %q): %v is not an ErrConnString", dn, err)
				}
				for _, s := range secrets {
					if strings.Count(raw, s) != 1 {
						continue // also something else: a message may name that
					}
					reparse := func(rs string) error {
						_, err := registry.Parse(strings.ReplaceAll(raw, s, rs), dn)
						return err
					}
					if leaks(err.Error(), s, reparse) {
						t.Errorf("Parse(--dialect %q): the error repeats the secret %q: %v", dn, s, err)
					}
				}
				continue
			}
			checkSecrets(t, dn, raw, conn)
		}
	})
}

// leaks reports whether msg, an error about a string that holds the secret
// s, repeats s: it has s in it, and reparse, the error about the same
// string with s rotated (its letters and digits changed), has the rotated
// s in it. A message that holds s only because s happens to be a word of
// it (a password "string") does not change with s, and so does not count.
func leaks(msg, s string, reparse func(rotated string) error) bool {
	rs := dialecttest.Rotate(s)
	if !strings.Contains(msg, s) || rs == s || strings.Contains(msg, rs) {
		return false
	}
	err := reparse(rs)
	return err != nil && strings.Contains(err.Error(), rs)
}

// checkSecrets fails t unless the password conn's driver will log in with
// is among the secrets that cmd registers for raw.
func checkSecrets(t *testing.T, dialect, raw string, conn *dialects.Conn) {
	t.Helper()
	pw, err := dialecttest.DriverPassword(conn)
	if err != nil {
		t.Errorf("Parse(--dialect %q) gave a DSN its driver cannot parse: %v", dialect, err)
		return
	}
	if pw == "" {
		return
	}
	all := append(dialects.SecretsOf(raw), conn.Secrets...)
	if !slices.Contains(all, pw) {
		t.Errorf("Parse(--dialect %q): the password %q is not among the secrets %q", dialect, pw, all)
	}
}

// FuzzConnSecrets writes a user, password, host and database into every
// form of connection string, each escaped as its form needs, and parses it
// as its dialect: it never panics; an error repeats no password; and a
// string that parses has the password its driver will log in with among
// its secrets, and that is the password written into it.
func FuzzConnSecrets(f *testing.F) {
	pws := []string{"s3cr3t", "p@ss:w/rd", `it's "quoted"`, "a;b=c", "pw with spaces ", " ", `back\slash`, "%zz", "100%",
		"tab\there", "ünïcødé", "\x00", "\xff", "x", "", "password", "Password=x", "'", `"`, ";", "@", ":", "/", "?", "&", "#"}
	for i, pw := range pws {
		f.Add(i, "user", pw, "127.0.0.1:5432", "db")
	}
	f.Add(3, "u;s\"er", "pw", "h,1433", "d'b")
	f.Add(7, "user", "pw", "[::1]:3306", "d/b")
	f.Add(2, "user", "pw", "h", "")
	f.Add(2, "user", "pw", "h1:5432,h2:5433", "db")
	f.Add(2, "user", "pw", "[::1]:5432", "db")
	f.Add(1, "user", "ab;cd", "h", "db")
	f.Add(1, "user", "a b", "h1,h2", "db")
	f.Add(6, "user", "pw", "[::1]", "db")
	f.Fuzz(func(t *testing.T, form int, user, password, host, db string) {
		raw, dn := dialecttest.ConnString(form, user, password, host, db)
		if !hermetic(raw) {
			t.Skip("names a device, proc or network file")
		}
		reparse := func(rotated string) error {
			raw, _ := dialecttest.ConnString(form, user, rotated, host, db)
			_, err := registry.Parse(raw, dn)
			return err
		}
		conn, err := registry.Parse(raw, dn)
		if err != nil {
			if !errors.Is(err, dialects.ErrConnString) {
				t.Errorf("Parse(%q, %s): %v is not an ErrConnString", raw, dn, err)
			}
			// A password that is also part of another setting may be named
			// as that setting.
			if password != "" && !strings.Contains(user+"\x00"+host+"\x00"+db, password) && leaks(err.Error(), password, reparse) {
				t.Errorf("Parse(%q, %s): the error repeats the password %q: %v", raw, dn, password, err)
			}
			return
		}
		checkSecrets(t, dn, raw, conn)
		// Settings files and command lines are text: a password that is
		// not UTF-8 cannot come from them (go-mssqldb makes it U+FFFD).
		if pw, err := dialecttest.DriverPassword(conn); err == nil && pw != password && utf8.ValidString(password) {
			t.Errorf("Parse(%q, %s): the driver would log in with the password %q, not %q", raw, dn, pw, password)
		}
	})
}
