package cmd

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/migrations"
)

// pgProviderTable makes table as Community.Microsoft.Extensions.Caching.
// PostgreSql does (with a primary key named for it, so that tests can run
// side by side), and no index on ExpiresAtTime.
func pgProviderTable(t *testing.T, s dialecttest.Server, db *sql.DB, table string) {
	t.Helper()
	q := `CREATE TABLE ` + s.Qualified(table) + ` (
		"Id" text COLLATE pg_catalog."default" NOT NULL,
		"Value" bytea,
		"ExpiresAtTime" timestamp with time zone,
		"SlidingExpirationInSeconds" double precision,
		"AbsoluteExpiration" timestamp with time zone,
		CONSTRAINT ` + s.Dialect.Quote(table+"_pkey") + ` PRIMARY KEY ("Id"))`
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestCreateIndexKeepsWritesGoing: adopting a populated PostgreSQL table,
// create builds the expiry index without holding off the app: a writer
// that keeps inserting sessions and sliding others forward completes
// writes while the server reports the index build in progress
// (pg_stat_progress_create_index), and none of them fails. A build that
// took a lock against writes (a plain CREATE INDEX) would let none of them
// through until it had finished.
func TestCreateIndexKeepsWritesGoing(t *testing.T) {
	const rows = 300_000
	s := dialecttest.Get(t, "postgres")
	t.Parallel()
	db := s.Open(t)
	table := dialecttest.Table("Busy")
	s.DropAtCleanup(t, db, table)
	pgProviderTable(t, s, db, table)
	s.Seed(t, db, table, "r", rows, 20, time.Hour)
	if _, err := db.Exec(`ANALYZE ` + s.Qualified(table)); err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var writes atomic.Int64
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		insert := `INSERT INTO ` + s.Qualified(table) + ` ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds")
			VALUES ($1, '\x00', now() + interval '20 minutes', 1200)`
		slide := `UPDATE ` + s.Qualified(table) + ` SET "ExpiresAtTime" = now() + interval '20 minutes' WHERE "Id" = $1`
		for i := 1; ctx.Err() == nil; i++ {
			var err error
			if i%2 == 0 {
				_, err = db.ExecContext(ctx, insert, fmt.Sprintf("w%d", i))
			} else {
				_, err = db.ExecContext(ctx, slide, fmt.Sprintf("r%d", 1+i%rows))
			}
			if err != nil {
				if ctx.Err() == nil {
					writeErr = err
				}
				return
			}
			writes.Add(1)
		}
	})
	// The writes completed between the first and the last time the build
	// was seen in progress were completed while it ran.
	var seen, first, last atomic.Int64
	first.Store(-1)
	wg.Go(func() {
		for ctx.Err() == nil {
			var building bool
			err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE relid = $1::regclass)`,
				s.Qualified(table)).Scan(&building)
			if err == nil && building {
				w := writes.Load()
				first.CompareAndSwap(-1, w)
				last.Store(w)
				seen.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	r := must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
	stop()
	wg.Wait()
	if writeErr != nil {
		t.Errorf("the app's write failed while create ran: %v", writeErr)
	}
	if m := r.json(t); m["status"] != "adopted" {
		t.Errorf("create of a provider's table: %s", r.stdout)
	}
	during := last.Load() - first.Load()
	t.Logf("index build of %d rows seen in progress %d times; %d writes completed meanwhile, %d in all", rows, seen.Load(), during, writes.Load())
	if seen.Load() < 3 {
		t.Fatalf("the index build was seen in progress %d times: too quick to tell, seed more rows", seen.Load())
	}
	if during < 10 {
		t.Errorf("only %d writes completed while the index was built: the build held the app's writes off", during)
	}
	wantExpiryIndexes(t, s, db, table, 1, 0)
	must(t, 0, "verify", s.DSN, s.Schema, table)
	// The index holds the rows written while it was built: read through it.
	var viaIndex, all int64
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_bitmapscan = off`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.QueryRow(`SELECT count(*) FROM ` + s.Qualified(table) + ` WHERE "ExpiresAtTime" > now() - interval '1 day'`).Scan(&viaIndex); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(`SELECT count(*) FROM ` + s.Qualified(table)).Scan(&all); err != nil {
		t.Fatal(err)
	}
	if viaIndex != all {
		t.Errorf("the index finds %d of the %d rows", viaIndex, all)
	}
}

// TestCreateConvergesAfterIndexBuildCancelled: a create whose CREATE INDEX
// CONCURRENTLY is cancelled (pg_cancel_backend), or whose process is
// killed and whose build the server then ends (pg_terminate_backend, as a
// restart does), leaves an invalid index under sessctl's name and the
// version dirty. verify names the invalid index; the next plain create
// drops it, builds it again, exits 0, and verify --strict passes.
func TestCreateConvergesAfterIndexBuildCancelled(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	t.Parallel()
	db := s.Open(t)
	for _, how := range []string{"cancelled", "killed"} {
		t.Run(how, func(t *testing.T) {
			table := dialecttest.Table("Cancel")
			s.DropAtCleanup(t, db, table)
			n := s.Dialect.Names(s.Schema, table)
			must(t, 0, "create", s.DSN, s.Schema, table)
			// As an older sessctl left it: version 1, no expiry index.
			if _, err := db.Exec("DROP INDEX " + dropIndexTarget(s, n.ExpiryIndex, table)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("UPDATE " + s.Qualified(n.VersionTable) + " SET version = 1"); err != nil {
				t.Fatal(err)
			}
			s.Seed(t, db, table, "r", 20_000, 10, time.Hour)

			// An app's transaction the build waits for.
			app, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer app.Rollback()
			if _, err := app.Exec(`UPDATE ` + s.Qualified(table) + ` SET "Value" = "Value" WHERE "Id" = 'r1'`); err != nil {
				t.Fatal(err)
			}
			bg := startSessctl(t, "create", s.DSN, s.Schema, table)
			pid := buildWaiting(t, db, n.ExpiryIndex)
			switch how {
			case "cancelled":
				if _, err := db.Exec(`SELECT pg_cancel_backend($1)`, pid); err != nil {
					t.Fatal(err)
				}
				if code := bg.wait(t); code != 1 {
					t.Errorf("create whose index build was cancelled: exit %d, want 1", code)
				}
			case "killed":
				bg.cmd.Process.Kill()
				bg.wait(t)
				if _, err := db.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
					t.Fatal(err)
				}
			}
			app.Rollback()
			waitGone(t, db, pid)

			var valid bool
			if err := db.QueryRow(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`,
				s.Dialect.Quote(s.Schema)+"."+s.Dialect.Quote(n.ExpiryIndex)).Scan(&valid); err != nil || valid {
				t.Fatalf("the build that was ended left the index valid %v (%v), want it there and invalid", valid, err)
			}
			if rows, _ := versionRows(t, s, db, table); len(rows) != 1 || rows[0] != (versionRow{migrations.ExpiryIndex, true}) {
				t.Fatalf("the version table holds %+v, want migration %d dirty", rows, migrations.ExpiryIndex)
			}
			r := must(t, 0, "verify", s.DSN, s.Schema, table)
			if !strings.Contains(r.stdout, "it is not valid") || !strings.Contains(r.stdout, "REINDEX INDEX CONCURRENTLY") {
				t.Errorf("verify of the invalid index said %q", r.stdout)
			}
			must(t, 3, "verify", "--strict", s.DSN, s.Schema, table)

			r = must(t, 0, "create", "-o", "json", s.DSN, s.Schema, table)
			if m := r.json(t); m["status"] != "upgraded" || !strings.Contains(r.stdout, "dropped the index") {
				t.Errorf("create after the build was %s: %s", how, r.stdout)
			}
			wantVerified(t, s, table)
			wantClean(t, s, db, table)
			wantExpiryIndexes(t, s, db, table, 1, 0)
		})
	}
}

// buildWaiting waits until a CREATE INDEX CONCURRENTLY of index waits for a
// lock, and returns its session's pid.
func buildWaiting(t *testing.T, db *sql.DB, index string) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var pid int
		err := db.QueryRow(`SELECT pid FROM pg_stat_activity
			WHERE strpos(query, 'CREATE INDEX CONCURRENTLY') > 0 AND strpos(query, $1) > 0 AND wait_event_type = 'Lock'`,
			`"`+index+`"`).Scan(&pid)
		if err == nil {
			return pid
		}
		if err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CREATE INDEX CONCURRENTLY of %s waited within a minute", index)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until the session pid has ended.
func waitGone(t *testing.T, db *sql.DB, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d did not end within a minute", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
