package dialects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgres is PostgreSQL through pgx, with the table layout of
// Community.Microsoft.Extensions.Caching.PostgreSql.
type postgres struct{}

var _ Dialect = postgres{}

// pgMaxName is NAMEDATALEN-1: PostgreSQL truncates longer names silently.
const pgMaxName = 63

func (postgres) Name() string          { return "postgres" }
func (postgres) DefaultSchema() string { return "public" }

func (postgres) CheckName(name string) error {
	return checkName(name, pgMaxName, "bytes", bytesLen)
}

// CheckSchema also refuses names that begin with pg_: PostgreSQL keeps them
// for its own schemas, and pg_temp means the session's temporary schema,
// whose tables vanish with the session.
func (p postgres) CheckSchema(schema string) error {
	if err := p.CheckName(schema); err != nil {
		return err
	}
	if strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("%w %q: PostgreSQL reserves schema names that begin with pg_ for itself", ErrInvalidName, schema)
	}
	return nil
}

func (postgres) Quote(ident string) string { return quoteWith(ident, `"`, `"`) }

// QuoteLiteral writes an escape string, which means the same whatever
// standard_conforming_strings is set to.
func (postgres) QuoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func (postgres) Names(schema, table string) Names {
	return Names{
		Schema:       schema,
		Table:        table,
		VersionTable: table + "_migrations",
		PrimaryKey:   table + "_pkey",
		ExpiryIndex:  table + "_ExpiresAtTime_idx",
	}
}

func (p postgres) qualified(n Names) string { return p.Quote(n.Schema) + "." + p.Quote(n.Table) }

// pgCollationOK rejects nondeterministic collations, under which keys that
// differ only in case (or accents) compare equal.
func pgCollationOK(c string) bool { return !strings.HasSuffix(c, pgNondeterministic) }

const pgNondeterministic = " (nondeterministic)"

