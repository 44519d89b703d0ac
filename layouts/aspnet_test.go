package layouts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
)

// TestClassicSessionLayouts: each classic ASP.NET session layout lives in
// SQL Server only; its SQL Server columns are its logical columns, in
// order, with their nullability; its expiry, Expires, is a datetime that
// its names say so of (ExpiryType), and its index is Index_Expires.
func TestClassicSessionLayouts(t *testing.T) {
	d, err := registry.Lookup("sqlserver")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*layouts.Layout{layouts.AspState, layouts.AspNetAsync, layouts.Universal} {
		t.Run(l.Name, func(t *testing.T) {
			if !l.In("sqlserver") || l.In("postgres") || l.In("mysql") || l.In("sqlite") {
				t.Errorf("engines %v, want sqlserver alone", l.Engines)
			}
			if got, err := layouts.Lookup(l.Name); err != nil || got != l {
				t.Errorf("Lookup(%s) = %v, %v", l.Name, got, err)
			}
			specs := l.ColumnsIn(d)
			var got, want []string
			for _, c := range l.Columns {
				want = append(want, c.Name)
			}
			for _, s := range specs {
				got = append(got, s.Name)
				c, _ := l.Column(s.Name)
				if c.Nullable != (s.Null == dialects.Nullable) {
					t.Errorf("column %s: Null %v, the layout's nullable %v", s.Name, s.Null, c.Nullable)
				}
				if !strings.HasPrefix(s.Definition, d.Quote(s.Name)+" "+s.Types[0]) {
					t.Errorf("column %s: Definition %q is not its name and first type", s.Name, s.Definition)
				}
				if s.Name == layouts.ColExpires && !slices.Equal(s.Types, []string{"datetime"}) {
					t.Errorf("Expires takes %v, want datetime alone", s.Types)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("SQL Server columns %v, the layout's %v", got, want)
			}
			n := l.NamesIn(d, "dbo", "T")
			if n.Key != layouts.ColSessionID || n.Expiry != layouts.ColExpires || n.ExpiryType != "datetime" || n.ExpiryIndex != layouts.ExpiresIndex {
				t.Errorf("names %+v", n)
			}
			if (l.NoCreate == "") != (l == layouts.AspNetAsync) || (l.NoDrop == "") != (l != layouts.AspState) {
				t.Errorf("create refused: %q; drop refused: %q", l.NoCreate, l.NoDrop)
			}
		})
	}
}
