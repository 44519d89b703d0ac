// The render fuzz target is an external test: it renders the templates the
// way the product does, from names schema.NewTable accepts, through each
// dialect's TemplateData, which this leaf package itself never imports.
package migrations_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/migrations"
	"github.com/sessctl/sessctl/schema"
)

// renderSeeds are hostile and typical names.
var renderSeeds = []string{
	"SessionData", "public", "dbo", "main", "Id", "ExpiresAtTime", "Index_ExpiresAtTime", "select",
	`a"b`, "a`b", "a]b", "a[b", "a'b", `a\b`, `a\'b`, `a\\'b`, `"`, "`", "]", "'", `\`,
	"x; DROP TABLE y", "x`; DROP TABLE y; --", `x"; DROP TABLE y; --`, "x]; DROP TABLE y; --", "x'); DROP TABLE y; --",
	"-- c", "/* c */", "*/", "# c", "$sessctl$", "$sessctl1$", "$$", "$", "{{", "}}", "{{.Table}}", "{{end}}", "%s", "%[1]s",
	"Sessión データ", "\ufeffbom", "\u2028", "N'x'", "E'x'", "X'41'", "_utf8mb4'x'", "GO", "a\nGO\nb", "a\x00b", "\xff",
	strings.Repeat("a", 40), strings.Repeat("a", 63), strings.Repeat("`", 20),
}

// benign are the names the shape of every rendering is compared with:
// distinct from each other, from every fixed name and from every word of
// the templates.
const benignSchema, benignTable = "Sbenign", "Tbenign"

// rendering is one piece of SQL the product renders for a table.
type rendering struct {
	name   string
	render func(t *schema.Table) (string, error)
}

var renderings = []rendering{
	{"create --script", func(t *schema.Table) (string, error) { return schema.CreateScript(t, false) }},
	{"create --script --idempotent", func(t *schema.Table) (string, error) { return schema.CreateScript(t, true) }},
	{"drop", schema.DropScript},
	{"purge --script", func(t *schema.Table) (string, error) { return schema.PurgeScript(t, 90*time.Second, 1000), nil }},
	{"up", func(t *schema.Table) (string, error) {
		ms, err := migrations.Up(t.Dialect.Name(), t.Dialect.TemplateData(t.Names))
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(m.SQL)
		}
		return b.String(), err
	}},
}

// names lists a table's names in the order SameShape pairs them.
func names(t *schema.Table) []string {
	return []string{t.Schema, t.Table, t.VersionTable, t.PrimaryKey, t.ExpiryIndex}
}

// FuzzRender renders every embedded template of every dialect, and the
// purge script, for fuzzed schema and table names, as the product does.
// For names NewTable accepts it never fails, and the SQL has the shape it
// has for plain names: the same tokens, the names only inside quoted
// identifiers and string literals, and those reading back as the names.
// So nothing of a name is left outside its quotes, and no "{{" either.
func FuzzRender(f *testing.F) {
	for _, s := range renderSeeds {
		f.Add("public", s)
		f.Add(s, "SessionData")
	}
	f.Add(`a"b`, "a`b]'c")
	f.Fuzz(func(t *testing.T, schemaName, tableName string) {
		for _, dn := range registry.List() {
			d, _ := registry.Lookup(dn)
			benign, err := schema.NewTable(d, benignSchema, benignTable)
			if dn == "sqlite" {
				benign, err = schema.NewTable(d, "main", benignTable)
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, sch := range []string{schemaName, dialecttest.DefaultSchema(d)} {
				tbl, err := schema.NewTable(d, sch, tableName)
				if err != nil {
					if !errors.Is(err, dialects.ErrInvalidName) {
						t.Errorf("%s: NewTable(%q, %q) = %v, not an ErrInvalidName", dn, sch, tableName, err)
					}
					continue
				}
				for _, r := range renderings {
					want, err := r.render(benign)
					if err != nil {
						t.Fatalf("%s %s, plain names: %v", dn, r.name, err)
					}
					got, err := r.render(tbl)
					if err != nil {
						t.Errorf("%s %s of %q.%q: %v", dn, r.name, sch, tableName, err)
						continue
					}
					if err := dialecttest.SameShape(dn, want, names(benign), got, names(tbl)); err != nil {
						t.Errorf("%s %s of %q.%q: %v\n%s", dn, r.name, sch, tableName, err, got)
					}
				}
			}
		}
	})
}