func (p postgres) Columns() []ColumnSpec {
	return []ColumnSpec{
		{Name: ColID, Types: []string{"text", "character varying"}, Null: NotNull,
			CollationOK: pgCollationOK, Collation: `pg_catalog."default"`,
			Definition: `"Id" text COLLATE pg_catalog."default" NOT NULL`},
		{Name: ColValue, Types: []string{"bytea"}, Null: NotNullPreferred,
			Definition: `"Value" bytea NOT NULL`},
		{Name: ColExpiresAtTime, Types: []string{"timestamp with time zone"}, Null: NotNullPreferred,
			Definition: `"ExpiresAtTime" timestamp with time zone NOT NULL`},
		{Name: ColSliding, Types: []string{"double precision"}, Null: Nullable,
			Definition: `"SlidingExpirationInSeconds" double precision`},
		{Name: ColAbsoluteExpiration, Types: []string{"timestamp with time zone"}, Null: Nullable,
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
func (postgres) claim(rc *rawConn) certainty {
	switch {
	case rc.scheme == "postgres" || rc.scheme == "postgresql":
		return surely
	case rc.libpq, rc.libpqShape:
		return surely // libpq's form is PostgreSQL's alone; a typo is ParseConn's to name
	case len(rc.pairs) == 0:
		return never
	}
	for _, p := range rc.pairs {
		if _, ok := npgsqlKeys[p.Key]; !ok {
			return never
		}
	}
	if port, ok := rc.get("port"); ok {
		switch port {
		case "5432":
			return surely
		case "3306", "1433":
			return never
		}
	}
	for _, k := range npgsqlOnly {
		if _, ok := rc.get(k); ok {
			return surely
		}
	}
	return never
}

func (p postgres) ParseConn(raw string) (*Conn, error) {
	rc := newRawConn(raw)
	dsn := rc.raw
	var warnings []string
	if rc.libpqShape {
		return nil, libpqUnknownKeyword(rc.raw)
	}
	if rc.scheme != "postgres" && rc.scheme != "postgresql" && !rc.libpq {
		if len(rc.pairs) == 0 {
			return nil, fmt.Errorf("%w: not a PostgreSQL connection string: use postgres://user@host/db, "+
				"host=… dbname=…, or Host=…;Database=…;Username=…", ErrConnString)
		}
		var err error
		dsn, warnings, err = npgsqlToLibpq(rc.pairs)
		if err != nil {
			return nil, err
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", ErrConnString, pgParseMessage(err))
	}
	c := &Conn{
		Dialect:  p,
		Driver:   "pgx/v5",
		DSN:      dsn,
		Display:  pgDisplay(cfg),
		Secrets:  pgSecrets(raw, cfg.Password),
		Warnings: warnings,
	}
	return c, nil
}

// pgDisplay is cfg as a URL without its password, every host pgx will try
// in its place, an IPv6 address in brackets: postgres://u@h1:5432,[::1]:5433/db.
func pgDisplay(cfg *pgx.ConnConfig) string {
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
	words, _ := libpqWords(raw)
	afterPassword := false
	for _, w := range words {
		if !libpqKeywords[w.key] {
			if afterPassword {
				return fmt.Errorf("%w: PostgreSQL: a setting after the password is not a libpq keyword "+
					"(a password that holds a space must be quoted: password='…')", ErrConnString)
			}
			return fmt.Errorf("%w: PostgreSQL: %q is not a libpq keyword sessctl knows (host, port, dbname, user, password, sslmode, …); "+
				"check its spelling", ErrConnString, w.key)
		}
		afterPassword = afterPassword || (w.key == "password" || w.key == "sslpassword") && !w.quoted
	}
	return fmt.Errorf("%w: PostgreSQL: not a libpq string", ErrConnString)
}

// pgSecrets are the forms of the password, and the whole string when it
// holds one (the string without a password can read like Display itself).
func pgSecrets(raw, password string) []string {
	s := SecretsOf(raw)
	if password == "" {
		return s
	}
	return addSecret(s, raw, password, url.QueryEscape(password), url.PathEscape(password))
}

// pgParseMessage is pgx's reason, without the connection string it quotes.
func pgParseMessage(err error) string {
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if inner := errors.Unwrap(pce); inner != nil {
			var ue *url.Error
			if errors.As(inner, &ue) {
				return "the URL does not parse: " + ue.Err.Error()
			}
			return inner.Error()
		}
		// pgx's own reason ("invalid port"), without the string it quotes
		// before it.
		if msg := pce.Error(); strings.HasPrefix(msg, "cannot parse `") {
			if i := strings.LastIndex(msg, "`: "); i >= 0 && i+3 < len(msg) {
				return "the connection string does not parse: " + msg[i+3:]
			}
		}
	}
	return "the connection string does not parse"
}

// npgsqlToLibpq rewrites Npgsql's Key=Value; settings as a libpq string for
// pgx's own parser. Every setting is translated, refused, or, if it
// changes neither what is written nor who connects where, ignored with a
// warning.
func npgsqlToLibpq(pairs []pair) (string, []string, error) {
	kv := map[string]string{}
	var warnings []string
	var host, port string
	var hasHost, hasPort bool
	for _, pr := range pairs {
		to, ok := npgsqlKeys[pr.Key]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("%w: %s is not an Npgsql setting sessctl knows; remove it or use a postgres:// URL", ErrConnString, pr.name())
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
				return "", nil, fmt.Errorf("%w: Check Certificate Revocation %q: use true or false", ErrConnString, pr.Value)
			}
			if on {
				return "", nil, fmt.Errorf("%w: Check Certificate Revocation=true: sessctl cannot check certificate revocation lists; "+
					"remove it to connect without that check", ErrConnString)
			}
			continue
		case to == "sslmode":
			m, ok := npgsqlSSLModes[strings.ToLower(strings.ReplaceAll(pr.Value, " ", ""))]
			if !ok {
				return "", nil, fmt.Errorf("%w: SSL Mode %q: use Disable, Allow, Prefer, Require, VerifyCA or VerifyFull", ErrConnString, pr.Value)
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
			return "", nil, fmt.Errorf("%w: GSS Encryption Mode=%s: sessctl cannot encrypt with GSSAPI; use SSL Mode=Require (or VerifyFull) instead", ErrConnString, pr.Value)
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
				return "", nil, fmt.Errorf("%w: Port %q is not a port number", ErrConnString, pr.Value)
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
			return "", "", fmt.Errorf("%w: Host %q names an empty host", ErrConnString, hostList)
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
			return "", "", fmt.Errorf("%w: Host %q names an empty host", ErrConnString, hostList)
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
			"(write an IPv6 address with a port as [::1]:5432)", ErrConnString, h)
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
			return "", fmt.Errorf("%w: Require Auth %q: use a list of Password, MD5, GSS, SSPI, ScramSHA256 and None", ErrConnString, v)
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
			"use Primary to require one, or Any", ErrConnString, v)
	}
	return "", fmt.Errorf("%w: Target Session Attributes %q: use Any, Primary, Standby, PreferStandby, ReadWrite or ReadOnly", ErrConnString, v)
}

func (postgres) Open(conn *Conn, _ bool) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(conn.DSN)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", ErrConnString, pgParseMessage(err))
	}
	return stdlib.OpenDB(*cfg), nil
}

