package registry

import (
	"testing"

	"github.com/sessctl/sessctl/dialects"

	"github.com/sessctl/sessctl/dialects/mysql"
	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlserver"
)

// Only SQLite makes a table again (its test: TestSQLiteRebuildSQL in
// dialects/sqlite); the others alter columns in place.
func TestOnlySQLiteRebuilds(t *testing.T) {
	for _, d := range []dialects.Dialect{postgres.Dialect{}, mysql.Dialect{}, sqlserver.Dialect{}} {
		if sql := d.FixSQL(d.Names("s", "t"), dialects.ColumnSpec{}, dialects.ProblemRebuild); sql != "" {
			t.Errorf("%s rebuilds a table with %q; its columns are altered in place", d.Name(), sql)
		}
	}
}
