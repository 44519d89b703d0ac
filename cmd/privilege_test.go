package cmd

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

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
// The other layouts on their engine alike: --layout microsoft on
// PostgreSQL, made by sessctl, its role granted SELECT, INSERT, UPDATE and
// DELETE on the table and nothing on the version table; --layout
// aspstate on SQL Server, made by aspnet_regsql's DDL (no version table),
// its login granted only SELECT and DELETE on the table, all verify and
// purge need (sessctl neither creates nor drops that table).
func TestLeastPrivilege(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		t.Parallel()
		for _, p := range privLayouts {
			if p.engine == s.Dialect.Name() {
				t.Run(p.name, func(t *testing.T) {
					t.Parallel()
					leastPrivilege(t, s, p)
				})
			}
		}
		leastPrivilege(t, s, privLayout{grants: "SELECT, INSERT, UPDATE, DELETE", version: true})
	})
}

// privLayout is a layout TestLeastPrivilege runs on.
type privLayout struct {
	name, engine string // --layout ("" the cache table) and its one engine
	grants       string // the privileges on the table the app's user has
	version      bool   // and SELECT on the version table
	// unmanaged: sessctl creates and drops no such table, for anyone
	// (aspnet_regsql does: TestClassicSessionCreateDrop), so only verify
	// and purge are run.
	unmanaged bool
}

// privLayouts are the layouts but the cache table TestLeastPrivilege runs on.
var privLayouts = []privLayout{
	{name: "microsoft", engine: "postgres", grants: "SELECT, INSERT, UPDATE, DELETE"},
	{name: "aspstate", engine: "sqlserver", grants: "SELECT, DELETE", unmanaged: true},
}

// flags are the --layout flags of p's commands.
func (p privLayout) flags() []string {
	if p.name == "" {
		return nil
	}
	return []string{"--layout", p.name}
}

// table makes p's table, with 5 expired rows (old…) and 2 live (live…),
// and returns its name and how to count its rows by prefix.
func (p privLayout) table(t *testing.T, s dialecttest.Server, db *sql.DB) (string, func(prefix string) int64) {
	t.Helper()
	switch p.name {
	case "aspstate":
		table := classicTable(t, s, db, p.name)
		seedSessions(t, s, db, p.name, table, "old", 5, -60, false)
		seedSessions(t, s, db, p.name, table, "live", 2, 60, false)
		return table, func(prefix string) int64 { return countSessions(t, s, db, table, prefix) }
	}
	rl := cacheRace
	table := dialecttest.Table("Priv")
	if p.name == "microsoft" {
		rl, table = raceLayouts[0], strings.ToLower(table)
	}
	s.DropAtCleanup(t, db, table)
	must(t, 0, append(append([]string{"create"}, p.flags()...), s.DSN, s.Schema, table)...)
	rl.seed(t, s, db, table, "old", 5, -time.Hour)
	rl.seed(t, s, db, table, "live", 2, time.Hour)
	return table, func(prefix string) int64 { return rl.count(t, s, db, table, prefix) }
}

