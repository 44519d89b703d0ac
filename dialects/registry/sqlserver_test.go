package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

// TestSQLServerDetect checks the claims of every dialect together.
func TestSQLServerDetect(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"sqlserver://sa:x@db?database=app", "sqlserver"},
		{"Server=tcp:db,1433;Database=app;User Id=sa;Password=x;TrustServerCertificate=True", "sqlserver"},
		{`Data Source=.\SQLEXPRESS;Initial Catalog=app;Integrated Security=True`, "sqlserver"},
		{"Host=db;Database=app;Username=postgres", "postgres"},
		{"Server=db;Port=5432;Database=app;User Id=postgres", "postgres"},
		{"Data Source=app.db", "sqlite"},
		{"app.db", "sqlite"},
	} {
		d, err := Detect(tc.raw)
		if err != nil || d.Name() != tc.want {
			t.Errorf("Detect(%q) = %v, %v; want %s", tc.raw, d, err, tc.want)
		}
	}
	// Server=…;Database=…;User Id=…;Password=… is also MySqlConnector's:
	// with MySQL registered too, the user must say which.
	bare := "Server=db;Database=app;User Id=sa;Password=x"
	d, err := Detect(bare)
	if _, ok := registry["mysql"]; ok {
		if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "--dialect sqlserver") {
			t.Errorf("Detect(%q) = %v, %v; want an ambiguity naming --dialect sqlserver", bare, d, err)
		}
	} else if err != nil || d.Name() != "sqlserver" {
		t.Errorf("Detect(%q) = %v, %v; want sqlserver, the one dialect that claims it", bare, d, err)
	}
	// Postgres and SQLite do not claim SQL Server's strings.
	for _, raw := range []string{bare, "Server=tcp:db,1433;Database=app", `Data Source=db\inst;Initial Catalog=app`} {
		rc := dialects.NewRawConn(raw)
		for _, name := range []string{"postgres", "sqlite"} {
			if c := registry[name].Claim(rc); c != dialects.Never {
				t.Errorf("%s claims %q (%d)", name, raw, c)
			}
		}
	}
}
