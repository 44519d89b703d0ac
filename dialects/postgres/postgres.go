package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessctl/sessctl/dialects"
)

// postgres is PostgreSQL through pgx, with the table layout of
// Community.Microsoft.Extensions.Caching.PostgreSql.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

// maxName is NAMEDATALEN-1: PostgreSQL truncates longer names silently.
const maxName = 63

func (Dialect) Name() string { return "postgres" }

func (Dialect) CheckName(name string) error {
	return dialects.CheckName(name, maxName, "bytes", bytesLen)
}

// CheckSchema also refuses names that begin with pg_: PostgreSQL keeps them
// for its own schemas, and pg_temp means the session's temporary schema,
// whose tables vanish with the session.
func (p Dialect) CheckSchema(schema string) error {
	if err := p.CheckName(schema); err != nil {
		return err
	}
	if strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("%w %q: PostgreSQL reserves schema names that begin with pg_ for itself", dialects.ErrInvalidName, schema)
	}
	return nil
}

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, `"`, `"`) }

// QuoteLiteral writes an escape string, which means the same whatever
// standard_conforming_strings is set to.
func (Dialect) QuoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		PrimaryKey:   table + "_pkey",
		ExpiryIndex:  table + "_ExpiresAtTime_idx",
	}
}

func (p Dialect) qualified(n dialects.Names) string {
	return p.Quote(n.Schema) + "." + p.Quote(n.Table)
}

// collationOK rejects nondeterministic collations, under which keys that
// differ only in case (or accents) compare equal.
func collationOK(c string) bool { return !strings.HasSuffix(c, nondeterministic) }

const nondeterministic = " (nondeterministic)"

func (p Dialect) Columns() []dialects.ColumnSpec {
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"text", "character varying"}, MinLength: 449, Null: dialects.NotNull,
			CollationOK: collationOK, Collation: `pg_catalog."default"`,
			Definition: `"Id" text COLLATE pg_catalog."default" NOT NULL`},
		{Name: dialects.ColValue, Types: []string{"bytea"}, Null: dialects.NotNullPreferred,
			Definition: `"Value" bytea NOT NULL`},
		{Name: dialects.ColExpiresAtTime, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.NotNullPreferred,
			Definition: `"ExpiresAtTime" timestamp with time zone NOT NULL`},
		{Name: dialects.ColSliding, Types: []string{"double precision"}, Null: dialects.Nullable,
			Definition: `"SlidingExpirationInSeconds" double precision`},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"timestamp with time zone"}, Precision: 6, Null: dialects.Nullable,
			Definition: `"AbsoluteExpiration" timestamp with time zone`},
	}
}

// npgsqlKeys translates Npgsql's setting names to libpq keywords. An empty
// translation is a setting that only concerns Npgsql itself (pooling,
// command behaviour) and is dropped.
var npgsqlKeys = map[string]string{
	"host": "host", "server": "host", "port": "port",
	"database": "dbname", "db": "dbname",
	"username": "user", "user name": "user", "user id": "user", "userid": "user", "user": "user", "uid": "user",
	"password": "password", "pwd": "password", "passfile": "passfile",
	"ssl mode": "sslmode", "sslmode": "sslmode",
	"root certificate": "sslrootcert", "ssl certificate": "sslcert", "ssl key": "sslkey", "ssl password": "sslpassword",
	"timeout": "connect_timeout", "search path": "search_path", "application name": "application_name",
	"target session attributes": "target_session_attrs", "options": "options",
	"kerberos service name": "krbsrvname", "krbsrvname": "krbsrvname",
	"gss encryption mode": "gssencmode", "channel binding": "channel_binding",
	"ssl negotiation": "sslnegotiation", "require auth": "require_auth",
	// Refused when true (sessctl cannot check revocation); false is
	// Npgsql's default.
	"check certificate revocation": "check certificate revocation",
	// Npgsql's own behaviour: nothing to translate.
	"pooling": "", "minimum pool size": "", "maximum pool size": "", "min pool size": "", "max pool size": "",
	"connection idle lifetime": "", "connection pruning interval": "", "connection lifetime": "",
	"command timeout": "", "internal command timeout": "", "cancellation timeout": "",
	"keepalive": "", "tcp keepalive": "", "tcp keepalive time": "", "tcp keepalive interval": "",
	"include error detail": "", "include error details": "", "log parameters": "",
	"trust server certificate": "", "enlist": "", "no reset on close": "", "max auto prepare": "",
	"auto prepare min usages": "", "multiplexing": "", "write coalescing buffer threshold bytes": "",
	"server compatibility mode": "", "persist security info": "", "read buffer size": "",
	"write buffer size": "", "socket receive buffer size": "", "socket send buffer size": "",
	"encoding": "", "client encoding": "", "timezone": "", "load balance hosts": "",
	"host recheck seconds": "", "array nullability mode": "",
}

// npgsqlIgnoredWhy says why sessctl may ignore an Npgsql setting: it
// changes neither what is written nor who connects where.
var npgsqlIgnoredWhy = map[string]string{
	"trust server certificate": "with it, Npgsql skips checking the server's certificate; sessctl checks it as SSL Mode says, or fails",
	"load balance hosts":       "sessctl tries the hosts in the order given, one of the orders Npgsql may pick",
	"encoding":                 "sessctl speaks UTF-8, as PostgreSQL clients through pgx do",
	"client encoding":          "sessctl speaks UTF-8, as PostgreSQL clients through pgx do",
	"timezone":                 "sessctl compares times with time zones, which the session's zone does not change",
}

// npgsqlOnly are settings no SQL Server or MySQL client uses.
var npgsqlOnly = []string{"host", "username", "search path", "root certificate", "ssl certificate",
	"ssl key", "target session attributes", "include error detail", "server compatibility mode",
	"passfile", "kerberos service name", "gss encryption mode"}

var npgsqlSSLModes = map[string]string{
	"disable": "disable", "allow": "allow", "prefer": "prefer", "require": "require",
	"verifyca": "verify-ca", "verify-ca": "verify-ca", "verifyfull": "verify-full", "verify-full": "verify-full",
}

// claim: an Npgsql string is one whose settings Npgsql knows and that
// names the server as Host (or another Npgsql-only setting), or port 5432.
// "Server=…;Database=…;User Id=…" is how SqlClient and MySqlConnector
// strings read, so Npgsql does not claim it: --dialect postgres does.
func (Dialect) Claim(rc *dialects.RawConn) dialects.Certainty {
	switch {
	case rc.Scheme == "postgres" || rc.Scheme == "postgresql":
		return dialects.Surely
	case rc.Libpq, rc.LibpqShape:
		return dialects.Surely // libpq's form is PostgreSQL's alone; a typo is ParseConn's to name
	case len(rc.Pairs) == 0:
		return dialects.Never
	}
	for _, p := range rc.Pairs {
		if _, ok := npgsqlKeys[p.Key]; !ok {
			return dialects.Never
		}
	}
	if port, ok := rc.Get("port"); ok {
		switch port {
		case "5432":
			return dialects.Surely
		case "3306", "1433":
			return dialects.Never
		}
	}
	if host, ok := rc.Get("server", "host"); ok && (strings.HasSuffix(host, ":5432") || strings.Contains(host, ":5432,")) {
		return dialects.Surely // PostgreSQL's port, in Npgsql's Host=host:port form
	}
	for _, k := range npgsqlOnly {
		if _, ok := rc.Get(k); ok {
			return dialects.Surely
		}
	}
	return dialects.Never
}

