package cmd

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc runs sessctl as a process of its own, the binary a user runs.
func proc(t *testing.T, args ...string) process {
	t.Helper()
	return runAtOnce(t, 1, func(int) []string { return args })[0]
}

// folderState is every file of a folder, with what it holds and when it
// last changed.
func folderState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s %d %s %s\n", e.Name(), fi.Size(), fi.ModTime().Format(time.RFC3339Nano), hex.EncodeToString(sum[:8]))
	}
	return b.String()
}

// readOnlyFolder makes dir one that no process may write to, root
// included, until t ends: not by its permissions (root passes those), but
// with chattr +i (an immutable folder) or a read-only bind mount, which
// root honours too. It returns how, or "" when neither is possible here:
// the caller then checks that no file appears instead.
func readOnlyFolder(t *testing.T, dir string) string {
	t.Helper()
	writable := func() bool {
		f := filepath.Join(dir, ".probe")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return false
		}
		os.Remove(f)
		return true
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err == nil && !writable() {
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			return "chmod 0555"
		}
		os.Chmod(dir, 0o755)
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if !writable() {
			return "chattr +i"
		}
	} else {
		t.Logf("chattr +i %s: %v %s", dir, err, out)
	}
	if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err == nil {
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		if !writable() {
			return "a read-only bind mount"
		}
	} else {
		t.Logf("mount --bind -o ro %s: %v %s", dir, err, out)
	}
	return ""
}

