package schema

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
)

// A key ring is never purged: Run refuses it before it sends anything (it
// is given no database at all here), saying why.
func TestPurgeRefusesKeyRing(t *testing.T) {
	for _, name := range registry.List() {
		d, _ := registry.Lookup(name)
		tb, err := NewTableOf(d, layouts.Keys, dialecttest.DefaultSchema(d), "DataProtectionKeys")
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewPurge(tb, PurgeOptions{}).Run(context.Background(), nil)
		if !errors.Is(err, ErrHoldsRows) || !strings.Contains(err.Error(), "never deletes a key") {
			t.Errorf("%s: purge of a key ring: %v", name, err)
		}
	}
}