func (p Dialect) ParseConn(raw string) (*dialects.Conn, error) {
	rc := dialects.NewRawConn(raw)
	dsn := rc.Raw
	var warnings []string
	if rc.LibpqShape {
		return nil, libpqUnknownKeyword(rc.Raw)
	}
	if rc.Scheme != "postgres" && rc.Scheme != "postgresql" && !rc.Libpq {
		if len(rc.Pairs) == 0 {
			return nil, fmt.Errorf("%w: not a PostgreSQL connection string: use postgres://user@host/db, "+
				"host=… dbname=…, or Host=…;Database=…;Username=…", dialects.ErrConnString)
		}
		var err error
		dsn, warnings, err = npgsqlToLibpq(rc.Pairs)
		if err != nil {
			return nil, err
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", dialects.ErrConnString, parseMessage(err, dialects.SecretsOf(raw)))
	}
	c := &dialects.Conn{
		Dialect:        p,
		Driver:         "pgx/v5",
		DSN:            dsn,
		Display:        display(cfg),
		Secrets:        connSecrets(raw, cfg.Password),
		Warnings:       warnings,
		ConnectTimeout: cfg.ConnectTimeout,
		TimeoutSetting: "connect_timeout",
		Hosts:          1 + len(cfg.Fallbacks), // each host, twice under sslmode=prefer
	}
	if rc.Scheme != "postgres" && rc.Scheme != "postgresql" && !rc.Libpq {
		c.TimeoutSetting = "Timeout"
	}
	return c, nil
}

// display is cfg as a URL without its password, every host pgx will try
// in its place, an IPv6 address in brackets: postgres://u@h1:5432,[::1]:5433/db.
func display(cfg *pgx.ConnConfig) string {
	var hosts []string
	add := func(host string, port uint16) {
		var h string
		if strings.HasPrefix(host, "/") { // a Unix socket's folder
			h = host + ":" + strconv.Itoa(int(port))
		} else {
			h = net.JoinHostPort(host, strconv.Itoa(int(port)))
		}
		if !slices.Contains(hosts, h) { // sslmode=prefer tries each host twice
			hosts = append(hosts, h)
		}
	}
	add(cfg.Host, cfg.Port)
	for _, f := range cfg.Fallbacks {
		add(f.Host, f.Port)
	}
	return fmt.Sprintf("postgres://%s@%s/%s", url.User(cfg.User).String(), strings.Join(hosts, ","), cfg.Database)
}

// libpqUnknownKeyword is the error for a libpq string with a keyword libpq
// does not have, naming it; unless it comes after an unquoted password,
// which a space would have ended early: then it may be the password's rest.
func libpqUnknownKeyword(raw string) error {
	words, _ := dialects.LibpqWords(raw)
	afterPassword := false
	for _, w := range words {
		if !dialects.LibpqKeywords[w.Key] {
			if afterPassword {
				return fmt.Errorf("%w: PostgreSQL: a setting after the password is not a libpq keyword "+
					"(a password that holds a space must be quoted: password='…')", dialects.ErrConnString)
			}
			return fmt.Errorf("%w: PostgreSQL: %q is not a libpq keyword sessctl knows (host, port, dbname, user, password, sslmode, …); "+
				"check its spelling", dialects.ErrConnString, w.Key)
		}
		afterPassword = afterPassword || (w.Key == "password" || w.Key == "sslpassword") && !w.Quoted
	}
	return fmt.Errorf("%w: PostgreSQL: not a libpq string", dialects.ErrConnString)
}

// connSecrets are the forms of the password, and the whole string when it
// holds one (the string without a password can read like Display itself).
func connSecrets(raw, password string) []string {
	s := dialects.SecretsOf(raw)
	if password == "" {
		return s
	}
	return dialects.AddSecret(s, raw, password, url.QueryEscape(password), url.PathEscape(password))
}

// parseMessage is pgx's reason, without the connection string it quotes,
// and with secrets masked in pgx's words (not in sessctl's).
func parseMessage(err error, secrets []string) string {
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if inner := errors.Unwrap(pce); inner != nil {
			var ue *url.Error
			if errors.As(inner, &ue) {
				return "the URL does not parse: " + dialects.Scrub(ue.Err.Error(), secrets)
			}
			return dialects.Scrub(inner.Error(), secrets)
		}
		// pgx's own reason ("invalid port"), without the string it quotes
		// before it.
		if msg := pce.Error(); strings.HasPrefix(msg, "cannot parse `") {
			if i := strings.LastIndex(msg, "`: "); i >= 0 && i+3 < len(msg) {
				return "the connection string does not parse: " + dialects.Scrub(msg[i+3:], secrets)
			}
		}
	}
	return "the connection string does not parse"
}

// npgsqlToLibpq rewrites Npgsql's Key=Value; settings as a libpq string for
// pgx's own parser. Every setting is translated, refused, or, if it
// changes neither what is written nor who connects where, ignored with a
// warning.
func npgsqlToLibpq(pairs []dialects.Pair) (string, []string, error) {
	kv := map[string]string{}
	var warnings []string
	var host, port string
	var hasHost, hasPort bool
	for _, pr := range pairs {
		to, ok := npgsqlKeys[pr.Key]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("%w: %s is not an Npgsql setting sessctl knows; remove it or use a postgres:// URL", dialects.ErrConnString, pr.Name())
		case to == "":
			why := npgsqlIgnoredWhy[pr.Key]
			if why == "" {
				why = "it only concerns Npgsql itself"
			}
			warnings = append(warnings, fmt.Sprintf("ignoring Npgsql setting %q: %s", pr.Key, why))
			continue
		case to == "check certificate revocation":
			on, err := strconv.ParseBool(strings.TrimSpace(pr.Value))
			if err != nil {
				return "", nil, fmt.Errorf("%w: Check Certificate Revocation %s: use true or false", dialects.ErrConnString, pr.Shown())
			}
			if on {
				return "", nil, fmt.Errorf("%w: Check Certificate Revocation=true: sessctl cannot check certificate revocation lists; "+
					"remove it to connect without that check", dialects.ErrConnString)
			}
			continue
		case to == "sslmode":
			m, ok := npgsqlSSLModes[strings.ToLower(strings.ReplaceAll(pr.Value, " ", ""))]
			if !ok {
				return "", nil, fmt.Errorf("%w: SSL Mode %s: use Disable, Allow, Prefer, Require, VerifyCA or VerifyFull", dialects.ErrConnString, pr.Shown())
			}
			kv[to] = m
			continue
		case to == "channel_binding" || to == "sslnegotiation":
			kv[to] = strings.ToLower(strings.TrimSpace(pr.Value)) // libpq's and pgx's spelling
			continue
		case to == "gssencmode":
			switch strings.ToLower(strings.TrimSpace(pr.Value)) {
			case "disable", "prefer":
				warnings = append(warnings, fmt.Sprintf("ignoring Npgsql setting %q=%s: sessctl does not use GSS encryption, "+
					"so it connects as Npgsql does when the server offers none (SSL Mode still applies)", pr.Key, pr.Value))
				continue
			}
			return "", nil, fmt.Errorf("%w: GSS Encryption Mode=%s: sessctl cannot encrypt with GSSAPI; use SSL Mode=Require (or VerifyFull) instead", dialects.ErrConnString, pr.Shown())
		case to == "require_auth":
			a, err := npgsqlRequireAuth(pr.Value)
			if err != nil {
				return "", nil, err
			}
			kv[to] = a
			continue
		case to == "target_session_attrs":
			a, err := npgsqlTargetSessionAttrs(pr.Value)
			if err != nil {
				return "", nil, err
			}
			kv[to] = a
			continue
		case to == "host":
			host, hasHost = pr.Value, true
			continue
		case to == "port":
			if _, err := strconv.ParseUint(strings.TrimSpace(pr.Value), 10, 16); err != nil {
				return "", nil, fmt.Errorf("%w: Port %s is not a port number", dialects.ErrConnString, pr.Shown())
			}
			port, hasPort = strings.TrimSpace(pr.Value), true
			continue
		}
		kv[to] = pr.Value
	}
	if hasHost {
		hosts, ports, err := npgsqlHosts(host, port)
		if err != nil {
			return "", nil, err
		}
		kv["host"] = hosts
		if ports != "" {
			kv["port"] = ports
		}
	} else if hasPort {
		kv["port"] = port
	}
	words := make([]string, 0, len(kv))
	for _, k := range sortedKeys(kv) {
		words = append(words, k+"="+quoteLibpq(kv[k]))
	}
	return strings.Join(words, " "), warnings, nil
}

