package schema

import (
	"fmt"
	"slices"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
)

// otherLayout is the layout, not t's, whose table info is: info has every
// column of it, by its exact name and of a type it takes, and lacks one of
// t's layout. Two providers' tables on one engine differ so (PostgreSQL:
// the community provider's quoted PascalCase columns and double precision
// seconds, Microsoft's lower-case ones and bigint seconds).
func (t *Table) otherLayout(info *dialects.TableInfo) *layouts.Layout {
	if info.Kind != dialects.KindTable || t.hasColumns(t.Layout, info) {
		return nil
	}
	for _, l := range layouts.All() {
		if l != t.Layout && l.In(t.Dialect.Name()) && t.hasColumns(l, info) {
			return l
		}
	}
	return nil
}

// hasColumns reports whether info has every column of layout l in t's
// engine, each of a type l takes.
func (t *Table) hasColumns(l *layouts.Layout, info *dialects.TableInfo) bool {
	specs := l.ColumnsIn(t.Dialect)
	if len(specs) == 0 {
		return false
	}
	for _, s := range specs {
		c, ok := info.Column(s.Name)
		if !ok || !slices.Contains(s.Types, c.Type) {
			return false
		}
	}
	return true
}

// wrongLayout is the finding that the table is another layout's, and which
// --layout to use, when it is (otherLayout).
func (t *Table) wrongLayout(info *dialects.TableInfo) (Finding, bool) {
	o := t.otherLayout(info)
	if o == nil {
		return Finding{}, false
	}
	d := t.Dialect.Name()
	return Finding{Severity: SeverityError, Object: "table",
		Message: fmt.Sprintf("this is %s's table: use --layout %s (%s has the columns of --layout %s, not those of --layout %s, %s's table)",
			o.Whose(d), o.Name, t, o.Name, t.Layout.Name, t.Layout.Whose(d)),
		Fix: fmt.Sprintf("run the command again with --layout %s", o.Name)}, true
}

// checkUnlogged warns of an UNLOGGED table.
func (t *Table) checkUnlogged(info *dialects.TableInfo) []Finding {
	if !info.Unlogged {
		return nil
	}
	msg := fmt.Sprintf("%s is %s", t, unloggedRisk)
	if t.Layout.Unlogged {
		msg += fmt.Sprintf("; it is %s's default (UseWAL = false), and `sessctl create --logged` makes a logged table", t.Layout.Whose(t.Dialect.Name()))
	}
	return []Finding{{Severity: SeverityWarning, Object: "table", Message: msg,
		Fix: fmt.Sprintf("ALTER TABLE %s SET LOGGED; (it rewrites the table, holding off the app while it does)", t)}}
}

// elsewhere is, for a missing table, where another layout's provider
// would look for the names typed, when it looks elsewhere (Microsoft's
// package folds them to lower case): "; …" to end the message, or "".
func (t *Table) elsewhere() string {
	d := t.Dialect.Name()
	for _, l := range layouts.All() {
		if l == t.Layout || l.Find == nil || !l.In(d) {
			continue
		}
		sch, _, serr := l.Find(d, "schema", t.Schema)
		table, _, terr := l.Find(d, "table", t.Names.Table)
		if serr == nil && terr == nil && (sch != t.Schema || table != t.Names.Table) {
			return fmt.Sprintf("; %s would read %s.%s: if the app uses it, pass --layout %s",
				l.Whose(d), t.Dialect.Quote(sch), t.Dialect.Quote(table), l.Name)
		}
	}
	return ""
}
