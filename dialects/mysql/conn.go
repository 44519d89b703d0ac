package mysql

import (
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
)

// Open opens a pool on conn's DSN: times in UTC, parsed (ParseConn set
// both). The database in the DSN is only where sessions start; every
// statement names SCHEMA.
func (Dialect) Open(conn *dialects.Conn, _ bool) (*sql.DB, error) {
	cfg, err := parseDSN(conn.DSN)
	if err != nil {
		return nil, err
	}
	return open(cfg)
}

func open(cfg *gomysql.Config) (*sql.DB, error) {
	// The driver logs a lost connection on stderr besides returning it:
	// sessctl says it once, in its own words.
	cfg.Logger = &gomysql.NopLogger{}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: MySQL: %v", dialects.ErrConnString, err)
	}
	return sql.OpenDB(connector), nil
}

// dsnMarkers are the parts of a go-sql-driver DSN that no other form
// of connection string has.
var dsnMarkers = []string{"@tcp(", "@tcp4(", "@tcp6(", "@unix(", "@/"}

// isDSN reports whether s has the form of a go-sql-driver DSN:
// [user[:password]@]net(address)/dbname[?params].
func isDSN(s string) bool {
	for _, m := range dsnMarkers {
		if strings.Contains(s, m) {
			return true
		}
	}
	for _, p := range []string{"tcp(", "tcp4(", "tcp6(", "unix("} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// claim: a mysql:// URL or a go-sql-driver DSN is MySQL's; so is a
// MySqlConnector string with port 3306, an SslMode only MySQL clients
// spell so, or a setting only MySqlConnector has. "Server=…;Database=…;
// User ID=…;Password=…" reads the same for SqlClient: only possibly MySQL's.
func (Dialect) Claim(rc *dialects.RawConn) dialects.Certainty {
	switch {
	case rc.Scheme == "mysql":
		return dialects.Surely
	case rc.Libpq || strings.Contains(rc.Raw, "://"):
		return dialects.Never
	case isConnector(rc):
		return connectorClaim(rc)
	case isDSN(rc.Raw):
		return dialects.Surely
	}
	return dialects.Never
}

func (m Dialect) ParseConn(raw string) (*dialects.Conn, error) {
	rc := dialects.NewRawConn(raw)
	var (
		cfg      *gomysql.Config
		warnings []string
		secrets  []string
		err      error
	)
	switch {
	case rc.Scheme == "mysql":
		cfg, warnings, err = urlConfig(rc.Raw)
	case isConnector(rc), len(rc.Pairs) > 0 && !isDSN(rc.Raw):
		cfg, warnings, secrets, err = connectorConfig(rc.Pairs)
	case rc.Libpq || rc.Scheme != "" && !isDSN(rc.Raw):
		err = fmt.Errorf("%w: not a MySQL connection string: use user:password@tcp(host:3306)/database, "+
			"mysql://user:password@host:3306/database, or Server=…;Database=…;User ID=…;Password=…", dialects.ErrConnString)
	default:
		cfg, warnings, err = dsnConfig(rc.Raw)
	}
	if err != nil {
		return nil, err
	}
	timeout, setting := cfg.Timeout, "timeout"
	if rc.Scheme != "mysql" && (isConnector(rc) || len(rc.Pairs) > 0 && !isDSN(rc.Raw)) {
		setting = "Connection Timeout"
	}
	warnings = append(warnings, sessionSettings(cfg)...)
	if err := checkDSN(cfg); err != nil {
		return nil, err
	}
	secrets = append(dialects.SecretsOf(raw), secrets...)
	if pass := cfg.Passwd; pass != "" {
		secrets = dialects.AddSecret(secrets, raw, pass, url.QueryEscape(pass), url.PathEscape(pass))
	}
	return &dialects.Conn{
		Dialect:  m,
		Driver:   "mysql",
		DSN:      cfg.FormatDSN(),
		Display:  display(cfg),
		Secrets:  secrets,
		Warnings: warnings,

		ConnectTimeout: timeout,
		TimeoutSetting: setting,
	}, nil
}

// checkDSN makes sure cfg reads back the same from its DSN, which is
// what Open connects with. go-sql-driver writes the user, server and
// database as they are: a ':' in the user, or an '@' in the server, of a
// MySqlConnector string would make the DSN name another user or no server
// at all.
func checkDSN(cfg *gomysql.Config) error {
	back, err := gomysql.ParseDSN(cfg.FormatDSN())
	if err != nil || back.User != cfg.User || back.Passwd != cfg.Passwd || back.Net != cfg.Net ||
		back.Addr != cfg.Addr || back.DBName != cfg.DBName {
		return fmt.Errorf("%w: MySQL: the user, server or database cannot be written as a go-sql-driver DSN "+
			"(a ':' in the user, or an '@' in the server)", dialects.ErrConnString)
	}
	return nil
}

// sessionSettings makes cfg what sessctl needs of every connection:
// times read as time.Time in UTC, since the datetime(6) columns hold naive
// UTC; several statements in one Exec, for the expiry index migration; and
// a bounded dial.
func sessionSettings(cfg *gomysql.Config) []string {
	var warnings []string
	if cfg.Loc != time.UTC {
		warnings = append(warnings, fmt.Sprintf("ignoring loc=%s: the table's datetime(6) columns hold UTC, so sessctl reads them as UTC", cfg.Loc))
		cfg.Loc = time.UTC
	}
	cfg.ParseTime = true
	cfg.MultiStatements = true
	if cfg.Timeout == 0 {
		cfg.Timeout = dialects.DefaultConnectTimeout
	}
	return warnings
}

// display is cfg as a URL without its password, for messages.
func display(cfg *gomysql.Config) string {
	user := ""
	if cfg.User != "" {
		user = url.User(cfg.User).String() + "@"
	}
	addr := cfg.Addr
	if cfg.Net != "tcp" {
		addr = cfg.Net + "(" + cfg.Addr + ")"
	}
	return "mysql://" + user + addr + "/" + url.PathEscape(cfg.DBName)
}

// parseDSN is go-sql-driver's ParseDSN, made safe: it panics on the
// long-removed strict parameter, and its errors must not quote the string.
func parseDSN(dsn string) (*gomysql.Config, error) {
	if i := strings.LastIndex(dsn, "/"); i >= 0 {
		if _, query, ok := strings.Cut(dsn[i:], "?"); ok {
			for kv := range strings.SplitSeq(query, "&") {
				if k, _, _ := strings.Cut(kv, "="); k == "strict" {
					return nil, fmt.Errorf("%w: MySQL DSN: the strict parameter no longer exists; remove it", dialects.ErrConnString)
				}
			}
		}
	}
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: MySQL DSN: %s (the form is user:password@tcp(host:3306)/database?param=value)", dialects.ErrConnString,
			dialects.Scrub(err.Error(), dialects.SecretsOf(dsn))) // go-sql-driver's words
	}
	return cfg, nil
}