// npgsqlHosts turns Npgsql's Host and Port into libpq's host and port
// lists. Host is one host or several, separated by commas, each a name,
// an address (IPv6 in brackets when a port follows: [::1]:5432) or a Unix
// socket's folder, and each may end in :port, as Npgsql reads it; a host
// without one takes Port, and without Port, PostgreSQL's default.
func npgsqlHosts(hostList, port string) (hosts, ports string, err error) {
	var hs, ps []string
	perHost := false
	for _, h := range strings.Split(hostList, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return "", "", fmt.Errorf("%w: Host %s names an empty host", dialects.ErrConnString, dialects.ShowValue(hostList))
		}
		p := port
		if !strings.HasPrefix(h, "/") && !strings.HasPrefix(h, "@") {
			name, hp, ok, err := npgsqlSplitHostPort(h)
			if err != nil {
				return "", "", err
			}
			if ok {
				h, p, perHost = name, hp, true
			}
			h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		}
		if strings.ContainsAny(h, ",") || h == "" {
			return "", "", fmt.Errorf("%w: Host %s names an empty host", dialects.ErrConnString, dialects.ShowValue(hostList))
		}
		hs, ps = append(hs, h), append(ps, p)
	}
	if !perHost {
		return strings.Join(hs, ","), port, nil
	}
	return strings.Join(hs, ","), strings.Join(ps, ","), nil
}

// npgsqlSplitHostPort splits host:port as Npgsql does: at the last ':',
// unless the host is an IPv6 address without brackets (::1, fe80::1),
// whose colons are its own.
func npgsqlSplitHostPort(h string) (host, port string, ok bool, err error) {
	sep := strings.LastIndex(h, ":")
	if sep < 0 {
		return h, "", false, nil
	}
	other := strings.LastIndex(h[:sep], ":")
	ipv6End := strings.LastIndex(h, "]")
	if other >= 0 && !(sep > ipv6End && other < ipv6End) {
		return h, "", false, nil // a bare IPv6 address
	}
	if _, perr := strconv.ParseUint(h[sep+1:], 10, 16); perr != nil {
		return "", "", false, fmt.Errorf("%w: Host %q: what follows the last ':' is not a port number "+
			"(write an IPv6 address with a port as [::1]:5432)", dialects.ErrConnString, h)
	}
	return h[:sep], h[sep+1:], true, nil
}

// npgsqlRequireAuth maps Npgsql's Require Auth list (Password, MD5, GSS,
// SSPI, ScramSHA256, None, each maybe negated with !) to libpq's
// require_auth, which pgx implements.
func npgsqlRequireAuth(v string) (string, error) {
	names := map[string]string{"password": "password", "md5": "md5", "gss": "gss", "sspi": "sspi",
		"scramsha256": "scram-sha-256", "none": "none"}
	var out []string
	for _, m := range strings.Split(v, ",") {
		m = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(m))
		neg := strings.HasPrefix(m, "!")
		name, ok := names[strings.TrimPrefix(m, "!")]
		if !ok {
			return "", fmt.Errorf("%w: Require Auth %s: use a list of Password, MD5, GSS, SSPI, ScramSHA256 and None", dialects.ErrConnString, dialects.ShowValue(v))
		}
		if neg {
			name = "!" + name
		}
		out = append(out, name)
	}
	return strings.Join(out, ","), nil
}

// npgsqlTargetSessionAttrs maps Npgsql's Target Session Attributes to
// libpq's target_session_attrs, which pgx implements (and so honours).
func npgsqlTargetSessionAttrs(v string) (string, error) {
	folded := strings.ToLower(strings.NewReplacer(" ", "", "-", "", "_", "").Replace(v))
	switch folded {
	case "any", "primary", "standby":
		return folded, nil
	case "readwrite":
		return "read-write", nil
	case "readonly":
		return "read-only", nil
	case "preferstandby":
		return "prefer-standby", nil
	case "preferprimary":
		return "", fmt.Errorf("%w: Target Session Attributes=%s: sessctl (through pgx, as libpq) cannot prefer a primary; "+
			"use Primary to require one, or Any", dialects.ErrConnString, dialects.ShowValue(v))
	}
	return "", fmt.Errorf("%w: Target Session Attributes %s: use Any, Primary, Standby, PreferStandby, ReadWrite or ReadOnly", dialects.ErrConnString, dialects.ShowValue(v))
}

// Open opens a pool on conn. A statement whose context ends is cancelled
// on the server, with a cancel request: pgx's default only closes the
// connection, and a server waiting for a lock does not notice that until
// it has the lock. The session lives on, and its transaction is rolled
// back as any failed statement's; if the server does not answer within
// cancelDeadline, pgx closes the connection after all.
func (Dialect) Open(conn *dialects.Conn, _ bool) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(conn.DSN)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", dialects.ErrConnString, parseMessage(err, conn.Secrets))
	}
	if cfg.ConnectTimeout == 0 {
		// pgx bounds each host of a list by it: one host that never
		// answers does not keep it from the next.
		cfg.ConnectTimeout = dialects.DefaultConnectTimeout
	}
	cfg.RuntimeParams["search_path"] = searchPath
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadline}
	}
	return stdlib.OpenDB(*cfg), nil
}

// searchPath is the search_path of every session sessctl opens, set in
// the startup message after the connection string's own settings: a
// search_path there, libpq's options=-csearch_path=…, Npgsql's Search
// Path and ALTER ROLE … SET search_path all give way to it (the server
// applies a setting of the startup message after its options, and over
// the role's and the database's defaults). sessctl names every table with
// its schema, so it needs no path, and a schema listed before pg_catalog
// with its own now(), make_interval or "<" would otherwise change its
// clock, and so which rows a purge deletes. (A trigger on the cache table
// that names tables or functions without their schema runs with this path
// too; give its function a SET search_path of its own.) The printed
// scripts, which run with the DBA's path, name pg_catalog's clock and
// operators themselves.
const searchPath = "pg_catalog, pg_temp"

