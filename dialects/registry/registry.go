// Package registry lists sessctl's engines by the names users type
// (--dialect postgres, ...), in one map literal, so that an unknown name
// fails with the list of valid ones, and tells from a connection string
// which engine it is for (Detect) and parses it (Parse).
//
// It is the one package that imports every engine; engines import only the
// core contract, package dialects.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/mysql"
	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlite"
	"github.com/sessctl/sessctl/dialects/sqlserver"
)

// registry lists every dialect by the name users type.
var registry = map[string]dialects.Dialect{
	"mysql":     mysql.Dialect{},
	"postgres":  postgres.Dialect{},
	"sqlite":    sqlite.Dialect{},
	"sqlserver": sqlserver.Dialect{},
}

// Lookup returns the dialect users call name.
func Lookup(name string) (dialects.Dialect, error) {
	if d, ok := registry[strings.ToLower(name)]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w %q: use one of %s", dialects.ErrUnknownDialect, name, strings.Join(List(), ", "))
}

// List is the sorted list of dialect names.
func List() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
