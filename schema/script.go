package schema

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
)

// DropScript is the SQL drop runs.
func DropScript(t *Table) (string, error) {
	if err := t.refuseVerb("drop", t.Layout.NoDrop); err != nil {
		return "", err
	}
	sql, err := t.script(migrations.Drop, t.templateData())
	if err == nil && t.Layout.Kept != "" && t.Dialect.Name() == "sqlite" {
		// The guard fails a statement, and the sqlite3 shell goes on
		// past a failed one unless told not to: the DROP would follow.
		sql = ".bail on\n" + sql
	}
	return sql, err
}

// CreateScript is the DDL that makes the table: plain, as `dotnet
// sql-cache script` prints it, or, with idempotent, every statement
// guarded, as the migrations run it, and then the version recorded as
// golang-migrate records it, so that create and verify find the table
// current.
func CreateScript(t *Table, idempotent bool) (string, error) {
	if err := t.refuseVerb("create", t.Layout.NoCreate); err != nil {
		return "", err
	}
	if !idempotent {
		return t.script(migrations.Create, t.templateData())
	}
	data := t.templateData()
	sc, scripted := t.Dialect.(dialects.Scripter)
	if scripted {
		maps.Copy(data, sc.ScriptData())
	}
	ms, err := t.up(data)
	if err != nil {
		return "", err
	}
	latest, err := t.LatestVersion()
	if err != nil {
		return "", err
	}
	data["Version"] = strconv.FormatUint(uint64(latest), 10)
	version, err := t.script(migrations.Version, data)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, m := range ms {
		note := ""
		if scripted {
			note = sc.ScriptNote(m.Version)
		}
		fmt.Fprintf(&b, "-- migration %d: %s\n%s%s%s\n", m.Version, m.Name, note, m.SQL, dialects.ScriptSeparator(t.Dialect))
	}
	fmt.Fprintf(&b, "-- version %d: %s\n%s%s", latest, migrations.Version, version, dialects.ScriptSeparator(t.Dialect))
	return b.String(), nil
}

// PurgeScript is SQL a DBA can run by hand to purge in batches.
func PurgeScript(t *Table, grace time.Duration, batchSize int) string {
	return t.Dialect.PurgeScript(t.Names, grace, batchSize)
}