// Permanent: authentication failures and a missing database do not go away
// by waiting.
func (postgres) Permanent(err error) bool {
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
func (postgres) Disconnected(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "08")
	}
	return cutOff(err)
}

// Denied: SQLSTATE 42501, insufficient_privilege.
func (p postgres) Denied(ctx context.Context, q Querier, err error, op string, n Names) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		return "", false
	}
	var user string
	role := "this role"
	if q.QueryRowContext(ctx, `SELECT current_user`).Scan(&user) == nil {
		role = p.Quote(user)
	}
	schema, table := p.Quote(n.Schema), p.qualified(n)
	switch op {
	case OpCreateSchema:
		return fmt.Sprintf("role %s may not create schemas in this database: GRANT CREATE ON DATABASE, the connection string's, TO %s, "+
			"or have its owner run CREATE SCHEMA %s", role, role, schema), true
	case "create":
		return fmt.Sprintf("role %s may not create tables in schema %s: GRANT CREATE ON SCHEMA %s TO %s, or run create as the schema's owner",
			role, schema, schema, role), true
	case "drop":
		return fmt.Sprintf("role %s may not drop %s: only its owner may; run drop as the owner, or ALTER TABLE %s OWNER TO %s",
			role, table, table, role), true
	case "purge":
		return fmt.Sprintf("role %s may not purge %s: GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT, DELETE ON %s TO %s",
			role, table, schema, role, table, role), true
	}
	return fmt.Sprintf("role %s may not read %s: GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON %s, %s.%s TO %s",
		role, table, schema, role, table, schema, p.Quote(n.VersionTable), role), true
}

func (postgres) SchemaExists(ctx context.Context, q Querier, schema string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, schema).Scan(&ok)
	return ok, err
}

func (p postgres) CreateSchemaSQL(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + p.Quote(schema)
}

const pgRelationQuery = `
SELECT c.oid, c.relkind, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

const pgColumnsQuery = `
SELECT a.attname,
       pg_catalog.format_type(a.atttypid, NULL),
       CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.atttypmod > 4 THEN a.atttypmod - 4 ELSE 0 END,
       NOT a.attnotnull,
       a.atthasdef,
       COALESCE(co.collname, ''),
       COALESCE(co.collisdeterministic, true)
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

const pgIndexesQuery = `
SELECT ic.relname, x.indisprimary, x.indisunique, COALESCE(a.attname, '')
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
WHERE x.indrelid = $1 AND k.ord <= x.indnkeyatts AND x.indpred IS NULL
ORDER BY ic.relname, k.ord`

func (p postgres) Inspect(ctx context.Context, q Querier, n Names) (*TableInfo, error) {
	info := &TableInfo{Kind: KindMissing}
	var oid uint32
	var kind string
	err := q.QueryRowContext(ctx, pgRelationQuery, n.Schema, n.Table).Scan(&oid, &kind, &info.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return info, p.inspectVersion(ctx, q, n, info)
	case err != nil:
		return nil, fmt.Errorf("reading the catalog for %s: %w", p.qualified(n), err)
	}
	switch kind {
	case "r", "p":
		info.Kind = KindTable
	case "v", "m":
		info.Kind = KindView
	default:
		info.Kind = KindOther
	}
	if err := p.inspectColumns(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", p.qualified(n), err)
	}
	if err := p.inspectIndexes(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", p.qualified(n), err)
	}
	return info, p.inspectVersion(ctx, q, n, info)
}

