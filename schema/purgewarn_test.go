package schema_test

import (
	"slices"
	"testing"

	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// TestPurgeWarnsBatchSizeAboveCeiling: a --batch-size above the most rows
// one batch deletes on the dialect is clamped, and NewPurge says so, before
// anything is connected to; within it, or sized by time, nothing is said.
func TestPurgeWarnsBatchSizeAboveCeiling(t *testing.T) {
	for _, c := range []struct {
		dialect string
		size    int
		want    []string
	}{
		{"sqlserver", 5000, []string{"--batch-size 5000 is above 4000, the most rows one batch deletes on sqlserver: batches of 4000"}},
		{"mysql", 10001, []string{"--batch-size 10001 is above 10000, the most rows one batch deletes on mysql: batches of 10000"}},
		{"sqlserver", 4000, nil},
		{"sqlserver", 0, nil},
		{"postgres", 1_000_000, nil},
		{"sqlite", 1_000_000, nil},
	} {
		d, err := registry.Lookup(c.dialect)
		if err != nil {
			t.Fatal(err)
		}
		sch := "s"
		if c.dialect == "sqlite" {
			sch = "main"
		}
		tb, err := schema.NewTable(d, sch, "SessionData")
		if err != nil {
			t.Fatal(err)
		}
		if got := schema.NewPurge(tb, schema.PurgeOptions{BatchSize: c.size}).Warnings; !slices.Equal(got, c.want) {
			t.Errorf("%s --batch-size %d: warnings %q, want %q", c.dialect, c.size, got, c.want)
		}
	}
}

// TestParseOrder: --order takes auto, expiry and storage, and names them
// when given anything else.
func TestParseOrder(t *testing.T) {
	for s, want := range map[string]schema.Order{"auto": schema.OrderAuto, "expiry": schema.OrderExpiry, "storage": schema.OrderStorage} {
		if got, err := schema.ParseOrder(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseOrder(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"", "Auto", "walk"} {
		if _, err := schema.ParseOrder(s); err == nil || err.Error() != `"`+s+`": use auto, expiry or storage` {
			t.Errorf("ParseOrder(%q): %v", s, err)
		}
	}
}
