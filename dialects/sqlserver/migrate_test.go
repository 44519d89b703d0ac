package sqlserver

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/migrations"
)

// TestSQLServerTemplatesQuote renders every template with names CheckName
// lets through, and with a ] it keeps out, to show that quoting alone would
// hold.
func TestSQLServerTemplatesQuote(t *testing.T) {
	d := Dialect{}
	for _, table := range []string{"x; DROP TABLE y", `Sess"ion`, "a]b"} {
		n := d.Names("my schema", table)
		data := d.TemplateData(n)
		quoted := "[my schema].[" + strings.ReplaceAll(table, "]", "]]") + "]"
		ms, err := migrations.Up("sqlserver", data)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, m := range ms {
			all.WriteString(m.SQL)
		}
		for _, name := range []string{migrations.Create, migrations.Drop} {
			s, err := migrations.Script("sqlserver", name, data)
			if err != nil {
				t.Fatal(err)
			}
			all.WriteString(s)
		}
		sql := all.String()
		for _, want := range []string{
			"CREATE TABLE " + quoted + " (",
			"OBJECT_ID(N'" + quoted + "', N'U')",
			"ON " + quoted + " ([ExpiresAtTime])",
			"DROP TABLE " + quoted + ";",
			"DROP TABLE [my schema].[" + strings.ReplaceAll(table, "]", "]]") + "_migrations];",
		} {
			if !strings.Contains(sql, want) {
				t.Errorf("table %q: the SQL lacks %s:\n%s", table, want, sql)
			}
		}
	}
}

// TestSQLServerCreateScriptIsDotnets pins create.sql to the two lines
// `dotnet sql-cache script dbo SessionData` prints (aspnetcore's
// src/Tools/dotnet-sql-cache SqlQueries.cs).
func TestSQLServerCreateScriptIsDotnets(t *testing.T) {
	d := Dialect{}
	got, err := migrations.Script("sqlserver", migrations.Create, d.TemplateData(d.Names("dbo", "SessionData")))
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE [dbo].[SessionData](" +
		"Id nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL, " +
		"Value varbinary(MAX) NOT NULL, " +
		"ExpiresAtTime datetimeoffset NOT NULL, " +
		"SlidingExpirationInSeconds bigint NULL," +
		"AbsoluteExpiration datetimeoffset NULL, " +
		"PRIMARY KEY (Id))\n" +
		"CREATE NONCLUSTERED INDEX Index_ExpiresAtTime ON [dbo].[SessionData](ExpiresAtTime)\n"
	if got != want {
		t.Errorf("create.sql:\n%s\nwant, as dotnet sql-cache script prints it:\n%s", got, want)
	}
}
