package cmd

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
)

// secret is the distinctive password of the secrets tests: '#' and '&'
// make its URL and JSON encodings differ from it.
const secret = "Zq9#s3cr&t!pw~K"

// secretForms are the password and its obvious encodings: URL-escaped
// (query, path, user info), JSON- and Go-quoted.
func secretForms() []string {
	js, _ := json.Marshal(secret)
	userinfo := strings.TrimPrefix(url.UserPassword("u", secret).String(), "u:")
	return []string{secret, url.QueryEscape(secret), url.PathEscape(secret), userinfo,
		strings.Trim(string(js), `"`), strings.Trim(strconv.Quote(secret), `"`)}
}

// secretCase is one failure path in one connection-string form.
type secretCase struct {
	path, form string
	conn       string
	schema     string
	table      string
	dialect    string // --dialect, for a form that needs it
	// say is what a failure must say, case-insensitively, so that the
	// path is known to be the one exercised: alternatives separated by |.
	say string
	// codes are the exit codes each command may end with; by default 1
	// for every command.
	codes  map[string]int
	layout string // --layout, if any
	// commands are the commands run, by default secretCommands.
	commands []string
}

var secretCommands = []string{"verify", "purge", "drop", "create"}

// exitFor is the exit code c wants of command, 1 unless it says.
func (c secretCase) exitFor(command string) int {
	if code, ok := c.codes[command]; ok {
		return code
	}
	return ExitFailed
}

// runSecretCases runs every command on every case, in text (verbose) and
// JSON output, and fails t if any output holds the password in any form,
// or a command ends otherwise than the case says. It returns the runs.
func runSecretCases(t *testing.T, cases []secretCase) int {
	t.Helper()
	runs := 0
	for _, c := range cases {
		for _, output := range []string{"text", "json"} {
			commands := c.commands
			if commands == nil {
				commands = secretCommands
			}
			for _, command := range commands {
				args := []string{command, "-o", output}
				if c.layout != "" {
					args = append(args, "--layout", c.layout)
				}
				if output == "text" {
					args = append(args, "-v")
				}
				if command == "drop" {
					args = append(args, "--yes")
				}
				if c.dialect != "" {
					args = append(args, "--dialect", c.dialect)
				}
				table := c.table
				if c.path == "missing table" {
					table += "_" + output // create makes it: each output its own
				}
				args = append(args, c.conn, cmpOr(c.schema, "public"), table)
				r := sessctl(t, nil, args...)
				runs++
				out := r.stdout + r.stderr
				what := fmt.Sprintf("%s, %s form: sessctl %s -o %s", c.path, c.form, strings.Join(args[:len(args)-3], " "), output)
				for _, f := range secretForms() {
					if strings.Contains(out, f) {
						t.Errorf("%s printed the password (as %q):\nstdout: %s\nstderr: %s", what, f, r.stdout, r.stderr)
					}
				}
				if want := c.exitFor(command); r.code != want {
					t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, want, r.stdout, r.stderr)
				}
				if r.code != 0 && !saysAny(out, c.say) {
					t.Errorf("%s does not say %q: is this the path meant?\nstdout: %s\nstderr: %s", what, c.say, r.stdout, r.stderr)
				}
				if output == "json" && r.code != ExitIncompatible {
					var m map[string]any
					if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
						t.Errorf("%s: stdout is not JSON: %v\n%s", what, err, r.stdout)
					}
				}
			}
		}
	}
	return runs
}

