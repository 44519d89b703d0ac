package dialects

import (
	"database/sql"
	"strings"
	"testing"
)

// Each dialect says why an index cannot serve the purge's range scan, and
// how to mend it in place where it can be.
func TestUnusableIndexes(t *testing.T) {
	pg, my, ss := postgres{}, mysql{}, sqlserver{}
	pgn, myn, ssn := pg.Names("public", "SessionData"), my.Names("app", "SessionData"), ss.Names("dbo", "SessionData")
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
		{name: "pg btree", why: first(pg.unusable(pgn, "ix", "btree", true, false)), fix: second(pg.unusable(pgn, "ix", "btree", true, false))},
		{name: "pg invalid", why: first(pg.unusable(pgn, "ix", "btree", false, false)), fix: second(pg.unusable(pgn, "ix", "btree", false, false)),
			wantWhy: "not valid", want: `REINDEX INDEX CONCURRENTLY "public"."ix";`},
		{name: "pg hash", why: first(pg.unusable(pgn, "ix", "hash", true, false)), wantWhy: "hash index"},
		{name: "pg brin", why: first(pg.unusable(pgn, "ix", "brin", true, false)), wantWhy: "brin index"},
		{name: "pg partial", why: first(pg.unusable(pgn, "ix", "btree", true, true)), wantWhy: "partial"},
		{name: "mysql btree", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "NO")))},
		{name: "mysql visible", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "YES")))},
		{name: "mysql invisible", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			fix:     second(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IS_VISIBLE", "NO"))),
			wantWhy: "INVISIBLE", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` VISIBLE;"},
		{name: "mariadb ignored", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			fix:     second(my.unusable(myn, "ix", row("INDEX_TYPE", "BTREE", "IGNORED", "YES"))),
			wantWhy: "IGNORED", want: "ALTER TABLE `app`.`SessionData` ALTER INDEX `ix` NOT IGNORED;"},
		{name: "mysql hash", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "HASH"))), wantWhy: "HASH index"},
		{name: "mysql fulltext", why: first(my.unusable(myn, "ix", row("INDEX_TYPE", "FULLTEXT"))), wantWhy: "FULLTEXT index"},
		{name: "sqlserver nonclustered", why: first(ss.unusable(ssn, "ix", 2, "NONCLUSTERED", false, false))},
		{name: "sqlserver clustered", why: first(ss.unusable(ssn, "ix", 1, "CLUSTERED", false, false))},
		{name: "sqlserver filtered", why: first(ss.unusable(ssn, "ix", 2, "NONCLUSTERED", true, false)), wantWhy: "filtered"},
		{name: "sqlserver disabled", why: first(ss.unusable(ssn, "ix", 2, "NONCLUSTERED", false, true)),
			fix:     second(ss.unusable(ssn, "ix", 2, "NONCLUSTERED", false, true)),
			wantWhy: "disabled", want: "ALTER INDEX [ix] ON [dbo].[SessionData] REBUILD;"},
		{name: "sqlserver hash", why: first(ss.unusable(ssn, "ix", 7, "NONCLUSTERED HASH", false, false)), wantWhy: "nonclustered hash index"},
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

func first(a, _ string) string  { return a }
func second(_, b string) string { return b }

// A usable index is one that is on ExpiresAtTime first and usable; the
// others are listed apart.
func TestExpiryIndexIsUsable(t *testing.T) {
	info := &TableInfo{Indexes: []Index{
		{Name: "pk", Columns: []string{ColID}, Primary: true},
		{Name: "partial", Columns: []string{ColExpiresAtTime}, Unusable: "partial"},
		{Name: "second", Columns: []string{ColID, ColExpiresAtTime}},
	}}
	if ix, ok := info.ExpiryIndex(); ok {
		t.Errorf("ExpiryIndex = %q, want none", ix.Name)
	}
	if u := info.UnusableExpiryIndexes(); len(u) != 1 || u[0].Name != "partial" {
		t.Errorf("UnusableExpiryIndexes = %+v", u)
	}
	info.Indexes = append(info.Indexes, Index{Name: "good", Columns: []string{ColExpiresAtTime, ColID}})
	if ix, ok := info.ExpiryIndex(); !ok || ix.Name != "good" {
		t.Errorf("ExpiryIndex = %q, %v, want good", ix.Name, ok)
	}
}

// SQLite makes a table again in sessctl's layout, in one transaction.
func TestSQLiteRebuildSQL(t *testing.T) {
	s := sqlite{}
	got := s.FixSQL(s.Names("main", `a"b`), ColumnSpec{}, ProblemRebuild)
	for _, want := range []string{`BEGIN IMMEDIATE; CREATE TABLE "main"."a""b_sessctl_rebuild" (`, `) STRICT;`,
		`DROP TABLE "main"."a""b";`, `ALTER TABLE "main"."a""b_sessctl_rebuild" RENAME TO "a""b";`,
		`CREATE INDEX "main"."a""b_ExpiresAtTime_idx" ON "a""b" ("ExpiresAtTime"); COMMIT;`} {
		if !strings.Contains(got, want) {
			t.Errorf("rebuild SQL %q lacks %q", got, want)
		}
	}
	for _, d := range []Dialect{postgres{}, mysql{}, sqlserver{}} {
		if sql := d.FixSQL(d.Names(d.DefaultSchema(), "t"), ColumnSpec{}, ProblemRebuild); sql != "" {
			t.Errorf("%s rebuilds a table with %q; its columns are altered in place", d.Name(), sql)
		}
	}
}
