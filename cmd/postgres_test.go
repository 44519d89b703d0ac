package cmd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestPostgresNewcomer walks the "done when": provision with an
// Npgsql string, verify, break a column's type and see verify name the
// problem and the fix, drop the expiry index and see a warning that fails
// only with --strict, purge, drop.
func TestPostgresNewcomer(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	cfg, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	npgsql := fmt.Sprintf("Host=%s;Port=%d;Database=%s;Username=%s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if cfg.Password != "" {
		npgsql += ";Password=" + cfg.Password
	}
	db := s.Open(t)
	table := dialecttest.Table("SessionData")
	s.DropAtCleanup(t, db, table)
	q := s.Qualified(table)

	must(t, 0, "create", npgsql, s.Schema, table)
	must(t, 0, "verify", npgsql, s.Schema, table)

	if _, err := db.Exec(`ALTER TABLE ` + q + ` ALTER COLUMN "SlidingExpirationInSeconds" TYPE bigint`); err != nil {
		t.Fatal(err)
	}
	r := must(t, 3, "verify", npgsql, s.Schema, table)
	for _, want := range []string{`column "SlidingExpirationInSeconds" is bigint; the provider needs double precision`,
		`fix: ALTER TABLE ` + q + ` ALTER COLUMN "SlidingExpirationInSeconds" TYPE double precision`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify of a bigint sliding column:\n%s\nwant it to say %q", r.stdout, want)
		}
	}
	if _, err := db.Exec(`ALTER TABLE ` + q + ` ALTER COLUMN "SlidingExpirationInSeconds" TYPE double precision`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP INDEX ` + s.Dialect.Quote(s.Schema) + "." + s.Dialect.Quote(table+"_ExpiresAtTime_idx")); err != nil {
		t.Fatal(err)
	}
	r = must(t, 0, "verify", npgsql, s.Schema, table)
	if !strings.Contains(r.stdout, `warning: no index on "ExpiresAtTime"`) {
		t.Errorf("verify without the expiry index said %q", r.stdout)
	}
	must(t, 3, "verify", "--strict", npgsql, s.Schema, table)
	r = must(t, 0, "create", npgsql, s.Schema, table)
	if !strings.Contains(r.stdout, "re-created the missing expiry index") {
		t.Errorf("create over a table that lost its index said %q", r.stdout)
	}
	must(t, 0, "verify", "--strict", npgsql, s.Schema, table)
	if _, err := db.Exec(`INSERT INTO ` + q + ` VALUES ('gone', '\x00', now() - interval '1 minute', NULL, NULL), ('kept', '\x00', now() + interval '1 minute', 60, NULL)`); err != nil {
		t.Fatal(err)
	}
	r = must(t, 0, "purge", npgsql, s.Schema, table)
	if !strings.Contains(r.stdout, "deleted 1 expired row from") {
		t.Errorf("purge said %q", r.stdout)
	}
	must(t, 0, "drop", "--yes", npgsql, s.Schema, table)
	must(t, 3, "verify", npgsql, s.Schema, table)
}
