package layouts

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	l, err := Lookup("cache")
	if err != nil || l != Cache {
		t.Fatalf("Lookup(cache) = %v, %v", l, err)
	}
	if _, err := Lookup("Cache"); !errors.Is(err, ErrUnknownLayout) {
		t.Errorf("Lookup(Cache) = %v, want ErrUnknownLayout (names match exactly)", err)
	}
	_, err = Lookup("nosuch")
	if !errors.Is(err, ErrUnknownLayout) || err.Error() != `unknown layout "nosuch": choose one of `+strings.Join(Names(), ", ") {
		t.Errorf("Lookup(nosuch) = %v", err)
	}
	if got := Names(); !slices.IsSorted(got) || len(got) != len(all) || !slices.Contains(got, "cache") {
		t.Errorf("Names = %v", got)
	}
}

// Every layout names its key and expiry among its columns, each column
// once, and is found under its own name.
func TestLayoutsAreWhole(t *testing.T) {
	for name, l := range all {
		if l.Name != name || l.Noun == "" || l.Description == "" || l.Templates == "" {
			t.Errorf("layout %q: %+v", name, l)
		}
		seen := map[string]bool{}
		for _, c := range l.Columns {
			if seen[c.Name] {
				t.Errorf("layout %s: column %s twice", name, c.Name)
			}
			seen[c.Name] = true
			if (c.Kind == Key) != (c.Length > 0) {
				t.Errorf("layout %s: column %s is a %s of length %d: only keys have one", name, c.Name, c.Kind, c.Length)
			}
		}
		if len(l.PrimaryKey) == 0 {
			t.Errorf("layout %s has no primary key", name)
		}
		for _, k := range l.PrimaryKey {
			if c, ok := l.Column(k); !ok || c.Nullable {
				t.Errorf("layout %s: primary key column %s is not a NOT NULL column of it", name, k)
			}
		}
		if l.Purges() {
			if c, ok := l.Column(l.Expiry); !ok || c.Kind != Time {
				t.Errorf("layout %s: expiry %s is not a time column of it", name, l.Expiry)
			}
		}
	}
}

func TestCache(t *testing.T) {
	if !Cache.Purges() || Cache.Expiry != "ExpiresAtTime" || Cache.String() != "cache" {
		t.Errorf("Cache = %+v", Cache)
	}
	if _, ok := Cache.Column("id"); ok {
		t.Error(`Column("id") found Id: names match exactly`)
	}
	if Kind(9).String() != "Kind(9)" || Seconds.String() != "seconds" {
		t.Error("Kind.String")
	}
}
