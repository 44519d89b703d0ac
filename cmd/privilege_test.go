package cmd

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/layouts"
)

// reliabilityLayouts are the layouts the reliability suite runs on: the
// cache table and the key ring, on the engines each lives in.
func reliabilityLayouts(engine string) []*layouts.Layout {
	var out []*layouts.Layout
	for _, l := range []*layouts.Layout{layouts.Cache, layouts.Keys} {
		if l.In(engine) {
			out = append(out, l)
		}
	}
	return out
}

// withLayout is args with --layout for any layout but the cache table's,
// whose command lines stay as users type them.
func withLayout(l *layouts.Layout, args ...string) []string {
	if l == layouts.Cache {
		return args
	}
	return append([]string{"--layout", l.Name}, args...)
}

// TestLeastPrivilege: the app's own user, which may only read and write
// the table, can verify and purge it, and create and drop fail with exit 1
// and a message that names the user, what it may not do and the GRANT
// that would let it. The user is, in PostgreSQL, a role with LOGIN, USAGE
// on the schema, SELECT, INSERT, UPDATE and DELETE on the table and SELECT
// on its version table (purge's advisory lock needs no grant); in MySQL,
// a user with a password and the same on the table and SELECT on the
// version table (GET_LOCK needs none). SQLite has no users: its analogue
// is the file opened read-only, with mode=ro in a file: URI, where verify
// works and purge, which deletes, is refused like create and drop. SQL
// Server: a login, and a user for it in the database with the same grants
// as in PostgreSQL (sp_getapplock needs none).
//
// The key ring (--layout keys): the user may SELECT and INSERT the ring,
// as EF Core's key repository does; purge is refused for the layout
// (exit 2) before it connects, and create and drop (--force, past the
// guard for a ring holding keys) fail as for the cache table.
func TestLeastPrivilege(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			t.Run(l.Name, func(t *testing.T) {
				t.Parallel()
				leastPrivilege(t, s, l)
			})
		}
	})
}

func leastPrivilege(t *testing.T, s dialecttest.Server, l *layouts.Layout) {
	d := s.Dialect
	db := s.Open(t)
	table, other := dialecttest.Table("Priv"), dialecttest.Table("PrivNew")
	s.DropAtCleanup(t, db, table)
	s.DropAtCleanup(t, db, other)
	must(t, 0, withLayout(l, "create", s.DSN, s.Schema, table)...)
	privs, drop := "SELECT, INSERT, UPDATE, DELETE", []string{"drop", "--yes"}
	if l == layouts.Keys {
		privs, drop = "SELECT, INSERT", []string{"drop", "--yes", "--force"}
		insertKey(t, s, db, table, "key-1", "<key/>")
		insertKey(t, s, db, table, "key-2", "<key/>")
	} else {
		s.Seed(t, db, table, "old", 5, 10, -time.Hour)
		s.Seed(t, db, table, "live", 2, 10, time.Hour)
	}
	dsn, user := leastUser(t, s, db, table, privs)
	if l == layouts.Keys {
		// The app's own reads and writes work, and so does verify, which
		// reads the ring (its two keys, "<key/>", are no usable key:
		// exit 3, with no refused privilege).
		appKeys(t, s, db, dsn, table)
		if r := must(t, 3, withLayout(l, "verify", dsn, s.Schema, table)...); strings.Contains(r.stdout+r.stderr, "permission denied") || !strings.Contains(r.stdout, "key ring") {
			t.Errorf("verify --layout keys as the app's user said %q %q", r.stdout, r.stderr)
		}
		if r := must(t, 2, withLayout(l, "purge", dsn, s.Schema, table)...); !strings.Contains(r.stderr, "never deletes a key") {
			t.Errorf("purge --layout keys as the app's user said %q", r.stderr)
		}
	} else {
		verifyAndPurgeAsApp(t, s, db, dsn, table)
	}
	for _, args := range [][]string{{"create", dsn, s.Schema, other}, append(drop, dsn, s.Schema, table)} {
		wantDenied(t, d.Name(), user, args[0], must(t, 1, withLayout(l, args...)...))
	}
	if l == layouts.Keys {
		if n := len(readKeys(t, s, db, table)); n != 3 {
			t.Errorf("the refused drop left %d of 3 keys", n)
		}
	} else if live := s.Count(t, db, table, "live"); live != 2 {
		t.Errorf("the refused drop left %d live rows, want 2", live)
	}
	if d.Name() != "sqlite" {
		// Making the schema is refused too, naming that grant.
		newSchema := dialecttest.Table("privschema")
		r := must(t, 1, withLayout(l, "create", "--create-schema", dsn, newSchema, other)...)
		if msg := r.stderr; !strings.Contains(msg, "permission denied: ") || !strings.Contains(msg, "may not create schema") &&
			!strings.Contains(msg, "may not create database") || !strings.Contains(msg, "CREATE") {
			t.Errorf("create --create-schema as the app's user said %q, want it to say it may not create the schema and what to grant", msg)
		}
	}
	if info, err := d.Inspect(t.Context(), db, l.NamesIn(d, s.Schema, other)); err != nil || info.Kind != "missing" || info.VersionTable {
		t.Errorf("the refused create left something: %+v, %v", info, err)
	}
	if d.Name() == "sqlite" {
		if _, err := os.Stat(s.DSN); err != nil {
			t.Error(err)
		}
	}
}

