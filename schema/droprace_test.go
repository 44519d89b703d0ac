package schema_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

// TestCreateAndDropRacing: drop takes the lock create's migrations hold,
// so a create and a drop of one table run at once, the drop started at
// moments spread over the create's length, leave either the whole table
// with one clean version or nothing, never a version without its table;
// neither fails. For the cache table (16 rounds) and the key ring (6; 3
// on the TDS stand-in, where a create takes seconds).
func TestCreateAndDropRacing(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		for _, l := range []*layouts.Layout{layouts.Cache, layouts.Keys} {
			if !l.In(s.Dialect.Name()) {
				continue
			}
			rounds := 16
			if l != layouts.Cache {
				rounds = 6
				if s.Dialect.Name() == "sqlserver" {
					rounds = 3
				}
			}
			t.Run(l.Name, func(t *testing.T) { createAndDropRacing(t, s, l, rounds) })
		}
	})
}

func createAndDropRacing(t *testing.T, s dialecttest.Server, l *layouts.Layout, rounds int) {
	ctx := context.Background()
	db := s.Open(t)
	table := dialecttest.Table("Race")
	s.DropAtCleanup(t, db, table)
	tb, err := schema.NewTableOf(s.Dialect, l, s.Schema, table)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := tb.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	// How long a create takes here, to spread the drops over it.
	t0 := time.Now()
	if _, err := schema.Create(ctx, connect(t, s, false), tb, schema.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	span := time.Since(t0)
	if _, err := schema.Drop(ctx, connect(t, s, false), tb, schema.DropOptions{IfExists: true}); err != nil {
		t.Fatal(err)
	}
	made, gone := 0, 0
	for round := range rounds {
		cdb, ddb := connect(t, s, false), connect(t, s, false)
		delay := time.Duration(rand.Int64N(int64(span) + 1))
		var wg sync.WaitGroup
		var cerr, derr error
		wg.Go(func() { _, cerr = schema.Create(ctx, cdb, tb, schema.CreateOptions{}) })
		wg.Go(func() {
			time.Sleep(delay)
			_, derr = schema.Drop(ctx, ddb, tb, schema.DropOptions{IfExists: true})
		})
		wg.Wait()
		if cerr != nil || derr != nil {
			t.Errorf("round %d (drop after %s): create %v, drop %v", round, delay, cerr, derr)
		}
		info, err := s.Dialect.Inspect(ctx, db, tb.Names)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case info.Kind == dialects.KindTable:
			made++
			if info.Version == nil || info.Version.Dirty || info.Version.Version != int64(latest) {
				t.Errorf("round %d: the table is there with version %+v, want %d, clean", round, info.Version, latest)
			}
			if _, ok := info.ExpiryIndex(); l.Purges() && !ok {
				t.Errorf("round %d: the table is there without its expiry index", round)
			}
		case info.VersionTable:
			t.Errorf("round %d (drop after %s): a version table (%+v) without its table", round, delay, info.Version)
		default:
			gone++
		}
		if _, err := schema.Drop(ctx, connect(t, s, false), tb, schema.DropOptions{IfExists: true}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s, %s: %d rounds, create %s: %d left the table, %d nothing", s.Dialect.Name(), l.Noun, rounds, span.Round(time.Millisecond), made, gone)
}
