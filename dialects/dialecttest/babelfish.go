package dialecttest

import (
	"database/sql"
	"strings"
	"sync"
	"testing"
)

// Babelfish reports whether s is a SQL Server server that is Babelfish for
// PostgreSQL (SERVERPROPERTY('Babelfish') = 1), the stand-in for SQL Server
// these machines run (../shared/tds/README.md). Tests that meet one of its
// divergences from SQL Server ask this in one helper each, which names the
// divergence, and keep asserting what SQL Server does on SQL Server. It
// asks once per DSN.
func (s Server) Babelfish(t testing.TB, db *sql.DB) bool {
	t.Helper()
	if s.Dialect.Name() != "sqlserver" {
		return false
	}
	if v, ok := babelfish.Load(s.DSN); ok {
		return v.(bool)
	}
	var bbf int
	if err := db.QueryRow(`SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int)`).Scan(&bbf); err != nil {
		t.Fatalf("asking whether the server is Babelfish: %v", err)
	}
	babelfish.Store(s.DSN, bbf == 1)
	return bbf == 1
}

var babelfish sync.Map // DSN -> bool

// BabelfishSkip skips t on Babelfish, naming the row of the divergence
// table (../shared/tds/README.md) that stops it there.
func (s Server) BabelfishSkip(t testing.TB, db *sql.DB, divergence string) {
	t.Helper()
	if s.Babelfish(t, db) {
		t.Skipf("skipped on Babelfish for PostgreSQL, the SQL Server stand-in: %s (tds/README.md, divergences)", divergence)
	}
}

// Collation is the name the catalog reports for a column declared with
// the SQL Server collation name. Babelfish reports its own collations,
// bbf_unicode_cp1_cs_as for SQL_Latin1_General_CP1_CS_AS and so on (tds/
// README.md, divergences: "collations are reported as bbf_unicode_cp1_cs_as
// / bbf_unicode_cp1_ci_as").
func (s Server) Collation(t testing.TB, db *sql.DB, name string) string {
	t.Helper()
	if !s.Babelfish(t, db) {
		return name
	}
	switch strings.ToUpper(name) {
	case "SQL_LATIN1_GENERAL_CP1_CS_AS", "LATIN1_GENERAL_CS_AS":
		return "bbf_unicode_cp1_cs_as"
	case "SQL_LATIN1_GENERAL_CP1_CI_AS", "LATIN1_GENERAL_CI_AS":
		return "bbf_unicode_cp1_ci_as"
	}
	t.Fatalf("dialecttest: no Babelfish name known for collation %s", name)
	return ""
}

// IndexName is the name the catalog reads for an index made as name.
// Babelfish keeps index names folded (BabelfishFold), so sessctl reads
// them so; its own expiry index, whose name it knows, reads in its case.
func (s Server) IndexName(t testing.TB, db *sql.DB, name string) string {
	t.Helper()
	if s.Babelfish(t, db) && name != s.Dialect.Names(s.Schema, "t").ExpiryIndex {
		return BabelfishFold(name)
	}
	return name
}

// BabelfishFold is a name as Babelfish stores it, and its sys views give
// it: its ASCII letters in lower case, as PostgreSQL folds unquoted names
// (tds/README.md, divergences: "sys.columns, sys.objects, sys.indexes,
// sys.tables give names lower-cased").
func BabelfishFold(name string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, name)
}
