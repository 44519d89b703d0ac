package sqlserver

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestSQLServerQuote(t *testing.T) {
	d := Dialect{}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "[SessionData]"},
		{"a]b", "[a]]b]"},
		{"]]", "[]]]]]"},
		{"x; DROP TABLE y", "[x; DROP TABLE y]"},
		{`a"b`, `[a"b]`},
		{"a`b", "[a`b]"},
		{"a[b", "[a[b]"},
	} {
		if got := d.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "N'SessionData'"},
		{"it's", "N'it''s'"},
		{"[dbo].[x; DROP TABLE y]", "N'[dbo].[x; DROP TABLE y]'"},
	} {
		if got := d.QuoteLiteral(tc.in); got != tc.want {
			t.Errorf("QuoteLiteral(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSQLServerCheckName(t *testing.T) {
	d := Dialect{}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"SessionData", true},
		{"x; DROP TABLE y", true},
		{`a"b`, true},
		{"Sessions état", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("é", 128), true}, // 128 UTF-16 units, 256 bytes
		{strings.Repeat("😀", 64), true},  // 64 surrogate pairs: 128 units
		{strings.Repeat("😀", 65), false}, // 130 units
		{"", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a]b", false},
		{"a'b", false},
		{"#temp", false},
		{"trailing ", false},
	} {
		err := d.CheckName(tc.name)
		if tc.ok && err != nil {
			t.Errorf("CheckName(%q): %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", tc.name, err)
		}
	}
	// The version table's name is derived: the table may have 117 characters.
	n := d.Names("dbo", strings.Repeat("t", 118))
	if err := d.CheckName(n.VersionTable); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("version table %d characters long: %v, want ErrInvalidName", len(n.VersionTable), err)
	}
	if err := d.CheckName(d.Names("dbo", strings.Repeat("t", 117)).VersionTable); err != nil {
		t.Errorf("version table of a 117-character table: %v", err)
	}
	if err := d.CheckName(n.ExpiryIndex); err != nil {
		t.Errorf("expiry index %q: %v", n.ExpiryIndex, err)
	}
	if n.PrimaryKey != "" {
		t.Errorf("primary key name %q: SQL Server names it itself, as dotnet sql-cache create leaves it", n.PrimaryKey)
	}
}

func TestSQLServerCollation(t *testing.T) {
	for _, tc := range []struct {
		collation string
		ok        bool
	}{
		{"SQL_Latin1_General_CP1_CS_AS", true},
		{"Latin1_General_100_CS_AS_SC_UTF8", true},
		{"Latin1_General_BIN2", true},
		{"Japanese_XJIS_140_BIN", true},
		{"SQL_Latin1_General_CP1_CI_AS", false},
		{"Latin1_General_CS_AI", false},
		{"Latin1_General_100_CI_AI", false},
		{"", false},
	} {
		if got := collationOK(tc.collation); got != tc.ok {
			t.Errorf("collation %q: ok = %v, want %v", tc.collation, got, tc.ok)
		}
	}
}
