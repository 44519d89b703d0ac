package cmd

import (
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// sqlite3 runs the sqlite3 shell on the database at path with sql as its
// input, failing t unless it exits 0, and returns what it printed.
func sqlite3(t *testing.T, shell, path, sql string) string {
	t.Helper()
	c := exec.Command(shell, "-bail", path)
	c.Stdin = strings.NewReader(sql)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s\ninput:\n%s", path, err, out, sql)
	}
	return string(out)
}

// sessionIDs are the Ids left in table of the SQLite file at path, sorted.
func sessionIDs(t *testing.T, path, table string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(fmt.Sprintf(`SELECT "Id" FROM %q ORDER BY "Id"`, table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// seedAround writes rows that expired an hour, and 61 s, ago, and rows
// that expire in a minute and an hour, through the sqlite3 shell: with a
// grace of one minute, the first two kinds are to go, the others to stay.
func seedAround(t *testing.T, shell, path, table string) {
	t.Helper()
	now := time.Now().UnixMicro()
	var b strings.Builder
	for i, off := range []int64{-3600e6, -61e6, -3600e6, -61e6, 60e6, 3600e6, 60e6, -30e6} {
		fmt.Fprintf(&b, "INSERT INTO %q VALUES ('r%d', x'00', %d, NULL, NULL);\n", table, i, now+off)
	}
	sqlite3(t, shell, path, b.String())
}

// TestSQLiteScriptsInSQLite3: the SQL that --script prints for SQLite runs
// in the sqlite3 shell of the machine (Debian 12's is 3.40), and does what
// sessctl does: create (plain and --idempotent, twice) makes a table that
// verify accepts; purge, repeated as its comment says, deletes exactly the
// rows the live purge deletes with the same grace, those that expired over
// the grace ago, and keeps the rest; drop drops it. A script that works
// only on a newer SQLite (unixepoch('subsec') is NULL before 3.42) deletes
// nothing and still exits 0: the rows left show it.
func TestSQLiteScriptsInSQLite3(t *testing.T) {
	shell := dialecttest.Tool(t, "sqlite3")
	version, _ := exec.Command(shell, "--version").Output()
	t.Logf("sqlite3 %s", strings.Fields(string(version) + " ?")[0])
	dir := t.TempDir()
	byScript, live := filepath.Join(dir, "script.db"), filepath.Join(dir, "live.db")
	const table = "SessionData"

	create := must(t, 0, "create", "--script", "--dialect", "sqlite", "main", table).stdout
	idempotent := must(t, 0, "create", "--script", "--idempotent", "--dialect", "sqlite", "main", table).stdout
	sqlite3(t, shell, byScript, create)
	sqlite3(t, shell, byScript, idempotent)
	sqlite3(t, shell, byScript, idempotent)
	must(t, 0, "verify", byScript, "main", table)
	must(t, 0, "create", live, "main", table)

	seedAround(t, shell, byScript, table)
	seedAround(t, shell, live, table)
	purge := must(t, 0, "purge", "--script", "--dialect", "sqlite", "--grace", "1m", "--batch-size", "1", "main", table).stdout
	for range 10 { // one row a run: more runs than rows to go
		sqlite3(t, shell, byScript, purge)
	}
	must(t, 0, "purge", "--grace", "1m", live, "main", table)
	want := []string{"r4", "r5", "r6", "r7"}
	if got := sessionIDs(t, byScript, table); !slices.Equal(got, want) {
		t.Errorf("after the purge script in sqlite3, rows %q are left, want %q", got, want)
	}
	if got := sessionIDs(t, live, table); !slices.Equal(got, want) {
		t.Errorf("after the live purge, rows %q are left, want %q", got, want)
	}

	// The clock both read, in the table's unit: within a few seconds of
	// this process's.
	var shellNow int64
	now := strings.TrimSpace(sqlite3(t, shell, ":memory:", "SELECT "+scriptClock(t, purge)+";"))
	if _, err := fmt.Sscan(now, &shellNow); err != nil {
		t.Fatalf("sqlite3 read the clock as %q: %v", now, err)
	}
	if d := time.Since(time.UnixMicro(shellNow)); d > time.Minute || d < -time.Minute {
		t.Errorf("the script's clock reads %d in sqlite3, %s from now: not microseconds since the epoch", shellNow, d)
	}

	sqlite3(t, shell, byScript, must(t, 0, "drop", "--script", "--dialect", "sqlite", "main", table).stdout)
	must(t, ExitIncompatible, "verify", byScript, "main", table)
}

// scriptClock is the expression the purge script reads the clock with:
// what follows "ExpiresAtTime" < up to the grace.
func scriptClock(t *testing.T, script string) string {
	t.Helper()
	_, after, ok := strings.Cut(script, `"ExpiresAtTime" < `)
	if !ok {
		t.Fatalf("no expiry test in the purge script:\n%s", script)
	}
	i := strings.LastIndex(after[:strings.Index(after, "\n")], " - ")
	if i < 0 {
		t.Fatalf("no grace in the purge script's expiry test:\n%s", script)
	}
	return after[:i]
}

// sqlite337 are the functions SQLite 3.37.0 has built in (core, date and
// time, aggregate), and CAST: the SQLite that STRICT tables need, and so
// the oldest a printed script may run on.
var sqlite337 = map[string]bool{
	"abs": true, "changes": true, "char": true, "coalesce": true, "glob": true, "hex": true, "ifnull": true, "iif": true,
	"instr": true, "last_insert_rowid": true, "length": true, "like": true, "likelihood": true, "likely": true, "lower": true,
	"ltrim": true, "max": true, "min": true, "nullif": true, "printf": true, "quote": true, "random": true, "randomblob": true,
	"replace": true, "round": true, "rtrim": true, "soundex": true, "sqlite_version": true, "substr": true, "substring": true,
	"total_changes": true, "trim": true, "typeof": true, "unicode": true, "unlikely": true, "upper": true, "zeroblob": true,
	"date": true, "time": true, "datetime": true, "julianday": true, "strftime": true,
	"avg": true, "count": true, "group_concat": true, "sum": true, "total": true, "cast": true,
}

// sqlKeywordsBeforeParen are words that take a ( in SQL without being
// functions.
var sqlKeywordsBeforeParen = map[string]bool{"in": true, "exists": true, "values": true, "key": true, "as": true,
	"on": true, "using": true, "over": true, "filter": true, "where": true, "and": true, "or": true, "not": true, "check": true}

// TestSQLiteScriptsUseSQLite337: every function the printed SQLite scripts
// call is one SQLite 3.37 has (unixepoch came in 3.38, its 'subsec' in
// 3.42, octet_length and concat later): whatever the machine's sqlite3,
// a DBA's older shell runs them.
func TestSQLiteScriptsUseSQLite337(t *testing.T) {
	for _, args := range [][]string{
		{"create", "--script"}, {"create", "--script", "--idempotent"}, {"drop", "--script"},
		{"purge", "--script"}, {"purge", "--script", "--grace", "5m", "--batch-size", "10"},
	} {
		script := must(t, 0, append(args, "--dialect", "sqlite", "main", "SessionData")...).stdout
		tokens, err := dialecttest.Lex("sqlite", script)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for i, tok := range tokens[:len(tokens)-1] {
			w := strings.ToLower(tok.Text)
			if tok.Kind != dialecttest.Word || tokens[i+1].Text != "(" || sqlKeywordsBeforeParen[w] {
				continue
			}
			if !sqlite337[w] {
				t.Errorf("sessctl %s prints %s(…), which SQLite 3.37 does not have:\n%s", strings.Join(args, " "), tok.Text, script)
			}
		}
		if strings.Contains(script, "subsec") {
			t.Errorf("sessctl %s prints the 'subsec' modifier, which SQLite before 3.42 reads as NULL", strings.Join(args, " "))
		}
	}
}
