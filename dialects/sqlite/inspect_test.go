package sqlite

import (
	"testing"
)

func TestSplitDeclaredType(t *testing.T) {
	for in, want := range map[string]struct {
		typ string
		n   int
	}{
		"INTEGER":         {"integer", 0},
		"VARCHAR(449)":    {"varchar", 449},
		" nvarchar (10) ": {"nvarchar", 10},
	} {
		typ, n := splitDeclaredType(in)
		if typ != want.typ || n != want.n {
			t.Errorf("splitDeclaredType(%q) = %q, %d", in, typ, n)
		}
	}
}
