package cmd

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// appUser makes a user that may log in and nothing else, and returns the
// test's connection string as that user and the user as a GRANT names
// it. PostgreSQL: a role with LOGIN; MySQL: a user with a password. Other
// engines skip: SQLite has no users, and SQL Server's need a server login.
func appUser(t *testing.T, s dialecttest.Server, db *sql.DB, prefix string) (dsn, grantee string) {
	t.Helper()
	user := strings.ToLower(dialecttest.Table(prefix))
	switch s.Dialect.Name() {
	case "postgres":
		role := s.Dialect.Quote(user)
		if _, err := db.Exec("CREATE ROLE " + role + " LOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Exec("DROP OWNED BY " + role)
			if _, err := db.Exec("DROP ROLE " + role); err != nil {
				t.Errorf("dropping role %s: %v", role, err)
			}
		})
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the PostgreSQL test DSN is not a URL, which this test needs to log in as another role: %v", err)
		}
		u.User = url.User(user)
		return u.String(), role
	case "mysql":
		const pw = "Pw-app-user-1"
		account := "'" + user + "'@'%'"
		if _, err := db.Exec("CREATE USER " + account + " IDENTIFIED BY '" + pw + "'"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec("DROP USER " + account); err != nil {
				t.Errorf("dropping user %s: %v", account, err)
			}
		})
		cfg, err := gomysql.ParseDSN(s.DSN)
		if err != nil {
			t.Skipf("the MySQL test DSN is not a go-sql-driver DSN, which this test needs to log in as another user: %v", err)
		}
		// Connected to the table's database, the one it may use.
		cfg.User, cfg.Passwd, cfg.DBName = user, pw, s.Schema
		return cfg.FormatDSN(), "`" + user + "`@`%`"
	}
	t.Skipf("%s: no user of its own for this test (SQLite has no users; SQL Server's need a server login)", s.Dialect.Name())
	return "", ""
}

// findingsOf are verify's findings in its JSON report.
func findingsOf(t *testing.T, r result) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range r.json(t)["findings"].([]any) {
		out = append(out, f.(map[string]any))
	}
	return out
}

// TestVerifyAsAppUser: verify run as the app's user, which may read and
// write the cache table but not read its version table, says that the
// version table could not be read and gives the GRANT that lets it (not
// "no version recorded", which is false); and a user that lacks one of
// the privileges the provider needs on the table is warned, with the
// GRANT. Granting exactly the fixes given makes verify --strict pass.
func TestVerifyAsAppUser(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if n := s.Dialect.Name(); n != "postgres" && n != "mysql" {
			t.Skipf("%s: no user of its own for this test (SQLite has no users; SQL Server's need a server login)", n)
		}
		t.Parallel()
		d := s.Dialect
		db := s.Open(t)
		table := dialecttest.Table("AppUser")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		dsn, grantee := appUser(t, s, db, "sessctl_appuser")
		n := d.Names(s.Schema, table)
		// The provider's privileges on the table, and (PostgreSQL) USAGE
		// on its schema, but nothing on the version table.
		if d.Name() == "postgres" {
			if _, err := db.Exec("GRANT USAGE ON SCHEMA " + d.Quote(s.Schema) + " TO " + grantee); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec("GRANT SELECT, INSERT, UPDATE, DELETE ON " + s.Qualified(table) + " TO " + grantee); err != nil {
			t.Fatal(err)
		}

		r := must(t, 0, "verify", "-o", "json", dsn, s.Schema, table)
		fs := findingsOf(t, r)
		wantFix := "GRANT SELECT ON " + s.Qualified(n.VersionTable) + " TO " + grantee + ";"
		if len(fs) != 1 || !strings.Contains(fs[0]["message"].(string), "could not be read") || fs[0]["fix"] != wantFix {
			t.Fatalf("verify as a user that may not read the version table: %s\nwant one finding: could not be read, fix %q", r.stdout, wantFix)
		}
		if strings.Contains(r.stdout, "no sessctl version") {
			t.Errorf("verify said no version is recorded, which it could not know: %s", r.stdout)
		}
		if _, err := db.Exec(wantFix); err != nil {
			t.Fatalf("the fix %q: %v", wantFix, err)
		}
		must(t, 0, "verify", "--strict", dsn, s.Schema, table)

		// Without INSERT and DELETE, the provider fails: say so.
		if _, err := db.Exec("REVOKE INSERT, DELETE ON " + s.Qualified(table) + " FROM " + grantee); err != nil {
			t.Fatal(err)
		}
		r = must(t, 0, "verify", "-o", "json", dsn, s.Schema, table)
		fs = findingsOf(t, r)
		wantFix = "GRANT INSERT, DELETE ON " + s.Qualified(table) + " TO " + grantee + ";"
		if len(fs) != 1 || fs[0]["object"] != "privileges" || !strings.Contains(fs[0]["message"].(string), "INSERT, DELETE") || fs[0]["fix"] != wantFix {
			t.Fatalf("verify as a user without INSERT and DELETE: %s\nwant one finding naming them, fix %q", r.stdout, wantFix)
		}
		must(t, 3, "verify", "--strict", dsn, s.Schema, table)
		if _, err := db.Exec(wantFix); err != nil {
			t.Fatalf("the fix %q: %v", wantFix, err)
		}
		must(t, 0, "verify", "--strict", dsn, s.Schema, table)
		// The administrator who made the table is not warned.
		if fs := findingsOf(t, must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)); len(fs) != 0 {
			t.Errorf("verify as the table's owner: %v", fs)
		}
	})
}
