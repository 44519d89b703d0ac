package dialects

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Conn is a parsed connection string, ready for its driver.
type Conn struct {
	Dialect Dialect
	// Driver is the database/sql driver name; DSN is the driver's form of
	// the string. DSN holds secrets: never print it.
	Driver string
	DSN    string
	// Display is the connection with every secret masked, for messages.
	Display string
	// Secrets are every form of every secret in the string (passwords,
	// tokens), so that output can be scrubbed of them.
	Secrets []string
	// Warnings are settings that were ignored, for the user to read.
	Warnings []string
	// Path is the SQLite database file ("" for other dialects).
	Path string
	// ReadOnly opens the database so that nothing can be written to it,
	// its folder included (SQLite: mode=ro and query_only; the other
	// engines' sessions are read-only by the grants of their user). The
	// string sets it (Microsoft.Data.Sqlite's Mode=ReadOnly, mode=ro,
	// immutable=1), and so does a command that only reads (purge
	// --dry-run): see WithReadOnly.
	ReadOnly bool
	// ConnectTimeout bounds one connection attempt to one host, as the
	// string sets it (libpq connect_timeout, Npgsql Timeout, MySqlConnector
	// Connection Timeout, SqlClient Connect Timeout); 0 when it sets none.
	ConnectTimeout time.Duration
	// TimeoutSetting is the setting of this form of string that sets
	// ConnectTimeout, as users type it, for messages ("" for SQLite).
	TimeoutSetting string
	// Hosts is how many connections one attempt may try in turn, each
	// bounded by ConnectTimeout (PostgreSQL: each host of a list, twice
	// under sslmode=prefer, with TLS and without); 0 means 1.
	Hosts int
}

// WithReadOnly is a copy of c that opens the database read-only.
func (c *Conn) WithReadOnly() *Conn {
	cc := *c
	cc.ReadOnly = true
	return &cc
}

// maskedError is an error with the secrets in its message masked.
type MaskedError struct {
	Msg string
	Err error
}

func (e *MaskedError) Error() string { return e.Msg }

func (e *MaskedError) Unwrap() error { return e.Err }

// hiddenValue stands in a message for a value that may hold a secret.
const hiddenValue = "(its value, not shown: it may hold the password)"

// shown is the pair's value quoted for a message, or hiddenValue when it
// may hold a secret: it comes after a password that an unquoted ';' may
// have cut, or holds a password=… itself (a ';' missing before it).
func (p Pair) Shown() string {
	if p.AfterSecret {
		return hiddenValue
	}
	return ShowValue(p.Value)
}

// showValue is v quoted for a message, or hiddenValue when it holds what
// reads as a password setting.
func ShowValue(v string) string {
	l := strings.ToLower(v)
	if libpqPasswordRE.MatchString(l) || strings.Contains(l, "password") || strings.Contains(l, "pwd") {
		return hiddenValue
	}
	return strconv.Quote(v)
}

// certainty is how surely a string belongs to a dialect.
type Certainty int

const (
	Never Certainty = iota
	Possibly
	Surely
)