// cancelDeadline is how long pgx waits for the server to end a statement
// it asked to cancel before it closes the connection.
const cancelDeadline = 3 * time.Second

// Permanent: authentication failures and a missing database do not go away
// by waiting.
func (Dialect) Permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000", "3D000", "42501":
			return true
		}
	}
	return false
}

// Disconnected: class 57P is the server shutting down, restarting or
// ending the session (pg_terminate_backend), class 08 a lost connection.
func (Dialect) Disconnected(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "08")
	}
	return dialects.CutOff(err)
}

// Denied: SQLSTATE 42501, insufficient_privilege.
func (p Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		return "", false
	}
	var user, database string
	role := "this role"
	if q.QueryRowContext(ctx, `SELECT current_user, current_database()`).Scan(&user, &database) == nil {
		role = p.Quote(user)
	}
	schema, table, version := p.Quote(n.Schema), p.qualified(n), p.Quote(n.Schema)+"."+p.Quote(n.VersionTable)
	usage := "GRANT USAGE ON SCHEMA " + schema + " TO " + role
	switch op {
	case dialects.OpCreateSchema:
		db := "the connection string's database"
		if database != "" {
			db = p.Quote(database)
		}
		return fmt.Sprintf("role %s may not create schemas in %s: GRANT CREATE ON DATABASE %s TO %s, or have its owner run CREATE SCHEMA %s",
			role, db, db, role, schema), true
	case "create":
		// USAGE to use the tables it makes, CREATE to make them.
		return fmt.Sprintf("role %s may not create tables in schema %s: GRANT USAGE, CREATE ON SCHEMA %s TO %s, or run create as the schema's owner",
			role, schema, schema, role), true
	case "drop":
		// Only the owner may drop a table: of both tables.
		return fmt.Sprintf("role %s may not drop %s, which only its owner may: %s; ALTER TABLE %s OWNER TO %s; "+
			"ALTER TABLE IF EXISTS %s OWNER TO %s, or run drop as the owner", role, table, usage, table, role, version, role), true
	case "purge":
		// UPDATE for FOR UPDATE SKIP LOCKED, which locks a batch's rows.
		return fmt.Sprintf("role %s may not purge %s: %s; GRANT SELECT, UPDATE, DELETE ON %s TO %s",
			role, table, usage, table, role), true
	}
	return fmt.Sprintf("role %s may not read %s: %s; GRANT SELECT ON %s, %s TO %s",
		role, table, usage, table, version, role), true
}

func (Dialect) SchemaExists(ctx context.Context, q dialects.Querier, schema string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, schema).Scan(&ok)
	return ok, err
}

func (p Dialect) CreateSchemaSQL(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + p.Quote(schema)
}

const relationQuery = `
SELECT c.oid, c.relkind, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

const columnsQuery = `
SELECT a.attname,
       pg_catalog.format_type(a.atttypid, NULL),
       CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.atttypmod > 4 THEN a.atttypmod - 4
            WHEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN CASE WHEN a.atttypmod >= 0 THEN a.atttypmod ELSE 6 END
            ELSE 0 END,
       NOT a.attnotnull,
       a.atthasdef,
       COALESCE(co.collname, ''),
       COALESCE(co.collisdeterministic, true)
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

// indexesQuery reads every index's key columns in order (an expression
// reads as ""), with what decides whether a purge can read it: its access
// method, whether it is valid, ready and live (an unfinished CREATE INDEX
// CONCURRENTLY leaves it not), and whether it has a predicate.
const indexesQuery = `
SELECT ic.relname, x.indisprimary, x.indisunique, COALESCE(a.attname, ''),
       am.amname, x.indisvalid AND x.indisready AND x.indislive, x.indpred IS NOT NULL
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
WHERE x.indrelid = $1 AND k.ord <= x.indnkeyatts
ORDER BY ic.relname, k.ord`

// once is the first argument of a statement a command runs once (the
// catalog reads, the purge lock, the count at the end): pgx then sends it
// in one round trip, parameters typed by their Go types, rather than
// preparing it first, which takes a second. A purge with nothing to do is
// mostly such statements, each waiting to be scheduled on a busy server.
// (Purge batches, run again and again, keep pgx's prepared statements.)
const once = pgx.QueryExecModeExec

func (p Dialect) Inspect(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info, err := p.InspectTable(ctx, q, n)
	if err != nil {
		return nil, err
	}
	if err := p.inspectPrivileges(ctx, q, n, info); err != nil {
		return nil, err
	}
	return info, p.inspectVersion(ctx, q, n, info)
}

// inspectPrivileges reads which of the privileges the app's provider needs
// the current role lacks, on the table and its schema.
func (p Dialect) inspectPrivileges(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var user string
	var usage bool
	var has [4]bool
	err := q.QueryRowContext(ctx, `SELECT current_user, has_schema_privilege(s.oid, 'USAGE'),
       COALESCE(has_table_privilege(c.oid, 'SELECT'), false), COALESCE(has_table_privilege(c.oid, 'INSERT'), false),
       COALESCE(has_table_privilege(c.oid, 'UPDATE'), false), COALESCE(has_table_privilege(c.oid, 'DELETE'), false)
  FROM pg_catalog.pg_namespace s LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid AND c.relname = $2
 WHERE s.nspname = $1`, once, n.Schema, n.Table).Scan(&user, &usage, &has[0], &has[1], &has[2], &has[3])
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the privileges on %s: %w", p.qualified(n), err)
	}
	info.User = p.Quote(user)
	var grants []string
	if !usage {
		info.MissingPrivileges = append(info.MissingPrivileges, "USAGE on schema "+p.Quote(n.Schema))
		grants = append(grants, "GRANT USAGE ON SCHEMA "+p.Quote(n.Schema)+" TO "+info.User+";")
	}
	if info.Kind == dialects.KindTable {
		var table []string
		for i, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			if !has[i] {
				table = append(table, priv)
			}
		}
		if len(table) > 0 {
			info.MissingPrivileges = append(info.MissingPrivileges, strings.Join(table, ", ")+" on "+p.qualified(n))
			grants = append(grants, "GRANT "+strings.Join(table, ", ")+" ON "+p.qualified(n)+" TO "+info.User+";")
		}
	}
	info.PrivilegeGrant = strings.Join(grants, " ")
	return nil
}

var _ dialects.TableInspector = Dialect{}

func (p Dialect) InspectTable(ctx context.Context, q dialects.Querier, n dialects.Names) (*dialects.TableInfo, error) {
	info := &dialects.TableInfo{Kind: dialects.KindMissing}
	var oid uint32
	var kind string
	err := q.QueryRowContext(ctx, relationQuery, once, n.Schema, n.Table).Scan(&oid, &kind, &info.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return info, nil
	case err != nil:
		return nil, fmt.Errorf("reading the catalog for %s: %w", p.qualified(n), err)
	}
	switch kind {
	case "r", "p":
		info.Kind = dialects.KindTable
	case "v", "m":
		info.Kind = dialects.KindView
	default:
		info.Kind = dialects.KindOther
	}
	info.Partitioned = kind == "p"
	if err := p.inspectColumns(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", p.qualified(n), err)
	}
	if err := p.inspectIndexes(ctx, q, oid, n, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", p.qualified(n), err)
	}
	return info, nil
}

