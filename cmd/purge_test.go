package cmd

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestPurgeJSONReport: every field of the JSON report is there, and they
// agree with the table: deleted is the rows gone, remaining the expired
// rows left.
func TestPurgeJSONReport(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Report")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		s.Seed(t, db, table, "old", 500, 20, -time.Hour)
		s.Seed(t, db, table, "live", 50, 20, time.Hour)

		for _, run := range []struct {
			flags          []string
			status         string
			deleted, after int64
		}{
			{[]string{"--max-rows", "300"}, "bounded", 300, 200},
			{[]string{"--batch-size", "7", "--max-rows", "30"}, "bounded", 30, 170},
			{nil, "done", 170, 0},
			{nil, "done", 0, 0},
		} {
			args := append(append([]string{"purge", "-o", "json"}, run.flags...), s.DSN, s.Schema, table)
			m := must(t, 0, args...).json(t)
			for _, k := range []string{"status", "deleted", "batches", "elapsed_ms", "rows_per_second", "max_batch_ms", "remaining", "held"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s: no %q in the report %v", strings.Join(args, " "), k, m)
				}
			}
			left := s.Count(t, db, table, "old")
			if m["status"] != run.status || m["deleted"] != float64(run.deleted) || left != run.after || m["remaining"] != float64(left) {
				t.Errorf("%s: %v; the table has %d expired rows left, want %s with %d deleted and %d left",
					strings.Join(args, " "), m, left, run.status, run.deleted, run.after)
			}
			batches, _ := m["batches"].(float64)
			if batches < 1 || run.flags != nil && run.flags[0] == "--batch-size" && batches != 5 {
				t.Errorf("%s: %v batches", strings.Join(args, " "), m["batches"])
			}
			if m["max_batch_ms"].(float64) > m["elapsed_ms"].(float64) {
				t.Errorf("%s: the longest batch took %vms of %vms", strings.Join(args, " "), m["max_batch_ms"], m["elapsed_ms"])
			}
			if ms := m["elapsed_ms"].(float64); ms >= 10 {
				if rate := m["rows_per_second"].(float64); rate < float64(run.deleted)/(ms+1)*1000*0.9 || rate > float64(run.deleted)/ms*1000*1.1 {
					t.Errorf("%s: %v rows/s for %d rows in %vms", strings.Join(args, " "), rate, run.deleted, ms)
				}
			}
		}
		if n := s.Count(t, db, table, "live"); n != 50 {
			t.Errorf("%d of 50 live rows left", n)
		}
	})
}

// TestPurgeSecondSkips: while one purge process runs, a second purge of the
// same table says it skipped and exits 0, deleting nothing; the first
// carries on.
func TestPurgeSecondSkips(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("Skip")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		const expired = 2000
		s.Seed(t, db, table, "old", expired, 20, -time.Hour)

		var out, errb bytes.Buffer
		first := command(nil, "purge", "-o", "json", "--batch-size", "10", "--pause", "50ms", s.DSN, s.Schema, table)
		first.Stdout, first.Stderr = &out, &errb
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		defer first.Process.Kill()
		deadline := time.Now().Add(30 * time.Second)
		for s.Count(t, db, table, "old") == expired && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}

		before := s.Count(t, db, table, "old")
		r := must(t, 0, "purge", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, "skipped: another purge of "+s.Qualified(table)+" holds its lock") {
			t.Errorf("a second purge said %q, want it to say it skipped", r.stdout)
		}
		m := must(t, 0, "purge", "-o", "json", s.DSN, s.Schema, table).json(t)
		if m["status"] != "skipped" || m["deleted"] != float64(0) || m["remaining"] != nil {
			t.Errorf("a second purge -o json: %v, want skipped, 0 deleted, remaining null", m)
		}
		// The first deletes 10 rows every 50ms: in 3 runs of sessctl it
		// may have deleted some; the second none.
		if after := s.Count(t, db, table, "old"); after > before {
			t.Errorf("rows came back: %d, then %d", before, after)
		}

		if err := first.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		var ee *exec.ExitError
		if err := first.Wait(); !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
			t.Fatalf("the first purge: %v, want exit 130\n%s%s", err, out.String(), errb.String())
		}
		must(t, 0, "purge", s.DSN, s.Schema, table)
		if n := s.Count(t, db, table, "old"); n != 0 {
			t.Errorf("%d expired rows left once the lock was free", n)
		}
	})
}

