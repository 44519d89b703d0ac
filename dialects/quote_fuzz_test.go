package dialects_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// hostileNames seed the name fuzz targets: the names STYLE.md says to test
// quoting with, every dialect's quote characters, comment and statement
// breakers, NUL, invalid UTF-8, control and wide characters, and names at
// and over the length limits.
var hostileNames = []string{
	"SessionData", "main", "public", "dbo", "app", "select", "Id",
	`a"b`, "a`b", "a]b", "a[b", "a'b", `a\b`, `a\'b`, `\`, `"`, "`", "]", "'", `""`, "``", "]]", "''",
	"x; DROP TABLE y", "x`; DROP TABLE y; --", `x"; DROP TABLE y; --`, "x]; DROP TABLE y; --", "x'); DROP TABLE y; --",
	"-- c", "/* c */", "*/", "# c", "$sessctl$", "$sessctl1$", "$$", "{{", "}}", "{{.Table}}", "%s", "%[1]s",
	"a\x00b", "\xff", "a\xc3", "\xed\xa0\x80", "a\nb", "a\rb", "\t", "\u0085", "\u2028", " lead", "trail ", "a b",
	"Sessión データ", "😀", "\ufeffbom", "N'x'", "E'x'", "X'41'", "_utf8mb4'x'", "sqlite_x", "#sql-x", "#mysql50#x", "#temp",
	strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 128), strings.Repeat("é", 32), strings.Repeat("😀", 64),
	strings.Repeat(`"`, 40), strings.Repeat("`", 40), strings.Repeat("]", 70),
}

// nameLimits are the longest names each engine keeps whole, counted its
// way, from the engines' documentation (not from sessctl's code).
var nameLimits = map[string]func(string) bool{
	"postgres":  func(s string) bool { return len(s) <= 63 }, // NAMEDATALEN-1 bytes
	"mysql":     func(s string) bool { return utf8.RuneCountInString(s) <= 64 },
	"sqlserver": func(s string) bool { return len(utf16.Encode([]rune(s))) <= 128 },
	"sqlite":    func(string) bool { return true },
}

// FuzzQuote: every dialect's Quote and QuoteLiteral, read back by the
// engine's rule (dialecttest.Lex), give the input whatever it is; names
// with NUL, invalid UTF-8 or control characters are refused; and every
// name NewTable accepts, derived names included, is under the engine's
// limit and round-trips.
func FuzzQuote(f *testing.F) {
	for _, n := range hostileNames {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, dn := range registry.List() {
			d, _ := registry.Lookup(dn)
			roundTrip(t, dn, d.Quote(name), dialecttest.Ident, name)
			roundTrip(t, dn, dialecttest.QuoteLiteral(d, name), dialecttest.Literal, name)

			err := d.CheckName(name)
			bad := !utf8.ValidString(name) || strings.ContainsRune(name, 0) || strings.IndexFunc(name, unicode.IsControl) >= 0 || name == ""
			if bad && err == nil {
				t.Errorf("%s.CheckName(%q) accepted a name with NUL, invalid UTF-8 or a control character", dn, name)
			}
			if err != nil && !errors.Is(err, dialects.ErrInvalidName) {
				t.Errorf("%s.CheckName(%q) = %v, not an ErrInvalidName", dn, name, err)
			}

			for _, sch := range []string{name, dialecttest.DefaultSchema(d), "main"} {
				tbl, err := schema.NewTable(d, sch, name)
				if err != nil {
					if !errors.Is(err, dialects.ErrInvalidName) {
						t.Errorf("%s: NewTable(%q, %q) = %v, not an ErrInvalidName", dn, sch, name, err)
					}
					continue
				}
				if bad {
					t.Errorf("%s: NewTable(%q, %q) accepted a name with NUL, invalid UTF-8 or a control character", dn, sch, name)
				}
				all := append([]string{tbl.Schema, tbl.Table}, tbl.Derived()...)
				for _, n := range all {
					if !nameLimits[dn](n) {
						t.Errorf("%s: NewTable(%q, %q) accepted %q, over the engine's name limit", dn, sch, name, n)
					}
					roundTrip(t, dn, d.Quote(n), dialecttest.Ident, n)
				}
				switch dn {
				case "sqlserver": // golang-migrate splices the names into [..] and N'..'
					for _, n := range all {
						if strings.ContainsAny(n, "]'") {
							t.Errorf("sqlserver: NewTable(%q, %q) accepted %q, which golang-migrate cannot quote", sch, name, n)
						}
					}
				case "mysql": // golang-migrate splices the version table into `..` and '..'
					if strings.ContainsAny(tbl.VersionTable, "`'\\") {
						t.Errorf("mysql: version table %q of %q holds a character golang-migrate cannot quote", tbl.VersionTable, name)
					}
				}
				toks, err := dialecttest.Lex(dn, tbl.String())
				if err != nil || len(toks) != 3 || toks[0] != (dialecttest.Token{Kind: dialecttest.Ident, Text: sch}) ||
					toks[1] != (dialecttest.Token{Kind: dialecttest.Punct, Text: "."}) ||
					toks[2] != (dialecttest.Token{Kind: dialecttest.Ident, Text: name}) {
					t.Errorf("%s: the table %q.%q reads back as %v (%v)", dn, sch, name, toks, err)
				}
			}
		}
	})
}

// roundTrip fails t unless quoted, read as dialect reads SQL, is one token
// of kind standing for want (a literal may have a character set before it).
func roundTrip(t *testing.T, dialect, quoted string, kind dialecttest.Kind, want string) {
	t.Helper()
	toks, err := dialecttest.Lex(dialect, quoted)
	if err != nil {
		t.Errorf("%s: %s reads back with an error: %v", dialect, quoted, err)
		return
	}
	if kind == dialecttest.Literal && dialect == "mysql" && len(toks) == 2 && toks[0] == (dialecttest.Token{Kind: dialecttest.Word, Text: "_utf8mb4"}) {
		toks = toks[1:]
	}
	if len(toks) != 1 || toks[0].Kind != kind || toks[0].Text != want {
		t.Errorf("%s: %q reads back as %v, want one %s %q", dialect, quoted, toks, kind, want)
	}
}