func (Dialect) inspectColumns(ctx context.Context, q dialects.Querier, oid uint32, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, columnsQuery, once, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c dialects.Column
		var deterministic bool
		if err := rows.Scan(&c.Name, &c.Type, &c.Length, &c.Nullable, &c.HasDefault, &c.Collation, &deterministic); err != nil {
			return err
		}
		if !deterministic {
			c.Collation += nondeterministic
		}
		info.Columns = append(info.Columns, c)
	}
	return rows.Err()
}

func (p Dialect) inspectIndexes(ctx context.Context, q dialects.Querier, oid uint32, n dialects.Names, info *dialects.TableInfo) error {
	rows, err := q.QueryContext(ctx, indexesQuery, once, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, col, method string
		var primary, unique, valid, partial bool
		if err := rows.Scan(&name, &primary, &unique, &col, &method, &valid, &partial); err != nil {
			return err
		}
		ix := info.AddIndexColumn(name, primary, unique, col)
		if len(ix.Columns) == 1 {
			ix.Unusable, ix.Fix = p.Unusable(n, name, method, valid, partial)
			ix.Drop = "DROP INDEX CONCURRENTLY IF EXISTS " + p.Quote(n.Schema) + "." + p.Quote(name) + ";"
		}
	}
	return rows.Err()
}

// unusable says why the purge's range scan cannot read an index, and how
// to mend it in place where that can be done.
func (p Dialect) Unusable(n dialects.Names, name, method string, valid, partial bool) (why, fix string) {
	switch {
	case method != "btree":
		return fmt.Sprintf("it is a %s index, and only a B-tree returns a range of %s in order", method, p.Quote(dialects.ColExpiresAtTime)), ""
	case partial:
		return "it is a partial index (it has a WHERE clause), so it does not hold every row a purge must find", ""
	case !valid:
		return "it is not valid: a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that did not finish left it, and the planner never reads it",
			"REINDEX INDEX CONCURRENTLY " + p.Quote(n.Schema) + "." + p.Quote(name) + ";"
	}
	return "", ""
}

func (p Dialect) inspectVersion(ctx context.Context, q dialects.Querier, n dialects.Names, info *dialects.TableInfo) error {
	var oid uint32
	var kind, name string
	err := q.QueryRowContext(ctx, relationQuery, once, n.Schema, n.VersionTable).Scan(&oid, &kind, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog for %s.%s: %w", p.Quote(n.Schema), p.Quote(n.VersionTable), err)
	}
	info.VersionTable = true
	v, err := dialects.ReadVersion(ctx, q, p.Quote(n.Schema)+"."+p.Quote(n.VersionTable))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		info.VersionUnreadable = true
		role := info.User
		if role == "" {
			role = "CURRENT_USER"
		}
		info.VersionGrant = "GRANT SELECT ON " + p.Quote(n.Schema) + "." + p.Quote(n.VersionTable) + " TO " + role + ";"
		if !strings.Contains(info.PrivilegeGrant, "GRANT USAGE") {
			// The version table's schema is the table's: USAGE, if missing, is granted with the table's privileges.
		} else {
			info.VersionGrant = "GRANT USAGE ON SCHEMA " + p.Quote(n.Schema) + " TO " + role + "; " + info.VersionGrant
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the version table %s: %w", p.Quote(n.VersionTable), err)
	}
	info.Version = v
	return nil
}

// MigrateDriver is golang-migrate's pgx driver on a pool of one session,
// which takes golang-migrate's advisory lock for the version table by
// asking for it again and again (migrator) before the driver is made.
func (p Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	db, err := p.Open(conn, true)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &migrator{db: db, n: n, closed: make(chan struct{})}, nil
}

// lockPoll is how often a create waiting for another's lock asks again.
const lockPoll = 100 * time.Millisecond

// migrator is golang-migrate's pgx driver with its lock taken by polling
// pg_try_advisory_lock instead of waiting in pg_advisory_lock. A session
// that waits in a statement holds a snapshot, and CREATE INDEX CONCURRENTLY
// waits for every snapshot older than its own to go: so a create building
// the index and a create waiting for its lock wait for each other, and the
// server ends one of them with "deadlock detected" (golang-migrate issue
// 960). Between two tries a waiting session holds nothing.
//
// The driver is made once the lock is held, on the same session (the
// pool's only one), where golang-migrate's own lock, which it takes while
// it makes the version table and again in Lock, is granted at once: the
// session holds it already. It is released when Close ends the session;
// so a create that is killed holds it until the server has finished the
// statement it was running.
type migrator struct {
	db     *sql.DB // one session
	n      dialects.Names
	closed chan struct{}
	pid    atomic.Int32 // the session's backend, once known

	mu     sync.Mutex
	driver database.Driver // golang-migrate's, once the lock is held
	done   bool            // Close has run
}

