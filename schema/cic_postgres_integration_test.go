package schema_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// idleInTransaction opens a session of db's server that holds a snapshot
// in a transaction it leaves open, as an app session left idle in a
// transaction does, until the returned function ends it.
func idleInTransaction(t *testing.T, s dialecttest.Server) func() {
	t.Helper()
	db := s.Open(t)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT count(*) FROM pg_catalog.pg_class`); err != nil {
		t.Fatal(err)
	}
	ended := false
	end := func() {
		if !ended {
			ended = true
			tx.Rollback()
		}
	}
	t.Cleanup(end)
	return end
}

// createWithin runs create with a deadline, as --timeout does, and fails
// t if it has not returned a minute after it.
func createWithin(t *testing.T, s dialecttest.Server, tb *schema.Table, deadline time.Duration) (*schema.CreateResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	type result struct {
		res *schema.CreateResult
		err error
	}
	done := make(chan result, 1)
	db := connect(t, s, false)
	go func() {
		res, err := schema.Create(ctx, db, tb, schema.CreateOptions{})
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(deadline + time.Minute):
		t.Fatalf("create of %s is stuck: a minute past its %s deadline, it has not returned", tb, deadline)
	}
	return nil, nil
}

// TestPostgresCreateNewTableWithAppIdleInTransaction: CREATE INDEX
// CONCURRENTLY waits for every transaction of the database that holds a
// snapshot; create of a table that is not there yet has no rows to
// protect, builds its index plainly, and so is not stalled by an app
// session left idle in a transaction. (Before: it waited as long as the
// session stayed so, here until the deadline.)
func TestPostgresCreateNewTableWithAppIdleInTransaction(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	// Ended before the tables are dropped, which a build stalled by it
	// would hold up.
	defer idleInTransaction(t, s)()
	for _, table := range []string{dialecttest.Table("Fresh"), dialecttest.Table("Fresh")} {
		s.DropAtCleanup(t, db, table)
		tb, err := schema.NewTable(s.Dialect, s.Schema, table)
		if err != nil {
			t.Fatal(err)
		}
		res, err := createWithin(t, s, tb, 20*time.Second)
		if err != nil || res.Status != schema.CreateCreated {
			t.Fatalf("create of a new table while an app session is idle in a transaction: %+v, %v", res, err)
		}
		rep, err := schema.Verify(context.Background(), connect(t, s, false), tb, true)
		if err != nil || rep.Err() != nil {
			t.Errorf("verify --strict: %+v, %v", rep, err)
		}
	}
}

// TestPostgresCreateGivingUpCancelsTheIndexBuild: adopting a table that is
// there keeps CREATE INDEX CONCURRENTLY; when create gives up on it (its
// deadline, as --timeout), the build is cancelled on the server, not left
// running there unseen; and the next create, once nothing stalls it,
// drops the invalid leftover and builds the index.
func TestPostgresCreateGivingUpCancelsTheIndexBuild(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	table := dialecttest.Table("Stalled")
	s.DropAtCleanup(t, db, table)
	if _, err := db.Exec(bareCacheTableSQL(s, table)); err != nil {
		t.Fatal(err)
	}
	s.Seed(t, db, table, "row", 1000, 10, time.Hour)
	tb, err := schema.NewTable(s.Dialect, s.Schema, table)
	if err != nil {
		t.Fatal(err)
	}
	end := idleInTransaction(t, s)
	res, err := createWithin(t, s, tb, 2*time.Second)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("create while the index build is stalled, 2 s deadline: %+v, %v; want it to give up", res, err)
	}
	// The cancel request is answered at once; wait for the server to
	// have acted on it, not for a time.
	building := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_catalog.pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
			AND query LIKE '%CREATE INDEX CONCURRENTLY%' AND query LIKE '%' || $1 || '%'`,
			table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := 0; i < 100 && building() > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if n := building(); n > 0 {
		t.Fatalf("create gave up, and its CREATE INDEX CONCURRENTLY runs on in the server (%d sessions)", n)
	}
	end()
	res, err = schema.Create(context.Background(), connect(t, s, false), tb, schema.CreateOptions{})
	if err != nil {
		t.Fatalf("create after the stall ended: %+v, %v", res, err)
	}
	rep, err := schema.Verify(context.Background(), connect(t, s, false), tb, true)
	if err != nil || rep.Err() != nil {
		t.Errorf("verify --strict after the rerun: %+v, %v", rep, err)
	}
	var invalid int
	if err := db.QueryRow(`SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = $1::regclass AND NOT indisvalid`,
		s.Qualified(table)).Scan(&invalid); err != nil || invalid != 0 {
		t.Errorf("%d invalid indexes left on the table (%v)", invalid, err)
	}
	if !strings.Contains(strings.Join(res.Actions, "; "), "index") {
		t.Logf("actions: %v", res.Actions)
	}
}
