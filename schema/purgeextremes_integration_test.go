package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestPurgeProgressCountsInfinity: the count a purge takes for its
// progress on a terminal counts a row at -infinity as expired, and one at
// infinity as not (it was a scan error).
func TestPurgeProgressCountsInfinity(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	table := dialecttest.Table("Infinity")
	s.DropAtCleanup(t, db, table)
	tb := create(t, s, table, schema.CreateOptions{})
	s.Seed(t, db, table, "old", 10, 10, -time.Hour)
	if _, err := db.Exec(`INSERT INTO ` + s.Qualified(table) + ` ("Id", "Value", "ExpiresAtTime") VALUES ('never', '\x00', 'infinity'), ('always', '\x00', '-infinity')`); err != nil {
		t.Fatal(err)
	}
	var counted *int64
	res, err := schema.Purge(context.Background(), connect(t, s, false), tb, schema.PurgeOptions{Estimate: true, BatchSize: 4,
		Progress: func(r schema.PurgeResult) { counted = r.Expired }})
	if err != nil || counted == nil || *counted != 11 || res.Deleted != 11 || s.Count(t, db, table, "never") != 1 {
		t.Errorf("purge with a progress count: %+v, %v, counted %v; want 11 counted and deleted, the row at infinity kept", res, err, counted)
	}
}
