package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestQuoteHostile(t *testing.T) {
	for _, name := range List() {
		d, _ := Lookup(name)
		for _, h := range hostile {
			q := d.Quote(h)
			if len(q) < 2 {
				t.Fatalf("%s.Quote(%q) = %q", name, h, q)
			}
			open, close := q[:1], q[len(q)-1:]
			inner := q[1 : len(q)-1]
			// Every close-quote character inside must be doubled, so the
			// identifier cannot end early.
			if strings.Count(strings.ReplaceAll(inner, close+close, ""), close) != 0 {
				t.Errorf("%s.Quote(%q) = %q: a lone %s ends the identifier early", name, h, q, close)
			}
			if strings.ReplaceAll(inner, close+close, close) != h {
				t.Errorf("%s.Quote(%q) = %q: does not round-trip", name, h, q)
			}
			_ = open
		}
	}
}

func TestQuoteLiteral(t *testing.T) {
	lite, _ := Lookup("sqlite")
	if got := lite.(interface{ QuoteLiteral(string) string }).QuoteLiteral(`it's`); got != `'it''s'` {
		t.Errorf("sqlite QuoteLiteral = %s", got)
	}
}

func TestCheckNameSQLite(t *testing.T) {
	lite, _ := Lookup("sqlite")
	if err := lite.CheckName("sqlite_sessions"); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("a sqlite_ name: %v, want ErrInvalidName", err)
	}
	if err := lite.CheckSchema("other"); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("schema other: %v, want ErrInvalidName", err)
	}
	if err := lite.CheckName(strings.Repeat("a", 1000)); err != nil {
		t.Errorf("a long name: %v", err)
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("oracle"); !errors.Is(err, dialects.ErrUnknownDialect) || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("Lookup(oracle) = %v, want an error listing the dialects", err)
	}
	if d, err := Lookup("Postgres"); err != nil || d.Name() != "postgres" {
		t.Errorf("Lookup(Postgres) = %v, %v", d, err)
	}
}

// hostile are names built to break careless quoting.
var hostile = []string{`a"b`, "a`b", "a]b", "a'b", "x; DROP TABLE y", "-- c", "/* c */", `a\b`, "Sessión データ", "select", "$sessctl$"}
