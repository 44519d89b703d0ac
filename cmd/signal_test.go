package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// TestPurgeInterrupted: SIGINT or SIGTERM stops purge after the batch in
// flight, which it finishes; it reports what it did, exits 130, and every
// row it did not delete is intact. So with fixed batches and with batches
// sized by time.
func TestPurgeInterrupted(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		for _, mode := range []struct {
			name  string
			flags []string
		}{
			{"", []string{"--batch-size", "50"}},
			{"adaptive-", []string{"--batch-time", "1ms"}},
		} {
			for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
				t.Run(mode.name+sig.String(), func(t *testing.T) {
					db := s.Open(t)
					table := dialecttest.Table("Sig")
					s.DropAtCleanup(t, db, table)
					must(t, 0, "create", s.DSN, s.Schema, table)
					const expired, live = 5000, 300
					s.Seed(t, db, table, "old", expired, 50, -time.Hour)
					s.Seed(t, db, table, "live", live, 50, time.Hour)

					var out, errb bytes.Buffer
					args := append(append([]string{"purge", "-o", "json", "--pause", "20ms"}, mode.flags...), s.DSN, s.Schema, table)
					c := command(nil, args...)
					c.Stdout, c.Stderr = &out, &errb
					if err := c.Start(); err != nil {
						t.Fatal(err)
					}
					deadline := time.Now().Add(30 * time.Second)
					for s.Count(t, db, table, "old") == expired && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					if err := c.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					err := c.Wait()
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
						t.Fatalf("purge after %s: %v, want exit 130\nstdout: %s\nstderr: %s", sig, err, out.String(), errb.String())
					}
					var rep struct {
						Status    string
						Deleted   int64
						Batches   int
						Remaining *int64
					}
					if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
						t.Fatalf("no JSON report after %s: %v\n%s", sig, err, out.String())
					}
					left := s.Count(t, db, table, "old")
					if rep.Status != "interrupted" || rep.Deleted != expired-left || rep.Remaining == nil || *rep.Remaining != left {
						t.Errorf("report %+v; the table has %d of %d expired rows left", rep, left, expired)
					}
					if mode.name == "" && rep.Deleted != int64(rep.Batches)*50 {
						t.Errorf("deleted %d rows in %d batches of 50: a batch was cut short", rep.Deleted, rep.Batches)
					}
					if left == 0 || left == expired {
						t.Errorf("%d of %d expired rows left: the signal did not land mid-purge", left, expired)
					}
					if n := s.Count(t, db, table, "live"); n != live {
						t.Errorf("%d of %d live rows left", n, live)
					}
				})
			}
		}
	})
}
