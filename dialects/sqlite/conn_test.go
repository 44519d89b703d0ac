package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

// TestSQLiteReadOnlyOpen: a connection string that opens the database
// read-only (Mode=ReadOnly, mode=ro, immutable=1), and a read-only copy of
// any (WithReadOnly, for a dry run), open a database that SQLite refuses
// to write, and whose purge lock makes no lock file; ReadWrite does not
// create a missing file, even for create.
func TestSQLiteReadOnlyOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	n := dialects.Names{Schema: "main", Table: "t"}
	for _, raw := range []string{"Data Source=" + path + ";Mode=ReadOnly", "file:" + path + "?mode=ro", "file:" + path + "?immutable=1", path} {
		conn, err := Dialect{}.ParseConn(raw)
		if err != nil {
			t.Fatal(err)
		}
		if raw == path {
			conn = conn.WithReadOnly()
		}
		for _, create := range []bool{false, true} {
			db, err := Dialect{}.Open(conn, create)
			if err != nil {
				t.Fatalf("Open(%q, create %t): %v", raw, create, err)
			}
			_, err = db.Exec(`INSERT INTO t VALUES (1)`)
			var se interface{ Code() int }
			if !errors.As(err, &se) || se.Code()&0xff != codeReadOnly {
				t.Errorf("Open(%q, create %t): a write got %v, want SQLITE_READONLY", raw, create, err)
			}
			c, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			unlock, err := Dialect{}.TryLock(context.Background(), c, n)
			if err != nil {
				t.Errorf("TryLock through %q: %v", raw, err)
			} else if err := unlock(); err != nil {
				t.Errorf("unlock: %v", err)
			}
			c.Close()
			db.Close()
		}
	}
	if _, err := os.Stat(path + lockFileSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only connection made the lock file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("read-only opens left %q in the folder, want only app.db", names)
	}

	missing := filepath.Join(dir, "missing.db")
	for _, raw := range []string{"Data Source=" + missing + ";Mode=ReadWrite", "file:" + missing + "?mode=rw", "Data Source=" + missing + ";Mode=ReadOnly"} {
		conn, err := Dialect{}.ParseConn(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (Dialect{}).Open(conn, true); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Open(%q, create): %v, want the file said missing, not made", raw, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Mode=ReadWrite made %s", missing)
	}
}

// TestSQLitePragmaSettings: Foreign Keys and Recursive Triggers, which
// change what a DELETE writes, reach every connection.
func TestSQLitePragmaSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	for _, tc := range []struct {
		setting, pragma string
		want            int
	}{
		{"Foreign Keys=True", "foreign_keys", 1},
		{"Foreign Keys=False", "foreign_keys", 0},
		{"Recursive Triggers=True", "recursive_triggers", 1},
	} {
		conn, err := Dialect{}.ParseConn("Data Source=" + path + ";" + tc.setting)
		if err != nil {
			t.Fatal(err)
		}
		db, err := Dialect{}.Open(conn, true)
		if err != nil {
			t.Fatal(err)
		}
		var conns []*sql.Conn
		for range 3 { // three connections of the pool at once
			c, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var got int
			if err := c.QueryRowContext(context.Background(), `PRAGMA `+tc.pragma).Scan(&got); err != nil || got != tc.want {
				t.Errorf("%s: PRAGMA %s = %d, %v; want %d", tc.setting, tc.pragma, got, err, tc.want)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		db.Close()
	}
}

// TestFileURI: '%', '?' and '#' in a path are escaped, as SQLite decodes
// %XX in a file: URI.
func TestFileURI(t *testing.T) {
	if got := fileURI("a?b#c%d.db", "mode=rw"); got != "file:a%3Fb%23c%25d.db?mode=rw" {
		t.Errorf("fileURI escaped to %q", got)
	}
}
