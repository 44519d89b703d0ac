package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// orders are the --order values, as PurgeOptions takes them.
var orders = []struct {
	name  string
	order schema.Order
}{{"auto", schema.OrderAuto}, {"expiry", schema.OrderExpiry}, {"storage", schema.OrderStorage}}

// batchWatch records the most rows one batch of a purge deleted.
type batchWatch struct{ most, batches int64 }

func (w *batchWatch) progress(r schema.PurgeResult) {
	w.most = max(w.most, r.LastBatchRows)
	w.batches++
}

// purgeWatched purges tb with opts, recording every batch, and fails t
// unless it ends done with every expired row (old) gone, every live one
// kept, and a batch never deleting more than opts.BatchSize.
func purgeWatched(t *testing.T, s dialecttest.Server, db *sql.DB, tb *schema.Table, table string, groups int, expired, live int64, opts schema.PurgeOptions) *schema.PurgeResult {
	t.Helper()
	var w batchWatch
	opts.Progress = w.progress
	res, err := schema.Purge(context.Background(), connect(t, s, false), tb, opts)
	if err != nil {
		t.Fatalf("purge %+v: %v", opts, err)
	}
	old, kept := countPrefix(t, s, db, table, "old", groups), countPrefix(t, s, db, table, "live", groups)
	if res.Status != schema.PurgeDone || res.Deleted != expired || old != 0 || kept != live || left(res) != 0 {
		t.Errorf("purge (order %q, batch size %d): %+v; %d expired and %d of %d live rows left; want all %d expired deleted",
			opts.Order, opts.BatchSize, res, old, kept, live, expired)
	}
	if opts.BatchSize > 0 {
		if w.most > int64(opts.BatchSize) {
			t.Errorf("purge --batch-size %d (order %q): a batch deleted %d rows", opts.BatchSize, opts.Order, w.most)
		}
		if min := (expired + int64(opts.BatchSize) - 1) / int64(opts.BatchSize); w.batches < min {
			t.Errorf("purge --batch-size %d (order %q) deleted %d rows in %d batches", opts.BatchSize, opts.Order, expired, w.batches)
		}
	}
	return res
}

// TestPurgeBatchSizeIsRows: --batch-size N means at most N rows a batch,
// on every engine and in every order, a walk in storage order included
// (on PostgreSQL it once meant N heap pages, hundreds of rows). Small rows
// put many on a page.
func TestPurgeBatchSizeIsRows(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		db := s.Open(t)
		for _, o := range orders {
			t.Run(o.name, func(t *testing.T) {
				table := dialecttest.Table("Rows")
				s.DropAtCleanup(t, db, table)
				tb := create(t, s, table, schema.CreateOptions{})
				seedInterleaved(t, s, db, table, "", 10, 60, 60)
				analyze(t, s, db, table)
				purgeWatched(t, s, db, tb, table, 10, 600, 600, schema.PurgeOptions{BatchSize: 7, Order: o.order})
			})
		}
	})
}

// adopt runs create on a table made by hand.
func adopt(t *testing.T, s dialecttest.Server, table string) *schema.Table {
	t.Helper()
	tb, err := schema.NewTable(s.Dialect, s.Schema, table)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := schema.Create(context.Background(), connect(t, s, true), tb, schema.CreateOptions{}); err != nil || res.Status != schema.CreateAdopted {
		t.Fatalf("create of %s: %+v, %v; want it adopted", table, res, err)
	}
	return tb
}

// pgPartitionedDDL makes a cache table partitioned as by, with the
// provider's columns and sessctl's primary key: the rest of the statements
// make its partitions.
func pgPartitionedDDL(s dialecttest.Server, table, by string, parts ...string) []string {
	var cols []string
	for _, c := range s.Dialect.Columns() {
		cols = append(cols, c.Definition)
	}
	q := []string{fmt.Sprintf(`CREATE TABLE %s (%s, PRIMARY KEY ("Id")) PARTITION BY %s`, s.Qualified(table), strings.Join(cols, ", "), by)}
	for i, p := range parts {
		q = append(q, fmt.Sprintf("CREATE TABLE %s PARTITION OF %s %s", s.Qualified(fmt.Sprintf("%s_p%d", table, i)), s.Qualified(table), p))
	}
	return q
}