// TestPurgeDryRunSaysIndex: the dry run says whether a batch reads the
// expiry index: it does on a sessctl table, and it says so and warns when
// the index is gone.
func TestPurgeDryRunSaysIndex(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("DryRun")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		s.Seed(t, db, table, "old", 30, 20, -time.Hour)
		s.Seed(t, db, table, "live", 3000, 20, time.Hour)
		analyzeTable(t, s, db, table)
		index := s.Dialect.Names(s.Schema, table).ExpiryIndex

		r := must(t, 0, "purge", "--dry-run", s.DSN, s.Schema, table)
		for _, want := range []string{"30 rows of " + s.Qualified(table) + " expired and would be deleted", "each batch reads the expiry index " + s.Dialect.Quote(index)} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("purge --dry-run said\n%s\nwant it to say %q", r.stdout, want)
			}
		}
		m := must(t, 0, "purge", "--dry-run", "-o", "json", s.DSN, s.Schema, table).json(t)
		if m["plan_uses_expiry_index"] != true || m["expiry_index"] != index || m["remaining"] != float64(30) || m["oldest_expiry"] == nil {
			t.Errorf("purge --dry-run -o json: %v", m)
		}

		if _, err := db.Exec("DROP INDEX " + dropIndexTarget(s, index, table)); err != nil {
			t.Fatal(err)
		}
		r = must(t, 0, "purge", "--dry-run", s.DSN, s.Schema, table)
		if !strings.Contains(r.stdout, `would NOT read an index: the table has none on "ExpiresAtTime"`) ||
			!strings.Contains(r.stderr, "warning: without an expiry index every batch reads the whole table") {
			t.Errorf("purge --dry-run without the index said\n%s%s", r.stdout, r.stderr)
		}
		m = must(t, 0, "purge", "--dry-run", "-o", "json", s.DSN, s.Schema, table).json(t)
		if m["plan_uses_expiry_index"] != false {
			t.Errorf("purge --dry-run -o json without the index: %v", m)
		}
		if n := s.Count(t, db, table, "old"); n != 30 {
			t.Errorf("the dry runs deleted %d rows", 30-n)
		}
	})
}

// TestPurgeBatchFlags: --batch-size, --batch-time and --order are checked,
// and the first two exclude each other.
func TestPurgeBatchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch-size", "10", "--batch-time", "50ms"}, "cannot be used together"},
		{[]string{"--batch-size", "0"}, "--batch-size must be at least 1"},
		{[]string{"--batch-time", "0s"}, "--batch-time takes a positive duration"},
		{[]string{"--order", "random"}, `--order "random": use auto, expiry or storage`},
	} {
		args := append(append([]string{"purge"}, c.args...), "x.db", "main", "T")
		r := sessctl(t, nil, args...).want(t, ExitUsage, args...)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("sessctl %s said %q, want %q", strings.Join(args, " "), r.stderr, c.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	expired := int64(10000)
	r := schema.PurgeResult{Deleted: 2500, Batches: 3, RowsPerSecond: 500, LastBatchRows: 1200, LastBatch: 98 * time.Millisecond}
	if got, want := progressLine(r), "deleted 2500 rows, 500 rows/s, batch 3: 1200 rows in 98ms"; got != want {
		t.Errorf("progress without a count:\n got %q\nwant %q", got, want)
	}
	r.Expired = &expired
	if got, want := progressLine(r), "deleted 2500 of ~10000 expired rows, ~7500 left (~15s), 500 rows/s, batch 3: 1200 rows in 98ms"; got != want {
		t.Errorf("progress with a count:\n got %q\nwant %q", got, want)
	}
	r.Expired = nil
	r.Yielded = &schema.Yielded{MS: 1450, By: map[string]int64{"load": 1250, "replica lag": 200}}
	r.Waiting = "active_sessions 7 > --max-load 4"
	if got, want := progressLine(r), "deleted 2500 rows, 500 rows/s, batch 3: 1200 rows in 98ms, yielded 1.5s (load 1.3s, replica lag 200ms); "+
		"waiting: active_sessions 7 > --max-load 4"; got != want {
		t.Errorf("progress while yielding:\n got %q\nwant %q", got, want)
	}
}

// TestPurgeRefusesForeignTable: purge of a table that is not a cache table
// is refused (exit 3), saying so, and deletes nothing. (On SQLite a bare
// "ExpiresAtTime" that is no column reads as a string, which once let it
// succeed.)
func TestPurgeRefusesForeignTable(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("NotCache")
		s.DropAtCleanup(t, db, table)
		for _, q := range []string{
			"CREATE TABLE " + s.Qualified(table) + " (a int)",
			"INSERT INTO " + s.Qualified(table) + " (a) VALUES (1)",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		for _, args := range [][]string{{"purge"}, {"purge", "--dry-run"}, {"purge", "--order", "storage"}} {
			r := must(t, ExitIncompatible, append(args, s.DSN, s.Schema, table)...)
			if !strings.Contains(r.stderr, "not a compatible cache table") {
				t.Errorf("%s of a table that is not a cache table said %q", strings.Join(args, " "), r.stderr)
			}
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + s.Qualified(table)).Scan(&n); err != nil || n != 1 {
			t.Errorf("the table holds %d rows after the refused purges (%v), want 1", n, err)
		}
	})
}

