package dialects

import (
	"testing"
)

// A usable index is one that is on ExpiresAtTime first and usable; the
// others are listed apart.
func TestExpiryIndexIsUsable(t *testing.T) {
	info := &TableInfo{Indexes: []Index{
		{Name: "pk", Columns: []string{ColID}, Primary: true},
		{Name: "partial", Columns: []string{ColExpiresAtTime}, Unusable: "partial"},
		{Name: "second", Columns: []string{ColID, ColExpiresAtTime}},
	}}
	if ix, ok := info.ExpiryIndex(); ok {
		t.Errorf("ExpiryIndex = %q, want none", ix.Name)
	}
	if u := info.UnusableExpiryIndexes(); len(u) != 1 || u[0].Name != "partial" {
		t.Errorf("UnusableExpiryIndexes = %+v", u)
	}
	info.Indexes = append(info.Indexes, Index{Name: "good", Columns: []string{ColExpiresAtTime, ColID}})
	if ix, ok := info.ExpiryIndex(); !ok || ix.Name != "good" {
		t.Errorf("ExpiryIndex = %q, %v, want good", ix.Name, ok)
	}
}
