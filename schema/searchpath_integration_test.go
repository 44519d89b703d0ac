package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// hostileSchema makes a schema whose now(), make_interval, current_setting,
// pg_relation_size and "-" and "<" on times lie: now() is ten years ahead
// and "<" is always true. A search_path that lists it before pg_catalog
// would make every live row look expired. It is dropped at cleanup.
func hostileSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	name := strings.ToLower(dialecttest.Table("evil"))
	for _, q := range []string{
		`CREATE SCHEMA ` + name,
		`CREATE FUNCTION ` + name + `.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT pg_catalog.now() + interval '10 years' $$`,
		`CREATE FUNCTION ` + name + `.make_interval(secs double precision) RETURNS interval LANGUAGE sql AS $$ SELECT interval '-10 years' $$`,
		`CREATE FUNCTION ` + name + `.lt(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$`,
		`CREATE OPERATOR ` + name + `.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = ` + name + `.lt)`,
		`CREATE FUNCTION ` + name + `.pg_relation_size(regclass) RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + name + ` CASCADE`); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

// TestPostgresSearchPathCannotSwapTheClock: a search_path that puts a
// schema with its own now(), make_interval, "<" and pg_relation_size
// before pg_catalog, set in any of the three ways users set it (the
// connection string's search_path or Npgsql's Search Path, libpq's
// options=-csearch_path=…, ALTER ROLE … SET search_path), changes
// nothing that create, verify or purge do: no live row is deleted, every
// expired one is, and the printed purge script, run in a session with that
// search_path, keeps the live rows too.
func TestPostgresSearchPathCannotSwapTheClock(t *testing.T) {
	s := dialecttest.Get(t, "postgres")
	db := s.Open(t)
	evil := hostileSchema(t, db)
	path := evil + ", pg_catalog, public"
	cfg, err := pgx.ParseConfig(s.Conn(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	withQuery := func(key, value string) string {
		u, err := url.Parse(s.DSN)
		if err != nil || u.Scheme == "" {
			t.Skipf("%s is not a URL: this test adds settings to a postgres:// URL", dialecttest.DSNEnv("postgres"))
		}
		// pgx reads "+" in a URL's query as itself, not as a space.
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += key + "=" + strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
		return u.String()
	}

	role := strings.ToLower(dialecttest.Table("sp_role"))
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN SUPERUSER`,
		`ALTER ROLE ` + role + ` SET search_path = ` + path,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { db.Exec(`DROP ROLE IF EXISTS ` + role) })
	roleURL, err := url.Parse(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	roleURL.User = url.User(role)

	ways := map[string]string{
		"search_path": withQuery("search_path", path),
		"options":     withQuery("options", "-csearch_path="+strings.ReplaceAll(path, " ", "")),
		"npgsql":      fmt.Sprintf("Host=%s;Port=%d;Database=%s;Username=%s;Password=%s;Search Path=%s", cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password, path),
		"alter role":  roleURL.String(),
	}
	for way, dsn := range ways {
		t.Run(way, func(t *testing.T) {
			ctx := context.Background()
			hs := dialecttest.Server{Dialect: s.Dialect, DSN: dsn, Schema: s.Schema}
			hdb := hs.Open(t)
			// The test's own session sees the hostile clock: the
			// setting is really in force for whoever reads it.
			var ahead bool
			if err := rawSession(t, dsn).QueryRow(`SELECT now() > pg_catalog.now() + interval '1 year'`).Scan(&ahead); err != nil || !ahead {
				t.Fatalf("the hostile now() is not in force through %s (%v, %v): the test proves nothing", way, ahead, err)
			}
			table := dialecttest.Table("SearchPath")
			s.DropAtCleanup(t, db, table)
			tb := create(t, hs, table, schema.CreateOptions{})
			rep, err := schema.Verify(ctx, connect(t, hs, false), tb, true)
			if err != nil || rep.Err() != nil {
				t.Fatalf("verify --strict through %s: %+v, %v", way, rep, err)
			}
			s.Seed(t, hdb, table, "live", 50, 10, time.Hour)
			s.Seed(t, hdb, table, "old", 40, 10, -time.Hour)

			for _, order := range []schema.Order{schema.OrderExpiry, schema.OrderStorage} {
				res, err := schema.Purge(ctx, connect(t, hs, false), tb, schema.PurgeOptions{DryRun: true, Order: order})
				if err != nil || *res.Remaining != 40 {
					t.Errorf("dry run (%s) through %s: %+v, %v; want 40 expired", order, way, res, err)
				}
			}
			res, err := schema.Purge(ctx, connect(t, hs, false), tb, schema.PurgeOptions{BatchSize: 7})
			if err != nil || res.Deleted != 40 || *res.Remaining != 0 {
				t.Errorf("purge through %s: %+v, %v; want the 40 expired rows deleted", way, res, err)
			}
			if n := s.Count(t, db, table, "live"); n != 50 {
				t.Fatalf("purge through %s deleted %d live rows", way, 50-n)
			}
			s.Seed(t, hdb, table, "old2", 30, 10, -time.Hour)
			res, err = schema.Purge(ctx, connect(t, hs, false), tb, schema.PurgeOptions{Order: schema.OrderStorage, BatchSize: 1})
			if err != nil || res.Deleted != 30 || !res.Walked {
				t.Errorf("walk through %s: %+v, %v; want the 30 expired rows deleted by a walk", way, res, err)
			}
			if n := s.Count(t, db, table, "live"); n != 50 {
				t.Fatalf("a walk through %s deleted %d live rows", way, 50-n)
			}

			// The script runs in the DBA's session, with its search_path.
			s.Seed(t, hdb, table, "old3", 20, 10, -time.Hour)
			if _, err := rawSession(t, dsn).Exec(schema.PurgeScript(tb, 0, 8)); err != nil {
				t.Fatalf("running the purge script through %s: %v", way, err)
			}
			if n := s.Count(t, db, table, "live"); n != 50 {
				t.Errorf("the purge script run through %s deleted %d live rows", way, 50-n)
			}
			if n := s.Count(t, db, table, "old3"); n != 0 {
				t.Errorf("the purge script run through %s left %d of 20 expired rows", way, n)
			}
		})
	}
}