// dsnConfig reads a go-sql-driver DSN, dropping golang-migrate's own
// x- parameters, which the driver would send to the server as variables.
func dsnConfig(dsn string) (*gomysql.Config, []string, error) {
	if err := refuseMigrateParams(dsn); err != nil {
		return nil, nil, err
	}
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	return cfg, dropMigrateParams(cfg), nil
}

func dropMigrateParams(cfg *gomysql.Config) []string {
	var warnings []string
	for k := range cfg.Params {
		if strings.HasPrefix(k, "x-") {
			warnings = append(warnings, fmt.Sprintf("ignoring golang-migrate parameter %q: it only concerns golang-migrate's own runs", k))
			delete(cfg.Params, k)
		}
	}
	return warnings
}

// refuseMigrateParams refuses the golang-migrate parameters that would
// change what is written or to whom sessctl connects, were they honoured:
// where the version is recorded, and the TLS settings of its custom tls=
// configurations. The others (x-no-lock, x-statement-timeout) only tune
// golang-migrate's runs, and sessctl locks and times out on its own.
func refuseMigrateParams(dsn string) error {
	i := strings.LastIndex(dsn, "?")
	if i < 0 {
		return nil
	}
	for kv := range strings.SplitSeq(dsn[i+1:], "&") {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "x-migrations-table":
			return fmt.Errorf("%w: MySQL: x-migrations-table: sessctl records its version in TABLE_migrations beside the cache table, "+
				"whatever golang-migrate is told; remove the parameter", dialects.ErrConnString)
		case strings.HasPrefix(k, "x-tls-"):
			return fmt.Errorf("%w: MySQL: %s: sessctl does not read golang-migrate's TLS parameters; use tls=true "+
				"(the system's CAs) or tls=skip-verify, or a MySqlConnector string with SslMode, SslCa, SslCert and SslKey", dialects.ErrConnString, k)
		}
	}
	return nil
}

// urlConfig reads mysql://user:password@host:port/database?params, and
// golang-migrate's mysql://user:password@tcp(host:port)/database (the form
// that can also name a unix(/path) socket), whose user and password it
// unescapes as golang-migrate does.
func urlConfig(raw string) (*gomysql.Config, []string, error) {
	const scheme = "mysql://"
	if len(raw) < len(scheme) || !strings.EqualFold(raw[:len(scheme)], scheme) {
		return nil, nil, fmt.Errorf("%w: a MySQL URL starts with mysql://", dialects.ErrConnString)
	}
	if rest := raw[len(scheme):]; isDSN(rest) {
		cfg, warnings, err := dsnConfig(rest)
		if err != nil {
			return nil, nil, err
		}
		if cfg.User, err = url.QueryUnescape(cfg.User); err == nil {
			cfg.Passwd, err = url.QueryUnescape(cfg.Passwd)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: MySQL URL: the user or password is not URL-escaped properly", dialects.ErrConnString)
		}
		return cfg, warnings, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the part it could not read, which with a '/',
		// '?' or '#' in the password is the start of the password.
		return nil, nil, fmt.Errorf("%w: MySQL URL does not parse; percent-encode any / ? # @ : %% in the user and password", dialects.ErrConnString)
	}
	if err := refuseMigrateParams("/?" + u.RawQuery); err != nil {
		return nil, nil, err
	}
	cfg, err := parseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	return cfg, dropMigrateParams(cfg), nil
}

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "MySqlConnector" }

func (Dialect) KnowsSetting(key string) bool { _, ok := connectorKeys[key]; return ok }
