package dialecttest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reads SQL that sessctl renders back the way each engine's lexer
// would, independently of the quoting code it checks: fuzz tests use it to
// show that a name, however hostile, ends up inside one identifier or one
// string literal, and nowhere else.

// Kind is what a Token is.
type Kind int

const (
	Word    Kind = iota // a keyword, unquoted name or number
	Punct               // one other character: ( ) , ; . = and the like
	Ident               // a quoted identifier; Text is the name it stands for
	Literal             // a string literal; Text is the string it stands for
	Dollar              // a PostgreSQL dollar-quoted string; Text is its body
	Comment             // a -- or # comment to the end of the line, or /* */
)

func (k Kind) String() string {
	return [...]string{"word", "punctuation", "identifier", "literal", "dollar-quoted string", "comment"}[k]
}

// Token is one lexeme of SQL.
type Token struct {
	Kind Kind
	Text string
}

func (t Token) String() string { return fmt.Sprintf("%s %q", t.Kind, t.Text) }

// lexer rules of one dialect.
type lexRules struct {
	identOpen, identClose byte // quoted identifiers, the close doubled inside
	altIdent              bool // "…" is an identifier too (SQL Server)
	hashComment           bool // # starts a comment (MySQL)
	dollar                bool // $tag$…$tag$ strings (PostgreSQL)
	// literalPrefix are the letters that may stand right before a '…'
	// literal and change how it reads: E (escapes), N (Unicode), X (hex).
	literalPrefix string
	// backslashAmbiguous: a backslash in '…' means something in some
	// modes of the server only (MySQL without NO_BACKSLASH_ESCAPES).
	backslashAmbiguous bool
}

var rules = map[string]lexRules{
	"postgres":  {identOpen: '"', identClose: '"', dollar: true, literalPrefix: "Ee"},
	"sqlite":    {identOpen: '"', identClose: '"'},
	"sqlserver": {identOpen: '[', identClose: ']', altIdent: true, literalPrefix: "Nn"},
	"mysql":     {identOpen: '`', identClose: '`', hashComment: true, literalPrefix: "Xx", backslashAmbiguous: true},
}

