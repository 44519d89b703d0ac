package cmd

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
	"github.com/sessctl/sessctl/schema"
)

// parallelJobs is how many CI jobs create at once.
const parallelJobs = 16

// TestParallelCreates: CI jobs that start together, each a process of its
// own, all run create. On one table they all exit 0 and leave one table
// with one clean version row of the latest version; on a table each in one
// schema they all exit 0 and every table verifies. The key ring (--layout
// keys): one table, 16 jobs (4 on the TDS stand-in), checked by keyRingOK,
// as verify does not read a key ring yet.
func TestParallelCreates(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			t.Run(l.Name, func(t *testing.T) { parallelCreates(t, s, db, l) })
		}
	})
}

func parallelCreates(t *testing.T, s dialecttest.Server, db *sql.DB, l *layouts.Layout) {
	jobs := parallelJobs
	if l != layouts.Cache && s.Dialect.Name() == "sqlserver" {
		jobs = 4 // a create takes seconds on the TDS stand-in
	}
	t.Run("same-table", func(t *testing.T) {
		table := dialecttest.Table("Par")
		s.DropAtCleanup(t, db, table)
		ok, statuses := 0, map[string]int{}
		for i, p := range runAtOnce(t, jobs, func(int) []string {
			return withLayout(l, "create", "-o", "json", s.DSN, s.Schema, table)
		}) {
			if p.code != 0 {
				t.Errorf("create %d of %d: exit %d\nstdout: %s\nstderr: %s", i+1, jobs, p.code, p.stdout, p.stderr)
				continue
			}
			ok++
			var res struct{ Status string }
			if err := json.Unmarshal([]byte(p.stdout), &res); err != nil {
				t.Errorf("create %d of %d printed no JSON: %v\n%s", i+1, jobs, err, p.stdout)
			}
			statuses[res.Status]++
		}
		// One made it; the others found it made when their turn at
		// the lock came.
		if statuses[schema.CreateCreated] != 1 || statuses[schema.CreateUpToDate] != jobs-1 {
			t.Errorf("statuses %v: want one %q and %d %q", statuses, schema.CreateCreated, jobs-1, schema.CreateUpToDate)
		}
		t.Logf("%s, %s: %d/%d creates of one table exited 0; their statuses: %v", s.Dialect.Name(), l.Noun, ok, jobs, statuses)
		if n := tablesLike(t, s, db, table); n != 1 {
			t.Errorf("%d tables named like %s, want 1", n, table)
		}
		if l == layouts.Keys {
			wantKeyVersion(t, s, db, table)
			if err := keyRingOK(s, db, table); err != nil {
				t.Error(err)
			}
			return
		}
		wantClean(t, s, db, table)
		wantVerified(t, s, table)
	})
	if l != layouts.Cache {
		return
	}

	t.Run("many-tables", func(t *testing.T) {
		prefix := dialecttest.Table("Par")
		tables := make([]string, parallelJobs)
		for i := range tables {
			tables[i] = fmt.Sprintf("%s_t%02d", prefix, i)
			s.DropAtCleanup(t, db, tables[i])
		}
		ok := 0
		for i, p := range runAtOnce(t, parallelJobs, func(i int) []string {
			return []string{"create", s.DSN, s.Schema, tables[i]}
		}) {
			if p.code != 0 {
				t.Errorf("create of %s: exit %d\nstdout: %s\nstderr: %s", tables[i], p.code, p.stdout, p.stderr)
				continue
			}
			ok++
		}
		t.Logf("%s: %d/%d creates of a table each exited 0", s.Dialect.Name(), ok, parallelJobs)
		for _, table := range tables {
			wantClean(t, s, db, table)
			wantVerified(t, s, table)
		}
	})
}

// process is what one sessctl process printed and how it exited.
type process struct {
	stdout, stderr string
	code           int
}

