// Package migrations holds the DDL of sessctl's table layouts as SQL
// templates: a folder per layout's template set (a Set: cache, keys), and in it
// one folder per dialect with the same file names in each:
//
//	N_title.up.sql   the migrations golang-migrate applies, in order; each
//	                 is atomic and idempotent on its own
//	create.sql       the plain DDL that `create --script` prints
//	drop.sql         what `drop` runs and `drop --script` prints
//	drop_version.sql what `drop` runs when only the version table is left
//	drop_force.sql   the key ring only: drop.sql without its emptiness check,
//	                 what `drop --force` runs
//	index.sql        the one statement that makes the expiry index, which
//	                 verify gives as the fix for a missing or unusable one
//	                 (only in a set that has one: not the key ring's)
//	version.sql      records version {{.Version}} as golang-migrate does, at
//	                 the end of `create --script --idempotent`
//
// Templates hold no logic: they only name values, rendered with
// missingkey=error, and the output is checked for anything left unrendered.
package migrations

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"
	"text/template"
)

//go:embed cache keys microsoft aspstate aspnet-async universal
var files embed.FS

// Set names the template set of one table layout: the folder that holds
// a folder of templates per dialect.
type Set string

// Cache is the templates of the ASP.NET Core cache table.
const Cache Set = "cache"

// Keys is the templates of the Data Protection key ring table (EF Core's
// DataProtectionKeys).
const Keys Set = "keys"

// Microsoft is the templates of Microsoft.Extensions.Caching.Postgres's
// table (PostgreSQL only).
const Microsoft Set = "microsoft"

// AspState is the templates of aspnet_regsql's ASPStateTempSessions, which
// sessctl neither makes nor drops: only the index on Expires.
const AspState Set = "aspstate"

// AspNetAsync is the templates of the async session state provider's
// table (ASPNetSessionState).
const AspNetAsync Set = "aspnet-async"

// Universal is the templates of the Universal Providers' Sessions, which
// sessctl does not make: the index on Expires it lacks, and drop.
const Universal Set = "universal"

// Versions of the migrations, the same in every dialect.
const (
	Table       = 1 // makes the table
	ExpiryIndex = 2 // makes the expiry index
)

// Script names.
const (
	Create      = "create.sql"
	Drop        = "drop.sql"
	DropVersion = "drop_version.sql"
	// DropForce is the unguarded drop of a set whose drop.sql refuses a
	// table that holds rows (the key ring): what drop --force runs.
	DropForce = "drop_force.sql"
	Index     = "index.sql"
	Version   = "version.sql"
)

// ErrNoTemplates: the dialect has no folder here.
var ErrNoTemplates = errors.New("no migrations for dialect")

// Migration is one rendered up migration.
type Migration struct {
	Version uint
	Name    string // file name
	SQL     string
}

// Up renders the cache table's up migrations of dialect with data, in
// version order.
func Up(dialect string, data map[string]string) ([]Migration, error) { return Cache.Up(dialect, data) }

// Latest is the highest migration version of the cache table in dialect.
func Latest(dialect string) (uint, error) { return Cache.Latest(dialect) }

// Script renders one script (Create, Drop) of the cache table in dialect
// with data.
func Script(dialect, name string, data map[string]string) (string, error) {
	return Cache.Script(dialect, name, data)
}

// Up renders the up migrations of dialect in set s with data, in version
// order.
func (s Set) Up(dialect string, data map[string]string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, s.dir(dialect))
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrNoTemplates, dialect)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		v, err := version(name)
		if err != nil {
			return nil, err
		}
		sql, err := s.render(dialect, name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: sql})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest is the highest migration version of dialect in set s.
func (s Set) Latest(dialect string) (uint, error) {
	entries, err := fs.ReadDir(files, s.dir(dialect))
	if err != nil {
		return 0, fmt.Errorf("%w %q", ErrNoTemplates, dialect)
	}
	var latest uint
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".up.sql") {
			v, err := version(e.Name())
			if err != nil {
				return 0, err
			}
			latest = max(latest, v)
		}
	}
	return latest, nil
}

// FS puts rendered migrations in an in-memory file system, the form
// golang-migrate's iofs source reads.
func FS(ms []Migration) fs.FS {
	m := fstest.MapFS{}
	for _, mg := range ms {
		m[mg.Name] = &fstest.MapFile{Data: []byte(mg.SQL), Mode: 0o444}
	}
	return m
}

// Script renders one script (Create, Drop) of dialect in set s with data.
func (s Set) Script(dialect, name string, data map[string]string) (string, error) {
	return s.render(dialect, name, data)
}

// dir is the folder of dialect's templates in set s.
func (s Set) dir(dialect string) string { return path.Join(string(s), dialect) }

func version(name string) (uint, error) {
	head, _, _ := strings.Cut(name, "_")
	v, err := strconv.ParseUint(head, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("migration file %q does not start with a version number", name)
	}
	return uint(v), nil
}

func (s Set) render(dialect, name string, data map[string]string) (string, error) {
	p := path.Join(s.dir(dialect), name)
	text, err := files.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("%w %q: %s", ErrNoTemplates, dialect, name)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return "", fmt.Errorf("template %s: %w", p, err)
	}
	// The leftover check runs on a rendering with plain stand-in values, so
	// that a name which itself contains "{{" is no false alarm.
	stand := make(map[string]string, len(data))
	for k := range data {
		stand[k] = "x"
	}
	var b bytes.Buffer
	if err := t.Execute(&b, stand); err != nil {
		return "", fmt.Errorf("template %s: %w", p, err)
	}
	if bytes.Contains(b.Bytes(), []byte("{{")) {
		return "", fmt.Errorf("template %s: left %q unrendered", p, "{{")
	}
	b.Reset()
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", p, err)
	}
	return b.String(), nil
}
