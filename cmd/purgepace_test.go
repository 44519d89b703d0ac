package cmd

import (
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestPurgePaceFlags: --pace takes auto or off; auto with a flag that
// fixes the pace is refused (exit 2), before anything is deleted; by
// default a purge paces itself and its report says so under
// yielded.by.pace, with the reason; --pause (as --pace off) gives a fixed
// pace, which reports no pacing.
func TestPurgePaceFlags(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		db := s.Open(t)
		table := dialecttest.Table("PaceFlags")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "create", s.DSN, s.Schema, table)
		s.Seed(t, db, table, "old", 300, 10, -time.Hour)

		for _, bad := range [][]string{{"--pace", "fast"}, {"--pace", "auto", "--pause", "10ms"}, {"--pace", "auto", "--batch-time", "20ms"}, {"--pace", "auto", "--batch-size", "10"}} {
			args := append(append([]string{"purge"}, bad...), s.DSN, s.Schema, table)
			r := sessctl(t, nil, args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, "--pace") {
				t.Errorf("sessctl %s: exit %d, want %d naming --pace\n%s", strings.Join(bad, " "), r.code, ExitUsage, r.stderr)
			}
		}
		if n := s.Count(t, db, table, "old"); n != 300 {
			t.Fatalf("refused purges deleted %d rows", 300-n)
		}

		m := must(t, 0, "purge", "-o", "json", "--batch-size", "50", "--pace", "off", s.DSN, s.Schema, table).json(t)
		if _, ok := m["yielded"]; ok || m["deleted"] != float64(300) {
			t.Errorf("--pace off: %v; want 300 deleted, never paused", m)
		}

		s.Seed(t, db, table, "old", 3000, 10, -time.Hour) // more than a first batch's 1000
		m = must(t, 0, "purge", "-o", "json", "--pace", "auto", s.DSN, s.Schema, table).json(t)
		y, _ := m["yielded"].(map[string]any)
		by, _ := y["by"].(map[string]any)
		why, _ := y["why"].(map[string]any)
		if m["deleted"] != float64(3000) || by["pace"] == nil || why["pace"] == nil {
			t.Errorf("--pace auto: %v; want 3000 deleted, the pacing's pause and reason", m)
		}
	})
}
