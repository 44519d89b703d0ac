package sqlite

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestSplitDeclaredType(t *testing.T) {
	for in, want := range map[string]struct {
		typ string
		n   int
	}{
		"INTEGER":         {"integer", 0},
		"VARCHAR(449)":    {"varchar", 449},
		" nvarchar (10) ": {"nvarchar", 10},
	} {
		typ, n := splitDeclaredType(in)
		if typ != want.typ || n != want.n {
			t.Errorf("splitDeclaredType(%q) = %q, %d", in, typ, n)
		}
	}
}

// SQLite makes a table again in sessctl's layout, in one transaction.
func TestSQLiteRebuildSQL(t *testing.T) {
	s := Dialect{}
	got := s.FixSQL(s.Names("main", `a"b`), dialects.ColumnSpec{}, dialects.ProblemRebuild)
	for _, want := range []string{`BEGIN IMMEDIATE; CREATE TABLE "main"."a""b_sessctl_rebuild" (`, `) STRICT;`,
		`DROP TABLE "main"."a""b";`, `ALTER TABLE "main"."a""b_sessctl_rebuild" RENAME TO "a""b";`,
		`CREATE INDEX "main"."a""b_ExpiresAtTime_idx" ON "a""b" ("ExpiresAtTime"); COMMIT;`} {
		if !strings.Contains(got, want) {
			t.Errorf("rebuild SQL %q lacks %q", got, want)
		}
	}
}
