package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestCheckName(t *testing.T) {
	pg := Dialect{}
	ok := []string{"SessionData", strings.Repeat("a", 63), "ééé", `a"b`, "x; DROP TABLE y"}
	bad := []string{"", strings.Repeat("a", 64), strings.Repeat("é", 32), "a\x00b", "a\nb", "\xff"}
	for _, n := range ok {
		if err := pg.CheckName(n); err != nil {
			t.Errorf("CheckName(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if err := pg.CheckName(n); !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func TestCheckSchema(t *testing.T) {
	pg := Dialect{}
	for _, n := range []string{"pg_temp", "pg_catalog", "pg_x"} {
		if err := pg.CheckSchema(n); !errors.Is(err, dialects.ErrInvalidName) || !strings.Contains(err.Error(), "pg_") {
			t.Errorf("CheckSchema(%q) = %v, want ErrInvalidName naming pg_", n, err)
		}
	}
	for _, n := range []string{"public", "PG_x", "app_pg_", strings.Repeat("a", 63)} {
		if err := pg.CheckSchema(n); err != nil {
			t.Errorf("CheckSchema(%q) = %v", n, err)
		}
	}
	// A table may begin with pg_: only schema names are reserved.
	if err := pg.CheckName("pg_class"); err != nil {
		t.Errorf("CheckName(pg_class) = %v", err)
	}
}

func TestQuoteLiteral(t *testing.T) {
	if got := (Dialect{}).QuoteLiteral(`it's a \ test`); got != `E'it''s a \\ test'` {
		t.Errorf("postgres QuoteLiteral = %s", got)
	}
}