// TestPurgePartitionedTable: a declaratively partitioned cache table (by
// hash or range of Id, a partition partitioned again, a partition left
// empty) is adopted by create, passes verify --strict, and is purged
// whole in every order and batch size: every expired row deleted, every
// live one kept, no batch over --batch-size, and remaining 0 only when
// none is left. (Walks read the parent's size, 0, and batches matched rows
// by ctid alone, which names a row in every partition.)
func TestPurgePartitionedTable(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	shapes := []struct {
		name, by string
		parts    []string
	}{
		{"hash", `HASH ("Id")`, []string{"FOR VALUES WITH (MODULUS 3, REMAINDER 0)", "FOR VALUES WITH (MODULUS 3, REMAINDER 1)", "FOR VALUES WITH (MODULUS 3, REMAINDER 2)"}},
		{"range", `RANGE ("Id")`, []string{"FOR VALUES FROM (MINVALUE) TO ('live')", "FOR VALUES FROM ('live') TO ('m')", "FOR VALUES FROM ('m') TO (MAXVALUE)"}},
		{"nested", `RANGE ("Id")`, []string{"FOR VALUES FROM (MINVALUE) TO ('m') PARTITION BY HASH (\"Id\")", "DEFAULT"}},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			ctx := context.Background()
			table := dialecttest.Table("Part")
			t.Cleanup(func() {
				db.Exec("DROP TABLE IF EXISTS " + s.Qualified(table) + ", " + s.Qualified(table+"_migrations"))
			})
			ddl := pgPartitionedDDL(s, table, shape.by, shape.parts...)
			if shape.name == "nested" {
				for i := range 2 {
					ddl = append(ddl, fmt.Sprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS 2, REMAINDER %d)",
						s.Qualified(fmt.Sprintf("%s_p0_%d", table, i)), s.Qualified(table+"_p0"), i))
				}
			}
			for _, q := range ddl {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			tb := adopt(t, s, table)
			if r, err := schema.Verify(ctx, connect(t, s, false), tb, true); err != nil || r.Status != schema.StatusOK {
				t.Fatalf("verify --strict of the partitioned table: %+v, %v", r, err)
			}
			reseed := func() {
				seedInterleaved(t, s, db, table, "", 10, 300, 300)
				analyze(t, s, db, table)
			}
			reseed()
			res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{DryRun: true})
			if err != nil || left(res) != 3000 || res.PlanUsesIndex == nil || !*res.PlanUsesIndex || res.ExpiryIndex != tb.Names.ExpiryIndex || !res.WouldWalk {
				t.Errorf("dry run: %+v, %v; want 3000 expired, a walk, batches on the expiry index %q", res, err, tb.Names.ExpiryIndex)
			}
			res = purgeWatched(t, s, db, tb, table, 10, 3000, 3000, schema.PurgeOptions{})
			if !res.Walked {
				t.Errorf("auto purge of a half-expired partitioned table did not walk it: %+v", res)
			}
			for _, opts := range []schema.PurgeOptions{
				{Order: schema.OrderExpiry}, {Order: schema.OrderStorage},
				{Order: schema.OrderExpiry, BatchSize: 7}, {Order: schema.OrderStorage, BatchSize: 7}, {BatchSize: 64},
			} {
				if _, err := db.Exec("DELETE FROM " + s.Qualified(table)); err != nil {
					t.Fatal(err)
				}
				reseed()
				purgeWatched(t, s, db, tb, table, 10, 3000, 3000, opts)
			}
		})
	}
}