func (postgres) inspectColumns(ctx context.Context, q Querier, oid uint32, info *TableInfo) error {
	rows, err := q.QueryContext(ctx, pgColumnsQuery, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		var deterministic bool
		if err := rows.Scan(&c.Name, &c.Type, &c.Length, &c.Nullable, &c.HasDefault, &c.Collation, &deterministic); err != nil {
			return err
		}
		if !deterministic {
			c.Collation += pgNondeterministic
		}
		info.Columns = append(info.Columns, c)
	}
	return rows.Err()
}

func (postgres) inspectIndexes(ctx context.Context, q Querier, oid uint32, info *TableInfo) error {
	rows, err := q.QueryContext(ctx, pgIndexesQuery, oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, col string
		var primary, unique bool
		if err := rows.Scan(&name, &primary, &unique, &col); err != nil {
			return err
		}
		info.addIndexColumn(name, primary, unique, col)
	}
	return rows.Err()
}

func (p postgres) inspectVersion(ctx context.Context, q Querier, n Names, info *TableInfo) error {
	var oid uint32
	var kind, name string
	err := q.QueryRowContext(ctx, pgRelationQuery, n.Schema, n.VersionTable).Scan(&oid, &kind, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog for %s.%s: %w", p.Quote(n.Schema), p.Quote(n.VersionTable), err)
	}
	info.VersionTable = true
	v, err := readVersion(ctx, q, p.Quote(n.Schema)+"."+p.Quote(n.VersionTable))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		info.Notes = append(info.Notes, fmt.Sprintf("the version table %s exists but this user may not read it", p.Quote(n.VersionTable)))
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the version table %s: %w", p.Quote(n.VersionTable), err)
	}
	info.Version = v
	return nil
}

func (p postgres) MigrateDriver(conn *Conn, n Names) (database.Driver, error) {
	db, err := p.Open(conn, true)
	if err != nil {
		return nil, err
	}
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{SchemaName: n.Schema, MigrationsTable: n.VersionTable})
	if err != nil {
		db.Close()
		return nil, err
	}
	return drv, nil
}

func (p postgres) FixSQL(n Names, c ColumnSpec, problem Problem) string {
	t, col := p.qualified(n), p.Quote(c.Name)
	switch problem {
	case ProblemMissing:
		return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;", t, c.Definition)
	case ProblemType:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;", t, col, c.Types[0], col, c.Types[0])
	case ProblemCollation:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE %s;", t, col, c.Types[0], c.Collation)
	case ProblemNotNull:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, col)
	case ProblemNullable:
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, col)
	}
	return ""
}

// lockKey is the advisory-lock key of the purge lock for one table. It is a
// different key space from golang-migrate's (two int4 keys, not one int8).
func pgLockKey(n Names) (int32, int32) {
	h := fnv.New32a()
	h.Write([]byte(n.Schema + "\x00" + n.Table))
	return 0x5e55c71, int32(h.Sum32())
}

func (postgres) TryLock(ctx context.Context, conn *sql.Conn, n Names) (func() error, bool, error) {
	k1, k2 := pgLockKey(n)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, k1, k2).Scan(&ok); err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock := func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, k1, k2)
		return err
	}
	return unlock, true, nil
}

// MaxBatchSize: PostgreSQL keeps row locks in the rows themselves, so no
// number of them escalates; the batch time is the only limit.
func (postgres) MaxBatchSize() int { return 0 }

// pgDeleteSQL locks a batch of expired rows in index order, skipping rows an
// app session holds, and deletes them. A row slid forward after the
// statement's snapshot fails the re-check: FOR UPDATE re-evaluates it on the
// newest version, and so does the outer WHERE. Locking first writes each
// row twice (twice the WAL records of a plain DELETE), but a batch never
// waits for an app session: one left idle in a transaction holding an
// expired row would otherwise stop the purge, and Ctrl-C with it, for good.
const pgDeleteSQL = `DELETE FROM %[1]s
WHERE ctid = ANY (ARRAY (
    SELECT ctid FROM %[1]s
    WHERE "ExpiresAtTime" < now() - make_interval(secs => %[2]s)
    ORDER BY "ExpiresAtTime"
    LIMIT %[3]s
    FOR UPDATE SKIP LOCKED))
  AND "ExpiresAtTime" < now() - make_interval(secs => %[2]s)`

