package cmd

import (
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestLifecycle runs every command on every dialect's server, the way a
// newcomer would: create, create again, verify, purge, drop.
func TestLifecycle(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		table := dialecttest.Table("Life")
		conn, schemaName := s.DSN, s.Schema
		args := func(cmd string, flags ...string) []string {
			return append(append([]string{cmd}, flags...), conn, schemaName, table)
		}
		db := s.Open(t)
		s.DropAtCleanup(t, db, table)

		r := must(t, 0, args("create")...)
		if !strings.Contains(r.stdout, "created table") {
			t.Errorf("create said %q, want it to say it created the table", r.stdout)
		}
		r = must(t, 0, args("create")...)
		if !strings.Contains(r.stdout, "already up to date") {
			t.Errorf("second create said %q, want it to say it is up to date", r.stdout)
		}
		r = must(t, 0, args("create", "-o", "json")...)
		if got := r.json(t)["status"]; got != "up_to_date" {
			t.Errorf("create -o json: status %v, want up_to_date", got)
		}

		r = must(t, 0, args("verify", "-o", "json")...)
		m := r.json(t)
		if m["status"] != "ok" || len(m["findings"].([]any)) != 0 {
			t.Errorf("verify of a new table: %s", r.stdout)
		}

		s.Seed(t, db, table, "old", 50, 100, -time.Hour)
		s.Seed(t, db, table, "live", 20, 100, time.Hour)
		r = must(t, 0, args("purge", "--dry-run", "-o", "json")...)
		if got := r.json(t)["remaining"]; got != float64(50) {
			t.Errorf("purge --dry-run counted %v expired rows, want 50", got)
		}
		if s.Count(t, db, table, "old") != 50 {
			t.Fatalf("purge --dry-run deleted rows")
		}
		r = must(t, 0, args("purge", "--batch-size", "7", "-o", "json")...)
		m = r.json(t)
		// 7 batches of 7, one of 1, and one that deletes none (a short
		// batch may be a trigger's doing, so purge goes on).
		if m["deleted"] != float64(50) || m["batches"] != float64(9) || m["status"] != "done" || m["remaining"] != float64(0) {
			t.Errorf("purge: %s, want 50 deleted in 9 batches, done, 0 remaining", r.stdout)
		}
		if n := s.Count(t, db, table, "old"); n != 0 {
			t.Errorf("%d expired rows left after purge", n)
		}
		if n := s.Count(t, db, table, "live"); n != 20 {
			t.Errorf("purge left %d of 20 live rows", n)
		}

		r = must(t, 2, args("drop")...)
		if !strings.Contains(r.stderr, "--yes") {
			t.Errorf("drop without --yes said %q, want it to name --yes", r.stderr)
		}
		must(t, 0, args("verify")...)
		must(t, 0, args("drop", "--yes")...)
		r = must(t, 3, args("verify", "-o", "json")...)
		if got := r.json(t)["status"]; got != "missing" {
			t.Errorf("verify after drop: status %v, want missing", got)
		}
		must(t, 1, args("drop", "--yes")...)
		must(t, 0, args("drop", "--yes", "--if-exists")...)
	})
}
