package mysql

import (
	"database/sql"
	"strings"
	"testing"
)

// TestUnusableIndexes: unusable says why an index cannot serve the purge's range scan, and
// how to mend it in place where it can be.
func TestUnusableIndexes(t *testing.T) {
	m := Dialect{}
	n := m.Names("app", "SessionData")
	row := func(kv ...string) map[string]sql.NullString {
		m := map[string]sql.NullString{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = sql.NullString{String: kv[i+1], Valid: true}
		}
		return m
	}
	for _, c := range []struct {
		name          string
		why, fix      string
		wantWhy, want string // wantWhy "" means usable; want is the fix
	}{
		{name: "mysql btree", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "NO")))},
		{name: "mysql visible", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "YES")))},
		{name: "mysql invisible", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			fix:     second(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			wantWhy: "INVISIBLE", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` VISIBLE;"},
		{name: "mariadb ignored", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			fix:     second(m.unusable(n, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			wantWhy: "IGNORED", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` NOT IGNORED;"},
		{name: "mysql hash", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "HASH"))), wantWhy: "HASH index"},
		{name: "mysql fulltext", why: first(m.unusable(n, "ix", row("INDEX_TYPE", "FULLTEXT"))), wantWhy: "FULLTEXT index"},
	} {
		switch {
		case c.wantWhy == "" && c.why != "":
			t.Errorf("%s: unusable (%s), want usable", c.name, c.why)
		case !strings.Contains(c.why, c.wantWhy):
			t.Errorf("%s: why %q, want it to say %q", c.name, c.why, c.wantWhy)
		case c.fix != c.want:
			t.Errorf("%s: fix %q, want %q", c.name, c.fix, c.want)
		}
	}
}

func first(a, _ string) string { return a }

func second(_, b string) string { return b }
