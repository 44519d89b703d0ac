package dialecttest

import (
	"reflect"
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	id := func(s string) Token { return Token{Ident, s} }
	lit := func(s string) Token { return Token{Literal, s} }
	w := func(s string) Token { return Token{Word, s} }
	p := func(s string) Token { return Token{Punct, s} }
	for _, c := range []struct {
		dialect, sql string
		want         []Token
	}{
		{"postgres", `DROP TABLE "s"."a""b"; -- "x`, []Token{w("DROP"), w("TABLE"), id("s"), p("."), id(`a"b`), p(";"), {Comment, `-- "x`}}},
		{"postgres", `E'it''s \\ \''`, []Token{lit(`it's \ '`)}},
		{"postgres", `x = 'a\'`, []Token{w("x"), p("="), lit(`a\`)}},
		{"postgres", "DO $t$ SELECT '$t' $t$;", []Token{w("DO"), {Dollar, " SELECT '$t' "}, p(";")}},
		{"sqlserver", `[a]]b].N'it''s' "q"`, []Token{id("a]b"), p("."), lit("it's"), id("q")}},
		{"mysql", "`a``b` _utf8mb4'x' _utf8mb4 X'4142' # c", []Token{id("a`b"), w("_utf8mb4"), lit("x"), w("_utf8mb4"), lit("AB"), {Comment, "# c"}}},
		{"sqlite", `"a" 'b''c' /* d */`, []Token{id("a"), lit("b'c"), {Comment, "/* d */"}}},
	} {
		got, err := Lex(c.dialect, c.sql)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Lex(%s, %q) = %v, %v; want %v", c.dialect, c.sql, got, err, c.want)
		}
	}
	for _, c := range []struct{ dialect, sql string }{
		{"postgres", `"a`}, {"postgres", `E'\n'`}, {"postgres", "$t$ x"}, {"mysql", `'a\'b'`}, {"mysql", "X'4'"},
		{"sqlserver", "[a"}, {"sqlite", "/* x"},
	} {
		if got, err := Lex(c.dialect, c.sql); err == nil {
			t.Errorf("Lex(%s, %q) = %v, want an error", c.dialect, c.sql, got)
		}
	}
}

func TestSameShape(t *testing.T) {
	names := []string{"s", "t"}
	want := `DROP TABLE "s"."t"; SELECT E'"s"."t"'::regclass;`
	for _, c := range []struct {
		got     string
		gotName []string
		ok      bool
	}{
		{`DROP TABLE "x"."a""b"; SELECT E'"x"."a""b"'::regclass;`, []string{"x", `a"b`}, true},
		{`DROP TABLE "x"."a"b"; SELECT E'"x"."a"b"'::regclass;`, []string{"x", `a"b`}, false},         // unbalanced
		{`DROP TABLE "x"."t"; DROP TABLE y; SELECT E'"x"."t"'::regclass;`, []string{"x", "t"}, false}, // more
		{`DROP TABLE "x"."b"; SELECT E'"x"."a"'::regclass;`, []string{"x", "a"}, false},               // another name
		{`DROP TABLE "x"."a"; SELECT E'"x".a'::regclass;`, []string{"x", "a"}, false},                 // unquoted inside
	} {
		err := SameShape("postgres", want, names, c.got, c.gotName)
		if (err == nil) != c.ok {
			t.Errorf("SameShape(%q) = %v, want ok=%v", c.got, err, c.ok)
		}
	}
	if err := SameShape("postgres", want, names, strings.ReplaceAll(want, "t", "T"), names); err == nil {
		t.Errorf("SameShape took a changed keyword")
	}
}