func saysAny(out, say string) bool {
	for _, alt := range strings.Split(say, "|") {
		if strings.Contains(strings.ToLower(out), strings.ToLower(alt)) {
			return true
		}
	}
	return false
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// closedPort is a port of 127.0.0.1 that refuses connections until t
// ends: a socket is bound to it without listening. A port merely closed
// again may be picked as the source port of a connection to itself, which
// then connects to itself (TCP's simultaneous open) and waits for a server
// that never speaks, instead of being refused.
func closedPort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// exec runs each statement on db, failing t on the first error.
func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestSecretsNeverPrinted: with a distinctive password in the connection
// string, every failure path (unknown host, refused port, wrong password,
// missing database, permission denied, missing table, not a cache table,
// a string that does not parse) of create, verify, purge and drop, in
// text (verbose) and JSON output, prints the password in neither stream,
// raw or URL-, JSON- or Go-escaped; and each says what went wrong, so the
// path is known to be exercised. PostgreSQL in URL, libpq and Npgsql
// forms, on a private server with scram-sha-256 passwords (the shared one
// trusts every login); MySQL in go-sql-driver, mysql:// and MySqlConnector
// forms, on a private MariaDB; SQL Server's URL and ADO.NET forms only
// where they fail before a server answers (no SQL Server here); SQLite's
// file paths, where a password can only sit in a URI parameter or an
// ADO.NET setting sessctl ignores.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		p := dialecttest.StartPostgres(t, dialecttest.PostgresOptions{Password: secret})
		db := p.Admin(t)
		execAll(t, db,
			"CREATE ROLE sessctl_nopriv LOGIN PASSWORD '"+secret+"'",
			"CREATE ROLE sessctl_other LOGIN PASSWORD 'another-password'",
			"CREATE SCHEMA locked",
			"CREATE TABLE public.notcache (x int)")
		must(t, 0, "create", p.DSN(), "locked", "SessionData")
		must(t, 0, "create", "--layout", "microsoft", p.DSN(), "locked", "mscache")
		forms := []struct {
			name string
			conn func(host string, port int, user, db string) string
		}{
			{"URL", func(host string, port int, user, db string) string {
				u := url.URL{Scheme: "postgres", User: url.UserPassword(user, secret), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/" + db}
				return u.String() + "?connect_timeout=5"
			}},
			{"libpq", func(host string, port int, user, db string) string {
				return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s connect_timeout=5", host, port, user, secret, db)
			}},
			{"Npgsql", func(host string, port int, user, db string) string {
				return fmt.Sprintf("Host=%s;Port=%d;Username=%s;Password=%s;Database=%s;Timeout=5", host, port, user, secret, db)
			}},
		}
		refused := closedPort(t)
		var cases []secretCase
		for _, f := range forms {
			cases = append(cases,
				secretCase{path: "unknown host", conn: f.conn("nonexistent.invalid", 5432, "postgres", "postgres"), say: "nonexistent.invalid"},
				secretCase{path: "refused port", conn: f.conn("127.0.0.1", refused, "postgres", "postgres"), say: "refused"},
				secretCase{path: "wrong password", conn: f.conn("127.0.0.1", p.Port(), "sessctl_other", "postgres"), say: "password authentication failed"},
				secretCase{path: "missing database", conn: f.conn("127.0.0.1", p.Port(), "postgres", "no_such_db"), say: "does not exist"},
				secretCase{path: "permission denied", conn: f.conn("127.0.0.1", p.Port(), "sessctl_nopriv", "postgres"), schema: "locked", say: "permission denied",
					// The catalog is open to every user: verify sees the shape.
					codes: map[string]int{"verify": 0}},
				secretCase{path: "missing table", conn: f.conn("127.0.0.1", p.Port(), "postgres", "postgres"), say: "does not exist",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible, "create": 0}},
				secretCase{path: "not a cache table", conn: f.conn("127.0.0.1", p.Port(), "postgres", "postgres"), table: "notcache", say: "not a cache table|is missing|does not exist",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible}},
			)
		}
		t.Run("password equals a name", func(t *testing.T) {
			execAll(t, db,
				"CREATE ROLE sessctl_eq LOGIN",
				"CREATE DATABASE cachedb OWNER sessctl_eq")
			conn := func(db string) func(pw string) string {
				return func(pw string) string {
					u := url.URL{Scheme: "postgres", User: url.UserPassword("sessctl_eq", pw), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())), Path: "/" + db}
					return u.String()
				}
			}
			setPassword := func(pw string) {
				pg, _ := registry.Lookup("postgres")
				execAll(t, db, "ALTER ROLE sessctl_eq PASSWORD "+dialecttest.QuoteLiteral(pg, pw))
			}
			badConn := func(pw string) string { // the role's password is another
				u := url.URL{Scheme: "postgres", User: url.UserPassword("sessctl_other", pw), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())), Path: "/cachedb"}
				return u.String()
			}
			runs := runEqualPasswords(t, "postgres", "public", "SessionData", []equalPassword{
				{"the dialect", "postgres"}, {"the schema", "public"}, {"the table", "SessionData"}, {"the database", "cachedb"},
				{"the user", "sessctl_eq"}, {"a word of sessctl's messages", "table"}, {"another word", "connecting"},
				{"a word of sessctl's advice", "remove"}, {"a part of a driver's word", "connect"}, {"a letter", "a"},
			}, setPassword, conn("cachedb"), badConn)
			t.Logf("%d runs with a password equal to a name: nothing of sessctl's own masked, the password never printed", runs)
		})
		// --layout microsoft, in the URL form: the paths where the server
		// answers about its table.
		ms := forms[0].conn
		cases = append(cases,
			secretCase{path: "wrong password", form: "URL", layout: "microsoft", conn: ms("127.0.0.1", p.Port(), "sessctl_other", "postgres"), table: "mscache",
				say: "password authentication failed"},
			secretCase{path: "permission denied", form: "URL", layout: "microsoft", conn: ms("127.0.0.1", p.Port(), "sessctl_nopriv", "postgres"), schema: "locked",
				table: "mscache", say: "permission denied", codes: map[string]int{"verify": 0}},
			secretCase{path: "not its table", form: "URL", layout: "microsoft", conn: ms("127.0.0.1", p.Port(), "postgres", "postgres"), table: "notcache",
				say: "not a Microsoft.Extensions.Caching.Postgres table|is missing|does not exist", codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible}},
		)
		cases = append(cases,
			secretCase{path: "does not parse", form: "URL", conn: "postgres://u:" + secret + "@[bad", say: "connection string", codes: usageCodes},
			secretCase{path: "unknown setting", form: "Npgsql", conn: "Host=h;Password=" + secret + ";Frobnicate=1", say: "connection string", codes: usageCodes},
			secretCase{path: "bad port", form: "URL", conn: "postgres://u:" + url.PathEscape(secret) + "@h:99999/db", say: "connection string", codes: usageCodes},
		)
		t.Logf("%d runs, the password never printed", runSecretCases(t, fill(cases, forms[0].name, forms[1].name, forms[2].name)))
	})

	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		p := dialecttest.StartMariaDB(t)
		db := p.Admin(t)
		execAll(t, db,
			"CREATE USER 'sessctl_pw'@'127.0.0.1' IDENTIFIED BY '"+secret+"'",
			"GRANT ALL ON test.* TO 'sessctl_pw'@'127.0.0.1'",
			"CREATE USER 'sessctl_other'@'127.0.0.1' IDENTIFIED BY 'another-password'",
			"CREATE USER 'sessctl_nopriv'@'127.0.0.1' IDENTIFIED BY '"+secret+"'",
			"CREATE TABLE test.notcache (x int)",
			"GRANT SELECT ON test.notcache TO 'sessctl_nopriv'@'127.0.0.1'",
			"CREATE DATABASE locked")
		must(t, 0, "create", p.DSN(), "locked", "SessionData")
		forms := []struct {
			name string
			conn func(host string, port int, user, db string) string
		}{
			{"go-sql-driver", func(host string, port int, user, db string) string {
				return fmt.Sprintf("%s:%s@tcp(%s)/%s?timeout=5s", user, secret, net.JoinHostPort(host, strconv.Itoa(port)), db)
			}},
			{"URL", func(host string, port int, user, db string) string {
				u := url.URL{Scheme: "mysql", User: url.UserPassword(user, secret), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/" + db}
				return u.String()
			}},
			{"MySqlConnector", func(host string, port int, user, db string) string {
				return fmt.Sprintf("Server=%s;Port=%d;User ID=%s;Password=%s;Database=%s;Connection Timeout=5", host, port, user, secret, db)
			}},
		}
		refused := closedPort(t)
		var cases []secretCase
		for _, f := range forms {
			n := len(cases)
			cases = append(cases,
				secretCase{path: "unknown host", conn: f.conn("nonexistent.invalid", 3306, "sessctl_pw", "test"), schema: "test", say: "nonexistent.invalid"},
				secretCase{path: "refused port", conn: f.conn("127.0.0.1", refused, "sessctl_pw", "test"), schema: "test", say: "refused"},
				secretCase{path: "wrong password", conn: f.conn("127.0.0.1", p.Port(), "sessctl_other", "test"), schema: "test", say: "access denied"},
				secretCase{path: "missing database", conn: f.conn("127.0.0.1", p.Port(), "sessctl_pw", "no_such_db"), schema: "no_such_db", say: "access denied|unknown database"},
				secretCase{path: "permission denied", conn: f.conn("127.0.0.1", p.Port(), "sessctl_nopriv", "test"), schema: "locked", say: "permission denied"},
				secretCase{path: "missing table", conn: f.conn("127.0.0.1", p.Port(), "sessctl_pw", "test"), schema: "test", say: "does not exist",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible, "create": 0}},
				secretCase{path: "not a cache table", conn: f.conn("127.0.0.1", p.Port(), "sessctl_pw", "test"), schema: "test", table: "notcache", say: "not a cache table|is missing|unknown column",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible}},
			)
			if f.name == "MySqlConnector" {
				// Server=…;Port=…: SqlClient's form too, unless the port is 3306.
				for i := n; i < len(cases); i++ {
					cases[i].dialect = "mysql"
				}
			}
		}
		cases = append(cases,
			secretCase{path: "does not parse", form: "go-sql-driver", conn: "u:" + secret + "@tcp(h:3306/db", schema: "test", say: "connection string", codes: usageCodes},
		)
		t.Run("password equals a name", func(t *testing.T) {
			execAll(t, db,
				"CREATE USER 'sessctl_eq'@'127.0.0.1'",
				"CREATE DATABASE cachedb",
				"GRANT ALL ON cachedb.* TO 'sessctl_eq'@'127.0.0.1'")
			dsn := func(user string) func(pw string) string {
				return func(pw string) string {
					return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/cachedb?timeout=5s", user, pw, p.Port())
				}
			}
			setPassword := func(pw string) {
				execAll(t, db, "ALTER USER 'sessctl_eq'@'127.0.0.1' IDENTIFIED BY '"+pw+"'")
			}
			runs := runEqualPasswords(t, "mysql", "cachedb", "SessionData", []equalPassword{
				{"the dialect", "mysql"}, {"the schema and database", "cachedb"}, {"the table", "SessionData"},
				{"the user", "sessctl_eq"}, {"a word of sessctl's messages", "table"}, {"another word", "connecting"},
				{"a word of sessctl's advice", "remove"}, {"a part of a driver's word", "connect"}, {"a letter", "a"},
			}, setPassword, dsn("sessctl_eq"), dsn("sessctl_other"))
			t.Logf("%d runs with a password equal to a name: nothing of sessctl's own masked, the password never printed", runs)
		})
		t.Logf("%d runs, the password never printed", runSecretCases(t, fill(cases, forms[0].name, forms[1].name, forms[2].name)))
	})

	// SQL Server: only the paths that fail before a server answers.
	t.Run("sqlserver-offline", func(t *testing.T) {
		t.Parallel()
		refused := closedPort(t)
		cases := []secretCase{
			{path: "refused port", form: "URL", conn: fmt.Sprintf("sqlserver://sa:%s@127.0.0.1:%d?database=test&dial+timeout=5", url.QueryEscape(secret), refused), schema: "dbo", say: "refused"},
			{path: "refused port", form: "ADO.NET Server", conn: fmt.Sprintf("Server=tcp:127.0.0.1,%d;Database=test;User Id=sa;Password=%s;Connect Timeout=5", refused, secret), schema: "dbo", say: "refused"},
			{path: "unknown host", form: "ADO.NET Data Source", conn: "Data Source=nonexistent.invalid;Initial Catalog=test;User ID=sa;Password=" + secret + ";Connect Timeout=5", schema: "dbo", say: "nonexistent.invalid"},
			{path: "unknown setting", form: "ADO.NET Server", conn: "Server=h;Database=test;User Id=sa;Password=" + secret + ";Encrypt=perhaps", schema: "dbo", say: "encrypt", codes: usageCodes},
			{path: "refused port", form: "ADO.NET Server", layout: "aspstate", conn: fmt.Sprintf("Server=tcp:127.0.0.1,%d;Database=test;User Id=sa;Password=%s;Connect Timeout=5", refused, secret),
				schema: "dbo", table: "ASPStateTempSessions", say: "refused"},
		}
		t.Logf("%d runs, the password never printed", runSecretCases(t, fill(cases, "-")))
	})

	// The TDS server, --layout aspstate on aspnet_regsql's table: a wrong
	// password, and a login with the password and no grant on the table,
	// which SQL Server (and Babelfish) hides from it.
	// A sample (verify and purge, which are what run on that table): each
	// run there takes a second.
	t.Run("sqlserver", func(t *testing.T) {
		t.Parallel()
		s := dialecttest.Get(t, "sqlserver")
		db := s.Open(t)
		table := classicTable(t, s, db, "aspstate")
		login := s.Dialect.Quote(strings.ToLower(dialecttest.Table("sessctl_pw")))
		execAll(t, db, "CREATE LOGIN "+login+" WITH PASSWORD = "+dialecttest.QuoteLiteral(s.Dialect, secret))
		t.Cleanup(func() { dropLogin(t, db, login) })
		execAll(t, db, "CREATE USER "+login+" FOR LOGIN "+login)
		t.Cleanup(func() {
			if _, err := db.Exec("DROP USER " + login); err != nil {
				t.Errorf("dropping user %s: %v", login, err)
			}
		})
		u, err := url.Parse(s.DSN)
		if err != nil {
			t.Skipf("the SQL Server test DSN is not a sqlserver:// URL, which this test needs to log in as another user: %v", err)
		}
		conn := func(user string) string {
			v := *u
			v.User = url.UserPassword(user, secret)
			return v.String()
		}
		both := []string{"verify", "purge"}
		cases := []secretCase{
			{path: "wrong password", form: "URL", layout: "aspstate", conn: conn(u.User.Username()), schema: s.Schema, table: table,
				say: "login failed|password", commands: both},
			// SQL Server shows a login no table it has no permission on:
			// to it, the table does not exist.
			{path: "no grant on the table", form: "URL", layout: "aspstate", conn: conn(strings.Trim(login, "[]")), schema: s.Schema, table: table,
				say: "does not exist", commands: both, codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible}},
		}
		t.Logf("%d runs, the password never printed", runSecretCases(t, cases))
	})

	// SQLite has no password; a secret can only sit in a file: URI
	// parameter (masked: SecretsOf reads password= there) or in a
	// Microsoft.Data.Sqlite Password setting, which sessctl refuses.
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		good := filepath.Join(dir, "good.db")
		must(t, 0, "create", good, "main", "SessionData")
		sdb, err := sql.Open("sqlite", good)
		if err != nil {
			t.Fatal(err)
		}
		execAll(t, sdb, "CREATE TABLE notcache (x int)")
		sdb.Close()
		garbage := filepath.Join(dir, "garbage.db")
		if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
			t.Fatal(err)
		}
		missingDir := filepath.Join(dir, "no", "such", "dir", "x.db")
		forms := []struct {
			name string
			conn func(path string) string
		}{
			{"file: URI with password", func(path string) string { return "file:" + path + "?password=" + url.QueryEscape(secret) }},
		}
		var cases []secretCase
		for _, f := range forms {
			cases = append(cases,
				secretCase{path: "path in a missing folder", conn: f.conn(missingDir), schema: "main", say: "does not exist|no such|unable to open|out of memory",
					codes: map[string]int{"verify": ExitFailed}},
				secretCase{path: "path is a folder", conn: f.conn(dir), schema: "main", say: "unable to open|directory|is a folder|not a database|out of memory"},
				secretCase{path: "not a database", conn: f.conn(garbage), schema: "main", say: "not a database"},
				secretCase{path: "missing table", conn: f.conn(good), schema: "main", say: "does not exist",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible, "create": 0}},
				secretCase{path: "not a cache table", conn: f.conn(good), schema: "main", table: "notcache", say: "not a cache table|is missing|no such column",
					codes: map[string]int{"verify": ExitIncompatible, "purge": ExitIncompatible}},
			)
		}
		// Microsoft.Data.Sqlite's Password (SQLCipher) is refused, unprinted.
		cases = append(cases, secretCase{path: "Password setting", form: "Microsoft.Data.Sqlite", conn: "Data Source=" + good + ";Password=" + secret,
			schema: "main", dialect: "sqlite", say: `"password" is not a SQLite setting`, codes: usageCodes})
		if os.Geteuid() == 0 {
			t.Log("unreadable file: not tested, root reads every file")
		}
		t.Logf("%d runs, the password never printed", runSecretCases(t, fill(cases, forms[0].name)))

		// A password in a file: URI equal to the dialect, the schema, the
		// table, the database file, or a word of sessctl's.
		file := filepath.Join(dir, "cache.db")
		conn := func(pw string) string { return "file:" + file + "?password=" + url.QueryEscape(pw) }
		runs := runEqualPasswords(t, "sqlite", "main", "SessionData", []equalPassword{
			{"the dialect", "sqlite"}, {"the schema", "main"}, {"the table", "SessionData"}, {"the database file", "cache.db"},
			{"a word of sessctl's messages", "table"}, {"another word", "expired"},
			{"a word of sessctl's advice", "remove"}, {"a part of a driver's word", "connect"}, {"a letter", "a"},
		}, func(string) {}, conn, nil)
		t.Logf("%d runs with a password equal to a name: nothing of sessctl's own masked, the password never printed", runs)
	})
}

var usageCodes = map[string]int{"verify": ExitUsage, "purge": ExitUsage, "drop": ExitUsage, "create": ExitUsage}

// fill names each case's form (cases come in groups of the forms, in
// order, unless named) and gives each a table: a fresh one for missing
// table, so that the create that succeeds there leaves the others' alone.
func fill(cases []secretCase, forms ...string) []secretCase {
	per := 0
	for i := range cases {
		if cases[i].form == "" {
			per++
		}
	}
	per /= len(forms)
	k := 0
	for i := range cases {
		if cases[i].form == "" {
			cases[i].form = forms[k/per]
			k++
		}
		if cases[i].table == "" {
			cases[i].table = "SessionData"
		}
		if cases[i].path == "missing table" {
			cases[i].table = dialecttest.Table("NoSuch")
		}
	}
	return cases
}
