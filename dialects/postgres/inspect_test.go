package postgres

import (
	"strings"
	"testing"
)

// TestUnusableIndexes: PostgreSQL says why an index cannot serve the
// purge's range scan, and how to mend it in place where it can be.
func TestUnusableIndexes(t *testing.T) {
	pg := Dialect{}
	pgn := pg.Names("public", "SessionData")
	for _, c := range []struct {
		name          string
		why, fix      string
		wantWhy, want string // wantWhy "" means usable; want is the fix
	}{
		{name: "pg btree", why: first(pg.unusable(pgn, "ix", "btree", true, false)), fix: second(pg.unusable(pgn, "ix", "btree", true, false))},
		{name: "pg invalid", why: first(pg.unusable(pgn, "ix", "btree", false, false)), fix: second(pg.unusable(pgn, "ix", "btree", false, false)),
			wantWhy: "not valid", want: `REINDEX INDEX CONCURRENTLY "public"."ix";`},
		{name: "pg hash", why: first(pg.unusable(pgn, "ix", "hash", true, false)), wantWhy: "hash index"},
		{name: "pg brin", why: first(pg.unusable(pgn, "ix", "brin", true, false)), wantWhy: "brin index"},
		{name: "pg partial", why: first(pg.unusable(pgn, "ix", "btree", true, true)), wantWhy: "partial"},
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
