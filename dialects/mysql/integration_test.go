package mysql_test

import (
	"context"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
)

// TestQuoteLiteralOnServer: what QuoteLiteral writes reads back as
// the string it was given, whether or not sql_mode has
// NO_BACKSLASH_ESCAPES, and whatever the connection's character set.
func TestQuoteLiteralOnServer(t *testing.T) {
	t.Parallel()
	for _, settings := range []string{
		"sql_mode=" + url.QueryEscape("''"),
		"sql_mode=" + url.QueryEscape("'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"),
		"charset=latin1",
	} {
		t.Run(settings, func(t *testing.T) {
			t.Parallel()
			s := dialecttest.Get(t, "mysql")
			s.DSN = s.Conn(t).DSN + "&" + settings // the driver's form always has parameters
			db := s.Open(t)
			for _, want := range []string{"plain", "it's", `back\slash`, `\'`, "a`b\"c", "é ü", "nul\x00byte", "line\nbreak", "%_"} {
				// HEX, because the server converts results to the
				// connection's character set.
				var got string
				if err := db.QueryRow("SELECT HEX(" + dialecttest.QuoteLiteral(s.Dialect, want) + ")").Scan(&got); err != nil {
					t.Errorf("SELECT %s: %v", dialecttest.QuoteLiteral(s.Dialect, want), err)
					continue
				}
				if got != strings.ToUpper(hex.EncodeToString([]byte(want))) {
					t.Errorf("%s reads back as %s, want %q in UTF-8", dialecttest.QuoteLiteral(s.Dialect, want), got, want)
				}
			}
		})
	}
}

// TestPermanent: --wait stops at once on a refused login.
func TestPermanent(t *testing.T) {
	t.Parallel()
	s := dialecttest.Get(t, "mysql")
	cfg, err := gomysql.ParseDSN(s.Conn(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = "sessctl_no_such_user", "wrong"
	d := s.Dialect
	bad, err := registry.Parse(cfg.FormatDSN(), "mysql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := d.Open(bad, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	if err == nil || !dialects.Permanent(d, err) {
		t.Errorf("login as a user that does not exist: %v, want a permanent error", err)
	}
}