func (d *migrator) Lock() error {
	d.mu.Lock()
	drv := d.driver
	d.mu.Unlock()
	if drv != nil {
		return drv.Lock()
	}
	ctx := context.Background()
	var dbName string
	if err := d.db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return fmt.Errorf("taking the create lock: %w", err)
	}
	id, err := database.GenerateAdvisoryLockId(dbName, d.n.Schema, d.n.VersionTable)
	if err != nil {
		return err
	}
	var pid int32
	if err := d.db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return fmt.Errorf("taking the create lock: %w", err)
	}
	d.pid.Store(pid)
	for {
		var got bool
		if err := d.db.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1::bigint)`, id).Scan(&got); err != nil {
			return fmt.Errorf("taking the create lock: %w", err)
		}
		if got {
			break
		}
		select {
		case <-d.closed:
			return database.ErrLocked
		case <-time.After(lockPoll):
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return database.ErrLocked
	}
	drv, err = pgxmigrate.WithInstance(d.db, &pgxmigrate.Config{DatabaseName: dbName, SchemaName: d.n.Schema, MigrationsTable: d.n.VersionTable})
	if err != nil {
		d.endSession(pid)
		return err
	}
	d.driver = drv
	return drv.Lock()
}

// endSession ends the migration session pid, and so the lock it holds:
// golang-migrate's WithInstance keeps the pool's only session checked out
// when it fails (making the version table, say, for want of a grant), so
// that closing the pool would leave the session, and the lock, for as long
// as this process lives. A second session, of the same user, ends it.
func (d *migrator) endSession(pid int32) {
	d.db.SetMaxOpenConns(2)
	d.db.ExecContext(context.Background(), `SELECT pg_terminate_backend($1)`, pid)
}

var _ dialects.StatementCanceller = (*migrator)(nil)

// CancelStatement asks the server, on q, to cancel what the migration
// session runs: golang-migrate's driver runs a migration with no context,
// and a CREATE INDEX CONCURRENTLY would otherwise run on in the server
// after sessctl gave up, unseen, holding the lock. Cancelled, it leaves an
// invalid index, which the next create drops and builds again.
func (d *migrator) CancelStatement(ctx context.Context, q dialects.Querier) error {
	pid := d.pid.Load()
	if pid == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, `SELECT pg_cancel_backend($1)`, once, pid)
	return err
}

// Close ends a wait for the lock, and the session, which releases it.
func (d *migrator) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.done {
		d.done = true
		close(d.closed)
	}
	if d.driver != nil {
		return d.driver.Close() // closes d.db too
	}
	return d.db.Close()
}

func (d *migrator) Unlock() error { return d.locked().Unlock() }

func (d *migrator) Run(migration io.Reader) error { return d.locked().Run(migration) }

func (d *migrator) SetVersion(v int, dirty bool) error { return d.locked().SetVersion(v, dirty) }

func (d *migrator) Version() (int, bool, error) { return d.locked().Version() }

func (d *migrator) Drop() error { return d.locked().Drop() }

// Open is not how sessctl makes drivers.
func (d *migrator) Open(string) (database.Driver, error) {
	return nil, errors.New("sessctl makes its PostgreSQL migration driver with MigrateDriver")
}

// locked is golang-migrate's driver, which golang-migrate calls only while
// it holds the lock; before then a driver that refuses.
func (d *migrator) locked() database.Driver {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.driver == nil {
		return notLocked{}
	}
	return d.driver
}

// notLocked is a migration driver that is not holding its lock.
type notLocked struct{ database.Driver }

func (notLocked) Unlock() error { return database.ErrNotLocked }

func (notLocked) Run(io.Reader) error { return database.ErrNotLocked }

func (notLocked) SetVersion(int, bool) error { return database.ErrNotLocked }

func (notLocked) Version() (int, bool, error) { return 0, false, database.ErrNotLocked }

func (notLocked) Drop() error { return database.ErrNotLocked }

func (p Dialect) FixSQL(n dialects.Names, c dialects.ColumnSpec, problem dialects.Problem) string {
	t, col := p.qualified(n), p.Quote(c.Name)
	switch problem {
	case dialects.ProblemMissing:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", t, c.Definition)
	case dialects.ProblemType:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;", t, col, c.Types[0], col, c.Types[0])
	case dialects.ProblemCollation:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE %s;", t, col, c.Types[0], c.Collation)
	case dialects.ProblemNotNull:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, col)
	case dialects.ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, col)
	}
	return ""
}

// lockKey is the advisory-lock key of the purge lock for one table. It is a
// different key space from golang-migrate's (two int4 keys, not one int8).
func lockKey(n dialects.Names) (int32, int32) {
	h := fnv.New32a()
	h.Write([]byte(n.Schema + "\x00" + n.Table))
	return 0x5e55c71, int32(h.Sum32())
}

func (d Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(d.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	k1, k2 := lockKey(n)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, once, k1, k2).Scan(&ok); err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock := func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, once, k1, k2)
		return err
	}
	return unlock, true, nil
}

// deleteSQL locks a batch of expired rows in index order, skipping rows an
// app session holds, and deletes them. A row slid forward after the
// statement's snapshot fails the re-check: FOR UPDATE re-evaluates it on the
// newest version, and so does the outer WHERE. Locking first writes each
// row twice (twice the WAL records of a plain DELETE), but a batch never
// waits for an app session: one left idle in a transaction holding an
// expired row would otherwise stop the purge, and Ctrl-C with it, for good.
const deleteSQL = `DELETE FROM %[1]s
WHERE ctid = ANY (ARRAY (
    SELECT ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))
    ORDER BY "ExpiresAtTime"
    LIMIT %[3]s
    FOR UPDATE SKIP LOCKED))
  AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))`

func (p Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, fmt.Sprintf(deleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var _ dialects.HeldCounter = Dialect{}

// heldSQL counts, among the oldest $2 expired rows, those another
// session holds: it locks the others as a batch does, skipping the held,
// and releases them as it ends.
const heldSQL = `WITH oldest AS (
    SELECT ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))
    ORDER BY "ExpiresAtTime"
    LIMIT $2),
free AS (
    SELECT ctid FROM %[1]s
    WHERE ctid = ANY (ARRAY (SELECT ctid FROM oldest))
    FOR UPDATE SKIP LOCKED)
SELECT (SELECT count(*) FROM oldest) - (SELECT count(*) FROM free)`

func (p Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	var held int64
	err := q.QueryRowContext(ctx, fmt.Sprintf(heldSQL, p.qualified(n)), grace.Seconds(), limit).Scan(&held)
	return held, err
}

var _ dialects.Walker = Dialect{}

// StoredRows reads the planner's estimate. A walk reads block ranges with a
// TID range scan, which PostgreSQL has from 14 on; before that each batch
// would read the whole table, so StoredRows says 0 and purge never walks.
func (p Dialect) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows float64
	var version int
	err := q.QueryRowContext(ctx, `SELECT c.reltuples, current_setting('server_version_num')::int
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = $1 AND c.relname = $2`, n.Schema, n.Table).Scan(&rows, &version)
	if err != nil || version < 140000 || rows < 0 {
		return 0, err
	}
	return int64(rows), nil
}

// walkSQL deletes the expired rows of a range of heap pages, as
// deleteSQL does those of a range of the expiry index: locked first,
// skipping rows an app session holds, the expiry re-checked. Its
// parameters are the tid after which it starts, the tid before which it
// stops, the grace in seconds, and the most rows it deletes; it returns
// the rows deleted and the last one's tid.
const walkSQL = `WITH batch AS (
    DELETE FROM %[1]s
    WHERE ctid = ANY (ARRAY (
        SELECT ctid FROM %[1]s
        WHERE ctid > $1::tid AND ctid < $2::tid
          AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3))
        LIMIT $4
        FOR UPDATE SKIP LOCKED))
      AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3))
    RETURNING ctid)
SELECT count(*), coalesce(max(ctid)::text, '') FROM batch`

// walkRangeSQL deletes every expired row of a range of heap pages, in
// one pass over them (a TID range scan), as the providers' one DELETE does
// over the whole table: over twice as fast as walkSQL, which reads and
// locks each row, then deletes it. A row slid forward meanwhile is kept:
// DELETE waits for the app's statement holding it, then evaluates the
// expiry again on the row's newest version (READ COMMITTED's re-check). It
// waits at most walkLockWait; a range it could not lock in that time is
// deleted again by walkSQL, skipping the rows held.
const walkRangeSQL = `DELETE FROM %[1]s
WHERE ctid > $1::tid AND ctid < $2::tid
  AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3))`

// walkLockWait is the session's lock_timeout while it walks.
const walkLockWait = "250ms"

// featureNotSupported is SQLSTATE 0A000.
const featureNotSupported = "0A000"

// lockNotAvailable is SQLSTATE 55P03, a lock_timeout run out.
const lockNotAvailable = "55P03"

// deleteRange runs walkRangeSQL with lock_timeout at walkLockWait, and
// the session's own lock_timeout again after it, so that only row locks of
// the range are given up on: every other statement of the purge waits as
// the user's settings say.
func (p Dialect) deleteRange(ctx context.Context, q dialects.Querier, table string, grace time.Duration, from string, end int64) (sql.Result, error) {
	var saved string
	if err := q.QueryRowContext(ctx, `SELECT current_setting('lock_timeout'), set_config('lock_timeout', $1, false)`,
		walkLockWait).Scan(&saved, new(string)); err != nil {
		return nil, err
	}
	res, err := q.ExecContext(ctx, fmt.Sprintf(walkRangeSQL, table), from, fmt.Sprintf("(%d,0)", end), grace.Seconds())
	if _, rerr := q.ExecContext(context.WithoutCancel(ctx), `SELECT set_config('lock_timeout', $1, false)`, saved); rerr != nil && err == nil {
		err = rerr
	}
	return res, err
}

// DeleteExpiredFrom walks span heap pages at a time; a position is a tid.
func (p Dialect) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	var blocks, blockSize int64
	if err := q.QueryRowContext(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int,
		current_setting('block_size')::int`, p.qualified(n)).Scan(&blocks, &blockSize); err != nil {
		return 0, "", err
	}
	return p.walkHeap(ctx, q, p.qualified(n), blocks, blockSize, grace, from, span, limit)
}

