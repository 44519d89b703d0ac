package schema

import (
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
)

// TestVersionFindingsAreWarnings: whatever the version table says (none,
// no row, dirty, behind, ahead, unreadable), it is only ever a warning,
// never what makes a table incompatible. Purge's check relies on it: it
// does not read the version table (dialects.TableInspector).
func TestVersionFindingsAreWarnings(t *testing.T) {
	for _, name := range registry.List() {
		d, err := registry.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := NewTable(d, dialecttest.DefaultSchema(d), "SessionData")
		if err != nil {
			t.Fatal(err)
		}
		latest, err := tb.LatestVersion()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []*dialects.Version{nil, {Version: 1, Dirty: true}, {Version: 0}, {Version: int64(latest) + 1}, {Version: int64(latest)}} {
			for _, kind := range []dialects.ObjectKind{dialects.KindTable, dialects.KindMissing} {
				info := &dialects.TableInfo{Kind: kind, Version: v, VersionTable: v != nil}
				for _, f := range tb.checkVersion(info, latest) {
					if f.Severity != SeverityWarning {
						t.Errorf("%s, %s table, version %+v: %s finding %q; only warnings may come of the version", name, kind, v, f.Severity, f.Message)
					}
				}
			}
		}
	}
}
