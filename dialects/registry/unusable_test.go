package registry

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"

	"github.com/sessctl/sessctl/dialects/mysql"
	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlite"
	"github.com/sessctl/sessctl/dialects/sqlserver"
)

// Each dialect says why an index cannot serve the purge's range scan, and
// how to mend it in place where it can be.
func TestUnusableIndexes(t *testing.T) {
	pg, my := postgres.Dialect{}, mysql.Dialect{}
	pgn, myn := pg.Names("public", "SessionData"), my.Names("app", "SessionData")
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
		{name: "pg btree", why: first(pg.Unusable(pgn, "ix", "btree", true, false)), fix: second(pg.Unusable(pgn, "ix", "btree", true, false))},
		{name: "pg invalid", why: first(pg.Unusable(pgn, "ix", "btree", false, false)), fix: second(pg.Unusable(pgn, "ix", "btree", false, false)),
			wantWhy: "not valid", want: `REINDEX INDEX CONCURRENTLY "public"."ix";`},
		{name: "pg hash", why: first(pg.Unusable(pgn, "ix", "hash", true, false)), wantWhy: "hash index"},
		{name: "pg brin", why: first(pg.Unusable(pgn, "ix", "brin", true, false)), wantWhy: "brin index"},
		{name: "pg partial", why: first(pg.Unusable(pgn, "ix", "btree", true, true)), wantWhy: "partial"},
		{name: "mysql btree", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "NO")))},
		{name: "mysql visible", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "YES")))},
		{name: "mysql invisible", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			fix:     second(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			wantWhy: "INVISIBLE", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` VISIBLE;"},
		{name: "mariadb ignored", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			fix:     second(my.Unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			wantWhy: "IGNORED", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` NOT IGNORED;"},
		{name: "mysql hash", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "HASH"))), wantWhy: "HASH index"},
		{name: "mysql fulltext", why: first(my.Unusable(myn, "ix", row("INDEX_TYPE", "FULLTEXT"))), wantWhy: "FULLTEXT index"},
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

// SQLite makes a table again in sessctl's layout, in one transaction.
func TestSQLiteRebuildSQL(t *testing.T) {
	s := sqlite.Dialect{}
	got := s.FixSQL(s.Names("main", `a"b`), dialects.ColumnSpec{}, dialects.ProblemRebuild)
	for _, want := range []string{`BEGIN IMMEDIATE; CREATE TABLE "main"."a""b_sessctl_rebuild" (`, `) STRICT;`,
		`DROP TABLE "main"."a""b";`, `ALTER TABLE "main"."a""b_sessctl_rebuild" RENAME TO "a""b";`,
		`CREATE INDEX "main"."a""b_ExpiresAtTime_idx" ON "a""b" ("ExpiresAtTime"); COMMIT;`} {
		if !strings.Contains(got, want) {
			t.Errorf("rebuild SQL %q lacks %q", got, want)
		}
	}
	for _, d := range []dialects.Dialect{postgres.Dialect{}, mysql.Dialect{}, sqlserver.Dialect{}} {
		if sql := d.FixSQL(d.Names("s", "t"), dialects.ColumnSpec{}, dialects.ProblemRebuild); sql != "" {
			t.Errorf("%s rebuilds a table with %q; its columns are altered in place", d.Name(), sql)
		}
	}
}

func first(a, _ string) string { return a }

func second(_, b string) string { return b }
