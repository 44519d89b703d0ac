package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: bad input is exit 2 with a message that says what to
// do, sent nowhere near a database.
func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"create"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"create", db, "main", "T", "extra"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"create", "main", "T"}, "SESSCTL_CONNECTION"},
		{[]string{"create", "--bogus", db, "main", "T"}, "unknown flag"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"create", "--output", "yaml", db, "main", "T"}, "text or json"},
		{[]string{"create", "--dialect", "oracle", db, "main", "T"}, "use one of"},
		{[]string{"create", "localhost", "public", "T"}, "--dialect"},
		{[]string{"create", "Foo=1;Bar=2", "public", "T"}, "--dialect"},
		{[]string{"create", db, "main", ""}, "cannot be empty"},
		{[]string{"create", db, "other", "T"}, "use main"},
		{[]string{"create", db, "main", "sqlite_x"}, "reserves"},
		{[]string{"create", db, "main", "a\nb"}, "control character"},
		{[]string{"create", "postgres://h/db", "public", strings.Repeat("x", 64)}, "63"},
		{[]string{"create", "postgres://h/db", "public", strings.Repeat("x", 50)}, "derived"},
		{[]string{"drop", db, "main", "T"}, "--yes"},
		{[]string{"create", "--idempotent", db, "main", "T"}, "--script"},
		{[]string{"create", "--script", "main", "T"}, "--dialect"},
		{[]string{"purge", "--batch-size", "0", db, "main", "T"}, "--batch-size"},
		{[]string{"purge", "--grace", "-1s", db, "main", "T"}, "positive"},
		{[]string{"verify", "-v", "-q", db, "main", "T"}, "cannot be used together"},
		{[]string{"verify", "--wait", "soon", db, "main", "T"}, "invalid argument"},
		{[]string{"purge", "--batch-size", "-5", db, "main", "T"}, "--batch-size"},
		{[]string{"purge", "--batch-size", "ten", db, "main", "T"}, "invalid argument"},
		{[]string{"purge", "--batch-size", "10", "--batch-time", "1s", db, "main", "T"}, "cannot be used together"},
		{[]string{"purge", "--batch-time", "0s", db, "main", "T"}, "--batch-time"},
		{[]string{"purge", "--max-duration", "-1m", db, "main", "T"}, "positive"},
		{[]string{"purge", "--max-rows", "-1", db, "main", "T"}, "--max-rows"},
		{[]string{"purge", "--pause", "1 minute", db, "main", "T"}, "invalid argument"},
		{[]string{"purge", "--order", "random", db, "main", "T"}, "auto, expiry or storage"},
		{[]string{"verify", "--timeout", "-1s", db, "main", "T"}, "positive"},
		{[]string{"verify", "--timeout", "1d", db, "main", "T"}, "invalid argument"},
		{[]string{"verify", "-o", "", db, "main", "T"}, "text or json"},
		{[]string{"verify", "--output=JSON", db, "main", "T"}, "text or json"},
		{[]string{"verify", "--dialect", "", "x", "main", "T"}, ""},
		{[]string{"verify", "--strict=maybe", db, "main", "T"}, "invalid argument"},
		{[]string{"verify"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"verify", "T"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"purge", db, "main", "T", "U", "V"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"drop", "--yes"}, "takes [CONN] SCHEMA TABLE"},
		{[]string{"drop", "--yes=perhaps", db, "main", "T"}, "invalid argument"},
		{[]string{"drop", "--force", db, "main", "T"}, "--yes"},
		{[]string{"create", "--idempotent", "--dialect", "sqlite", "main", "T"}, "SESSCTL_CONNECTION"},
		{[]string{"create", "-x", db, "main", "T"}, "unknown shorthand flag"},
		{[]string{"create", "--create-schema=2", db, "main", "T"}, "invalid argument"},
		{[]string{"create", "--dialect", "postgres", "--script", "public", strings.Repeat("é", 32)}, "63"},
		{[]string{"create", "postgres://h/db", "pg_temp", "T"}, "pg_"},
		{[]string{"create", "mysql://u@h/db", "db", strings.Repeat("デ", 51)}, "file name"},
		{[]string{"create", "postgres://u:p@h:99999/db", "public", "T"}, "does not parse"},
		{[]string{"version", "extra"}, ""},
	} {
		r := sessctl(t, nil, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.say) {
			t.Errorf("sessctl %q: exit %d, stderr %q; want exit 2 saying %q", tc.args, r.code, r.stderr, tc.say)
		}
		// One line, and the pointer to --help: never a stack trace.
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) > 0 && lines[len(lines)-1] == "Run 'sessctl --help' for usage." {
			lines = lines[:len(lines)-1]
		}
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "sessctl: ") ||
			strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("sessctl %q: stderr %q, want one line of message", tc.args, r.stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a usage error created the database file")
	}
}