// appKeys writes and reads a key as the app's user, as EF Core does
// (SQLite's read-only file: reads only).
func appKeys(t *testing.T, s dialecttest.Server, db *sql.DB, dsn, table string) {
	t.Helper()
	app := s
	app.DSN = dsn
	appDB := app.Open(t)
	if s.Dialect.Name() == "sqlite" {
		// A read-only file: the administrator writes the third key.
		insertKey(t, s, db, table, "key-3", "<key/>")
	} else {
		insertKey(t, app, appDB, table, "key-3", "<key/>")
	}
	if got := readKeys(t, app, appDB, table); len(got) != 3 {
		t.Errorf("the app's user read %d of 3 keys", len(got))
	}
}

// verifyAndPurgeAsApp: the app's user verifies the cache table and
// purges its 5 expired rows, keeping the 2 live ones (SQLite's read-only
// file: the purge is refused, saying so).
func verifyAndPurgeAsApp(t *testing.T, s dialecttest.Server, db *sql.DB, dsn, table string) {
	t.Helper()
	if r := must(t, 0, "verify", dsn, s.Schema, table); !strings.Contains(r.stdout, "ok") {
		t.Errorf("verify as the app's user said %q", r.stdout)
	}
	if s.Dialect.Name() == "sqlite" {
		// Purge deletes: a read-only file refuses it, saying so.
		r := must(t, 1, "purge", dsn, s.Schema, table)
		if !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "mode=ro") {
			t.Errorf("purge of a read-only file said %q", r.stderr)
		}
		if old := s.Count(t, db, table, "old"); old != 5 {
			t.Errorf("a refused purge left %d of 5 expired rows", old)
		}
		return
	}
	r := must(t, 0, "purge", "-o", "json", dsn, s.Schema, table)
	if m := r.json(t); m["deleted"] != float64(5) {
		t.Errorf("purge as the app's user: %s", r.stdout)
	}
	if old, live := s.Count(t, db, table, "old"), s.Count(t, db, table, "live"); old != 0 || live != 2 {
		t.Errorf("after purge as the app's user: %d expired and %d live rows, want 0 and 2", old, live)
	}
}

// wantDenied fails t unless r, verb (create or drop) run as the app's
// user, says in one line "permission denied: ", that it may not verb,
// and names the user and the GRANT it lacks (SQLite: mode=ro).
func wantDenied(t *testing.T, engine, user, verb string, r result) {
	t.Helper()
	msg := strings.TrimPrefix(strings.TrimSpace(r.stderr), "sessctl: ")
	if !strings.HasPrefix(msg, "permission denied: ") || !strings.Contains(msg, verb) || strings.Contains(msg, "\n") {
		t.Errorf("%s as the app's user said %q, want one line beginning \"permission denied: \" that says it may not %s", verb, r.stderr, verb)
	}
	if engine != "sqlite" && (!strings.Contains(msg, user) || !strings.Contains(msg, "GRANT") && !strings.Contains(msg, "OWNER TO")) {
		t.Errorf("%s as the app's user said %q, want it to name %s and the GRANT (or ALTER … OWNER) it lacks", verb, r.stderr, user)
	}
	if engine == "sqlite" && !strings.Contains(msg, "mode=ro") {
		t.Errorf("%s of a read-only file said %q, want it to name mode=ro", verb, r.stderr)
	}
}