// holdSQL locks one row of a table in an open transaction, as an app
// session does that reads a row for update and does not commit: %s is the
// table. Its parameter is the row's Id.
var holdSQL = map[string]string{
	"postgres":  `SELECT "Id" FROM %s WHERE "Id" = $1 FOR UPDATE`,
	"mysql":     "SELECT `Id` FROM %s WHERE `Id` = ? FOR UPDATE",
	"sqlserver": `SELECT [Id] FROM %s WITH (UPDLOCK, ROWLOCK) WHERE [Id] = @p1`,
}

// holdQuery is s's holdSQL. Babelfish ignores table hints (tds/README.md,
// "table hints are ignored"), so that UPDLOCK there locks nothing: the row
// is held by an update that changes nothing in it, as an app's write would
// hold it, and then read back.
func holdQuery(t *testing.T, s dialecttest.Server, db *sql.DB) string {
	t.Helper()
	if s.Dialect.Name() == "sqlserver" && babelfish(t, db) {
		return `UPDATE %[1]s SET [ExpiresAtTime] = [ExpiresAtTime] WHERE [Id] = @p1;
SELECT [Id] FROM %[1]s WHERE [Id] = @p1`
	}
	return holdSQL[s.Dialect.Name()]
}

// babelfish reports whether db is Babelfish for PostgreSQL.
func babelfish(t *testing.T, db *sql.DB) bool {
	t.Helper()
	var bbf int
	if err := db.QueryRow(`SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int)`).Scan(&bbf); err != nil {
		t.Fatal(err)
	}
	return bbf == 1
}