func TestScriptNeedsNoConnection(t *testing.T) {
	for _, d := range []string{"postgres", "sqlite"} {
		r := must(t, 0, "create", "--dialect", d, "--script", "main", "SessionData")
		if !strings.Contains(r.stdout, "CREATE TABLE") {
			t.Errorf("create --script --dialect %s printed %q", d, r.stdout)
		}
	}
	// The dialect can come from a connection string that is never used.
	r := must(t, 0, "drop", "--script", "postgres://nobody@192.0.2.1:1/none", "public", "SessionData")
	if !strings.Contains(r.stdout, `DROP TABLE "public"."SessionData"`) {
		t.Errorf("drop --script printed %q", r.stdout)
	}
	r = must(t, 0, "purge", "--script", "--dialect", "postgres", "--batch-size", "500", "--grace", "1m", "public", "S")
	if !strings.Contains(r.stdout, "LIMIT 500") || !strings.Contains(r.stdout, "secs => 60") {
		t.Errorf("purge --script printed %q", r.stdout)
	}
}

func TestConnectionFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	env := map[string]string{envConnection: db}
	sessctl(t, env, "create", "main", "SessionData").want(t, 0, "create")
	r := sessctl(t, env, "verify", "main", "SessionData").want(t, 0, "verify")
	if !strings.Contains(r.stdout, "ok") {
		t.Errorf("verify said %q", r.stdout)
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := must(t, 0, "version")
	if !strings.HasPrefix(r.stdout, "sessctl ") {
		t.Errorf("version printed %q", r.stdout)
	}
	if got := must(t, 0, "version", "-o", "json").json(t)["dialects"]; got == nil {
		t.Errorf("version -o json has no dialects")
	}
	for _, c := range []string{"create", "drop", "verify", "purge"} {
		r := must(t, 0, c, "--help")
		if !strings.Contains(r.stdout, "Exit codes:") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help lacks exit codes or examples:\n%s", c, r.stdout)
		}
	}
	must(t, 0, "completion", "bash")
}

// TestUsageErrorsRound2: a missing TABLE after a connection string is
// named as such (not "no connection string"); a shell cobra writes no
// completion for, and --dry-run with --script, are usage errors; a string
// with PostgreSQL's port in Npgsql's Host=host:port form is PostgreSQL's.
func TestUsageErrorsRound2(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"verify", "postgres://u@127.0.0.1:1/db", "public"}, "TABLE argument is missing"},
		{[]string{"purge", "Host=h;Database=d;Username=u", "public"}, "TABLE argument is missing"},
		{[]string{"create", "u:pw@tcp(h:3306)/db", "db"}, "TABLE argument is missing"},
		{[]string{"drop", "--yes", "sqlserver://sa:pw@h?database=d", "dbo"}, "TABLE argument is missing"},
		{[]string{"verify", db, "main"}, "TABLE argument is missing"},
		{[]string{"verify", "public", "SessionData"}, "SESSCTL_CONNECTION"},
		{[]string{"completion", "tcsh"}, "bash, fish, powershell, zsh"},
		{[]string{"completion", "nu"}, "bash, fish, powershell, zsh"},
		{[]string{"purge", "--dry-run", "--script", "--dialect", "postgres", "public", "T"}, "cannot be used together"},
		{[]string{"purge", "--dry-run", "--script", db, "main", "T"}, "cannot be used together"},
		{[]string{"verify", "Server=127.0.0.1:5432;Database=d;User Id=u;Password=pw;Frobnicate=1", "public", "T"}, "Npgsql"},
	} {
		r := sessctl(t, map[string]string{envConnection: ""}, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.say) {
			t.Errorf("%q: exit %d, said %q; want exit 2 saying %q", tc.args, r.code, r.stderr, tc.say)
		}
		if strings.Contains(r.stderr, "pw") {
			t.Errorf("%q: the password is in %q", tc.args, r.stderr)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := sessctl(t, nil, "completion", shell); r.code != 0 || r.stdout == "" {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a usage error made %s", db)
	}
}

// TestDropIfExistsNoFile: drop --yes --if-exists of a SQLite file that is
// not there succeeds, saying there is nothing to drop, and makes no file;
// without --if-exists it fails as before, making none either.
func TestDropIfExistsNoFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"nofile.db", "no file.sqlite"} {
		path := filepath.Join(dir, name)
		if r := must(t, 0, "drop", "--yes", "--if-exists", path, "main", "SessionData"); !strings.Contains(r.stdout, "nothing to drop") {
			t.Errorf("drop --if-exists of no file said %q", r.stdout)
		}
		if r := must(t, 0, "drop", "--yes", "--if-exists", "-o", "json", path, "main", "SessionData"); r.json(t)["status"] != "missing" {
			t.Errorf("drop --if-exists -o json of no file: %s", r.stdout)
		}
		must(t, 1, "drop", "--yes", path, "main", "SessionData")
		must(t, 0, "drop", "--yes", "--if-exists", "Data Source="+path, "main", "SessionData")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("drop of no file left %v", entries)
	}
}
