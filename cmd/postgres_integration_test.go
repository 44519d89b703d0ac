package cmd

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
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

// TestPostgresCreateWaitingForLock: a create queued behind another create's
// lock gives up at --timeout (exit 1, saying so) and stops at once on
// SIGINT (exit 130), creating nothing either way.
func TestPostgresCreateWaitingForLock(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	table := dialecttest.Table("Queued")
	s.DropAtCleanup(t, db, table)
	var dbName string
	if err := db.QueryRow(`SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	// golang-migrate's lock for this table's version table, held as a
	// create in progress would hold it.
	id, _ := database.GenerateAdvisoryLockId(dbName, s.Schema, table+"_migrations")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1::bigint)`, id); err != nil {
		t.Fatal(err)
	}

	r := must(t, 1, "create", "--timeout", "1s", s.DSN, s.Schema, table)
	if !strings.Contains(r.stderr, "timed out after 1s") {
		t.Errorf("create behind a held lock with --timeout 1s said %q", r.stderr)
	}

	var errb strings.Builder
	c := command(nil, "create", s.DSN, s.Schema, table)
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Errorf("create behind a held lock, then SIGINT: %v, want exit 130; stderr %q", err, errb.String())
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_class WHERE relname = $1`, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("an interrupted create made the table")
	}
}