// analyzeTable refreshes the statistics the planner reads for table. T-SQL
// has UPDATE STATISTICS, not ANALYZE; Babelfish 4.3 refuses both
// (tds/README.md, "no ANALYZE"), and its PostgreSQL keeps statistics by
// autovacuum.
func analyzeTable(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	q := "ANALYZE " + s.Qualified(table)
	switch s.Dialect.Name() {
	case "mysql":
		q = "ANALYZE TABLE " + s.Qualified(table)
	case "sqlserver":
		if babelfish(t, db) {
			return
		}
		q = "UPDATE STATISTICS " + s.Qualified(table)
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeSkipsHeldRows: a purge is never held up by an app session left
// idle in a transaction holding expired rows, on any engine with row locks
// (SQLite has none: it locks the whole database): walking and in expiry
// order, in batches of every size, it deletes every other expired row,
// keeps the held ones and the live ones, ends, and reports the held rows
// in JSON ("held") and in a line of text. On MariaDB it used to wait 50 s
// (innodb_lock_wait_timeout) and fail with nothing deleted. On PostgreSQL,
// --layout microsoft too, walking and in expiry order. (The classic ASP.NET
// layouts: TestClassicSessionPurgeSkipsHeld.)
func TestPurgeSkipsHeldRows(t *testing.T) {
	for _, name := range []string{"postgres", "mysql", "sqlserver"} {
		t.Run(name, func(t *testing.T) {
			s := dialecttest.Get(t, name)
			for _, run := range []struct {
				name  string
				flags []string
			}{
				{"storage", []string{"--order", "storage"}},
				{"expiry", []string{"--order", "expiry"}},
				{"expiry-batches-of-100", []string{"--order", "expiry", "--batch-size", "100"}},
				{"auto", nil},
			} {
				t.Run(run.name, func(t *testing.T) {
					t.Parallel()
					purgeSkipsHeld(t, s, cacheRace, run.flags)
				})
				for _, l := range raceLayouts {
					if l.engine == name && l.holdSQL != "" && (run.name == "storage" || run.name == "expiry") {
						t.Run(l.name+"/"+run.name, func(t *testing.T) {
							t.Parallel()
							purgeSkipsHeld(t, s, l, run.flags)
						})
					}
				}
			}
		})
	}
}

// purgeSkipsHeld is one run of TestPurgeSkipsHeldRows on a table of
// layout l, purged with flags.
func purgeSkipsHeld(t *testing.T, s dialecttest.Server, l raceLayout, flags []string) {
	db := s.Open(t)
	table := dialecttest.Table("held")
	s.DropAtCleanup(t, db, table)
	must(t, 0, slices.Concat([]string{"create"}, l.flags(), []string{s.DSN, s.Schema, table})...)
	const expired, live = 3000, 100
	l.seed(t, s, db, table, "old", expired, -time.Hour)
	l.seed(t, s, db, table, "live", live, time.Hour)
	hold := holdQuery(t, s, db)
	if l.name != "" {
		hold = l.holdSQL
	}
	// The oldest rows are the first a batch in expiry order
	// meets; held rows all over the table, and a live one.
	heldIDs := []string{"old1", "old2", "old1500", "old2999", "live7"}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, id := range heldIDs {
		var got string
		if err := tx.QueryRow(fmt.Sprintf(hold, s.Qualified(table)), id).Scan(&got); err != nil {
			t.Fatalf("holding %s: %v", id, err)
		}
	}
	const heldExpired = 4
	flags = slices.Concat(l.flags(), flags)
	args := append(append([]string{"purge", "-o", "json", "--timeout", "40s"}, flags...), s.DSN, s.Schema, table)
	m := must(t, 0, args...).json(t)
	if m["status"] != "done" || m["deleted"] != float64(expired-heldExpired) || m["held"] != float64(heldExpired) {
		t.Errorf("%s: %v; want done, %d deleted (all but the %d held), held %d",
			strings.Join(args, " "), m, expired-heldExpired, heldExpired, heldExpired)
	}
	// While they are held, a rerun deletes nothing, waits for
	// nothing, and says so.
	r := must(t, 0, append(append([]string{"purge", "--timeout", "40s"}, flags...), s.DSN, s.Schema, table)...)
	if !strings.Contains(r.stdout, "deleted 0 expired rows") ||
		!strings.Contains(r.stdout, fmt.Sprintf("left %d expired rows that another session holds", heldExpired)) {
		t.Errorf("a rerun while the rows are held said %q", r.stdout)
	}
	if n := l.count(t, s, db, table, "old"); n != heldExpired {
		t.Errorf("%d expired rows left, want the %d held", n, heldExpired)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Free again, they go.
	m = must(t, 0, append(append([]string{"purge", "-o", "json"}, flags...), s.DSN, s.Schema, table)...).json(t)
	if m["deleted"] != float64(heldExpired) || m["held"] != float64(0) {
		t.Errorf("once the rows were free: %v, want %d deleted, held 0", m, heldExpired)
	}
	if n := l.count(t, s, db, table, "live"); n != live {
		t.Errorf("%d live rows left, want %d", n, live)
	}
}