// Lex splits sql, written for dialect, into tokens as the engine reads it.
// White space is dropped. It fails on anything the engine would read in a
// way that depends on settings, or not at all: an unterminated quote, a
// backslash escape in a MySQL string, an escape other than \\ and \' in a
// PostgreSQL E'…' string.
func Lex(dialect, sql string) ([]Token, error) {
	r, ok := rules[dialect]
	if !ok {
		return nil, fmt.Errorf("no lexer for dialect %q", dialect)
	}
	var out []Token
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(sql[i:], "--") || r.hashComment && c == '#':
			end := strings.IndexAny(sql[i:], "\n\r")
			if end < 0 {
				end = len(sql) - i
			}
			out = append(out, Token{Comment, sql[i : i+end]})
			i += end
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated /* comment at %d", i)
			}
			out = append(out, Token{Comment, sql[i : i+2+end+2]})
			i += 2 + end + 2
		case c == r.identOpen || r.altIdent && c == '"':
			closer := r.identClose
			if c == '"' {
				closer = '"'
			}
			text, n, err := quoted(sql[i:], closer)
			if err != nil {
				return nil, fmt.Errorf("identifier at %d: %w", i, err)
			}
			out = append(out, Token{Ident, text})
			i += n
		case c == '\'':
			text, n, err := literal(sql[i:], 0, r)
			if err != nil {
				return nil, fmt.Errorf("literal at %d: %w", i, err)
			}
			out = append(out, Token{Literal, text})
			i += n
		case r.dollar && c == '$' && dollarTagAt(sql[i:]) != "":
			tag := dollarTagAt(sql[i:])
			end := strings.Index(sql[i+len(tag):], tag)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %s string at %d", tag, i)
			}
			out = append(out, Token{Dollar, sql[i+len(tag) : i+len(tag)+end]})
			i += len(tag) + end + len(tag)
		default:
			tok, next, err := lexWord(sql, i, r)
			if err != nil {
				return nil, err
			}
			out = append(out, tok)
			i = next
		}
	}
	return out, nil
}

// lexWord reads the token at i that is none of the others: a word, a
// literal with a one-letter prefix (N'…', E'…', X'…'), or one character of
// punctuation. It returns the position after it.
func lexWord(sql string, i int, r lexRules) (Token, int, error) {
	c := sql[i]
	ru, size := utf8.DecodeRuneInString(sql[i:])
	if !isWordRune(ru) {
		return Token{Punct, sql[i : i+size]}, i + size, nil
	}
	j := i
	for j < len(sql) {
		ru, size := utf8.DecodeRuneInString(sql[j:])
		if !isWordRune(ru) || r.hashComment && ru == '#' {
			break
		}
		j += size
	}
	if j == i+1 && strings.IndexByte(r.literalPrefix, c) >= 0 && j < len(sql) && sql[j] == '\'' {
		text, n, err := literal(sql[j:], c, r)
		if err != nil {
			return Token{}, 0, fmt.Errorf("literal at %d: %w", i, err)
		}
		return Token{Literal, text}, j + n, nil
	}
	return Token{Word, sql[i:j]}, j, nil
}

func isWordRune(r rune) bool {
	return r == '_' || r == '$' || r == '@' || r == '#' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// quoted reads a quoted run that starts at s[0] and ends at the first
// unpaired closer, and returns its content and length.
func quoted(s string, closer byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != closer {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == closer {
			b.WriteByte(closer)
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, errors.New("no closing quote")
}

// literal reads '…' at s[0], written after prefix (0 for none).
func literal(s string, prefix byte, r lexRules) (string, int, error) {
	switch prefix {
	case 'E', 'e':
		return escapeLiteral(s)
	}
	text, n, err := quoted(s, '\'')
	if err != nil {
		return "", 0, err
	}
	switch {
	case prefix == 'X' || prefix == 'x':
		b, err := hex.DecodeString(text)
		if err != nil {
			return "", 0, fmt.Errorf("hex literal: %w", err)
		}
		return string(b), n, nil
	case r.backslashAmbiguous && strings.Contains(text, `\`):
		return "", 0, errors.New(`a backslash in '…' reads differently under NO_BACKSLASH_ESCAPES`)
	}
	return text, n, nil
}

// escapeLiteral reads PostgreSQL's E'…': a doubled quote and \' are a
// quote, \\ a backslash. Other escapes are refused: sessctl never writes them.
func escapeLiteral(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("no closing quote")
			}
			if s[i+1] != '\\' && s[i+1] != '\'' {
				return "", 0, fmt.Errorf("escape \\%c", s[i+1])
			}
			b.WriteByte(s[i+1])
			i++
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("no closing quote")
}

// dollarTagAt returns the $tag$ that s starts with, or "".
func dollarTagAt(s string) string {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			return s[:i+1]
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 1 && '0' <= c && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// SameShape reports how got differs in shape from want, where want is SQL
// that dialect rendered for the names wantNames and got the same SQL
// rendered for gotNames (in the same order: schema, table, derived names).
// They have the same shape when they lex to the same tokens, except that
// where want has an identifier or literal that is wantNames[k], got has the
// same kind of token standing for gotNames[k]. Literals and dollar-quoted
// strings that are not a name are SQL themselves (a qualified name to look
// up, a statement to prepare, a DO block) and are compared the same way.
// Comments are compared by their number only.
//
// So a name that got out of its quotes, or was quoted so that the engine
// reads another name, makes got differ. wantNames must be distinct, and
// appear nowhere else in want.
func SameShape(dialect, want string, wantNames []string, got string, gotNames []string) error {
	w, err := Lex(dialect, want)
	if err != nil {
		return fmt.Errorf("want: %w", err)
	}
	g, err := Lex(dialect, got)
	if err != nil {
		return fmt.Errorf("got: %w", err)
	}
	return sameTokens(dialect, w, wantNames, g, gotNames)
}

func sameTokens(dialect string, w []Token, wantNames []string, g []Token, gotNames []string) error {
	if len(w) != len(g) {
		return fmt.Errorf("%d tokens, want %d:\ngot  %v\nwant %v", len(g), len(w), g, w)
	}
	for i := range w {
		if w[i].Kind != g[i].Kind {
			return fmt.Errorf("token %d is %v, want %v", i, g[i], w[i])
		}
		switch w[i].Kind {
		case Comment:
			continue
		case Ident, Literal, Dollar:
			if k := indexOf(wantNames, w[i].Text); k >= 0 {
				if g[i].Text != gotNames[k] {
					return fmt.Errorf("token %d is %v, want %s %q", i, g[i], w[i].Kind, gotNames[k])
				}
				continue
			}
			if w[i].Kind == Ident {
				break
			}
			wi, err := Lex(dialect, w[i].Text)
			if err != nil {
				break // not SQL: compared as text
			}
			gi, err := Lex(dialect, g[i].Text)
			if err != nil {
				return fmt.Errorf("token %d, %v: %w", i, g[i], err)
			}
			if err := sameTokens(dialect, wi, wantNames, gi, gotNames); err != nil {
				return fmt.Errorf("inside token %d, %v: %w", i, g[i], err)
			}
			continue
		}
		if w[i].Text != g[i].Text {
			return fmt.Errorf("token %d is %v, want %v", i, g[i], w[i])
		}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
