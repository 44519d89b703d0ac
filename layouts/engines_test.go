package layouts_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// providerOrder are the engines whose provider's own table lists the
// columns in another order than the layout (Pomelo's `dotnet mysql-cache
// create`: Id, then the rest by name), which sessctl keeps.
var providerOrder = map[string][]string{
	"mysql": {"Id", "AbsoluteExpiration", "ExpiresAtTime", "SlidingExpirationInSeconds", "Value"},
}

// TestEnginesRenderTheCacheLayout: each engine's Columns are the cache
// layout's logical columns, each once, in the layout's order (or its
// provider's), with the layout's nullability, and a key column that takes
// the layout's longest key. Columns is each engine's rendering of the one
// layout there is; when engines render any layout (Columns(l)), this test
// runs over every layout.
func TestEnginesRenderTheCacheLayout(t *testing.T) {
	l := layouts.Cache
	for _, name := range registry.List() {
		t.Run(name, func(t *testing.T) {
			d, err := registry.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, c := range l.Columns {
				want = append(want, c.Name)
			}
			if o, ok := providerOrder[name]; ok {
				want = o
			}
			for _, spec := range d.Columns() {
				got = append(got, spec.Name)
				c, ok := l.Column(spec.Name)
				if !ok {
					continue // reported below
				}
				if c.Nullable != (spec.Null == dialects.Nullable) {
					t.Errorf("column %s: Null %v, but the layout has it nullable: %v", spec.Name, spec.Null, c.Nullable)
				}
				if c.Kind == layouts.Key && spec.Length != 0 && spec.Length != -1 && spec.Length < c.Length {
					t.Errorf("column %s: length %d, under the layout's %d", spec.Name, spec.Length, c.Length)
				}
				if c.Kind == layouts.Key && spec.Length == 0 && spec.MinLength != 0 && spec.MinLength != c.Length {
					t.Errorf("column %s: MinLength %d, not the layout's %d", spec.Name, spec.MinLength, c.Length)
				}
				if !strings.HasPrefix(spec.Definition, d.Quote(spec.Name)+" ") {
					t.Errorf("column %s: Definition %q does not start with its quoted name", spec.Name, spec.Definition)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("Columns are %v; the layout's columns are %v", got, want)
			}
			if !slices.Contains(got, l.Expiry) {
				t.Errorf("Columns have no %s, the layout's expiry", l.Expiry)
			}
		})
	}
}

// TestColumnDefinitionsOnce ties the three places an engine writes a
// layout's columns: ColumnSpec.Definition (what verify's fixes print),
// migration 1 (what create runs) and the golden create script (what create
// --script prints, which schema's golden test ties to the create.sql
// template). Editing one alone fails here. Each layout renders with its
// provider's own table name (the key ring's SQLite Definition names the
// primary key PK_DataProtectionKeys, as EF Core does).
func TestColumnDefinitionsOnce(t *testing.T) {
	for _, tc := range []struct {
		l           *layouts.Layout
		table, gold string
	}{
		{layouts.Cache, "SessionData", "create.sql"},
		{layouts.Keys, "DataProtectionKeys", "keys_create.sql"},
	} {
		for _, name := range registry.List() {
			t.Run(tc.l.Name+"/"+name, func(t *testing.T) {
				d, err := registry.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				definitionsOnce(t, d, tc.l, tc.table, filepath.Join("..", "testdata", "golden", name, tc.gold))
			})
		}
	}
}

func definitionsOnce(t *testing.T, d dialects.Dialect, l *layouts.Layout, table, path string) {
	var defs []string
	specs := l.ColumnsIn(d)
	for _, spec := range specs {
		defs = append(defs, spec.Definition)
	}
	ms, err := l.Templates.Up(d.Name(), d.TemplateData(l.NamesIn(d, dialecttest.DefaultSchema(d), table)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != migrations.Table {
		t.Fatalf("no migration %d", migrations.Table)
	}
	migrated, err := columnDefinitions(ms[0].SQL)
	if err != nil {
		t.Fatalf("migration %s: %v", ms[0].Name, err)
	}
	if !slices.Equal(migrated, defs) {
		t.Errorf("migration %s defines the columns\n\t%s\nbut Columns' Definitions are\n\t%s",
			ms[0].Name, strings.Join(migrated, "\n\t"), strings.Join(defs, "\n\t"))
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	scripted, err := columnDefinitions(string(golden))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(scripted) != len(defs) {
		t.Fatalf("%s defines %d columns (%q); Columns has %d", path, len(scripted), scripted, len(defs))
	}
	for i, spec := range specs {
		if !sameDefinition(d, spec, scripted[i]) {
			t.Errorf("%s defines column %d as %q; its Definition is %q", path, i+1, scripted[i], spec.Definition)
		}
	}
}

// TestEnginesRenderTheKeysLayout: each engine's key ring columns are the
// layout's, in its order, NOT NULL where the layout has it so, and
// nullable columns taken either way (hand-made rings write NOT NULL); its
// primary key is PK_<table> where the engine keeps the name, and it has
// no expiry index.
func TestEnginesRenderTheKeysLayout(t *testing.T) {
	l := layouts.Keys
	for _, name := range registry.List() {
		t.Run(name, func(t *testing.T) {
			d, _ := registry.Lookup(name)
			var got, want []string
			for _, c := range l.Columns {
				want = append(want, c.Name)
			}
			for _, spec := range l.ColumnsIn(d) {
				got = append(got, spec.Name)
				c, _ := l.Column(spec.Name)
				if !c.Nullable && spec.Null != dialects.NotNull {
					t.Errorf("column %s: Null %v, but the layout has it NOT NULL", spec.Name, spec.Null)
				}
				if c.Nullable && spec.Null == dialects.NotNull {
					t.Errorf("column %s: NOT NULL, but the layout has it nullable", spec.Name)
				}
				if !strings.HasPrefix(spec.Definition, d.Quote(spec.Name)+" ") {
					t.Errorf("column %s: Definition %q does not start with its quoted name", spec.Name, spec.Definition)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("columns are %v; the layout's are %v", got, want)
			}
			n := l.NamesIn(d, dialecttest.DefaultSchema(d), "Ring")
			wantPK := "PK_Ring"
			if name == "mysql" {
				wantPK = ""
			}
			if n.PrimaryKey != wantPK || n.ExpiryIndex != "" || n.Key != "Id" || n.Expiry != "" {
				t.Errorf("Names = %+v, want PrimaryKey %q, no ExpiryIndex, Key Id, no Expiry", n, wantPK)
			}
		})
	}
}

// columnDefinitions are the column definitions of the first CREATE TABLE
// in sql, as written, without its table constraints.
func columnDefinitions(sql string) ([]string, error) {
	at := strings.Index(sql, "CREATE TABLE")
	if at < 0 {
		return nil, errNo("CREATE TABLE")
	}
	open := strings.Index(sql[at:], "(")
	if open < 0 {
		return nil, errNo("column list")
	}
	var out []string
	depth, start := 0, at+open+1
	for i := start; i < len(sql); i++ {
		switch sql[i] {
		case '(':
			depth++
		case ')', ',':
			if depth > 0 {
				if sql[i] == ')' {
					depth--
				}
				continue
			}
			if def := strings.TrimSpace(sql[start:i]); def != "" && !constraint(def) {
				out = append(out, def)
			}
			if sql[i] == ')' {
				return out, nil
			}
			start = i + 1
		}
	}
	return nil, errNo("end of the column list")
}

type errNo string

func (e errNo) Error() string { return "no " + string(e) }

func constraint(def string) bool {
	u := strings.ToUpper(def)
	for _, p := range []string{"PRIMARY KEY", "CONSTRAINT ", "KEY ", "UNIQUE ", "INDEX "} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// sameDefinition reports whether def, as a printed script writes it,
// defines spec's column as spec.Definition does: the name quoted or bare
// (the dotnet tool's script writes it bare), and the rest the same word
// for word, where words without quotes, SQL keywords and type names,
// match in any case (the dotnet tool writes varbinary(MAX)).
func sameDefinition(d dialects.Dialect, spec dialects.ColumnSpec, def string) bool {
	rest, ok := strings.CutPrefix(def, d.Quote(spec.Name)+" ")
	if !ok {
		if rest, ok = strings.CutPrefix(def, spec.Name+" "); !ok {
			return false
		}
	}
	want := strings.Fields(strings.TrimPrefix(spec.Definition, d.Quote(spec.Name)+" "))
	got := strings.Fields(rest)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && (strings.ContainsAny(want[i], "\"`[]'") || !strings.EqualFold(got[i], want[i])) {
			return false
		}
	}
	return true
}

// Every layout's migrations, in every engine it lives in, have a promise, and its
// index migration is one of them.
func TestEveryMigrationIsPromised(t *testing.T) {
	for _, ln := range layouts.Names() {
		l, _ := layouts.Lookup(ln)
		for _, name := range registry.List() {
			if !l.In(name) {
				continue // no table of it there, nor templates
			}
			d, _ := registry.Lookup(name)
			ms, err := l.Templates.Up(name, d.TemplateData(d.Names(dialecttest.DefaultSchema(d), "SessionData")))
			if err != nil {
				t.Fatalf("%s/%s: %v", ln, name, err)
			}
			index := l.IndexMigration == 0
			for _, m := range ms {
				if _, ok := l.Promises[m.Version]; !ok {
					t.Errorf("%s/%s: migration %s has no promise", ln, name, m.Name)
				}
				index = index || m.Version == l.IndexMigration
			}
			if !index {
				t.Errorf("%s/%s: no migration %d, the index migration", ln, name, l.IndexMigration)
			}
		}
	}
}

// TestMicrosoftColumnsOnce: the Microsoft layout's PostgreSQL columns are
// its logical columns in order, with their nullability, and are written
// alike in its ColumnSpecs (verify's fixes), its migration 1 (create) and
// its golden create script (create --script --logged).
func TestMicrosoftColumnsOnce(t *testing.T) {
	l := layouts.Microsoft
	d, _ := registry.Lookup("postgres")
	specs := l.ColumnsIn(d)
	var defs []string
	for i, spec := range specs {
		c := l.Columns[i]
		if spec.Name != c.Name || c.Nullable != (spec.Null == dialects.Nullable) {
			t.Errorf("spec %d is %s (null %v); the layout's column %d is %s (nullable %v)", i, spec.Name, spec.Null, i, c.Name, c.Nullable)
		}
		defs = append(defs, spec.Definition)
	}
	if len(specs) != len(l.Columns) {
		t.Fatalf("%d specs for %d columns", len(specs), len(l.Columns))
	}
	ms, err := l.Templates.Up("postgres", d.TemplateData(l.NamesIn(d, "public", "sessiondata")))
	if err != nil {
		t.Fatal(err)
	}
	migrated, err := columnDefinitions(ms[0].SQL)
	if err != nil || !slices.Equal(migrated, defs) {
		t.Errorf("migration %s defines\n\t%s\nbut the specs\n\t%s (%v)", ms[0].Name, strings.Join(migrated, "\n\t"), strings.Join(defs, "\n\t"), err)
	}
	golden, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "postgres", "microsoft_create_logged.sql"))
	if err != nil {
		t.Fatal(err)
	}
	scripted, err := columnDefinitions(string(golden))
	if err != nil || !slices.Equal(scripted, defs) {
		t.Errorf("microsoft_create_logged.sql defines\n\t%s\nbut the specs\n\t%s (%v)", strings.Join(scripted, "\n\t"), strings.Join(defs, "\n\t"), err)
	}
}
