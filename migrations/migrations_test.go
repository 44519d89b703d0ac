package migrations

import (
	"path"
	"strings"
	"testing"
)

func data() map[string]string {
	return map[string]string{
		"Schema": `"s"`, "Table": `"s"."t"`, "TableName": `"t"`, "VersionTable": `"s"."t_migrations"`,
		"PrimaryKey": `"t_pkey"`, "ExpiryIndex": `"t_idx"`, "TableLiteral": `'x'`, "Tag": "$tag$", "Concurrently": "CONCURRENTLY",
	}
}

func TestUpRendersInOrder(t *testing.T) {
	ms, err := Up("postgres", data())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Version != ExpiryIndex {
		t.Fatalf("Up = %+v", ms)
	}
	if !strings.Contains(ms[0].SQL, `CREATE TABLE IF NOT EXISTS "s"."t"`) {
		t.Errorf("migration 1 = %s", ms[0].SQL)
	}
	if latest, _ := Latest("postgres"); latest != 2 {
		t.Errorf("Latest = %d", latest)
	}
}

func TestRenderMissingKey(t *testing.T) {
	d := data()
	delete(d, "ExpiryIndex")
	if _, err := Up("postgres", d); err == nil || !strings.Contains(err.Error(), "ExpiryIndex") {
		t.Errorf("rendering without ExpiryIndex: %v, want an error naming it", err)
	}
}

// A name that itself holds "{{" is data, not a leftover.
func TestRenderNameWithBraces(t *testing.T) {
	d := data()
	d["Table"] = `"s"."{{t}}"`
	sql, err := Script("postgres", Create, d)
	if err != nil || !strings.Contains(sql, `"s"."{{t}}"`) {
		t.Errorf("Script = %q, %v", sql, err)
	}
}

func TestUnknownDialect(t *testing.T) {
	if _, err := Up("oracle", data()); err == nil {
		t.Error("Up(oracle) succeeded")
	}
}

// Every dialect folder of a set has the same files.
func TestSameFilesInEveryFolder(t *testing.T) {
	sets, _ := files.ReadDir(".")
	if len(sets) == 0 {
		t.Fatal("no template sets embedded")
	}
	for _, set := range sets {
		entries, _ := files.ReadDir(set.Name())
		var want []string
		for i, e := range entries {
			sub, _ := files.ReadDir(path.Join(set.Name(), e.Name()))
			var names []string
			for _, f := range sub {
				names = append(names, f.Name())
			}
			if i == 0 {
				want = names
				continue
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("%s/%s has %v, %s has %v", set.Name(), e.Name(), names, entries[0].Name(), want)
			}
		}
	}
}

// The package-level functions are the cache set's.
func TestCacheIsTheDefaultSet(t *testing.T) {
	a, err := Up("postgres", data())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Cache.Up("postgres", data())
	if err != nil || len(a) != len(b) || a[0].SQL != b[0].SQL {
		t.Errorf("Up and Cache.Up differ: %v", err)
	}
	if _, err := Set("nosuch").Up("postgres", data()); err == nil {
		t.Error(`Set("nosuch").Up succeeded`)
	}
}