// rawConn is a connection string pre-read once for every dialect's claim.
type RawConn struct {
	Raw string
	// scheme is the lower-case URL scheme, when raw starts with one.
	Scheme string
	// pairs are raw's Key=Value;… pairs, when it reads as an ADO.NET
	// string and not as a libpq one.
	Pairs []Pair
	// libpq is set when raw reads as libpq key=value words, every keyword
	// one libpq knows.
	Libpq bool
	// libpqShape is set when raw reads as libpq key=value words, at least
	// one keyword libpq's, but not all: a libpq string with a typo.
	LibpqShape bool
	// quoteSecret is set when raw reads as Key=Value; settings but for
	// text after a password that an unquoted ';' in it would leave.
	QuoteSecret bool
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

func NewRawConn(raw string) *RawConn {
	rc := &RawConn{Raw: strings.TrimSpace(raw)}
	if m := schemeRE.FindStringSubmatch(rc.Raw); m != nil {
		rc.Scheme = strings.ToLower(m[1])
	}
	if words, ok := LibpqWords(rc.Raw); ok {
		known := 0
		for _, w := range words {
			if LibpqKeywords[w.Key] {
				known++
			}
		}
		switch {
		case known == len(words):
			rc.Libpq = true
			return rc
		case known > 0:
			rc.LibpqShape = true
			return rc
		}
	}
	if strings.Contains(rc.Raw, "=") && !strings.Contains(rc.Raw, "://") {
		pairs, err := ParseADO(rc.Raw)
		if err == nil && len(pairs) > 0 {
			rc.Pairs = pairs
		}
		rc.QuoteSecret = errors.Is(err, ErrQuoteSecret)
	}
	return rc
}

// get returns the value of the first pair whose key is one of keys.
func (rc *RawConn) Get(keys ...string) (string, bool) {
	return lookupPair(rc.Pairs, keys...)
}

// pair is one Key=Value of an ADO.NET connection string. Key is lower case
// with runs of white space folded to one space.
type Pair struct {
	Key, Value string
	// AfterSecret is set when the pair comes after a secret's value: a
	// password holding an unquoted ';' goes on as the pairs after it, so
	// their names are never shown.
	AfterSecret bool
}

// name is the pair's name for a message.
func (p Pair) Name() string {
	if p.AfterSecret {
		return afterSecretName
	}
	return settingName(p.Key)
}

// errQuoteSecret: text with no '=' after a password, which an unquoted ';'
// in it would leave. It shows nothing of the string.
var ErrQuoteSecret = fmt.Errorf("%w: the text after a ';' in the password is not a setting (it has no '='): "+
	"a password that holds ';' must be quoted, as Password=\"…\" or Password='…' (a quote inside it doubled)", ErrConnString)

// afterSecretName stands in messages for a setting that may be the rest of
// a password.
const afterSecretName = "a setting after the password (a password that holds ';' must be quoted: Password='…')"

// holdsSecret reports whether a pair's value is, or holds, a secret.
func holdsSecret(k, v string) bool {
	return secretKeys[k] || libpqPasswordRE.MatchString(strings.ToLower(v))
}

func lookupPair(pairs []Pair, keys ...string) (string, bool) {
	for _, p := range pairs {
		for _, k := range keys {
			if p.Key == k {
				return p.Value, true
			}
		}
	}
	return "", false
}

// parseADO parses Key=Value;… as .NET's DbConnectionStringBuilder does:
// keys are case-insensitive, "==" in a key is a literal "=", a value may be
// quoted with ' or " (the quote doubled inside), pairs are separated by ";".
func ParseADO(s string) ([]Pair, error) {
	sc := &adoScanner{s: s}
	var out []Pair
	for {
		for sc.i < len(s) && (s[sc.i] == ';' || isSpace(s[sc.i])) {
			sc.i++
		}
		if sc.i >= len(s) {
			return out, nil
		}
		raw, err := sc.key()
		if err != nil {
			return nil, err
		}
		k := normKey(raw)
		if k == "" {
			return nil, fmt.Errorf("%w: a setting has an empty name", ErrConnString)
		}
		sc.skipSpace()
		var v string
		if sc.i < len(s) && (s[sc.i] == '"' || s[sc.i] == '\'') {
			if v, err = sc.quotedValue(k); err != nil {
				return nil, err
			}
		} else {
			v = sc.plainValue()
		}
		out = append(out, Pair{Key: k, Value: v, AfterSecret: sc.afterSecret})
		// Every setting after a secret may be part of it: none is named.
		sc.afterSecret = sc.afterSecret || holdsSecret(k, v)
	}
}

// adoScanner reads a Key=Value;… string from position i on.
type adoScanner struct {
	s           string
	i           int
	afterSecret bool // a setting before this one holds a secret
}

// unnamed names a setting for a message: not at all after a secret, which
// the setting may be part of.
func (sc *adoScanner) unnamed(key string) string {
	if sc.afterSecret {
		return afterSecretName
	}
	return settingName(strings.TrimSpace(key))
}

func (sc *adoScanner) noEquals(key string) error {
	if sc.afterSecret {
		return ErrQuoteSecret
	}
	return fmt.Errorf("%w: %s has no '='", ErrConnString, sc.unnamed(key))
}

func (sc *adoScanner) skipSpace() {
	for sc.i < len(sc.s) && isSpace(sc.s[sc.i]) {
		sc.i++
	}
}

// key reads a setting's name and its '=' ("==" is an '=' in the name).
func (sc *adoScanner) key() (string, error) {
	var key strings.Builder
	for {
		if sc.i >= len(sc.s) {
			return "", sc.noEquals(key.String())
		}
		switch c := sc.s[sc.i]; {
		case c == '=' && sc.i+1 < len(sc.s) && sc.s[sc.i+1] == '=':
			key.WriteByte('=')
			sc.i += 2
		case c == '=':
			sc.i++
			return key.String(), nil
		case c == ';':
			return "", sc.noEquals(key.String())
		default:
			key.WriteByte(c)
			sc.i++
		}
	}
}

// quotedValue reads the value of setting k in the quotes it starts with (a
// quote doubled is one), and the white space after it, up to the ';'.
// White space inside the quotes is part of the value.
func (sc *adoScanner) quotedValue(k string) (string, error) {
	q := sc.s[sc.i]
	sc.i++
	var val strings.Builder
	for sc.i < len(sc.s) {
		switch {
		case sc.s[sc.i] == q && sc.i+1 < len(sc.s) && sc.s[sc.i+1] == q:
			val.WriteByte(q)
			sc.i += 2
		case sc.s[sc.i] == q:
			sc.i++
			sc.skipSpace()
			if sc.i < len(sc.s) && sc.s[sc.i] != ';' {
				return "", fmt.Errorf("%w: unexpected text after the quoted value of %s", ErrConnString, sc.unnamed(k))
			}
			return val.String(), nil
		default:
			val.WriteByte(sc.s[sc.i])
			sc.i++
		}
	}
	return "", fmt.Errorf("%w: the value of %s has no closing quote", ErrConnString, sc.unnamed(k))
}

// plainValue reads an unquoted value up to the ';': white space around it
// is not part of it.
func (sc *adoScanner) plainValue() string {
	start := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] != ';' {
		sc.i++
	}
	return strings.TrimSpace(sc.s[start:sc.i])
}

