package schema

import (
	"fmt"
	"slices"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
)

// lookalike is, for a table verified as the wrong layout, the finding
// that names the layout of its engine it looks like: the one whose
// columns and primary key it has (verify finds no error in them), with
// the fewest columns left over, when that is not t's own. It is an error
// when the table fails as t's layout, and a warning when it passes but
// another layout fits it more closely (an ASPStateTempSessions verified
// as aspnet-async, whose columns it has and one more). Nil otherwise.
func (t *Table) lookalike(info *dialects.TableInfo, failed bool) []Finding {
	if info.Kind != dialects.KindTable {
		return nil
	}
	own := extraColumns(info, t.columns())
	var best *layouts.Layout
	fewest := 0
	for _, l := range layouts.In(t.Dialect.Name()) {
		if l == t.Layout {
			continue
		}
		other, err := NewTableOf(t.Dialect, l, t.Schema, t.Names.Table)
		if err != nil || !slices.Equal(info.PrimaryKey, l.PrimaryKey) || len(errorsOf(other.checkColumns(info))) > 0 {
			continue
		}
		if extra := extraColumns(info, other.columns()); best == nil || extra < fewest {
			best, fewest = l, extra
		}
	}
	if best == nil || (!failed && fewest >= own) {
		return nil
	}
	d := t.Dialect.Name()
	sev := SeverityError
	msg := fmt.Sprintf("this is %s: use --layout %s (%s has the columns of --layout %s, not those of --layout %s, %s)",
		tableOf(best, d), best.Name, t, best.Name, t.Layout.Name, tableOf(t.Layout, d))
	if !failed {
		sev = SeverityWarning
		msg = fmt.Sprintf("%s passes as --layout %s, but fits %s (--layout %s) more closely", t, t.Layout.Name, best.Description, best.Name)
	}
	return []Finding{{Severity: sev, Object: "layout", Message: msg,
		Fix: fmt.Sprintf("run the command again with --layout %s", best.Name)}}
}

// extraColumns counts the columns of info that specs do not name.
func extraColumns(info *dialects.TableInfo, specs []dialects.ColumnSpec) int {
	n := 0
	for _, c := range info.Columns {
		if !slices.ContainsFunc(specs, func(s dialects.ColumnSpec) bool { return s.Name == c.Name }) {
			n++
		}
	}
	return n
}

// tableOf names layout l's table in engine d: its provider's table, or
// what its description says it is.
func tableOf(l *layouts.Layout, d string) string {
	if p, ok := l.Providers[d]; ok {
		return p + "'s table"
	}
	return l.Description
}