// leastUser makes the app's own user, allowed privs on table and SELECT on
// its version table, dropped at cleanup; it returns its connection string
// and its name as permission messages quote it.
func leastUser(t *testing.T, s dialecttest.Server, db *sql.DB, table, privs string) (dsn, user string) {
	t.Helper()
	d := s.Dialect
	n := d.Names(s.Schema, table)
	user = strings.ToLower(dialecttest.Table("sessctl_app"))
	grants := []string{
		"GRANT " + privs + " ON " + s.Qualified(table) + " TO {grantee}",
		"GRANT SELECT ON " + s.Qualified(n.VersionTable) + " TO {grantee}",
	}
	switch d.Name() {
	case "postgres":
		role := d.Quote(user)
		if _, err := db.Exec("CREATE ROLE " + role + " LOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Exec("DROP OWNED BY " + role)
			if _, err := db.Exec("DROP ROLE " + role); err != nil {
				t.Errorf("dropping role %s: %v", role, err)
			}
		})
		grantAll(t, db, role, append([]string{"GRANT USAGE ON SCHEMA " + d.Quote(s.Schema) + " TO {grantee}"}, grants...))
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the PostgreSQL test DSN is not a URL, which this test needs to log in as another role: %v", err)
		}
		u.User = url.User(user)
		return u.String(), user
	case "mysql":
		const pw = "Pw-least-privilege-1"
		account := "'" + user + "'@'%'"
		if _, err := db.Exec("CREATE USER " + account + " IDENTIFIED BY '" + pw + "'"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec("DROP USER " + account); err != nil {
				t.Errorf("dropping user %s: %v", account, err)
			}
		})
		grantAll(t, db, account, grants)
		cfg, err := gomysql.ParseDSN(s.DSN)
		if err != nil {
			t.Skipf("the MySQL test DSN is not a go-sql-driver DSN, which this test needs to log in as another user: %v", err)
		}
		cfg.User, cfg.Passwd = user, pw
		return cfg.FormatDSN(), "`" + user + "`@`%`" // as the message quotes it: identifiers, as MySQL also reads accounts
	case "sqlite":
		return "file:" + s.DSN + "?mode=ro", "read-only"
	case "sqlserver":
		return sqlServerAppUser(t, s, db, user, grants, table)
	}
	t.Fatalf("no least-privilege user for %s in this test", d.Name())
	return "", ""
}

// sqlServerAppUser is leastUser's SQL Server login and database user.
func sqlServerAppUser(t *testing.T, s dialecttest.Server, db *sql.DB, user string, grants []string, table string) (string, string) {
	t.Helper()
	const pw = "Pw-least-privilege-1"
	d := s.Dialect
	login := d.Quote(user)
	if _, err := db.Exec("CREATE LOGIN " + login + " WITH PASSWORD = " + dialecttest.QuoteLiteral(d, pw)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropLogin(t, db, login) })
	if _, err := db.Exec("CREATE USER " + login + " FOR LOGIN " + login); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Babelfish keeps a user with grants (a PostgreSQL role
		// that owns privileges): revoke them first.
		for _, o := range []string{s.Qualified(table), s.Qualified(d.Names(s.Schema, table).VersionTable)} {
			db.Exec("REVOKE ALL ON " + o + " FROM " + login)
		}
		if _, err := db.Exec("DROP USER " + login); err != nil {
			t.Errorf("dropping user %s: %v", login, err)
		}
	})
	grantAll(t, db, login, grants)
	u, err := url.Parse(s.DSN)
	if err != nil {
		t.Skipf("the SQL Server test DSN is not a sqlserver:// URL, which this test needs to log in as another user: %v", err)
	}
	u.User = url.UserPassword(user, pw)
	return u.String(), user
}

// grantAll runs each grant, {grantee} in it the grantee.
func grantAll(t *testing.T, db *sql.DB, grantee string, grants []string) {
	t.Helper()
	for _, g := range grants {
		q := strings.ReplaceAll(g, "{grantee}", grantee)
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestGrantAdviceIsEnough: the GRANT a permission message names is enough.
// For every command (create, verify, purge, a dry run, drop), a user that
// may do nothing runs it, and an administrator grants exactly what the
// message says, until the command succeeds; advice that repeats (or a
// refusal without any) fails the test. PostgreSQL: a role with LOGIN only,
// in a schema of the test's own; MySQL: a user with no privileges (its
// connection names no database, which it could not use); SQLite: the file
// opened read-only, and the advice taken literally (no mode=ro).
func TestGrantAdviceIsEnough(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if s.Dialect.Name() == "sqlserver" {
			t.Skip("no least-privilege login for sqlserver in this test: it needs CREATE LOGIN")
		}
		for _, l := range reliabilityLayouts(s.Dialect.Name()) {
			for _, op := range adviceOps(l) {
				name := strings.Join(op, " ")
				if l != layouts.Cache {
					name = l.Name + " " + name
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					adviceLoop(t, s, l, op)
				})
			}
		}
	})
}

