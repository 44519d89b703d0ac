package cmd

import (
	"fmt"
	"strings"
	"testing"
)

// ownWordPasswords are passwords that are words, or parts of words, of
// sessctl's own messages and of the drivers': each would mask sessctl's
// words if messages were masked by substring.
var ownWordPasswords = []string{"remove", "setting", "use", "a", "connect", "the", "not", "Password", "quoted", "value", "s", "1"}

// TestParseMessagesQuoteNoSecret: a connection string that does not parse,
// in every form, gets the same message whatever its password is: sessctl's
// own messages never quote the password (nor a value that may hold it), so
// none of their words is masked, and the password is never printed. Each
// string is tried with a distinctive secret and with each of
// ownWordPasswords; the messages must be identical, and hold neither.
func TestParseMessagesQuoteNoSecret(t *testing.T) {
	const distinct = "Zq7distinctSecret"
	for _, tc := range []struct {
		conn, dialect, say string
		// driver is where a driver's words begin, when the message ends
		// with them: a password that is a whole word of them is masked
		// there, by design, so only what comes before is compared.
		driver string
	}{
		{"Host=h;Password=%s;Frobnicate=1", "", "after the password", ""},
		{"Host=h;Port=x5432;Username=u;Password=%s", "", "Port", ""},
		{"Host=h;Port=5432 Password=%s;Database=d", "postgres", "not shown", ""},
		{"Host=h;Username=u;Password=%s;cd", "", "must be quoted", ""},
		{"Host=h;Username=u;SSL Mode=Sometimes;Password=%s", "", "SSL Mode", ""},
		{"host=h port=x password=%s", "", "port", "does not parse: "},
		{"host=h password=%s frobnicate=1", "", "after the password", ""},
		{"postgres://u:%s@[bad", "", "connection string", "PostgreSQL: "},
		{"Server=h;Port=3306;SslMode=Sometimes;User ID=u;Password=%s", "mysql", "SslMode", ""},
		{"Server=h;Port=3306;User ID=u;Password=%s;Connection Timeout=soon", "mysql", "not shown", ""},
		{"u:%s@tcp(h:3306/db", "mysql", "MySQL DSN", "MySQL DSN: "},
		{"Server=h,1433;User Id=u;Password=%s;Encrypt=maybe", "sqlserver", "encrypt", "SQL Server: "},
		{"Server=h,1433;User Id=u;Password=%s;Frobnicate=1", "sqlserver", "after the password", ""},
		{"Data Source=x.db;Mode=Sometimes;Password=%s", "sqlite", "Mode", ""},
	} {
		run := func(pw string) result {
			args := []string{"verify"}
			if tc.dialect != "" {
				args = append(args, "--dialect", tc.dialect)
			}
			return sessctl(t, nil, append(args, fmt.Sprintf(tc.conn, pw), "public", "SessionData")...)
		}
		want := run(distinct)
		if want.code != ExitUsage || strings.Contains(want.stderr, distinct) || !strings.Contains(want.stderr, tc.say) {
			t.Errorf("%s: exit %d, said %q; want exit 2 saying %q, without the password", tc.conn, want.code, want.stderr, tc.say)
			continue
		}
		if strings.Contains(want.stderr, "***") {
			t.Errorf("%s: said %q: sessctl's own message quotes the password, masked", tc.conn, want.stderr)
		}
		for _, pw := range ownWordPasswords {
			got := run(pw)
			same := got.stderr == want.stderr
			if i := strings.Index(want.stderr, tc.driver); tc.driver != "" && i >= 0 {
				same = strings.HasPrefix(got.stderr, want.stderr[:i+len(tc.driver)])
			}
			if got.code != want.code || !same {
				t.Errorf("%s with the password %q: exit %d, said\n%s\nwith another password: exit %d, said\n%s",
					tc.conn, pw, got.code, got.stderr, want.code, want.stderr)
			}
		}
	}
}