func (p postgres) DeleteExpired(ctx context.Context, q Querier, n Names, grace time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, fmt.Sprintf(pgDeleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var _ Walker = postgres{}

// StoredRows reads the planner's estimate. A walk reads block ranges with a
// TID range scan, which PostgreSQL has from 14 on; before that each batch
// would read the whole table, so StoredRows says 0 and purge never walks.
func (p postgres) StoredRows(ctx context.Context, q Querier, n Names) (int64, error) {
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

// pgWalkSQL deletes the expired rows of a range of heap pages, as
// pgDeleteSQL does those of a range of the expiry index: locked first,
// skipping rows an app session holds, the expiry re-checked. Its
// parameters are the tid after which it starts, the tid before which it
// stops, the grace in seconds, and the most rows it deletes; it returns
// the rows deleted and the last one's tid.
const pgWalkSQL = `WITH batch AS (
    DELETE FROM %[1]s
    WHERE ctid = ANY (ARRAY (
        SELECT ctid FROM %[1]s
        WHERE ctid > $1::tid AND ctid < $2::tid
          AND "ExpiresAtTime" < now() - make_interval(secs => $3)
        LIMIT $4
        FOR UPDATE SKIP LOCKED))
      AND "ExpiresAtTime" < now() - make_interval(secs => $3)
    RETURNING ctid)
SELECT count(*), coalesce(max(ctid)::text, '') FROM batch`

// pgWalkRangeSQL deletes every expired row of a range of heap pages, in
// one pass over them (a TID range scan), as the providers' one DELETE does
// over the whole table: over twice as fast as pgWalkSQL, which reads and
// locks each row, then deletes it. A row slid forward meanwhile is kept:
// DELETE waits for the app's statement holding it, then evaluates the
// expiry again on the row's newest version (READ COMMITTED's re-check). It
// waits at most pgWalkLockWait; a range it could not lock in that time is
// deleted again by pgWalkSQL, skipping the rows held.
const pgWalkRangeSQL = `DELETE FROM %[1]s
WHERE ctid > $1::tid AND ctid < $2::tid
  AND "ExpiresAtTime" < now() - make_interval(secs => $3)`

// pgWalkLockWait is the session's lock_timeout while it walks.
const pgWalkLockWait = "250ms"

// pgLockNotAvailable is SQLSTATE 55P03, a lock_timeout run out.
const pgLockNotAvailable = "55P03"

// deleteRange runs pgWalkRangeSQL with lock_timeout at pgWalkLockWait, and
// the session's own lock_timeout again after it, so that only row locks of
// the range are given up on: every other statement of the purge waits as
// the user's settings say.
func (p postgres) deleteRange(ctx context.Context, q Querier, n Names, grace time.Duration, from string, end int64) (sql.Result, error) {
	var saved string
	if err := q.QueryRowContext(ctx, `SELECT current_setting('lock_timeout'), set_config('lock_timeout', $1, false)`,
		pgWalkLockWait).Scan(&saved, new(string)); err != nil {
		return nil, err
	}
	res, err := q.ExecContext(ctx, fmt.Sprintf(pgWalkRangeSQL, p.qualified(n)), from, fmt.Sprintf("(%d,0)", end), grace.Seconds())
	if _, rerr := q.ExecContext(context.WithoutCancel(ctx), `SELECT set_config('lock_timeout', $1, false)`, saved); rerr != nil && err == nil {
		err = rerr
	}
	return res, err
}

// DeleteExpiredFrom walks span heap pages at a time; a position is a tid.
func (p postgres) DeleteExpiredFrom(ctx context.Context, q Querier, n Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	block := int64(0)
	if from == "" {
		from = "(0,0)"
	} else if _, err := fmt.Sscanf(from, "(%d,", &block); err != nil {
		return 0, "", fmt.Errorf("walking %s: bad position %q", p.qualified(n), from)
	}
	var blocks, blockSize int64
	if err := q.QueryRowContext(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int,
		current_setting('block_size')::int`, p.qualified(n)).Scan(&blocks, &blockSize); err != nil {
		return 0, "", err
	}
	if block >= blocks {
		return 0, "", nil
	}
	end := min(block+int64(max(span, 1)), blocks)
	// MaxHeapTuplesPerPage: a page header, then a tuple header and a line
	// pointer for each row.
	if perPage := (blockSize - 24) / 28; int64(limit) >= (end-block+1)*perPage {
		// The limit cannot bind: delete the whole range.
		res, err := p.deleteRange(ctx, q, n, grace, from, end)
		var pgErr *pgconn.PgError
		if err == nil {
			deleted, err := res.RowsAffected()
			if err != nil || end >= blocks {
				return deleted, "", err
			}
			return deleted, fmt.Sprintf("(%d,0)", end), nil
		}
		if !errors.As(err, &pgErr) || pgErr.Code != pgLockNotAvailable {
			return 0, "", err
		}
		// An app session holds a row of the range: skip it.
	}
	var deleted int64
	var last string
	if err := q.QueryRowContext(ctx, fmt.Sprintf(pgWalkSQL, p.qualified(n)), from, fmt.Sprintf("(%d,0)", end),
		grace.Seconds(), limit).Scan(&deleted, &last); err != nil {
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

func (p postgres) CountExpired(ctx context.Context, q Querier, n Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT count(*), min("ExpiresAtTime") FROM `+p.qualified(n)+
		` WHERE "ExpiresAtTime" < now() - make_interval(secs => $1)`, grace.Seconds()).Scan(&count, &oldest)
	return count, oldest.Time, err
}

func (p postgres) ExplainPurge(ctx context.Context, q Querier, n Names, grace time.Duration, limit int) (string, error) {
	return explainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(pgDeleteSQL, p.qualified(n), "$1", "$2"), grace.Seconds(), limit)
}

func (p postgres) PurgeScript(n Names, grace time.Duration, limit int) string {
	tag := dollarTag(n)
	del := fmt.Sprintf(pgDeleteSQL, p.qualified(n), strconv.FormatFloat(grace.Seconds(), 'f', -1, 64), strconv.Itoa(limit))
	return fmt.Sprintf(`-- Deletes the rows of %[1]s that expired over %[2]s ago, %[3]d at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO %[4]s
DECLARE
    deleted bigint;
BEGIN
    LOOP
        %[5]s;
        GET DIAGNOSTICS deleted = ROW_COUNT;
        EXIT WHEN deleted = 0;
        COMMIT;
    END LOOP;
END
%[4]s;
`, p.qualified(n), grace, limit, tag, strings.ReplaceAll(del, "\n", "\n        "))
}

// dollarTag is a dollar-quote tag that no name of n contains.
func dollarTag(n Names) string {
	all := n.Schema + n.Table + n.VersionTable + n.PrimaryKey + n.ExpiryIndex
	tag := "$sessctl$"
	for i := 1; strings.Contains(all, tag); i++ {
		tag = "$sessctl" + strconv.Itoa(i) + "$"
	}
	return tag
}

// explainRows runs an EXPLAIN and joins its rows.
func explainRows(ctx context.Context, q Querier, query string, args ...any) (string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		parts := make([]string, 0, len(vals))
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, v.String)
			}
		}
		lines = append(lines, strings.Join(parts, " | "))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

func (p postgres) TemplateData(n Names) map[string]string {
	return map[string]string{
		"Schema":       p.Quote(n.Schema),
		"Table":        p.qualified(n),
		"TableName":    p.Quote(n.Table),
		"VersionTable": p.Quote(n.Schema) + "." + p.Quote(n.VersionTable),
		"PrimaryKey":   p.Quote(n.PrimaryKey),
		"ExpiryIndex":  p.Quote(n.ExpiryIndex),
		"TableLiteral": p.QuoteLiteral(p.qualified(n)),
		"Tag":          dollarTag(n),
	}
}

func (postgres) ScriptSeparator() string { return "" }