func leastPrivilege(t *testing.T, s dialecttest.Server, p privLayout) {
	d := s.Dialect
	db := s.Open(t)
	table, count := p.table(t, s, db)
	other := strings.ToLower(dialecttest.Table("PrivNew"))
	s.DropAtCleanup(t, db, other)
	n := d.Names(s.Schema, table)
	grants := []string{"GRANT " + p.grants + " ON " + s.Qualified(table) + " TO %s"}
	if p.version {
		grants = append(grants, "GRANT SELECT ON "+s.Qualified(n.VersionTable)+" TO %s")
	}
	user := strings.ToLower(dialecttest.Table("sessctl_app"))
	var dsn string
	switch d.Name() {
	case "postgres":
		role := d.Quote(user)
		for _, q := range []string{
			"CREATE ROLE " + role + " LOGIN",
			"GRANT USAGE ON SCHEMA " + d.Quote(s.Schema) + " TO " + role,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if strings.HasPrefix(q, "CREATE") {
				t.Cleanup(func() {
					db.Exec("DROP OWNED BY " + role)
					if _, err := db.Exec("DROP ROLE " + role); err != nil {
						t.Errorf("dropping role %s: %v", role, err)
					}
				})
			}
		}
		grantTo(t, db, grants, role)
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the PostgreSQL test DSN is not a URL, which this test needs to log in as another role: %v", err)
		}
		u.User = url.User(user)
		dsn = u.String()
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
		grantTo(t, db, grants, account)
		cfg, err := gomysql.ParseDSN(s.DSN)
		if err != nil {
			t.Skipf("the MySQL test DSN is not a go-sql-driver DSN, which this test needs to log in as another user: %v", err)
		}
		cfg.User, cfg.Passwd = user, pw
		dsn = cfg.FormatDSN()
		user = "`" + user + "`@`%`" // as the message quotes it: identifiers, as MySQL also reads accounts
	case "sqlite":
		dsn = "file:" + s.DSN + "?mode=ro"
		user = "read-only"
	case "sqlserver":
		const pw = "Pw-least-privilege-1"
		login := d.Quote(user)
		for _, q := range []string{
			"CREATE LOGIN " + login + " WITH PASSWORD = " + dialecttest.QuoteLiteral(d, pw),
			"CREATE USER " + login + " FOR LOGIN " + login,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			switch {
			case strings.HasPrefix(q, "CREATE LOGIN"):
				t.Cleanup(func() { dropLogin(t, db, login) })
			case strings.HasPrefix(q, "CREATE USER"):
				t.Cleanup(func() {
					// Babelfish keeps a user with grants (a PostgreSQL role
					// that owns privileges): revoke them first.
					for _, o := range []string{s.Qualified(table), s.Qualified(n.VersionTable)} {
						db.Exec("REVOKE ALL ON " + o + " FROM " + login)
					}
					if _, err := db.Exec("DROP USER " + login); err != nil {
						t.Errorf("dropping user %s: %v", login, err)
					}
				})
			}
		}
		grantTo(t, db, grants, login)
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the SQL Server test DSN is not a sqlserver:// URL, which this test needs to log in as another user: %v", err)
		}
		u.User = url.UserPassword(user, pw)
		dsn = u.String()
	default:
		t.Fatalf("no least-privilege user for %s in this test", d.Name())
	}

	lf := p.flags()
	if r := must(t, 0, slices.Concat([]string{"verify"}, lf, []string{dsn, s.Schema, table})...); !strings.Contains(r.stdout, "ok") {
		t.Errorf("verify as the app's user said %q", r.stdout)
	}
	if d.Name() == "sqlite" {
		// Purge deletes: a read-only file refuses it, saying so.
		r := must(t, 1, slices.Concat([]string{"purge"}, lf, []string{dsn, s.Schema, table})...)
		if !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "mode=ro") {
			t.Errorf("purge of a read-only file said %q", r.stderr)
		}
		if old := count("old"); old != 5 {
			t.Errorf("a refused purge left %d of 5 expired rows", old)
		}
	} else {
		r := must(t, 0, slices.Concat([]string{"purge", "-o", "json"}, lf, []string{dsn, s.Schema, table})...)
		if m := r.json(t); m["deleted"] != float64(5) {
			t.Errorf("purge as the app's user: %s", r.stdout)
		}
		if old, live := count("old"), count("live"); old != 0 || live != 2 {
			t.Errorf("after purge as the app's user: %d expired and %d live rows, want 0 and 2", old, live)
		}
	}

	if p.unmanaged {
		return
	}
	for _, args := range [][]string{
		slices.Concat([]string{"create"}, lf, []string{dsn, s.Schema, other}),
		slices.Concat([]string{"drop", "--yes"}, lf, []string{dsn, s.Schema, table}),
	} {
		r := must(t, 1, args...)
		msg := strings.TrimPrefix(strings.TrimSpace(r.stderr), "sessctl: ")
		if !strings.HasPrefix(msg, "permission denied: ") || !strings.Contains(msg, args[0]) || strings.Contains(msg, "\n") {
			t.Errorf("%s as the app's user said %q, want one line beginning \"permission denied: \" that says it may not %s", args[0], r.stderr, args[0])
		}
		if d.Name() != "sqlite" && (!strings.Contains(msg, user) || !strings.Contains(msg, "GRANT") && !strings.Contains(msg, "OWNER TO")) {
			t.Errorf("%s as the app's user said %q, want it to name %s and the GRANT (or ALTER … OWNER) it lacks", args[0], r.stderr, user)
		}
		if d.Name() == "sqlite" && !strings.Contains(msg, "mode=ro") {
			t.Errorf("%s of a read-only file said %q, want it to name mode=ro", args[0], r.stderr)
		}
	}
	if live := count("live"); live != 2 {
		t.Errorf("the refused drop left %d live rows, want 2", live)
	}
	if d.Name() != "sqlite" {
		// Making the schema is refused too, naming that grant.
		newSchema := dialecttest.Table("privschema")
		r := must(t, 1, slices.Concat([]string{"create", "--create-schema"}, lf, []string{dsn, newSchema, other})...)
		if msg := r.stderr; !strings.Contains(msg, "permission denied: ") || !strings.Contains(msg, "may not create schema") &&
			!strings.Contains(msg, "may not create database") || !strings.Contains(msg, "CREATE") {
			t.Errorf("create --create-schema as the app's user said %q, want it to say it may not create the schema and what to grant", msg)
		}
	}
	if info, err := d.Inspect(t.Context(), db, d.Names(s.Schema, other)); err != nil || info.Kind != "missing" || info.VersionTable {
		t.Errorf("the refused create left something: %+v, %v", info, err)
	}
	if d.Name() == "sqlite" {
		if _, err := os.Stat(s.DSN); err != nil {
			t.Error(err)
		}
	}
}