// walkHeap is DeleteExpiredFrom on the heap of one relation, table (quoted
// and qualified), of blocks pages of blockSize bytes: it returns "" once
// the span reached its end.
func (p Dialect) walkHeap(ctx context.Context, q dialects.Querier, table string, blocks, blockSize int64, grace time.Duration, from string, span, limit int) (int64, string, error) {
	block := int64(0)
	if from == "" {
		from = "(0,0)"
	} else if _, err := fmt.Sscanf(from, "(%d,", &block); err != nil {
		return 0, "", fmt.Errorf("walking %s: bad position %q", table, from)
	}
	if block >= blocks {
		return 0, "", nil
	}
	end := min(block+int64(max(span, 1)), blocks)
	// MaxHeapTuplesPerPage: a page header, then a tuple header and a line
	// pointer for each row.
	if perPage := (blockSize - 24) / 28; int64(limit) >= (end-block+1)*perPage {
		// The limit cannot bind: delete the whole range.
		res, err := p.deleteRange(ctx, q, table, grace, from, end)
		var pgErr *pgconn.PgError
		if err == nil {
			deleted, err := res.RowsAffected()
			if err != nil || end >= blocks {
				return deleted, "", err
			}
			return deleted, fmt.Sprintf("(%d,0)", end), nil
		}
		if !errors.As(err, &pgErr) || pgErr.Code != lockNotAvailable {
			return 0, "", err
		}
		// An app session holds a row of the range: skip it.
	}
	var deleted int64
	var last string
	if err := q.QueryRowContext(ctx, fmt.Sprintf(walkSQL, table), from, fmt.Sprintf("(%d,0)", end),
		grace.Seconds(), limit).Scan(&deleted, &last); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == featureNotSupported {
			// A rule ON DELETE: PostgreSQL refuses DELETE … RETURNING.
			return 0, "", fmt.Errorf("%w %s: %w", dialects.ErrCannotWalk, table, err)
		}
		return 0, "", err
	}
	switch {
	case deleted >= int64(limit):
		return deleted, last, nil // stopped by limit: go on after the last row deleted
	case end >= blocks:
		return deleted, "", nil
	}
	// Offsets start at 1: after "(end,0)" is all of page end.
	return deleted, fmt.Sprintf("(%d,0)", end), nil
}

var _ dialects.Shaper = Dialect{}

// ForTable: a partitioned table's rows are in its partitions, each with
// ctids of its own, so it takes partitioned's statements.
func (p Dialect) ForTable(info *dialects.TableInfo) dialects.Dialect {
	if info.Partitioned {
		return partitioned{}
	}
	return p
}

// partitioned is PostgreSQL for a declaratively partitioned table (hash,
// range or list; partitions of partitions too). Its rows live in its leaf
// partitions, each with heap pages and ctids of its own: a ctid names a
// row only with the tableoid of its partition, and the partitioned table
// itself has no pages to walk.
type partitioned struct{ Dialect }

var (
	_ dialects.Dialect = partitioned{}
	_ dialects.Walker  = partitioned{}
)

// partitionedDeleteSQL is deleteSQL for a partitioned table: it finds
// the batch's rows by partition and ctid, as a ctid alone matches a row in
// every partition that has one there. (The ctid list keeps each
// partition's read a TID scan.)
const partitionedDeleteSQL = `WITH batch AS MATERIALIZED (
    SELECT tableoid, ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))
    ORDER BY "ExpiresAtTime"
    LIMIT %[3]s
    FOR UPDATE SKIP LOCKED)
DELETE FROM %[1]s
WHERE ctid = ANY (ARRAY (SELECT ctid FROM batch))
  AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM batch)
  AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))`

// partitionedHeldSQL is heldSQL for a partitioned table: rows by
// partition and ctid, as in partitionedDeleteSQL.
const partitionedHeldSQL = `WITH oldest AS MATERIALIZED (
    SELECT tableoid, ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))
    ORDER BY "ExpiresAtTime"
    LIMIT $2),
free AS (
    SELECT 1 FROM %[1]s
    WHERE ctid = ANY (ARRAY (SELECT ctid FROM oldest))
      AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM oldest)
    FOR UPDATE SKIP LOCKED)
SELECT (SELECT count(*) FROM oldest) - (SELECT count(*) FROM free)`

func (p partitioned) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	var held int64
	err := q.QueryRowContext(ctx, fmt.Sprintf(partitionedHeldSQL, p.qualified(n)), grace.Seconds(), limit).Scan(&held)
	return held, err
}

