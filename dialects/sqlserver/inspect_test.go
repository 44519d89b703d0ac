package sqlserver

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestSQLServerLength(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		bytes int
		want  int
	}{
		{"nvarchar", 898, 449},
		{"nvarchar", -1, -1},
		{"nchar", 20, 10},
		{"varchar", 449, 449},
		{"varbinary", -1, -1},
		{"varbinary", 8000, 8000},
		{"datetimeoffset", 10, 0},
		{"bigint", 8, 0},
	} {
		if got := declaredLength(tc.typ, tc.bytes); got != tc.want {
			t.Errorf("declaredLength(%s, %d) = %d, want %d", tc.typ, tc.bytes, got, tc.want)
		}
	}
}

func TestSQLServerFixSQL(t *testing.T) {
	d := Dialect{}
	n := d.Names("dbo", "SessionData")
	specs := map[string]dialects.ColumnSpec{}
	for _, c := range d.Columns() {
		specs[c.Name] = c
	}
	for _, tc := range []struct {
		col     string
		problem dialects.Problem
		want    string
	}{
		{dialects.ColSliding, dialects.ProblemMissing, "ALTER TABLE [dbo].[SessionData] ADD [SlidingExpirationInSeconds] bigint NULL;"},
		{dialects.ColValue, dialects.ProblemType, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [Value] varbinary(max) NOT NULL;"},
		{dialects.ColValue, dialects.ProblemNotNull, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [Value] varbinary(max) NOT NULL;"},
		{dialects.ColAbsoluteExpiration, dialects.ProblemNullable, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [AbsoluteExpiration] datetimeoffset NULL;"},
		{dialects.ColValue, dialects.ProblemMissing, ""},      // NOT NULL without a default: re-create
		{dialects.ColID, dialects.ProblemCollation, ""},       // the primary key depends on it
		{dialects.ColExpiresAtTime, dialects.ProblemType, ""}, // the expiry index depends on it
		{dialects.ColExpiresAtTime, dialects.ProblemNotNull, ""},
	} {
		if got := d.FixSQL(n, specs[tc.col], tc.problem); got != tc.want {
			t.Errorf("FixSQL(%s, %d) = %q, want %q", tc.col, tc.problem, got, tc.want)
		}
	}
}

// TestSQLServerUnusable: SQL Server says why an index cannot serve the
// purge's range scan, and how to mend it in place where it can be (the
// SQL Server rows of registry's TestUnusableIndexes).
func TestSQLServerUnusable(t *testing.T) {
	d := Dialect{}
	n := d.Names("dbo", "SessionData")
	for _, c := range []struct {
		name               string
		typ                int
		typeDesc           string
		filtered, disabled bool
		wantWhy, want      string // wantWhy "" means usable; want is the fix
	}{
		{name: "sqlserver nonclustered", typ: 2, typeDesc: "NONCLUSTERED"},
		{name: "sqlserver clustered", typ: 1, typeDesc: "CLUSTERED"},
		{name: "sqlserver filtered", typ: 2, typeDesc: "NONCLUSTERED", filtered: true, wantWhy: "filtered"},
		{name: "sqlserver disabled", typ: 2, typeDesc: "NONCLUSTERED", disabled: true,
			wantWhy: "disabled", want: "ALTER INDEX [ix] ON [dbo].[SessionData] REBUILD;"},
		{name: "sqlserver hash", typ: 7, typeDesc: "NONCLUSTERED HASH", wantWhy: "nonclustered hash index"},
	} {
		why, fix := d.unusable(n, "ix", c.typ, c.typeDesc, c.filtered, c.disabled)
		switch {
		case c.wantWhy == "" && why != "":
			t.Errorf("%s: unusable (%s), want usable", c.name, why)
		case !strings.Contains(why, c.wantWhy):
			t.Errorf("%s: why %q, want it to say %q", c.name, why, c.wantWhy)
		case fix != c.want:
			t.Errorf("%s: fix %q, want %q", c.name, fix, c.want)
		}
	}
}
