package schema_test

import (
	"testing"
	"time"
)

// cacheProvider is what a .NET cache provider does to the table at run
// time, with the app's clock passed in as now. Each dialect's conformance
// test implements it with the provider's own SQL.
type cacheProvider interface {
	set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time)
	refresh(t *testing.T, now time.Time, id string)
	get(t *testing.T, now time.Time, id string) []byte
	remove(t *testing.T, id string)
	deleteExpired(t *testing.T, now time.Time) int64
	expiresAt(t *testing.T, id string) time.Time
}

// exercise runs the provider's whole repertoire against a table and checks
// every outcome.
func exercise(t *testing.T, p cacheProvider) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	abs := now.Add(15 * time.Minute)

	p.set(t, now, "sliding", []byte("s1"), 20*time.Minute, nil)
	p.set(t, now, "absolute", []byte("a1"), 0, &abs)
	p.set(t, now, "both", []byte("b1"), 10*time.Minute, &abs)
	p.set(t, now, "Both", []byte("B1"), 10*time.Minute, &abs) // differs only in case: its own key

	if got := string(p.get(t, now, "sliding")); got != "s1" {
		t.Fatalf("Get(sliding) = %q, want s1", got)
	}
	later := now.Add(8 * time.Minute)
	p.get(t, later, "sliding")
	if got, want := p.expiresAt(t, "sliding"), later.Add(20*time.Minute); !got.Equal(want) {
		t.Errorf("Get slid the sliding entry to %v, want %v", got, want)
	}
	p.get(t, later, "both")
	if got := p.expiresAt(t, "both"); !got.Equal(abs) {
		t.Errorf("Get slid a capped entry to %v, want it capped at the absolute expiry %v", got, abs)
	}
	if got := string(p.get(t, now, "Both")); got != "B1" {
		t.Errorf("Get(Both) = %q, want B1: keys differing in case must stay apart", got)
	}

	p.set(t, now, "sliding", []byte("s2"), 20*time.Minute, nil) // upsert
	if got := string(p.get(t, now, "sliding")); got != "s2" {
		t.Errorf("Get after upsert = %q, want s2", got)
	}
	p.refresh(t, now, "absolute") // no sliding: nothing changes
	if got := p.expiresAt(t, "absolute"); !got.Equal(abs) {
		t.Errorf("Refresh moved an absolute-only entry to %v", got)
	}
	p.remove(t, "Both")
	if p.get(t, now, "Both") != nil {
		t.Errorf("Get after Remove found the entry")
	}
	if got := p.get(t, abs.Add(time.Minute), "absolute"); got != nil {
		t.Errorf("Get of an expired entry returned %q", got)
	}
	// Past the absolute expiry everything left has expired.
	if n := p.deleteExpired(t, now.Add(time.Hour)); n != 3 {
		t.Errorf("DeleteExpired removed %d rows, want 3", n)
	}
}
