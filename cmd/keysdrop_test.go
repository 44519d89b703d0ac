package cmd

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// keyInsert is the INSERT EF Core's store writes a key with.
func keyInsert(s dialecttest.Server, table, name, xml string) string {
	q := s.Dialect.Quote
	return fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (%s, %s)", s.Qualified(table), q("FriendlyName"), q("Xml"),
		dialecttest.QuoteLiteral(s.Dialect, name), dialecttest.QuoteLiteral(s.Dialect, xml))
}

// TestKeysDropRacesAnAppInsert: an app's transaction has written a key and
// commits while drop --layout keys runs. Either drop checks after the
// commit and refuses (exit 2, the key kept), or it dropped the ring first
// and the app's insert fails: never a committed key lost.
func TestKeysDropRacesAnAppInsert(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KeysRace")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "--layout", "keys", "create", s.DSN, s.Schema, table)

		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		_, insErr := tx.Exec(keyInsert(s, table, "key-1", `<key id="1" version="1"/>`))
		done := make(chan result, 1)
		go func() { done <- sessctl(t, nil, "--layout", "keys", "drop", "--yes", s.DSN, s.Schema, table) }()
		// Give the drop time to reach its lock, so that it waits for the
		// commit; either order is checked below.
		time.Sleep(time.Second)
		commitErr := insErr
		if commitErr == nil {
			commitErr = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		r := <-done
		if commitErr == nil {
			if r.code != 2 || !strings.Contains(r.stderr, "holds 1 row") {
				t.Fatalf("drop while a key was committed: exit %d, want 2 (holds 1 row)\n%s%s", r.code, r.stdout, r.stderr)
			}
			if n := len(readKeys(t, s, db, table)); n != 1 {
				t.Fatalf("the ring holds %d keys after the refused drop, want the committed one", n)
			}
			return
		}
		if r.code != 0 || tablesLike(t, s, db, table) != 0 {
			t.Fatalf("the app's insert failed (%v) but drop exited %d, the ring still there?\n%s%s", commitErr, r.code, r.stdout, r.stderr)
		}
	})
}

// TestKeysDropScriptGuard: the drop --script of a key ring, run in the
// engine's client, stops on a ring that holds a key, leaving it whole,
// and drops an empty one with its version table.
func TestKeysDropScriptGuard(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KeysScript")
		s.DropAtCleanup(t, db, table)
		keys := func(code int, args ...string) result {
			return must(t, code, append([]string{"--layout", "keys"}, args...)...)
		}
		keys(0, "create", s.DSN, s.Schema, table)
		script := keys(0, "drop", "--script", s.DSN, s.Schema, table).stdout
		insertKey(t, s, db, table, "key-1", `<key id="1" version="1"/>`)
		if err := scriptErr(t, s, db, script); err == nil {
			t.Fatalf("the drop script ran to its end on a ring holding a key\n%s", script)
		}
		if n := len(readKeys(t, s, db, table)); n != 1 {
			t.Fatalf("the refused script left %d of 1 keys", n)
		}
		wantKeyVersion(t, s, db, table)
		emptyRing(t, s, db, table)
		if err := scriptErr(t, s, db, script); err != nil {
			t.Fatalf("the drop script on an empty ring: %v", err)
		}
		if n := tablesLike(t, s, db, table); n != 0 {
			t.Errorf("the drop script on an empty ring left %d tables", n)
		}
	})
}

// emptyRing deletes every key of table.
func emptyRing(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	if _, err := db.Exec("DELETE FROM " + s.Qualified(table)); err != nil {
		t.Fatal(err)
	}
}

// TestKeysDropWithoutVersionTable: a key ring without a version table (EF
// Core's migrations made it) drops when empty, its check and all.
func TestKeysDropWithoutVersionTable(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		table := dialecttest.Table("KeysNoVer")
		s.DropAtCleanup(t, db, table)
		must(t, 0, "--layout", "keys", "create", s.DSN, s.Schema, table)
		if _, err := db.Exec("DROP TABLE " + s.Qualified(table+"_migrations")); err != nil {
			t.Fatal(err)
		}
		must(t, 0, "--layout", "keys", "drop", "--yes", s.DSN, s.Schema, table)
		if n := tablesLike(t, s, db, table); n != 0 {
			t.Errorf("drop left %d tables", n)
		}
	})
}
