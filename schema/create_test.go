package schema

import (
	"testing"

	"github.com/golang-migrate/migrate/v4/database"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// Every migration of every dialect says how the catalog shows its work is
// there: without that, create could not tell a table whose work was
// dropped from one that has it.
func TestEveryMigrationHasAPromise(t *testing.T) {
	for _, name := range registry.List() {
		d, _ := registry.Lookup(name)
		ms, err := migrations.Up(name, d.TemplateData(d.Names(dialecttest.DefaultSchema(d), "SessionData")))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if _, ok := layouts.Cache.Promises[m.Version]; !ok {
				t.Errorf("%s migration %d (%s) has no entry in the cache layout's Promises", name, m.Version, m.Name)
			}
		}
	}
}

func TestDelivered(t *testing.T) {
	d, _ := registry.Lookup("sqlite")
	ms, err := migrations.Up("sqlite", d.TemplateData(d.Names("main", "SessionData")))
	if err != nil {
		t.Fatal(err)
	}
	usable := dialects.Index{Name: "ix", Columns: []string{dialects.ColExpiresAtTime}}
	partial := usable
	partial.Unusable = "it is a partial index"
	for _, c := range []struct {
		name string
		info dialects.TableInfo
		want int
	}{
		{"missing", dialects.TableInfo{Kind: dialects.KindMissing}, database.NilVersion},
		{"view", dialects.TableInfo{Kind: dialects.KindView, Indexes: []dialects.Index{usable}}, database.NilVersion},
		{"no index", dialects.TableInfo{Kind: dialects.KindTable}, migrations.Table},
		{"unusable index", dialects.TableInfo{Kind: dialects.KindTable, Indexes: []dialects.Index{partial}}, migrations.Table},
		{"all there", dialects.TableInfo{Kind: dialects.KindTable, Indexes: []dialects.Index{partial, usable}}, migrations.ExpiryIndex},
	} {
		if got := delivered(layouts.Cache, ms, &c.info); got != c.want {
			t.Errorf("%s: delivered %d, want %d", c.name, got, c.want)
		}
	}
}
