package cmd

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestVerifyNamesEngine: on SQL Server's protocol, which more than one
// server speaks, verify says which it checked, in text and in JSON:
// "SQL Server", or "Babelfish for PostgreSQL" and its version. The other
// engines have one server each, and no such field.
func TestVerifyNamesEngine(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Engine")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		engine, has := must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table).json(t)["engine"]
		text := must(t, 0, "verify", s.DSN, s.Schema, table).stdout
		switch {
		case s.Dialect.Name() != "sqlserver":
			if has {
				t.Errorf("verify on %s names an engine: %v", s.Dialect.Name(), engine)
			}
		case s.Babelfish(t, db):
			if e, _ := engine.(string); !strings.HasPrefix(e, "Babelfish for PostgreSQL ") || !strings.Contains(text, "checked on "+e) {
				t.Errorf("verify on Babelfish: JSON engine %v, text %q", engine, text)
			}
		default:
			if engine != "SQL Server" || !strings.Contains(text, "checked on SQL Server") {
				t.Errorf("verify on SQL Server: JSON engine %v, text %q", engine, text)
			}
		}
	})
}