// TestPurgePartitionedLeafPrivileges: a walk deletes from each partition
// directly, which a role granted only the partitioned table may not do:
// purge then does not walk by itself, purges in expiry order instead, and
// --order storage fails saying which grant it needs.
func TestPurgePartitionedLeafPrivileges(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	table := dialecttest.Table("PartPriv")
	t.Cleanup(func() {
		db.Exec("DROP TABLE IF EXISTS " + s.Qualified(table) + ", " + s.Qualified(table+"_migrations"))
	})
	for _, q := range pgPartitionedDDL(s, table, `HASH ("Id")`, "FOR VALUES WITH (MODULUS 2, REMAINDER 0)", "FOR VALUES WITH (MODULUS 2, REMAINDER 1)") {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	tb := adopt(t, s, table)
	role := strings.ToLower(dialecttest.Table("sessctl_part"))
	for _, q := range []string{
		"CREATE ROLE " + s.Dialect.Quote(role) + " LOGIN",
		"GRANT USAGE ON SCHEMA " + s.Dialect.Quote(s.Schema) + " TO " + s.Dialect.Quote(role),
		"GRANT SELECT, UPDATE, DELETE ON " + s.Qualified(table) + " TO " + s.Dialect.Quote(role),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP OWNED BY " + s.Dialect.Quote(role))
		db.Exec("DROP ROLE " + s.Dialect.Quote(role))
	})
	u, err := url.Parse(s.DSN)
	if err != nil {
		t.Fatalf("SESSCTL_TEST_POSTGRES_DSN is not a URL: %v", err)
	}
	u.User = url.User(role)
	c, err := registry.Parse(u.String(), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	app, err := schema.Connect(context.Background(), c, schema.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

	seedInterleaved(t, s, db, table, "", 5, 300, 300)
	if _, err := db.Exec("ANALYZE " + s.Qualified(table)); err != nil {
		t.Fatal(err)
	}
	res, err := schema.Purge(context.Background(), app, tb, schema.PurgeOptions{Order: schema.OrderStorage})
	if !errors.Is(err, dialects.ErrPermission) || !strings.Contains(err.Error(), "GRANT SELECT, UPDATE, DELETE ON "+strings.TrimSuffix(s.Qualified(table+"_p"), `"`)) ||
		!strings.Contains(err.Error(), "--order expiry") {
		t.Errorf("walk as a role without privileges on the partitions: %+v, %v; want a permission error naming the grant", res, err)
	}
	res, err = schema.Purge(context.Background(), app, tb, schema.PurgeOptions{})
	if err != nil || res.Walked || res.Deleted != 1500 || left(res) != 0 || countPrefix(t, s, db, table, "live", 5) != 1500 {
		t.Errorf("auto purge as a role without privileges on the partitions: %+v, %v; want 1500 deleted in expiry order", res, err)
	}
}

// TestPurgeCountsWhatIsLeft: remaining is counted at the end, never
// assumed 0 because a purge ended done. A walk leaves what expires while
// it runs for the next run (here: rows that expire after its first
// batch), and a batch on PostgreSQL skips a row an app session holds;
// both are done, and say how many are left.
func TestPurgeCountsWhatIsLeft(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if _, ok := s.Dialect.(dialects.Walker); !ok {
			t.Skipf("%s cannot walk a table", s.Dialect.Name())
		}
		ctx := context.Background()
		db := s.Open(t)
		table := dialecttest.Table("Left")
		s.DropAtCleanup(t, db, table)
		tb := create(t, s, table, schema.CreateOptions{})
		seedInterleaved(t, s, db, table, "", 10, 50, 50)
		late := false
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: schema.OrderStorage, BatchSize: 50,
			Progress: func(r schema.PurgeResult) {
				if !late {
					late = true
					s.Seed(t, db, table, "late", 5, 10, 0) // expiring now: after the walk began
				}
			}})
		// The late rows are behind the walk (MySQL walks by primary key,
		// and "late…" sorts first) or ahead of it; the batches on the
		// expiry index that end a walk may take them, if they have expired
		// by then: whether they have is the machine's speed. What is left
		// is counted, and the next run takes it.
		lateLeft := 505 - res.Deleted
		if err != nil || res.Status != schema.PurgeDone || !res.Walked || res.Deleted < 500 || lateLeft > 5 || left(res) != lateLeft {
			t.Errorf("walk while 5 rows expired: %+v, %v; want 500 to 505 deleted, and what is left of the 5 counted", res, err)
		}
		if old, late := countPrefix(t, s, db, table, "old", 10), s.Count(t, db, table, "late"); old != 0 || int64(late) != lateLeft {
			t.Errorf("after the walk %d expired rows and %d of the 5 late ones are left, want 0 and %d", old, late, lateLeft)
		}
		res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{})
		if err != nil || res.Deleted != lateLeft || left(res) != 0 {
			t.Errorf("the next purge: %+v, %v; want the %d late rows left deleted, none left", res, err, lateLeft)
		}

		if s.Dialect.Name() != "postgres" {
			return // only PostgreSQL skips held rows here
		}
		s.Seed(t, db, table, "held", 20, 10, -time.Hour)
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`SELECT 1 FROM ` + s.Qualified(table) + ` WHERE "Id" = 'held7' FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			res, err = schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{Order: o.order})
			if err != nil || res.Status != schema.PurgeDone || left(res) != 1 {
				t.Errorf("purge (%s) while an app session holds an expired row: %+v, %v; want done with 1 left", o.name, res, err)
			}
		}
	})
}
