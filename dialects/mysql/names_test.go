package mysql

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
)

func TestQuote(t *testing.T) {
	m := Dialect{}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "`SessionData`"},
		{"a`b", "`a``b`"},
		{"``", "``````"},
		{`a"b`, "`a\"b`"},
		{"a]b", "`a]b`"},
		{`a\b`, "`a\\b`"}, // a backslash means nothing between backticks
		{"x; DROP TABLE y", "`x; DROP TABLE y`"},
	} {
		if got := m.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestQuoteLiteral(t *testing.T) {
	m := Dialect{}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "_utf8mb4'SessionData'"},
		{"it's", "_utf8mb4'it''s'"},
		{"a`b\"c]d", "_utf8mb4'a`b\"c]d'"},
		{`a\'b`, "_utf8mb4 X'615C2762'"}, // no backslash ever reaches a '…' literal
		{"a\x00b", "_utf8mb4 X'610062'"},
		{"é", "_utf8mb4'é'"},
	} {
		if got := m.QuoteLiteral(tc.in); got != tc.want {
			t.Errorf("QuoteLiteral(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	m := Dialect{}
	for _, name := range []string{
		"SessionData", "a`b", "Sess\"ion]Da`ta'; DROP TABLE y; --", " leading", "%_",
		strings.Repeat("é", 64), // 64 characters, 128 bytes: MySQL counts characters
	} {
		if err := m.CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v, want it accepted", name, err)
		}
	}
	for _, name := range []string{
		"", "a\x00b", "tab\there", "trailing ", strings.Repeat("a", 65), strings.Repeat("é", 65),
		"smile😀", "#mysql50#old", "#sql-tmp", "#SQLx",
	} {
		if err := m.CheckName(name); !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

// TestFileNames: MySQL keeps a table in files named after it, each
// character other than a-z, A-Z, 0-9 and _ spelled in 3 or 5 bytes; a name
// whose file name the file system cannot hold is refused before create
// fails on it. The limits are what MariaDB 10.11 accepts on Linux.
func TestFileNames(t *testing.T) {
	m := Dialect{}
	for in, want := range map[string]int{"a_Z9": 4, "a b": 7, "é": 3, "Ω": 3, "Ж": 3, "ａ": 3, "デ": 5, "×": 5, "-": 5} {
		if got := fileNameLen(in); got != want {
			t.Errorf("fileNameLen(%q) = %d, want %d", in, got, want)
		}
	}
	for _, tc := range []struct {
		name       string
		table, db  bool // accepted as a table, as a database
		derivedBad bool // its version table's name is refused
	}{
		{strings.Repeat("デ", 48), true, true, false},
		{strings.Repeat("デ", 49), true, true, true},
		{strings.Repeat("デ", 50), true, true, true},
		{strings.Repeat("デ", 51), false, true, true},
		{strings.Repeat("デ", 52), false, false, true},
		{strings.Repeat("é", 64), true, true, true},
	} {
		if err := m.CheckName(tc.name); (err == nil) != tc.table {
			t.Errorf("CheckName(%d × %q) = %v", utf8.RuneCountInString(tc.name), tc.name[:3], err)
		}
		if err := m.CheckSchema(tc.name); (err == nil) != tc.db {
			t.Errorf("CheckSchema(%d × %q) = %v", utf8.RuneCountInString(tc.name), tc.name[:3], err)
		}
		if err := m.CheckName(m.Names("app", tc.name).VersionTable); (err != nil) != tc.derivedBad {
			t.Errorf("CheckName of the version table of %d × %q = %v", utf8.RuneCountInString(tc.name), tc.name[:3], err)
		}
	}
}

func TestNames(t *testing.T) {
	m := Dialect{}
	n := m.Names("app", "SessionData")
	if n.VersionTable != "SessionData_migrations" || n.ExpiryIndex != "Index_ExpiresAtTime" || n.PrimaryKey != "" {
		t.Errorf("Names(app, SessionData) = %+v", n)
	}

	// A derived name over 64 characters makes the table name too long.
	if err := m.CheckName(m.Names("app", strings.Repeat("a", 53)).VersionTable); err != nil {
		t.Errorf("53-character table: %v, want its version table accepted", err)
	}
	if err := m.CheckName(m.Names("app", strings.Repeat("a", 54)).VersionTable); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("54-character table: %v, want its 65-character version table rejected", err)
	}

	// golang-migrate splices the version table's name unescaped into `…`
	// and '…': it must hold none of the characters that end those.
	seen := map[string]string{}
	for _, table := range []string{"a`b", "a'b", `a\b`, "a_b", "Sess\"ion]Da`ta'; DROP TABLE y; --"} {
		vt := m.Names("app", table).VersionTable
		if strings.ContainsAny(vt, "`'\\") {
			t.Errorf("version table of %q is %q, which golang-migrate would splice unsafely", table, vt)
		}
		if other, ok := seen[vt]; ok {
			t.Errorf("tables %q and %q share the version table %q", other, table, vt)
		}
		seen[vt] = table
		if again := m.Names("app", table).VersionTable; again != vt {
			t.Errorf("version table of %q is %q, then %q", table, vt, again)
		}
	}
}
