package registry

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"

	"github.com/sessctl/sessctl/dialects/mysql"
	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlserver"
)

// Each dialect says why an index cannot serve the purge's range scan, and
// how to mend it in place where it can be.
func TestUnusableIndexes(t *testing.T) {
	ss := sqlserver.Dialect{}
	ssn := ss.Names("dbo", "SessionData")
	for _, c := range []struct {
		name          string
		why, fix      string
		wantWhy, want string // wantWhy "" means usable; want is the fix
	}{
		{name: "sqlserver nonclustered", why: first(ss.Unusable(ssn, "ix", 2, "NONCLUSTERED", false, false))},
		{name: "sqlserver clustered", why: first(ss.Unusable(ssn, "ix", 1, "CLUSTERED", false, false))},
		{name: "sqlserver filtered", why: first(ss.Unusable(ssn, "ix", 2, "NONCLUSTERED", true, false)), wantWhy: "filtered"},
		{name: "sqlserver disabled", why: first(ss.Unusable(ssn, "ix", 2, "NONCLUSTERED", false, true)),
			fix:     second(ss.Unusable(ssn, "ix", 2, "NONCLUSTERED", false, true)),
			wantWhy: "disabled", want: "ALTER INDEX [ix] ON [dbo].[SessionData] REBUILD;"},
		{name: "sqlserver hash", why: first(ss.Unusable(ssn, "ix", 7, "NONCLUSTERED HASH", false, false)), wantWhy: "nonclustered hash index"},
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

// Only SQLite makes a table again (its test: TestSQLiteRebuildSQL in
// dialects/sqlite); the others alter columns in place.
func TestOnlySQLiteRebuilds(t *testing.T) {
	for _, d := range []dialects.Dialect{postgres.Dialect{}, mysql.Dialect{}, sqlserver.Dialect{}} {
		if sql := d.FixSQL(d.Names("s", "t"), dialects.ColumnSpec{}, dialects.ProblemRebuild); sql != "" {
			t.Errorf("%s rebuilds a table with %q; its columns are altered in place", d.Name(), sql)
		}
	}
}

func first(a, _ string) string { return a }

func second(_, b string) string { return b }