// runAtOnce starts n sessctl processes, the ith with args(i), all before
// it waits for any, so that they race; it returns how each ended.
func runAtOnce(t *testing.T, n int, args func(i int) []string) []process {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	outs := make([][2]*bytes.Buffer, n)
	for i := range cmds {
		outs[i] = [2]*bytes.Buffer{new(bytes.Buffer), new(bytes.Buffer)}
		cmds[i] = command(nil, args(i)...)
		cmds[i].Stdout, cmds[i].Stderr = outs[i][0], outs[i][1]
	}
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				started.Process.Kill()
				_ = started.Wait() // killed: its exit status says nothing

			}
			t.Fatal(err)
		}
	}
	res := make([]process, n)
	for i, c := range cmds {
		code := exitStatus(t, c.Wait())
		res[i] = process{stdout: outs[i][0].String(), stderr: outs[i][1].String(), code: code}
	}
	return res
}

// exitStatus is the exit code of a process that ended with err; -1 if a
// signal ended it.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running sessctl: %v", err)
	return -1
}

// versionRow is one row of golang-migrate's version table.
type versionRow struct {
	version int64
	dirty   bool
}

// versionRows reads the version table of table directly, failing t on
// an error; ok is false when there is no version table.
func versionRows(t *testing.T, s dialecttest.Server, db *sql.DB, table string) (rows []versionRow, ok bool) {
	t.Helper()
	rows, ok, err := readVersionRows(s, db, table)
	if err != nil {
		t.Fatal(err)
	}
	return rows, ok
}

// readVersionRows reads the version table of table directly; ok is false
// when there is no version table.
func readVersionRows(s dialecttest.Server, db *sql.DB, table string) (rows []versionRow, ok bool, err error) {
	name := s.Dialect.Names(s.Schema, table).VersionTable
	n, err := countTables(s, db, name)
	if err != nil || n == 0 {
		return nil, false, err
	}
	rs, err := db.Query("SELECT version, dirty FROM " + s.Qualified(name))
	if err != nil {
		return nil, true, fmt.Errorf("reading %s: %w", name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var r versionRow
		if err := rs.Scan(&r.version, &r.dirty); err != nil {
			return nil, true, fmt.Errorf("reading %s: %w", name, err)
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, true, fmt.Errorf("reading %s: %w", name, err)
	}
	return rows, true, nil
}

// wantClean fails t unless the version table of table holds exactly one
// row: the latest version, not dirty.
func wantClean(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	latest, err := migrations.Latest(s.Dialect.Name())
	if err != nil {
		t.Fatal(err)
	}
	rows, ok := versionRows(t, s, db, table)
	if want := []versionRow{{int64(latest), false}}; !ok || len(rows) != 1 || rows[0] != want[0] {
		t.Errorf("version table of %s holds %+v (there: %v), want %+v", table, rows, ok, want)
	}
}

// wantVerified fails t unless verify --strict finds table ok, with no
// findings.
func wantVerified(t *testing.T, s dialecttest.Server, table string) {
	t.Helper()
	r := sessctl(t, nil, "verify", "--strict", "-o", "json", s.DSN, s.Schema, table)
	if r.code != 0 {
		t.Errorf("verify of %s: exit %d\n%s%s", table, r.code, r.stdout, r.stderr)
		return
	}
	if m := r.json(t); m["status"] != "ok" || len(m["findings"].([]any)) != 0 {
		t.Errorf("verify of %s: %s", table, r.stdout)
	}
}

// tablesLike counts the tables of the test schema named name, in any
// case, failing t on an error.
func tablesLike(t *testing.T, s dialecttest.Server, db *sql.DB, name string) int {
	t.Helper()
	n, err := countTables(s, db, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countTables counts the tables of the test schema named name, in any
// case.
func countTables(s dialecttest.Server, db *sql.DB, name string) (int, error) {
	var q string
	params := []any{name, s.Schema}
	switch s.Dialect.Name() {
	case "sqlite":
		q, params = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND lower(name) = lower(?1)`, params[:1]
	case "postgres":
		q = `SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = lower($1) AND table_schema = $2`
	case "mysql":
		q = `SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = lower(?) AND table_schema = ?`
	case "sqlserver":
		q = `SELECT count(*) FROM INFORMATION_SCHEMA.TABLES WHERE lower(TABLE_NAME) = lower(@p1) AND TABLE_SCHEMA = @p2`
	default:
		return 0, fmt.Errorf("no catalog query for %s", s.Dialect.Name())
	}
	var n int
	if err := db.QueryRow(q, params...).Scan(&n); err != nil {
		return 0, fmt.Errorf("looking for %s: %w", name, err)
	}
	return n, nil
}