// adviceOps are the command lines TestGrantAdviceIsEnough runs for a
// layout. The key ring's: create and drop (--force: the ring holds keys);
// purge is refused for it before it connects, and verify --layout keys is
// not covered here yet.
func adviceOps(l *layouts.Layout) [][]string {
	if l == layouts.Keys {
		return [][]string{{"create"}, {"create", "--create-schema"}, {"drop", "--yes", "--force"}}
	}
	return [][]string{{"create"}, {"create", "--create-schema"}, {"verify"}, {"purge"}, {"purge", "--dry-run"}, {"drop", "--yes"}}
}

func adviceLoop(t *testing.T, s dialecttest.Server, l *layouts.Layout, op []string) {
	d := s.Dialect
	db := s.Open(t)
	user := strings.ToLower(dialecttest.Table("adv"))
	dsn, schema := noPrivilegeUser(t, s, db, user)
	if len(op) > 1 && op[1] == "--create-schema" && d.Name() != "sqlite" {
		schema = user + "_new" // made by the command
		made := schema
		t.Cleanup(func() {
			q := map[string]string{"postgres": "DROP SCHEMA IF EXISTS %s CASCADE", "mysql": "DROP DATABASE IF EXISTS %s"}[d.Name()]
			if _, err := db.Exec(fmt.Sprintf(q, d.Quote(made))); err != nil {
				t.Errorf("dropping %s: %v", made, err)
			}
		})
	}
	table := dialecttest.Table("Advice")
	admin := s
	admin.Schema = schema
	if len(op) == 1 || op[1] != "--create-schema" {
		admin.DropAtCleanup(t, db, table)
	}
	switch {
	case op[0] != "create" && l == layouts.Keys:
		must(t, 0, withLayout(l, "create", s.DSN, schema, table)...)
		insertKey(t, admin, db, table, "key-1", "<key/>")
	case op[0] != "create":
		must(t, 0, "create", s.DSN, schema, table)
		admin.Seed(t, db, table, "old", 20, 10, -time.Hour)
		admin.Seed(t, db, table, "live", 5, 10, time.Hour)
	case d.Name() == "sqlite":
		must(t, 0, "create", s.DSN, schema, dialecttest.Table("Other")) // the file exists
	}

	seen := map[string]bool{}
	args := withLayout(l, append(append([]string{}, op...), dsn, schema, table)...)
	for round := 1; ; round++ {
		r := sessctl(t, nil, args...)
		if r.code == 0 {
			t.Logf("%s succeeded after %d rounds of advice", strings.Join(op, " "), round-1)
			break
		}
		msg := strings.TrimPrefix(strings.TrimSpace(r.stderr), "sessctl: ")
		if r.code != ExitFailed || !strings.HasPrefix(msg, "permission denied: ") {
			t.Fatalf("round %d: %s: exit %d, %q; want it to succeed, or exit 1 saying permission denied and what to grant",
				round, strings.Join(op, " "), r.code, r.stderr)
		}
		advice := adviceOf(msg)
		if d.Name() == "sqlite" {
			if !strings.Contains(msg, "without mode=ro") {
				t.Fatalf("round %d: %q does not say to open the file without mode=ro", round, msg)
			}
			args[len(args)-3] = s.DSN
			continue
		}
		if len(advice) == 0 || seen[strings.Join(advice, "; ")] {
			t.Fatalf("round %d: %s: the advice %q is not enough: it names nothing more to grant (%q)", round, strings.Join(op, " "), advice, msg)
		}
		seen[strings.Join(advice, "; ")] = true
		for _, q := range advice {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("round %d: the advice %q does not run: %v", round, q, err)
			}
		}
	}
	wantAdviceDone(t, admin, db, l, op, schema, table)
}