// seedSQLite creates table in the SQLite file at path with expired rows
// and live ones, and removes the lock file create made, so that a test can
// see whether another appears.
func seedSQLite(t *testing.T, path, table string, expired, live int) {
	t.Helper()
	must(t, 0, "create", path, "main", table)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UnixMicro()
	for i := range expired + live {
		at := now - 3600e6
		if i >= expired {
			at = now + 3600e6
		}
		if _, err := db.Exec(fmt.Sprintf(`INSERT INTO %q VALUES (?, x'00', ?, NULL, NULL)`, table), fmt.Sprint("row", i), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(path + ".sessctl-lock"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	// Read-only, and waiting for a purge's write lock as sessctl does.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM %q`, table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSQLiteReadOnlyWritesNothing: purge --dry-run and verify write
// nothing, not even a lock file: in a folder no process may write, and on
// a file opened read-only (Mode=ReadOnly, mode=ro), they count and check
// as they do elsewhere, and the folder is byte for byte as it was. A purge
// or create that would write there is refused saying the file (or its
// folder) is read-only, and also writes nothing; Microsoft.Data.Sqlite's
// Mode=ReadOnly is honoured, not ignored. Real files, the real binary.
func TestSQLiteReadOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	seedSQLite(t, path, "SessionData", 5, 3)
	before := folderState(t, dir)
	forms := []string{path, "Data Source=" + path + ";Mode=ReadOnly", "file:" + path + "?mode=ro", "sqlite:" + path + "?mode=ro"}

	check := func(when string) {
		t.Helper()
		for _, conn := range forms {
			r := proc(t, "purge", "--dry-run", "-o", "json", conn, "main", "SessionData")
			if r.code != 0 || !strings.Contains(r.stdout, `"remaining": 5`) {
				t.Errorf("%s: purge --dry-run %s: exit %d, want 0 counting 5 rows\n%s%s", when, conn, r.code, r.stdout, r.stderr)
			}
			if r := proc(t, "verify", conn, "main", "SessionData"); r.code != 0 {
				t.Errorf("%s: verify %s: exit %d\n%s%s", when, conn, r.code, r.stdout, r.stderr)
			}
		}
		for _, conn := range forms[1:] {
			r := proc(t, "purge", conn, "main", "SessionData")
			if r.code != ExitFailed || !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "Mode=ReadOnly") {
				t.Errorf("%s: purge %s: exit %d, want 1 saying the file is opened read-only\n%s%s", when, conn, r.code, r.stdout, r.stderr)
			}
			r = proc(t, "create", conn, "main", "Other")
			if r.code != ExitFailed || !strings.Contains(r.stderr, "read-only") {
				t.Errorf("%s: create %s: exit %d, want 1 saying the file is read-only\n%s%s", when, conn, r.code, r.stdout, r.stderr)
			}
		}
		if after := folderState(t, dir); after != before {
			t.Errorf("%s: the folder changed:\nbefore:\n%safter:\n%s", when, before, after)
		}
		if n := countRows(t, path, "SessionData"); n != 8 {
			t.Errorf("%s: %d rows left, want all 8", when, n)
		}
	}
	check("in a folder that may be written")

	how := readOnlyFolder(t, dir)
	if how == "" {
		t.Log("no way to make a folder read-only here (not root's chmod, no chattr, no bind mount): checked that no file appears instead")
		return
	}
	t.Logf("folder made read-only with %s", how)
	check("in a read-only folder (" + how + ")")
	// A plain purge or create there would write: refused, saying why.
	for _, args := range [][]string{{"purge", path, "main", "SessionData"}, {"create", path, "main", "Other"}} {
		r := proc(t, args...)
		if r.code != ExitFailed || !strings.Contains(r.stderr, "read-only") {
			t.Errorf("%s in a read-only folder: exit %d, want 1 saying it is read-only\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
	}
	if after := folderState(t, dir); after != before {
		t.Errorf("a refused purge or create changed the folder:\nbefore:\n%safter:\n%s", before, after)
	}
}

// lockFile is the path of the lock file beside the SQLite file at path.
func lockFile(path string) string { return path + ".sessctl-lock" }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestSQLiteLockFileGoesWithLastTable: the lock file purge and create use
// is removed by the drop of the last cache table of its database (other
// tables do not keep it), kept while cache tables are left, and never made
// by verify, a dry run or a script.
func TestSQLiteLockFileGoesWithLastTable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	seedSQLite(t, path, "A", 3, 1)
	seedSQLite(t, path, "B", 3, 1)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE other (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{
		{"verify", path, "main", "A"}, {"purge", "--dry-run", path, "main", "A"},
		{"purge", "--script", path, "main", "A"}, {"create", "--script", path, "main", "A"}, {"drop", "--script", path, "main", "A"},
	} {
		proc(t, args...)
		if exists(lockFile(path)) {
			t.Fatalf("sessctl %s made the lock file", strings.Join(args[:len(args)-3], " "))
		}
	}
	if r := proc(t, "purge", path, "main", "A"); r.code != 0 || !exists(lockFile(path)) {
		t.Fatalf("purge: exit %d, lock file there %t; want 0 and the lock file\n%s", r.code, exists(lockFile(path)), r.stderr)
	}
	if r := proc(t, "drop", "--yes", path, "main", "A"); r.code != 0 {
		t.Fatalf("drop A: exit %d\n%s", r.code, r.stderr)
	}
	if !exists(lockFile(path)) {
		t.Error("drop of A removed the lock file, but B is left")
	}
	if r := proc(t, "drop", "--yes", path, "main", "B"); r.code != 0 {
		t.Fatalf("drop B: exit %d\n%s", r.code, r.stderr)
	}
	if exists(lockFile(path)) {
		t.Error("the lock file outlived the drop of the last cache table")
	}
	// And again from a create: its lock leaves the file, the drop takes it.
	if r := proc(t, "create", path, "main", "C"); r.code != 0 || !exists(lockFile(path)) {
		t.Fatalf("create C: exit %d, lock file %t", r.code, exists(lockFile(path)))
	}
	if r := proc(t, "drop", "--yes", path, "main", "C"); r.code != 0 || exists(lockFile(path)) {
		t.Errorf("drop C: exit %d; the lock file is there: %t, want gone", r.code, exists(lockFile(path)))
	}
	names, _ := os.ReadDir(dir)
	var got []string
	for _, e := range names {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, []string{"app.db"}) {
		t.Errorf("the folder holds %q, want only app.db", got)
	}
}

// TestSQLiteLockFileKeptWhileHeld: a drop of the last table while another
// sessctl holds a lock in the lock file (a purge of that very table,
// pausing between its batches) leaves the file to it, since removing it
// then would let a second purge lock a new file beside the first; the
// purge, the last one out, removes it when it ends.
func TestSQLiteLockFileKeptWhileHeld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	seedSQLite(t, path, "A", 50, 1)
	// One row a batch, a minute between batches: the drop comes while the
	// purge pauses, holding its lock.
	purge := startSessctl(t, "purge", "--batch-size", "1", "--order", "expiry", "--pause", "1m", path, "main", "A")
	deadline := time.Now().Add(time.Minute)
	for countRows(t, path, "A") == 51 {
		if time.Now().After(deadline) || purge.exited() {
			t.Fatalf("the purge did not start deleting\n%s", purge.errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	held, err := os.Stat(lockFile(path))
	if err != nil {
		t.Fatalf("no lock file while the purge runs: %v", err)
	}
	if r := proc(t, "drop", "--yes", path, "main", "A"); r.code != 0 {
		t.Fatalf("drop: exit %d\n%s", r.code, r.stderr)
	}
	if purge.exited() {
		t.Fatalf("the purge ended before it could be tested against the drop\n%s", purge.errb.String())
	}
	if now, err := os.Stat(lockFile(path)); err != nil || !os.SameFile(held, now) {
		t.Errorf("the drop removed (or replaced) the lock file while a purge held a lock in it: %v", err)
	}
	if err := purge.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := purge.wait(t); code != ExitInterrupted {
		t.Errorf("the purge, stopped by SIGTERM: exit %d, want 130\n%s", code, purge.errb.String())
	}
	if exists(lockFile(path)) {
		t.Error("the lock file outlived the purge that held it and the drop of the last table")
	}
}

// TestSQLiteWALInReadOnlyFolder: a database in WAL mode in a folder no
// one may write (where SQLite cannot make its -shm and -wal files) gets a
// message that says so and how to read it: immutable=1, which then works
// for the commands that only read; the others are told to let the user
// write the folder. Nothing appears in the folder.
func TestSQLiteWALInReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"wal.db", "with space.db"} {
		path := filepath.Join(dir, name)
		seedSQLite(t, path, "SessionData", 3, 2)
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := db.QueryRow(`PRAGMA journal_mode=WAL`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode=WAL: %q, %v", mode, err)
		}
		db.Close()
	}
	how := readOnlyFolder(t, dir)
	if how == "" {
		t.Skip("no way to make a folder read-only here (not root's chmod, no chattr, no bind mount)")
	}
	before := folderState(t, dir)
	for _, name := range []string{"wal.db", "with space.db"} {
		path := filepath.Join(dir, name)
		for _, args := range [][]string{{"verify"}, {"purge", "--dry-run"}, {"purge"}} {
			r := must(t, 1, append(args, path, "main", "SessionData")...)
			for _, want := range []string{"WAL mode", "immutable=1", "write the folder"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%v of a WAL file in a folder made read-only by %s said %q, want it to say %q", args, how, r.stderr, want)
				}
			}
		}
		immutable := "file:" + strings.ReplaceAll(path, " ", "%20") + "?immutable=1"
		must(t, 0, "verify", immutable, "main", "SessionData")
		if r := must(t, 0, "purge", "--dry-run", "-o", "json", immutable, "main", "SessionData"); r.json(t)["remaining"] != float64(3) {
			t.Errorf("purge --dry-run of the immutable file: %s", r.stdout)
		}
	}
	if after := folderState(t, dir); after != before {
		t.Errorf("the read-only folder changed:\n%s\nthen\n%s", before, after)
	}
}
