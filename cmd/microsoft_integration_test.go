package cmd

import (
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestMicrosoftCommands walks --layout microsoft through every command on
// PostgreSQL: create under a mixed-case name (made lower case, and said),
// again (nothing to do), verify under each layout, purge, drop under each.
func TestMicrosoftCommands(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	typed := dialecttest.Table("MS_Cmd")
	table := strings.ToLower(typed)
	s.DropAtCleanup(t, db, table)
	ms := []string{"--layout", "microsoft", s.DSN, s.Schema}

	r := must(t, 0, append([]string{"create"}, append(ms, typed)...)...)
	if !strings.Contains(r.stderr, "is made as "+`"`+table+`"`) || !strings.Contains(r.stderr, "UNLOGGED") {
		t.Errorf("create said on stderr:\n%s", r.stderr)
	}
	must(t, 0, append([]string{"create"}, append(ms, table)...)...)

	r = must(t, 3, "verify", s.DSN, s.Schema, typed)
	if !strings.Contains(r.stdout, `Microsoft.Extensions.Caching.Postgres would read "`+s.Schema+`"."`+table+`": if the app uses it, pass --layout microsoft`) {
		t.Errorf("verify of the name typed under --layout cache:\n%s", r.stdout)
	}
	r = must(t, 3, "verify", s.DSN, s.Schema, table)
	if !strings.Contains(r.stdout, "this is Microsoft.Extensions.Caching.Postgres's table: use --layout microsoft") {
		t.Errorf("verify under --layout cache:\n%s", r.stdout)
	}
	r = must(t, 0, append([]string{"verify"}, append(ms, table)...)...)
	if !strings.Contains(r.stdout, "UNLOGGED") {
		t.Errorf("verify under --layout microsoft:\n%s", r.stdout)
	}
	must(t, 3, append([]string{"verify", "--strict"}, append(ms, table)...)...)

	if _, err := db.Exec(`INSERT INTO ` + s.Qualified(table) + ` (id, value, expiresattime) VALUES ('gone', '\x00', now() - interval '1 day'), ('kept', '\x00', now() + interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	r = must(t, 0, append([]string{"purge", "-o", "json"}, append(ms, table)...)...)
	if m := r.json(t); m["status"] != "done" || m["deleted"] != float64(1) {
		t.Errorf("purge: %v", m)
	}
	r = must(t, 1, "drop", "--yes", s.DSN, s.Schema, table)
	if !strings.Contains(r.stderr, "use --layout microsoft") {
		t.Errorf("drop under --layout cache said %q", r.stderr)
	}
	must(t, 0, append([]string{"drop", "--yes"}, append(ms, table)...)...)
}
