package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMicrosoftScript: create --script --layout microsoft prints the table
// under the name the package reads, says on stderr that it folded it, and
// makes it UNLOGGED unless --logged.
func TestMicrosoftScript(t *testing.T) {
	args := []string{"create", "--layout", "microsoft", "--dialect", "postgres", "--script", "public", "SessionData"}
	r := must(t, 0, args...)
	if !strings.Contains(r.stdout, `CREATE UNLOGGED TABLE "public"."sessiondata"`) ||
		!strings.Contains(r.stdout, `CREATE INDEX "ix_sessiondata_expiresattime"`) {
		t.Errorf("%q printed:\n%s", args, r.stdout)
	}
	if !strings.Contains(r.stderr, `warning: table "SessionData" is made as "sessiondata"`) || !strings.Contains(r.stderr, "TableName") {
		t.Errorf("%q said on stderr %q; want the folding said", args, r.stderr)
	}
	r = must(t, 0, append(args, "--logged")...)
	if strings.Contains(r.stdout, "UNLOGGED TABLE") || !strings.Contains(r.stdout, `CREATE TABLE "public"."sessiondata"`) {
		t.Errorf("--logged printed:\n%s", r.stdout)
	}
}

// TestMicrosoftHostileNames: every name of the hostile corpus is either
// refused (exit 2, one line, nothing printed) or a plain name the package
// reads unquoted, made lower case.
func TestMicrosoftHostileNames(t *testing.T) {
	plain := regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)
	seen := map[int]int{}
	for _, c := range loadHostileNames(t) {
		sch, table := "public", c.name
		if c.kind == "schema" {
			sch, table = c.name, hostileTableName
		}
		args := []string{"create", "--layout", "microsoft", "--dialect", "postgres", "--script", sch, table}
		r := sessctl(t, nil, args...)
		seen[r.code]++
		switch r.code {
		case ExitOK:
			ls, lt := strings.ToLower(sch), strings.ToLower(table)
			if !plain.MatchString(ls) || !plain.MatchString(lt) ||
				!strings.Contains(r.stdout, `TABLE "`+ls+`"."`+lt+`" (`) {
				t.Errorf("%s: made, but not as the plain %s.%s:\n%s", c, ls, lt, r.stdout)
			}
		case ExitUsage:
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.stdout != "" || !strings.HasPrefix(lines[0], "sessctl: ") || len(lines) > 2 {
				t.Errorf("%s: refused untidily: stdout %q, stderr %q", c, r.stdout, r.stderr)
			}
		default:
			t.Errorf("%s: exit %d, want 0 or 2: %s", c, r.code, r.stderr)
		}
	}
	if seen[ExitOK] == 0 || seen[ExitUsage] == 0 {
		t.Errorf("exits %v: the corpus holds names made and names refused", seen)
	}
}

// TestMicrosoftUsageErrors: --layout microsoft where it cannot be, --logged
// without it, and names the package could never find are exit 2, one line
// that says what to do, sent nowhere.
func TestMicrosoftUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"create", "--layout", "microsoft", db, "main", "T"}, "postgres only, and this is sqlite: connect to postgres"},
		{[]string{"create", "--logged", db, "main", "T"}, "--logged goes with --layout microsoft"},
		{[]string{"create", "--layout", "nosuch", db, "main", "T"}, "choose one of aspnet-async, aspstate, cache, keys, microsoft, universal"},
		{[]string{"create", "--layout", "microsoft", "postgres://h/db", "public", "Session-Data"}, "unquoted"},
		{[]string{"verify", "--layout", "microsoft", "postgres://h/db", "user", "T"}, "reserved word"},
		{[]string{"create", "--layout", "microsoft", "--dialect", "postgres", "--script", "public", `Sess"ion`}, "TableName"},
	} {
		r := sessctl(t, nil, tc.args...)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.say) || len(lines) > 2 || !strings.HasPrefix(lines[0], "sessctl: ") {
			t.Errorf("sessctl %q: exit %d, stderr %q; want exit 2, one line saying %q", tc.args, r.code, r.stderr, tc.say)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a usage error created the database file")
	}
}
