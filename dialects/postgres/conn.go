package postgres

import (
	"sort"
	"strings"
)

// quoteLibpq quotes a value for a libpq key=value string: one with any of
// the white space that ends a value (libpq's and pgx's: space, \t, \n, \r,
// \v and \f), a quote or a backslash.
func quoteLibpq(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// sortedKeys returns m's keys in order, for stable messages.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
