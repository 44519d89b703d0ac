package sqlite

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

// lockProbeEnv makes the test binary a second process that tries the write
// lock of the database file it names, at once, and prints what it got.
const lockProbeEnv = "SESSCTL_TEST_SQLITE_LOCK_PROBE"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockProbeEnv); path != "" {
		db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
		if err == nil {
			var tx *sql.Tx
			if tx, err = db.Begin(); err == nil {
				_ = tx.Rollback()
				os.Stdout.WriteString("got the write lock")
			}
		}
		if err != nil {
			os.Stdout.WriteString(err.Error())
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNewConnectionKeepsLocks: opening a connection while another of the
// same process holds the write lock leaves that lock held. A process's
// POSIX locks on a file go when it closes any descriptor of the file, so
// sessctl must open the database file only through SQLite (which keeps
// its descriptors open while it holds locks): a header read of its own
// once dropped the locks of every connection of the process, and another
// process then took the write lock mid-batch, rolled back the hot journal
// of what it took for a crashed writer, and the batch's commit failed
// (SQLITE_IOERR_DELETE_NOENT), or the file was corrupted.
func TestNewConnectionKeepsLocks(t *testing.T) {
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.db")
			db, err := Dialect{}.Open(&dialects.Conn{Path: path, DSN: ""}, true)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`PRAGMA journal_mode = ` + mode + `; CREATE TABLE t (x)`); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			holder, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			if _, err := holder.ExecContext(ctx, `BEGIN IMMEDIATE; INSERT INTO t VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			probe := func() string {
				c := exec.Command(os.Args[0], "-test.run=^$")
				c.Env = append(os.Environ(), lockProbeEnv+"="+path)
				out, err := c.CombinedOutput()
				if err != nil {
					t.Fatalf("the probe process: %v\n%s", err, out)
				}
				return string(out)
			}
			if got := probe(); !strings.Contains(got, "locked") {
				t.Fatalf("another process, while this one holds the write lock: %q; want the database locked", got)
			}
			other, err := db.Conn(ctx) // a new connection of the pool, opened now
			if err != nil {
				t.Fatal(err)
			}
			other.Close()
			if got := probe(); !strings.Contains(got, "locked") {
				t.Errorf("another process, after this one opened a connection: %q; want the database still locked", got)
			}
			if _, err := holder.ExecContext(ctx, `COMMIT`); err != nil {
				t.Errorf("the holder's commit: %v", err)
			}
		})
	}
}
