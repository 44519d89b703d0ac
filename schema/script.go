package schema

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessctl/sessctl/migrations"
)

// DropScript is the SQL drop runs.
func DropScript(t *Table) (string, error) {
	return migrations.Script(t.Dialect.Name(), migrations.Drop, t.templateData())
}

// CreateScript is the DDL that makes the table: plain, as `dotnet
// sql-cache script` prints it, or, with idempotent, every statement
// guarded, as the migrations run it.
func CreateScript(t *Table, idempotent bool) (string, error) {
	if !idempotent {
		return migrations.Script(t.Dialect.Name(), migrations.Create, t.templateData())
	}
	ms, err := migrations.Up(t.Dialect.Name(), t.templateData())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "-- migration %d: %s\n%s%s", m.Version, m.Name, m.SQL, t.Dialect.ScriptSeparator())
	}
	return b.String(), nil
}

// PurgeScript is SQL a DBA can run by hand to purge in batches.
func PurgeScript(t *Table, grace time.Duration, batchSize int) string {
	return t.Dialect.PurgeScript(t.Names, grace, batchSize)
}
