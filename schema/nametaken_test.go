package schema_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// TestCreateRefusesDerivedNamesHeld: when another object already holds a
// name create derives (the primary key's, the expiry index's) in the
// namespace where the engine keeps it (PostgreSQL: the schema, for every
// relation; SQLite: the database, for tables, indexes and views), create
// refuses before sending anything, naming the object, and leaves no table
// and no version (dirty or promising an index that is not there); with
// the object gone it creates. MySQL keeps index names per table, so there
// the same objects are no conflict.
func TestCreateRefusesDerivedNamesHeld(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		ctx := context.Background()
		db := s.Open(t)
		q := s.Dialect.Quote
		_, conflicts := s.Dialect.(dialects.NameHolder)
		type holder struct {
			name string
			// make makes the object holding the derived name of n in
			// table other, and returns what drops it.
			make func(n dialects.Names, other string) (string, string)
		}
		index := func(name func(dialects.Names) string) func(n dialects.Names, other string) (string, string) {
			return func(n dialects.Names, other string) (string, string) {
				col := q("ExpiresAtTime")
				if s.Dialect.Name() == "mysql" {
					col = q("ExpiresAtTime")
				}
				return fmt.Sprintf("CREATE INDEX %s ON %s (%s)", q(name(n)), s.Qualified(other), col), ""
			}
		}
		if s.Dialect.Name() == "sqlite" {
			index = func(name func(dialects.Names) string) func(n dialects.Names, other string) (string, string) {
				return func(n dialects.Names, other string) (string, string) {
					return fmt.Sprintf("CREATE INDEX %s.%s ON %s (%s)", q(s.Schema), q(name(n)), q(other), q("ExpiresAtTime")), ""
				}
			}
		}
		holders := []holder{
			{"another table's index under the expiry index's name", index(func(n dialects.Names) string { return n.ExpiryIndex })},
			{"a table under the expiry index's name", func(n dialects.Names, _ string) (string, string) {
				return "CREATE TABLE " + s.Qualified(n.ExpiryIndex) + " (a int)", "DROP TABLE " + s.Qualified(n.ExpiryIndex)
			}},
		}
		if s.Dialect.Name() == "postgres" {
			holders = append(holders,
				holder{"another table's index under the primary key's name", index(func(n dialects.Names) string { return n.PrimaryKey })},
				holder{"a sequence under the primary key's name", func(n dialects.Names, _ string) (string, string) {
					return "CREATE SEQUENCE " + s.Qualified(n.PrimaryKey), "DROP SEQUENCE " + s.Qualified(n.PrimaryKey)
				}})
		}
		for _, adopt := range []bool{false, true} {
			for _, h := range holders {
				if adopt && h.name != holders[0].name {
					continue // a table that is there keeps its primary key
				}
				table := dialecttest.Table("Held")
				other := dialecttest.Table("Other")
				s.DropAtCleanup(t, db, table)
				s.DropAtCleanup(t, db, other)
				tb, err := schema.NewTable(s.Dialect, s.Schema, table)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(otherTableSQL(s, other)); err != nil {
					t.Fatal(err)
				}
				if adopt {
					if _, err := db.Exec(bareCacheTableSQL(s, table)); err != nil {
						t.Fatal(err)
					}
				}
				mk, drop := h.make(tb.Names, other)
				if _, err := db.Exec(mk); err != nil {
					t.Fatalf("%s: %v", mk, err)
				}
				res, err := schema.Create(ctx, connect(t, s, false), tb, schema.CreateOptions{})
				info, ierr := s.Dialect.Inspect(ctx, db, tb.Names)
				if ierr != nil {
					t.Fatal(ierr)
				}
				if !conflicts {
					if err != nil || info.Version == nil || info.Version.Dirty {
						t.Errorf("%s (adopt %v): create %+v, %v; version %+v: want created, as %s keeps index names per table", h.name, adopt, res, err, info.Version, s.Dialect.Name())
					}
					if drop != "" {
						db.Exec(drop)
					}
					continue
				}
				if !errors.Is(err, schema.ErrNameTaken) {
					t.Errorf("%s (adopt %v): create %+v, %v; want it refused as a name taken", h.name, adopt, res, err)
				} else {
					t.Logf("%s: %v", h.name, err)
				}
				if info.VersionTable || info.Version != nil || (!adopt && info.Kind != dialects.KindMissing) {
					t.Errorf("%s (adopt %v): after the refusal: kind %s, version table %v, version %+v; want nothing made", h.name, adopt, info.Kind, info.VersionTable, info.Version)
				}
				if drop == "" {
					drop = "DROP TABLE " + s.Qualified(other)
				}
				if _, err := db.Exec(drop); err != nil {
					t.Fatal(err)
				}
				if res, err := schema.Create(ctx, connect(t, s, false), tb, schema.CreateOptions{}); err != nil {
					t.Errorf("%s (adopt %v): create once the name is free: %+v, %v", h.name, adopt, res, err)
				}
			}
		}
	})
}

// otherTableSQL makes another app's table with an ExpiresAtTime column.
func otherTableSQL(s dialecttest.Server, table string) string {
	typ := map[string]string{"postgres": "timestamptz", "mysql": "datetime(6)", "sqlite": "INTEGER", "sqlserver": "datetimeoffset"}[s.Dialect.Name()]
	return fmt.Sprintf("CREATE TABLE %s (%s int PRIMARY KEY, %s %s)", s.Qualified(table), s.Dialect.Quote("K"), s.Dialect.Quote("ExpiresAtTime"), typ)
}

// bareCacheTableSQL makes a cache table as the provider does, with no
// expiry index.
func bareCacheTableSQL(s dialecttest.Server, table string) string {
	var cols []string
	for _, c := range s.Dialect.Columns() {
		cols = append(cols, c.Definition)
	}
	pk := ""
	if s.Dialect.Name() != "sqlite" {
		pk = ", PRIMARY KEY (" + s.Dialect.Quote("Id") + ")"
	}
	return fmt.Sprintf("CREATE TABLE %s (%s%s)", s.Qualified(table), join(cols), pk)
}

func join(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
