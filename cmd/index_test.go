package cmd

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// oddIndex is an index on ExpiresAtTime made by hand, which the purge may
// or may not be able to read.
type oddIndex struct {
	name    string
	ours    bool   // it has sessctl's expiry index name
	usable  bool   // the purge's range scan can read it
	reason  string // what verify's finding says of it
	inPlace bool   // verify's fix mends it where it stands
	// bbfCreate, when set, is the divergence of Babelfish (tds/README.md)
	// that keeps create from building a usable index beside it there.
	bbfCreate string
	// make builds it as index on table.
	make func(t *testing.T, s dialecttest.Server, db *sql.DB, table, index string)
}

// execIndex returns a make that runs one statement: %[1]s is the index as
// CREATE INDEX names it, %[2]s the table, qualified, %[3]s the table's own
// name, quoted.
func execIndex(stmt string) func(*testing.T, dialecttest.Server, *sql.DB, string, string) {
	return func(t *testing.T, s dialecttest.Server, db *sql.DB, table, index string) {
		t.Helper()
		name := s.Dialect.Quote(index)
		if s.Dialect.Name() == "sqlite" {
			name = s.Dialect.Quote(s.Schema) + "." + name
		}
		q := fmt.Sprintf(stmt, name, s.Qualified(table), s.Dialect.Quote(table))
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// oddIndexes are the cases of each dialect.
func oddIndexes(t *testing.T, s dialecttest.Server, db *sql.DB) []oddIndex {
	switch s.Dialect.Name() {
	case "postgres":
		return []oddIndex{
			{name: "invalid-ours", ours: true, reason: "not valid", inPlace: true, make: pgInvalidIndex},
			{name: "invalid", reason: "not valid", inPlace: true, make: pgInvalidIndex},
			{name: "hash-ours", ours: true, reason: "hash index", make: execIndex(`CREATE INDEX %[1]s ON %[2]s USING hash ("ExpiresAtTime")`)},
			{name: "hash", reason: "hash index", make: execIndex(`CREATE INDEX %[1]s ON %[2]s USING hash ("ExpiresAtTime")`)},
			{name: "brin", reason: "brin index", make: execIndex(`CREATE INDEX %[1]s ON %[2]s USING brin ("ExpiresAtTime")`)},
			{name: "partial", reason: "partial", make: execIndex(`CREATE INDEX %[1]s ON %[2]s ("ExpiresAtTime") WHERE "SlidingExpirationInSeconds" IS NULL`)},
			{name: "partial-ours", ours: true, reason: "partial", make: execIndex(`CREATE INDEX %[1]s ON %[2]s ("ExpiresAtTime") WHERE "SlidingExpirationInSeconds" IS NULL`)},
			{name: "descending", usable: true, make: execIndex(`CREATE INDEX %[1]s ON %[2]s ("ExpiresAtTime" DESC, "Id")`)},
		}
	case "mysql":
		var version string
		if err := db.QueryRow(`SELECT VERSION()`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		hidden, reason := "INVISIBLE", "INVISIBLE"
		if strings.Contains(version, "MariaDB") {
			hidden, reason = "IGNORED", "IGNORED"
		}
		return []oddIndex{
			{name: "hidden-ours", ours: true, reason: reason, inPlace: true, make: execIndex("CREATE INDEX %[1]s ON %[2]s (`ExpiresAtTime`) " + hidden)},
			{name: "hidden", reason: reason, inPlace: true, make: execIndex("CREATE INDEX %[1]s ON %[2]s (`ExpiresAtTime`, `Id`) " + hidden)},
			{name: "descending", usable: true, make: execIndex("CREATE INDEX %[1]s ON %[2]s (`ExpiresAtTime` DESC)")},
		}
	case "sqlite":
		return []oddIndex{
			{name: "partial", reason: "partial", make: execIndex(`CREATE INDEX %[1]s ON %[3]s ("ExpiresAtTime") WHERE "SlidingExpirationInSeconds" IS NULL`)},
			{name: "partial-ours", ours: true, reason: "partial", make: execIndex(`CREATE INDEX %[1]s ON %[3]s ("ExpiresAtTime") WHERE "ExpiresAtTime" > 0`)},
			{name: "collated", reason: "collation NOCASE", make: execIndex(`CREATE INDEX %[1]s ON %[3]s ("ExpiresAtTime" COLLATE NOCASE)`)},
			{name: "descending", usable: true, make: execIndex(`CREATE INDEX %[1]s ON %[3]s ("ExpiresAtTime" DESC)`)},
		}
	case "sqlserver":
		return []oddIndex{
			{name: "filtered", reason: "filtered", bbfCreate: "sys.indexes.has_filter is always 0, so the migration's guard, " +
				"which reads it as SQL Server needs, takes the filtered index for a usable one", make: execIndex(`CREATE INDEX %[1]s ON %[2]s ([ExpiresAtTime]) WHERE [SlidingExpirationInSeconds] IS NULL`)},
			{name: "disabled-ours", ours: true, reason: "disabled", inPlace: true, make: func(t *testing.T, s dialecttest.Server, db *sql.DB, table, index string) {
				s.BabelfishSkip(t, db, "ALTER INDEX (… DISABLE, … REBUILD) is not supported, so no index is ever disabled there")
				execIndex(`CREATE INDEX %[1]s ON %[2]s ([ExpiresAtTime])`)(t, s, db, table, index)
				execIndex(`ALTER INDEX %[1]s ON %[2]s DISABLE`)(t, s, db, table, index)
			}},
			{name: "descending", usable: true, make: execIndex(`CREATE INDEX %[1]s ON %[2]s ([ExpiresAtTime] DESC)`)},
		}
	}
	t.Fatalf("no index cases for %s", s.Dialect.Name())
	return nil
}

// TestOnlyAUsableIndexCounts: an index whose first key column is
// ExpiresAtTime counts as the expiry index only when the purge's range
// scan can read it: not an invalid index a cancelled CREATE INDEX
// CONCURRENTLY left, not a hash, BRIN, partial or filtered one, not one
// the optimizer is told to ignore or that is disabled; a descending one
// does. For each unusable one verify warns, naming it, why, and the SQL
// that mends it (which, run by hand, makes the table pass verify --strict
// where it mends the index in place); create builds a usable one, in place
// of one under sessctl's name, beside one under another; verify --strict
// then passes.
func TestOnlyAUsableIndexCounts(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		db := s.Open(t)
		for _, c := range oddIndexes(t, s, db) {
			t.Run(c.name, func(t *testing.T) {
				for _, byHand := range []bool{false, true} {
					if byHand && !c.inPlace {
						continue
					}
					table := dialecttest.Table("Odd")
					s.DropAtCleanup(t, db, table)
					n := s.Dialect.Names(s.Schema, table)
					must(t, 0, "create", s.DSN, s.Schema, table)
					s.Seed(t, db, table, "r", 50, 10, time.Hour)
					if _, err := db.Exec("DROP INDEX " + dropIndexTarget(s, n.ExpiryIndex, table)); err != nil {
						t.Fatal(err)
					}
					index := table + "_odd"
					if c.ours {
						index = n.ExpiryIndex
					}
					c.make(t, s, db, table, index)

					r := must(t, 0, "verify", "-o", "json", s.DSN, s.Schema, table)
					finding := findingOn(t, r, "index "+s.Dialect.Quote(s.IndexName(t, db, index)))
					switch {
					case c.usable && len(r.json(t)["findings"].([]any)) != 0:
						t.Errorf("verify of a table with a usable %s index: %s", c.name, r.stdout)
					case c.usable:
					case finding == nil:
						t.Errorf("verify does not name the %s index %s: %s", c.name, index, r.stdout)
					case !strings.Contains(finding["message"].(string), "cannot serve the purge") ||
						!strings.Contains(finding["message"].(string), c.reason) || finding["fix"] == "":
						t.Errorf("verify's finding on the %s index: %v, want it to say %q and give a fix", c.name, finding, c.reason)
					}
					if c.usable {
						wantVerified(t, s, table)
						r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
						if m := r.json(t); m["status"] != "up_to_date" {
							t.Errorf("create over a usable %s index: %s", c.name, r.stdout)
						}
						wantExpiryIndexes(t, s, db, table, 1, 0)
						return
					}
					must(t, 3, "verify", "--strict", s.DSN, s.Schema, table)

					if byHand {
						fix, _ := finding["fix"].(string)
						if _, err := db.Exec(fix); err != nil {
							t.Fatalf("running verify's fix %q: %v", fix, err)
						}
						wantVerified(t, s, table)
						wantExpiryIndexes(t, s, db, table, 1, 0)
						continue
					}
					if c.bbfCreate != "" {
						s.BabelfishSkip(t, db, c.bbfCreate)
					}
					r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
					if m := r.json(t); m["status"] != "repaired" {
						t.Errorf("create over an unusable %s index: %s", c.name, r.stdout)
					}
					wantVerified(t, s, table)
					wantClean(t, s, db, table)
					if c.ours {
						wantExpiryIndexes(t, s, db, table, 1, 0)
					} else {
						wantExpiryIndexes(t, s, db, table, 1, 1)
					}
					info := inspect(t, s, db, table)
					if ix, _ := info.ExpiryIndex(); ix.Name != n.ExpiryIndex {
						t.Errorf("after create the usable expiry index is %q, want sessctl's %q", ix.Name, n.ExpiryIndex)
					}
					if got := s.Count(t, db, table, "r"); got != 50 {
						t.Errorf("%d of 50 rows left", got)
					}
				}
			})
		}
	})
}

// findingOn is the finding of verify's JSON report r whose object is
// object, or nil.
func findingOn(t *testing.T, r result, object string) map[string]any {
	t.Helper()
	for _, f := range r.json(t)["findings"].([]any) {
		if m := f.(map[string]any); m["object"] == object {
			return m
		}
	}
	return nil
}

// inspect reads the catalog for table.
func inspect(t *testing.T, s dialecttest.Server, db *sql.DB, table string) *dialects.TableInfo {
	t.Helper()
	info, err := s.Dialect.Inspect(context.Background(), db, s.Dialect.Names(s.Schema, table))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// wantExpiryIndexes fails t unless table has usable indexes on
// ExpiresAtTime and unusable ones in the numbers given. On PostgreSQL it
// also reads pg_index itself: every valid index.
func wantExpiryIndexes(t *testing.T, s dialecttest.Server, db *sql.DB, table string, usable, unusable int) {
	t.Helper()
	info := inspect(t, s, db, table)
	var u int
	for _, ix := range info.Indexes {
		if len(ix.Columns) > 0 && ix.Columns[0] == dialects.ColExpiresAtTime && ix.Unusable == "" {
			u++
		}
	}
	if got := len(info.UnusableExpiryIndexes()); u != usable || got != unusable {
		t.Errorf("%s has %d usable and %d unusable indexes on ExpiresAtTime, want %d and %d: %+v", table, u, got, usable, unusable, info.Indexes)
	}
	if s.Dialect.Name() != "postgres" {
		return
	}
	var valid, all int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE x.indisvalid AND am.amname = 'btree' AND x.indpred IS NULL), count(*)
		FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am am ON am.oid = c.relam
		JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
		WHERE x.indrelid = $1::regclass AND a.attname = 'ExpiresAtTime'`, s.Qualified(table)).Scan(&valid, &all); err != nil {
		t.Fatal(err)
	}
	if valid != usable || all != usable+unusable {
		t.Errorf("pg_index: %d valid B-tree indexes on ExpiresAtTime of %d, want %d of %d", valid, all, usable, usable+unusable)
	}
}

// pgInvalidIndex leaves index on table invalid, as a CREATE INDEX
// CONCURRENTLY that was cancelled leaves it: the build is made to wait for
// a transaction that writes to the table, after it has recorded the index,
// and cancelled while it waits.
func pgInvalidIndex(t *testing.T, s dialecttest.Server, db *sql.DB, table, index string) {
	t.Helper()
	ctx := context.Background()
	writer, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback()
	if _, err := writer.Exec(`UPDATE ` + s.Qualified(table) + ` SET "Value" = "Value"`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	built := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(ctx, `CREATE INDEX CONCURRENTLY `+s.Dialect.Quote(index)+` ON `+s.Qualified(table)+` ("ExpiresAtTime")`)
		built <- err
	}()
	waitForLockWait(t, db, pid)
	if _, err := db.Exec(`SELECT pg_cancel_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if err := <-built; err == nil {
		t.Fatal("the CREATE INDEX CONCURRENTLY that was cancelled succeeded")
	}
	writer.Rollback()
	var valid bool
	if err := db.QueryRow(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`,
		s.Dialect.Quote(s.Schema)+"."+s.Dialect.Quote(index)).Scan(&valid); err != nil || valid {
		t.Fatalf("the cancelled build left %s valid %v (%v), want it there and invalid", index, valid, err)
	}
}

// waitForLockWait waits until the session pid waits for a lock.
func waitForLockWait(t *testing.T, db *sql.DB, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var waiting bool
		if err := db.QueryRow(`SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d did not wait for a lock within a minute", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
