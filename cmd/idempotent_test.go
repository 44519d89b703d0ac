package cmd

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/migrations"
)

// TestIdempotentScriptRecordsVersion: the SQL `create --script
// --idempotent` prints, run by a DBA with the engine's own client (psql,
// mysql, sqlite3; through database/sql where there is none), makes a table
// that verify --strict passes and that create finds up to date: it records
// the version as golang-migrate does. Run again over the table it made, it
// changes nothing; over a version a newer sessctl recorded, it keeps that.
func TestIdempotentScriptRecordsVersion(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Script")
		s.DropAtCleanup(t, db, table)
		script := must(t, 0, "create", "--script", "--idempotent", "--dialect", s.Dialect.Name(), s.Schema, table).stdout

		runScript(t, s, db, script)
		wantVerified(t, s, table)
		wantClean(t, s, db, table)
		r := must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
		if got := r.json(t)["status"]; got != "up_to_date" {
			t.Errorf("create after the script: %s", r.stdout)
		}

		s.Seed(t, db, table, "r", 10, 10, 0)
		runScript(t, s, db, script)
		wantVerified(t, s, table)
		wantClean(t, s, db, table)
		if n := s.Count(t, db, table, "r"); n != 10 {
			t.Errorf("running the script again left %d of 10 rows", n)
		}

		vt := s.Qualified(s.Dialect.Names(s.Schema, table).VersionTable)
		if _, err := db.Exec("UPDATE " + vt + " SET version = 99"); err != nil {
			t.Fatal(err)
		}
		runScript(t, s, db, script)
		if rows, _ := versionRows(t, s, db, table); len(rows) != 1 || rows[0] != (versionRow{99, false}) {
			t.Errorf("the script over version 99 left %+v, want it kept", rows)
		}
		latest, _ := migrations.Latest(s.Dialect.Name())
		if latest >= 99 {
			t.Fatalf("latest version %d: pick a newer one for this test", latest)
		}
	})
}

// runScript runs a --script as a DBA would: with psql, mysql or sqlite3,
// stopping at the first error; through database/sql where the client is
// not installed (sqlite3), or where there is none here (SQL Server's
// sqlcmd: batch by batch, split at GO).
func runScript(t *testing.T, s dialecttest.Server, db *sql.DB, script string) {
	t.Helper()
	if err := scriptErr(t, s, db, script); err != nil {
		t.Fatalf("%v\nthe script:\n%s", err, script)
	}
}

// scriptErr runs a --script as runScript does, and returns its error.
func scriptErr(t *testing.T, s dialecttest.Server, db *sql.DB, script string) error {
	t.Helper()
	var c *exec.Cmd
	switch s.Dialect.Name() {
	case "postgres":
		c = exec.Command(client(t, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", s.DSN, "-f", "-")
	case "mysql":
		cfg, err := gomysql.ParseDSN(s.DSN)
		if err != nil {
			t.Fatal(err)
		}
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c = exec.Command(client(t, "mysql"), "--protocol=TCP", "-h", host, "-P", port, "-u", cfg.User)
		c.Env = append(os.Environ(), "MYSQL_PWD="+cfg.Passwd)
	case "sqlite":
		if p, err := exec.LookPath("sqlite3"); err == nil {
			c = exec.Command(p, "-bail", s.DSN)
			break
		}
		t.Logf("sqlite3 is not installed: running the script through database/sql")
		if _, err := db.Exec(script); err != nil {
			return fmt.Errorf("running the script: %w", err)
		}
		return nil
	case "sqlserver":
		for _, batch := range strings.Split(script, "\nGO\n") {
			if strings.TrimSpace(batch) == "" {
				continue
			}
			if _, err := db.Exec(batch); err != nil {
				return fmt.Errorf("running a batch of the script: %w\n%s", err, batch)
			}
		}
		return nil
	default:
		t.Fatalf("no way to run a script on %s", s.Dialect.Name())
	}
	c.Stdin = strings.NewReader(script)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(c.Path), err, out)
	}
	return nil
}

// client is the path of the engine's command-line client, which the
// machine that runs these servers has (CI installs it with the server).
func client(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s, the server's own client, is not installed: %v", name, err)
	}
	return p
}

// TestIdempotentScriptOnPartitionedTable: PostgreSQL refuses CREATE INDEX
// CONCURRENTLY on a partitioned table, and a script cannot look at the
// table first; the script's guarded CREATE INDEX is plain, saying why, so
// that it runs over a partitioned cache table made by hand (hash and
// range) as over a new one, and leaves a table verify --strict passes.
func TestIdempotentScriptOnPartitionedTable(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	for _, by := range []string{"HASH", "RANGE"} {
		table := dialecttest.Table("ScriptPart")
		s.DropAtCleanup(t, db, table)
		var cols []string
		for _, c := range s.Dialect.Columns() {
			cols = append(cols, c.Definition)
		}
		q := s.Qualified(table)
		stmts := []string{`CREATE TABLE ` + q + ` (` + strings.Join(cols, ", ") + `, PRIMARY KEY ("Id")) PARTITION BY ` + by + ` ("Id")`}
		if by == "HASH" {
			for i := range 2 {
				stmts = append(stmts, "CREATE TABLE "+s.Qualified(table+"_p"+string(rune('0'+i)))+" PARTITION OF "+q+
					" FOR VALUES WITH (MODULUS 2, REMAINDER "+string(rune('0'+i))+")")
			}
		} else {
			stmts = append(stmts, "CREATE TABLE "+s.Qualified(table+"_pd")+" PARTITION OF "+q+" DEFAULT")
		}
		for _, stmt := range stmts {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		script := must(t, 0, "create", "--script", "--idempotent", "--dialect", "postgres", s.Schema, table).stdout
		if !strings.Contains(script, "partitioned") {
			t.Errorf("the script does not say why its CREATE INDEX is plain:\n%s", script)
		}
		runScript(t, s, db, script)
		wantVerified(t, s, table)
		wantClean(t, s, db, table)
	}
}
