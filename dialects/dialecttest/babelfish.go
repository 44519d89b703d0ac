package dialecttest

import (
	"database/sql"
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
