package dialects

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addSecret appends the non-empty forms of a secret.
func AddSecret(list []string, forms ...string) []string {
	for _, f := range forms {
		if f != "" {
			list = append(list, f)
		}
	}
	return list
}

var (
	urlPasswordRE   = regexp.MustCompile(`://[^/@]*?:([^@]*)@`)
	libpqPasswordRE = regexp.MustCompile(`(?:^|\s)(?:password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	mysqlPasswordRE = regexp.MustCompile(`^[^:/@]*:(.*)@[^@]*/`)
	querySecretRE   = regexp.MustCompile(`(?i)[?&](?:password|sslpassword|pwd|access_?token|client_?secret)=([^&]*)`)
)

// secretKeys are ADO.NET settings whose values are secrets.
var secretKeys = map[string]bool{
	"password": true, "pwd": true, "ssl password": true, "sslpassword": true,
	"access token": true, "accesstoken": true, "client secret": true, "user password": true,
}

// SecretsOf finds, best effort and whatever the form, the secrets in a
// connection string, so that messages can be scrubbed of them even when the
// string does not parse.
func SecretsOf(raw string) []string {
	var out []string
	for _, re := range []*regexp.Regexp{urlPasswordRE, libpqPasswordRE, mysqlPasswordRE, querySecretRE} {
		if re == mysqlPasswordRE && strings.Contains(raw, "://") {
			continue // a URL: urlPasswordRE reads it, and this one would take "//user" for a password
		}
		for _, m := range re.FindAllStringSubmatch(raw, -1) {
			v := m[1]
			out = AddSecret(out, v)
			if u, err := url.PathUnescape(v); err == nil {
				out = AddSecret(out, u)
			}
			if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
				out = AddSecret(out, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v[1:len(v)-1]))
			}
			if before, _, ok := strings.Cut(v, ";"); ok && re == libpqPasswordRE {
				out = AddSecret(out, before) // password=… inside a Key=Value; string
			}
		}
	}
	if pairs, err := ParseADO(raw); err == nil {
		for _, p := range pairs {
			if secretKeys[p.Key] {
				out = AddSecret(out, p.Value)
			}
		}
	}
	return out
}

// Scrub masks secrets in msg where each stands as a whole token, the
// longest first, so that a secret holding another is masked whole. A
// secret inside a longer word is not that secret, and is left: a password
// "connect" must not make "connection refused" "***ion refused". Drivers
// quote a password, when they do, as a token of its own (user:pw@host,
// password=pw, 'pw').
func Scrub(msg string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, s := range sorted {
		if s != "" {
			msg = replaceStandalone(msg, s, "***")
		}
	}
	return msg
}

// replaceStandalone replaces each occurrence of old in s that is not part
// of a longer word: where old begins (ends) with a letter or digit, no
// letter or digit of s touches it on that side.
func replaceStandalone(s, old, repl string) string {
	first, _ := utf8.DecodeRuneInString(old)
	last, _ := utf8.DecodeLastRuneInString(old)
	var b strings.Builder
	done := 0 // s[:done] is written
	for from := 0; ; {
		j := strings.Index(s[from:], old)
		if j < 0 {
			break
		}
		i := from + j
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(old):])
		if i > 0 && isWordRune(first) && isWordRune(before) || i+len(old) < len(s) && isWordRune(last) && isWordRune(after) {
			from = i + 1
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(repl)
		done = i + len(old)
		from = done
	}
	b.WriteString(s[done:])
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