// rawSession is a session on dsn as a DBA's psql would open it, with the
// connection string's settings and nothing of sessctl's, closed at cleanup.
func rawSession(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	c, err := registry.Parse(dsn, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMySQLStoredFunctionCannotSwapTheClock: MySQL and MariaDB resolve a
// built-in function's name to the built-in, whatever stored function of
// that name the database holds (one is called only as db.name()); so a
// stored UTC_TIMESTAMP ten years ahead in the table's own database, the
// connection's default, changes nothing a purge deletes.
func TestMySQLStoredFunctionCannotSwapTheClock(t *testing.T) {
	s := dialecttest.Get(t, "mysql")
	db := s.Open(t)
	ctx := context.Background()
	fn := s.Dialect.Quote(s.Schema) + ".`UTC_TIMESTAMP`"
	if _, err := db.Exec("CREATE FUNCTION " + fn + "(p INT) RETURNS DATETIME(6) DETERMINISTIC RETURN NOW(6) + INTERVAL 10 YEAR"); err != nil {
		t.Fatalf("creating a stored UTC_TIMESTAMP: %v", err)
	}
	t.Cleanup(func() { db.Exec("DROP FUNCTION IF EXISTS " + fn) })
	var ahead bool
	if err := db.QueryRow("SELECT " + fn + "(6) > UTC_TIMESTAMP(6) + INTERVAL 1 YEAR").Scan(&ahead); err != nil || !ahead {
		t.Fatalf("the stored UTC_TIMESTAMP is not there to call (%v, %v): the test proves nothing", ahead, err)
	}
	table := dialecttest.Table("StoredClock")
	s.DropAtCleanup(t, db, table)
	tb := create(t, s, table, schema.CreateOptions{})
	s.Seed(t, db, table, "live", 50, 10, time.Hour)
	s.Seed(t, db, table, "old", 40, 10, -time.Hour)
	for _, order := range []schema.Order{schema.OrderExpiry, schema.OrderStorage} {
		res, err := schema.Purge(ctx, connect(t, s, false), tb, schema.PurgeOptions{BatchSize: 7, Order: order})
		if err != nil || *res.Remaining != 0 {
			t.Errorf("purge (%s): %+v, %v", order, res, err)
		}
		if n := s.Count(t, db, table, "live"); n != 50 {
			t.Fatalf("purge (%s) deleted %d live rows", order, 50-n)
		}
		s.Seed(t, db, table, "old"+string(order), 40, 10, -time.Hour)
	}
}