func (p partitioned) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, fmt.Sprintf(partitionedDeleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// leavesSQL lists the leaf partitions of $1 whose oid is at least $2, in
// oid order, with their pages, whether this role may delete from them, and
// whether they are tables (a foreign table has no heap to walk).
const leavesSQL = `SELECT c.oid::int8, s.nspname, c.relname, c.relkind = 'r',
       pg_relation_size(c.oid) / current_setting('block_size')::int, current_setting('block_size')::int,
       COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AND COALESCE(has_table_privilege(c.oid, 'UPDATE'), false) AND COALESCE(has_table_privilege(c.oid, 'DELETE'), false)
FROM pg_catalog.pg_partition_tree($1::regclass) AS l
JOIN pg_catalog.pg_class c ON c.oid = l.relid
JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
WHERE l.isleaf AND c.oid::int8 >= $2
ORDER BY c.oid
LIMIT 2`

// DeleteExpiredFrom walks the leaf partitions one after another, each as
// a table of its own; a position is a leaf's oid and a tid in it. It
// deletes from each leaf directly, which needs SELECT and DELETE on the
// leaves themselves, not only on the partitioned table. A foreign leaf
// has no heap: the batches on the expiry index that end the walk reach it.
// (UPDATE, as a walk that meets a held row locks the rest, FOR UPDATE.)
func (p partitioned) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	leaf, tid := int64(0), ""
	if from != "" {
		l, t, ok := strings.Cut(from, "/")
		var err error
		if leaf, err = strconv.ParseInt(l, 10, 64); !ok || err != nil {
			return 0, "", fmt.Errorf("walking %s: bad position %q", p.qualified(n), from)
		}
		tid = t
	}
	type leafInfo struct {
		oid               int64
		schema, name      string
		heap, may         bool
		blocks, blockSize int64
	}
	rows, err := q.QueryContext(ctx, leavesSQL, p.qualified(n), leaf)
	if err != nil {
		return 0, "", err
	}
	var leaves []leafInfo
	for rows.Next() {
		var l leafInfo
		if err := rows.Scan(&l.oid, &l.schema, &l.name, &l.heap, &l.blocks, &l.blockSize, &l.may); err != nil {
			rows.Close()
			return 0, "", err
		}
		leaves = append(leaves, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	if len(leaves) == 0 {
		return 0, "", nil
	}
	cur := leaves[0]
	if cur.oid != leaf {
		tid = "" // the leaf was detached or dropped: the next from its start
	}
	var deleted int64
	next := ""
	if cur.heap {
		table := p.Quote(cur.schema) + "." + p.Quote(cur.name)
		if !cur.may {
			var role string
			q.QueryRowContext(ctx, `SELECT current_user`).Scan(&role)
			return 0, "", fmt.Errorf("%w: a walk in storage order deletes from each partition of %s directly, and role %s may not "+
				"delete from its partition %s: GRANT SELECT, UPDATE, DELETE ON %s TO %s, or purge with --order expiry",
				dialects.ErrPermission, p.qualified(n), p.Quote(role), table, table, p.Quote(role))
		}
		if deleted, next, err = p.walkHeap(ctx, q, table, cur.blocks, cur.blockSize, grace, tid, span, limit); err != nil {
			return deleted, "", err
		}
	}
	switch {
	case next != "":
		return deleted, fmt.Sprintf("%d/%s", cur.oid, next), nil
	case len(leaves) > 1:
		return deleted, fmt.Sprintf("%d/", leaves[1].oid), nil
	}
	return deleted, "", nil
}

// StoredRows adds up the planner's estimates of the leaves (autovacuum
// analyzes them, never the partitioned table itself). It is 0, so that
// purge does not walk on its own, when a walk could not: a leaf this role
// may not delete from directly, a foreign leaf, or PostgreSQL before 14.
func (p partitioned) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows float64
	var walkable bool
	var version int
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(greatest(c.reltuples, 0)), 0),
		coalesce(bool_and(c.relkind = 'r' AND COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AND COALESCE(has_table_privilege(c.oid, 'UPDATE'), false)
			AND COALESCE(has_table_privilege(c.oid, 'DELETE'), false)), false),
		current_setting('server_version_num')::int
		FROM pg_catalog.pg_partition_tree($1::regclass) AS l JOIN pg_catalog.pg_class c ON c.oid = l.relid
		WHERE l.isleaf`, p.qualified(n)).Scan(&rows, &walkable, &version)
	if err != nil || !walkable || version < 140000 {
		return 0, err
	}
	return int64(rows), nil
}

// ExplainPurge: the plan reads the leaves' indexes, each a partition of
// an index of the partitioned table; each is named with the index it is a
// partition of, so that the plan says which of the table's indexes it
// reads.
func (p partitioned) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	plan, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(partitionedDeleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return "", err
	}
	rows, err := q.QueryContext(ctx, `SELECT quote_ident(c.relname), pc.relname
		FROM pg_catalog.pg_index x
		JOIN pg_catalog.pg_class pc ON pc.oid = x.indexrelid
		CROSS JOIN LATERAL pg_catalog.pg_partition_tree(x.indexrelid) AS t
		JOIN pg_catalog.pg_class c ON c.oid = t.relid
		WHERE x.indrelid = $1::regclass AND t.isleaf`, p.qualified(n))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var leaf, parent string
		if err := rows.Scan(&leaf, &parent); err != nil {
			return "", err
		}
		plan = strings.ReplaceAll(plan, " using "+leaf+" on ", " using "+leaf+" (a partition of "+p.Quote(parent)+") on ")
	}
	return plan, rows.Err()
}

// CountExpired: a row that expires at -infinity has expired, and makes the
// oldest expiry MinusInfinity; one at infinity never expires. (Neither is
// a time pgx can scan.)
func (p Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullTime
	var minusInfinity bool
	err := q.QueryRowContext(ctx, `SELECT count(*), min("ExpiresAtTime") FILTER (WHERE isfinite("ExpiresAtTime")),
		coalesce(bool_or("ExpiresAtTime" = '-infinity'), false) FROM `+p.qualified(n)+
		` WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))`, once, grace.Seconds()).Scan(&count, &oldest, &minusInfinity)
	if minusInfinity {
		return count, dialects.MinusInfinity, err
	}
	return count, oldest.Time, err
}

func (p Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	return dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(deleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
}

func (p Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	tag := dollarTag(n)
	del := fmt.Sprintf(deleteSQL, p.qualified(n), strconv.FormatFloat(grace.Seconds(), 'f', -1, 64), strconv.Itoa(limit))
	return fmt.Sprintf(`-- Deletes the rows of %[1]s that expired over %[2]s ago, %[3]d at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO %[4]s
BEGIN
    LOOP
        %[5]s;
        EXIT WHEN NOT FOUND;
        COMMIT;
    END LOOP;
END
%[4]s;
`, p.qualified(n), grace, limit, tag, strings.ReplaceAll(del, "\n", "\n        "))
}

// dollarTag is a dollar-quote tag that no name of n contains.
func dollarTag(n dialects.Names) string {
	all := n.Schema + n.Table + n.VersionTable + n.PrimaryKey + n.ExpiryIndex
	tag := "$sessctl$"
	for i := 1; strings.Contains(all, tag); i++ {
		tag = "$sessctl" + strconv.Itoa(i) + "$"
	}
	return tag
}

func (p Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":       p.Quote(n.Schema),
		"Table":        p.qualified(n),
		"TableName":    p.Quote(n.Table),
		"VersionTable": p.Quote(n.Schema) + "." + p.Quote(n.VersionTable),
		"PrimaryKey":   p.Quote(n.PrimaryKey),
		"ExpiryIndex":  p.Quote(n.ExpiryIndex),
		"TableLiteral": p.QuoteLiteral(p.qualified(n)),
		"Tag":          dollarTag(n),
		"Concurrently": "CONCURRENTLY",
	}
}

var _ dialects.Adopter = Dialect{}

// AdoptData builds the expiry index without CONCURRENTLY on a table
// create makes in this run, and on a partitioned table. A new table has
// no rows and no app writing to it yet, so nothing is held off; and
// CREATE INDEX CONCURRENTLY waits for every transaction of the database
// that holds a snapshot, so one app session left idle in a transaction
// would stall the create of a new table for as long as it stays so.
// PostgreSQL refuses CONCURRENTLY on a partitioned table ("cannot create
// index on partitioned table concurrently"): a plain CREATE INDEX on the
// parent builds one on every partition, holding off writes while it does.
// Adopting a plain table that is there keeps CONCURRENTLY.
func (Dialect) AdoptData(info *dialects.TableInfo) map[string]string {
	if info.Partitioned || info.Kind == dialects.KindMissing {
		return map[string]string{"Concurrently": ""}
	}
	return nil
}

var _ dialects.Scripter = Dialect{}

// ScriptData: the script builds the expiry index plainly. It cannot look
// at the table it runs over, and PostgreSQL refuses CONCURRENTLY on a
// partitioned one; see ScriptNote.
func (Dialect) ScriptData() map[string]string { return map[string]string{"Concurrently": ""} }

func (Dialect) ScriptNote(v uint) string {
	if v != 2 {
		return ""
	}
	return `-- In this script the index is built with a plain CREATE INDEX, which holds
-- off the app's writes to the table while it builds: PostgreSQL refuses
-- CONCURRENTLY on a partitioned table, and a script cannot tell whether the
-- table is one. On a plain table that holds rows, a DBA may write
-- CREATE INDEX CONCURRENTLY instead (run outside a transaction block), as
-- sessctl create does.
`
}

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "Npgsql" }

func (Dialect) KnowsSetting(key string) bool { _, ok := npgsqlKeys[key]; return ok }
