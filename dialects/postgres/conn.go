package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessctl/sessctl/dialects"
)

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