// grantTo runs each of grants, "%s" the grantee.
func grantTo(t *testing.T, db *sql.DB, grants []string, grantee string) {
	t.Helper()
	for _, g := range grants {
		q := fmt.Sprintf(g, grantee)
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
// opened read-only, and the advice taken literally (no mode=ro). On
// PostgreSQL, --layout microsoft too.
func TestGrantAdviceIsEnough(t *testing.T) {
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		if s.Dialect.Name() == "sqlserver" {
			t.Skip("no least-privilege login for sqlserver in this test: it needs CREATE LOGIN")
		}
		for _, op := range [][]string{{"create"}, {"create", "--create-schema"}, {"verify"}, {"purge"}, {"purge", "--dry-run"}, {"drop", "--yes"}} {
			t.Run(strings.Join(op, " "), func(t *testing.T) {
				t.Parallel()
				adviceLoop(t, s, cacheRace, op)
			})
			for _, l := range raceLayouts {
				if l.engine == s.Dialect.Name() && l.name == "microsoft" {
					t.Run(l.name+" "+strings.Join(op, " "), func(t *testing.T) {
						t.Parallel()
						adviceLoop(t, s, l, op)
					})
				}
			}
		}
	})
}

func adviceLoop(t *testing.T, s dialecttest.Server, l raceLayout, op []string) {
	d := s.Dialect
	db := s.Open(t)
	schema := s.Schema
	user := strings.ToLower(dialecttest.Table("adv"))
	var dsn string
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
	if l.name != "" {
		table = strings.ToLower(table) // as the microsoft layout folds it
	}
	admin := s
	admin.Schema = schema
	if len(op) == 1 || op[1] != "--create-schema" {
		admin.DropAtCleanup(t, db, table)
	}
	if op[0] != "create" {
		must(t, 0, slices.Concat([]string{"create"}, l.flags(), []string{s.DSN, schema, table})...)
		l.seed(t, admin, db, table, "old", 20, -time.Hour)
		l.seed(t, admin, db, table, "live", 5, time.Hour)
	} else if d.Name() == "sqlite" {
		must(t, 0, "create", s.DSN, schema, dialecttest.Table("Other")) // the file exists
	}

	seen := map[string]bool{}
	args := slices.Concat(op, l.flags(), []string{dsn, schema, table})
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
	switch op[0] {
	case "purge":
		want := int64(0)
		if len(op) > 1 {
			want = 20 // a dry run
		}
		if n := l.count(t, admin, db, table, "old"); n != want {
			t.Errorf("%d expired rows left after %s, want %d", n, strings.Join(op, " "), want)
		}
	case "create", "drop":
		info, err := d.Inspect(t.Context(), db, d.Names(schema, table))
		if err != nil || (info.Kind == "missing") != (op[0] == "drop") {
			t.Errorf("after %s the table is %+v (%v)", op[0], info, err)
		}
	}
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
