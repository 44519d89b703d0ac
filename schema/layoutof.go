package schema

import (
	"fmt"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
)

// checkUnlogged warns of an UNLOGGED table.
func (t *Table) checkUnlogged(info *dialects.TableInfo) []Finding {
	if !info.Unlogged {
		return nil
	}
	msg := fmt.Sprintf("%s is %s", t, unloggedRisk)
	switch {
	case t.Logged:
		msg += "; --logged makes a new table logged, and changes none that is there: ALTER TABLE … SET LOGGED does"
	case t.Layout.Unlogged:
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