// settingName quotes the name of a Key=Value setting for a message, when it
// is words. A string of another form read as settings (a MySQL DSN given
// with --dialect postgres) has names such as "u:password@tcp(h)/d?x", which
// hold the password: those are not shown.
func settingName(k string) string {
	notWord := func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" _-.", r)
	}
	if strings.IndexFunc(k, notWord) >= 0 {
		return "a setting whose name is not a word (is this a connection string of another form?)"
	}
	return strconv.Quote(k)
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// normKey lower-cases an ADO.NET key and folds runs of white space.
func normKey(k string) string {
	return strings.Join(strings.Fields(strings.ToLower(k)), " ")
}

// libpqKeywords are the connection keywords libpq (and pgx) accept.
var LibpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true,
	"sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true, "sslpassword": true,
	"sslsni": true, "sslnegotiation": true, "target_session_attrs": true, "service": true,
	"servicefile": true, "search_path": true, "krbsrvname": true, "gssencmode": true,
	"channel_binding": true, "require_auth": true, "min_read_buffer_size": true,
	"default_query_exec_mode": true, "statement_cache_capacity": true, "description_cache_capacity": true,
}

// libpqWord is one keyword = value of a libpq string.
type libpqWord struct {
	Key, value string
	// quoted is set when the value was written in quotes.
	Quoted bool
}

// libpqWords reads s as libpq's keyword = value form, as libpq and pgx
// read it: lower-case keywords; values separated by white space, quoted
// with ' when they hold any, a backslash escaping the next character. ok
// is false when s is not of that form: not a word, a quote left open, a
// URL; and when an unquoted value holds a ';' that ends it ("host=h;" or
// "host=h;port=5432"): that is a Key=Value;… string in lower case. A ';'
// inside a value (password=ab;cd, password='ab;cd') is the value's.
func LibpqWords(s string) ([]libpqWord, bool) {
	if strings.Contains(s, "://") {
		return nil, false
	}
	var words []libpqWord
	i := 0
	skip := func() {
		for i < len(s) && isLibpqSpace(s[i]) {
			i++
		}
	}
	for skip(); i < len(s); skip() {
		start := i
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] == '_') {
			i++
		}
		w := libpqWord{Key: s[start:i]}
		skip()
		if w.Key == "" || i >= len(s) || s[i] != '=' {
			return nil, false
		}
		i++
		skip()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			w.Quoted = true
			for i++; ; i++ {
				if i >= len(s) {
					return nil, false // the quote is never closed
				}
				if s[i] == '\\' && i+1 < len(s) {
					i++
				} else if s[i] == '\'' {
					i++
					break
				}
				v.WriteByte(s[i])
			}
		} else {
			for ; i < len(s) && !isLibpqSpace(s[i]); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
			}
			if val := v.String(); strings.HasSuffix(val, ";") || adoRestRE.MatchString(val) {
				return nil, false
			}
		}
		w.value = v.String()
		words = append(words, w)
	}
	return words, len(words) > 0
}

// adoRestRE finds, in an unquoted libpq value, a ';' and what reads as
// the next setting of a Key=Value;… string.
var adoRestRE = regexp.MustCompile(`;[^;=]*=`)

// isLibpqSpace is the white space that ends a libpq value: libpq's and
// pgx's, which include \v and \f.
func isLibpqSpace(b byte) bool { return strings.IndexByte(" \t\n\r\v\f", b) >= 0 }

// isLibpq reports whether s is libpq's keyword = value form with every
// keyword one libpq knows.
func IsLibpq(s string) bool {
	words, ok := LibpqWords(s)
	if !ok {
		return false
	}
	for _, w := range words {
		if !LibpqKeywords[w.Key] {
			return false
		}
	}
	return true
}