// wantAdviceDone checks what op, once it succeeded, did to table.
func wantAdviceDone(t *testing.T, admin dialecttest.Server, db *sql.DB, l *layouts.Layout, op []string, schema, table string) {
	t.Helper()
	d := admin.Dialect
	switch op[0] {
	case "purge":
		want := int64(0)
		if len(op) > 1 {
			want = 20 // a dry run
		}
		if n := admin.Count(t, db, table, "old"); n != want {
			t.Errorf("%d expired rows left after %s, want %d", n, strings.Join(op, " "), want)
		}
	case "create", "drop":
		info, err := d.Inspect(t.Context(), db, l.NamesIn(d, schema, table))
		if err != nil || (info.Kind == "missing") != (op[0] == "drop") {
			t.Errorf("after %s the table is %+v (%v)", op[0], info, err)
		}
		if l == layouts.Keys && op[0] == "create" {
			wantKeyVersion(t, admin, db, table)
		}
	}
}

// noPrivilegeUser makes TestGrantAdviceIsEnough's user, which may do
// nothing, dropped at cleanup; it returns its connection string and the
// schema its tables go in (PostgreSQL: one of the test's own).
func noPrivilegeUser(t *testing.T, s dialecttest.Server, db *sql.DB, user string) (dsn, schema string) {
	t.Helper()
	d := s.Dialect
	schema = s.Schema
	switch d.Name() {
	case "postgres":
		schema = user + "_s"
		own := schema
		for _, q := range []string{"CREATE ROLE " + d.Quote(user) + " LOGIN", "CREATE SCHEMA " + d.Quote(own)} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() {
			if _, err := db.Exec("DROP SCHEMA " + d.Quote(own) + " CASCADE"); err != nil {
				t.Errorf("dropping schema %s: %v", own, err)
			}
			db.Exec("DROP OWNED BY " + d.Quote(user))
			if _, err := db.Exec("DROP ROLE " + d.Quote(user)); err != nil {
				t.Errorf("dropping role %s: %v", user, err)
			}
		})
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the PostgreSQL test DSN is not a URL, which this test needs to log in as another role: %v", err)
		}
		u.User = url.User(user)
		dsn = u.String()
	case "mysql":
		const pw = "Pw-advice-1"
		account := "'" + user + "'@'%'"
		if _, err := db.Exec("CREATE USER " + account + " IDENTIFIED BY '" + pw + "'"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec("DROP USER " + account); err != nil {
				t.Errorf("dropping user %s: %v", account, err)
			}
		})
		cfg, err := gomysql.ParseDSN(s.DSN)
		if err != nil {
			t.Skipf("the MySQL test DSN is not a go-sql-driver DSN, which this test needs to log in as another user: %v", err)
		}
		cfg.User, cfg.Passwd, cfg.DBName = user, pw, ""
		dsn = cfg.FormatDSN()
	case "sqlite":
		dsn = "file:" + s.DSN + "?mode=ro"
	}
	return dsn, schema
}

// adviceOf reads the statements a permission message advises: after "may
// not …: ", separated by "; ", up to ", or …" and the driver's error in
// parentheses.
func adviceOf(msg string) []string {
	i := strings.Index(msg, " may not ")
	if i < 0 {
		return nil
	}
	rest := msg[i:]
	j := strings.Index(rest, ": ")
	if j < 0 {
		return nil
	}
	rest = rest[j+2:]
	if k := strings.Index(rest, " ("); k >= 0 {
		rest = rest[:k]
	}
	if k := strings.Index(rest, ", or "); k >= 0 {
		rest = rest[:k]
	}
	var out []string
	for _, q := range strings.Split(rest, "; ") {
		q = strings.TrimSpace(q)
		if strings.HasPrefix(q, "GRANT ") || strings.HasPrefix(q, "ALTER ") {
			out = append(out, q)
		}
	}
	return out
}

// dropLogin drops a SQL Server login once the sessions of the sessctl
// runs that used it have ended on the server, which may take a moment
// after those processes exit: DROP LOGIN refuses a login with a session.
func dropLogin(t *testing.T, db *sql.DB, login string) {
	t.Helper()
	var err error
	for range 100 {
		if _, err = db.Exec("DROP LOGIN " + login); err == nil {
			return
		}
		// A session of the login that outlives its client for a while
		// (the TDS stand-in ends a backend after its client has gone):
		// ended, so that the login can go.
		name := strings.Trim(strings.ReplaceAll(login, "]]", "]"), "[]")
		if rows, qerr := db.Query("SELECT session_id FROM sys.dm_exec_sessions WHERE login_name = @p1", name); qerr == nil {
			var ids []int
			for rows.Next() {
				var id int
				if rows.Scan(&id) == nil {
					ids = append(ids, id)
				}
			}
			rows.Close()
			for _, id := range ids {
				db.Exec(fmt.Sprintf("KILL %d", id))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("dropping login %s: %v", login, err)
}
