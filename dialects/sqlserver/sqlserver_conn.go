package sqlserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/sessctl/sessctl/dialects"
)

// sqlClientKeys maps Microsoft.Data.SqlClient's settings, their synonyms,
// and go-mssqldb's own settings to go-mssqldb's names. An empty name is a
// setting that only concerns SqlClient itself (its pool, MARS, retries),
// dropped with a warning.
var sqlClientKeys = map[string]string{
	// where
	"server": msdsn.Server, "data source": msdsn.Server, "address": msdsn.Server, "addr": msdsn.Server,
	"network address": msdsn.Server, "port": msdsn.Port,
	"database": msdsn.Database, "initial catalog": msdsn.Database,
	"failover partner": msdsn.FailoverPartner, "failoverpartner": msdsn.FailoverPartner, "failoverport": msdsn.FailOverPort,
	"failover partner spn": msdsn.FailoverPartnerSpn, "failoverpartnerspn": msdsn.FailoverPartnerSpn,
	"multi subnet failover": msdsn.MultiSubnetFailover, "multisubnetfailover": msdsn.MultiSubnetFailover,
	"application intent": msdsn.ApplicationIntent, "applicationintent": msdsn.ApplicationIntent,
	"protocol": msdsn.Protocol, "dial timeout": msdsn.DialTimeout, "keepalive": msdsn.KeepAlive,
	// who
	"user id": msdsn.UserID, "userid": msdsn.UserID, "uid": msdsn.UserID, "user": msdsn.UserID,
	"password": msdsn.Password, "pwd": msdsn.Password,
	"authentication": "fedauth", "fedauth": "fedauth",
	"applicationclientid": "applicationclientid", "clientcertpath": "clientcertpath", "resource id": "resource id",
	"clientassertion": "clientassertion", "userassertion": "userassertion", "systemtoken": "systemtoken",
	"serviceconnectionid": "serviceconnectionid", "tokenfilepath": "tokenfilepath",
	"additionallyallowedtenants": "additionallyallowedtenants", "disableinstancediscovery": "disableinstancediscovery",
	"sendcertificatechain": "sendcertificatechain",
	"server spn":           msdsn.ServerSpn, "serverspn": msdsn.ServerSpn,
	"workstation id": msdsn.WorkstationID, "wsid": msdsn.WorkstationID,
	"application name": msdsn.AppName, "app": msdsn.AppName, "app name": msdsn.AppName,
	// TLS
	"encrypt":                  msdsn.Encrypt,
	"trust server certificate": msdsn.TrustServerCertificate, "trustservercertificate": msdsn.TrustServerCertificate,
	"host name in certificate": msdsn.HostNameInCertificate, "hostnameincertificate": msdsn.HostNameInCertificate,
	"server certificate": msdsn.ServerCertificate, "servercertificate": msdsn.ServerCertificate,
	"certificate": msdsn.Certificate, "tlsmin": msdsn.TLSMin,
	// timeouts
	"connect timeout": msdsn.ConnectionTimeout, "connection timeout": msdsn.ConnectionTimeout, "timeout": msdsn.ConnectionTimeout,
	"packet size": msdsn.PacketSize,
	// SqlClient's own behaviour: nothing to translate
	"pooling": "", "max pool size": "", "min pool size": "", "load balance timeout": "", "connection lifetime": "",
	"enlist": "", "multipleactiveresultsets": "", "multiple active result sets": "",
	"persist security info": "", "persistsecurityinfo": "", "pool blocking period": "", "poolblockingperiod": "",
	"transaction binding": "", "type system version": "", "connect retry count": "", "connectretrycount": "",
	"connect retry interval": "", "connectretryinterval": "", "command timeout": "",
	"ip address preference": "", "ipaddresspreference": "", "current language": "", "language": "",
	"replication": "", "network library": "", "network": "", "net": "", "column encryption setting": "",
	"attestation protocol": "", "enclave attestation url": "", "context connection": "",
}

// sqlClientSpecial are settings handled by hand rather than translated.
var sqlClientSpecial = map[string]bool{
	"integrated security": true, "trusted_connection": true, "user instance": true,
	"attachdbfilename": true, "attach db filename": true, "extended properties": true, "initial file name": true,
}

// sqlServerOnlyKeys are settings of SqlClient (or go-mssqldb) that no
// Npgsql, MySqlConnector or SQLite string has: their presence settles the
// dialect.
var sqlServerOnlyKeys = map[string]bool{
	"initial catalog": true, "integrated security": true, "trusted_connection": true,
	"trustservercertificate": true, "trust server certificate": true, "encrypt": true,
	"multipleactiveresultsets": true, "multiple active result sets": true, "authentication": true, "fedauth": true,
	"application intent": true, "applicationintent": true, "multisubnetfailover": true, "multi subnet failover": true,
	"attachdbfilename": true, "attach db filename": true, "failover partner": true, "failoverpartner": true,
	"hostnameincertificate": true, "host name in certificate": true, "servercertificate": true, "server certificate": true,
	"workstation id": true, "wsid": true, "packet size": true, "column encryption setting": true,
	"pool blocking period": true, "poolblockingperiod": true, "connect retry count": true, "connectretrycount": true,
	"connect retry interval": true, "connectretryinterval": true, "transaction binding": true,
	"type system version": true, "failover partner spn": true, "server spn": true, "serverspn": true,
	"user instance": true, "enclave attestation url": true, "ip address preference": true, "ipaddresspreference": true,
}

// sqlServerSecretKeys are go-mssqldb's settings whose values are secrets.
var sqlServerSecretKeys = []string{msdsn.Password, msdsn.ChangePassword, "clientassertion", "userassertion", "systemtoken"}

var sqlServerServerKeys = []string{"server", "data source", "address", "addr", "network address"}

// claim: a sqlserver:// URL, or an ADO.NET string whose settings SqlClient
// or go-mssqldb know. It is surely SQL Server's when a setting or the form
// of the server (tcp:host,1433, .\SQLEXPRESS, (localdb)) is SQL Server's
// alone; Server=…;Database=…;User Id=…;Password=… reads the same for
// MySqlConnector, so that is only possibly.
func (Dialect) Claim(rc *dialects.RawConn) dialects.Certainty {
	switch {
	case rc.Scheme == "sqlserver":
		return dialects.Surely
	case rc.Libpq, len(rc.Pairs) == 0:
		return dialects.Never
	}
	for _, p := range rc.Pairs {
		if _, ok := sqlClientKeys[p.Key]; !ok && !sqlClientSpecial[p.Key] {
			return dialects.Never
		}
	}
	for _, p := range rc.Pairs {
		if sqlServerOnlyKeys[p.Key] {
			return dialects.Surely
		}
	}
	server, hasServer := rc.Get(sqlServerServerKeys...)
	if hasServer && sqlServerOnlyServer(server) {
		return dialects.Surely
	}
	if port, ok := rc.Get("port"); ok {
		switch port {
		case "1433":
			return dialects.Surely
		case "3306", "5432":
			return dialects.Never
		}
	}
	if file, ok := rc.Get("data source"); ok && (dialects.HasSQLiteExtension(file) || file == ":memory:") {
		return dialects.Never // Microsoft.Data.Sqlite's Data Source=app.db
	}
	return dialects.Possibly
}

// sqlServerOnlyServer reports a server value in a form only SqlClient
// writes: a protocol prefix, a ",port", a "\instance", (local), (localdb).
func sqlServerOnlyServer(server string) bool {
	s := strings.ToLower(strings.TrimSpace(server))
	for _, prefix := range []string{"tcp:", "np:", "lpc:", "admin:", "(localdb)", "(local)"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	if strings.Contains(s, `\`) {
		return true
	}
	if _, port, ok := strings.Cut(s, ","); ok {
		if _, err := strconv.ParseUint(strings.TrimSpace(port), 10, 16); err == nil {
			return true
		}
	}
	return false
}

// sqlClientAuthentication maps SqlClient's Authentication values, folded to
// lower case without spaces, to go-mssqldb's fedauth values. "" is SQL
// Server's own login.
var sqlClientAuthentication = map[string]string{
	"sqlpassword":                                "",
	"activedirectorydefault":                     azuread.ActiveDirectoryDefault,
	"activedirectorymanagedidentity":             azuread.ActiveDirectoryManagedIdentity,
	"activedirectorymsi":                         azuread.ActiveDirectoryManagedIdentity,
	"activedirectoryserviceprincipal":            azuread.ActiveDirectoryServicePrincipal,
	"activedirectoryapplication":                 azuread.ActiveDirectoryServicePrincipal,
	"activedirectorypassword":                    azuread.ActiveDirectoryPassword,
	"activedirectoryworkloadidentity":            azuread.ActiveDirectoryWorkloadIdentity,
	"activedirectoryazcli":                       azuread.ActiveDirectoryAzCli,
	"activedirectoryenvironment":                 azuread.ActiveDirectoryEnvironment,
	"activedirectoryazurepipelines":              azuread.ActiveDirectoryAzurePipelines,
	"activedirectoryserviceprincipalaccesstoken": azuread.ActiveDirectoryServicePrincipalAccessToken,
}

// sqlClientInteractive are sign-ins that need a person at a browser or a
// terminal, which a pipeline or a cron job does not have.
var sqlClientInteractive = map[string]bool{
	"activedirectoryinteractive": true, "activedirectorydevicecodeflow": true, "activedirectorydevicecode": true,
	"activedirectoryintegrated": true,
}

func (s Dialect) ParseConn(raw string) (*dialects.Conn, error) {
	rc := dialects.NewRawConn(raw)
	var dsn string
	var warnings []string
	switch {
	case rc.Scheme == "sqlserver":
		dsn = rc.Raw
	case strings.Contains(rc.Raw, "=") && !rc.Libpq && !strings.Contains(rc.Raw, "://"):
		pairs, err := dialects.ParseADO(rc.Raw)
		if err != nil {
			return nil, err
		}
		if dsn, warnings, err = sqlClientToMSDSN(pairs); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: not a SQL Server connection string: use sqlserver://user:password@host:1433?database=app "+
			"or Server=host,1433;Database=app;User Id=…;Password=…", dialects.ErrConnString)
	}
	cfg, err := msdsn.Parse(dsn)
	secrets := sqlServerSecrets(raw, cfg.Parameters)
	if err != nil {
		return nil, fmt.Errorf("%w: SQL Server: %s", dialects.ErrConnString, dialects.Scrub(err.Error(), secrets))
	}
	fedauth := cfg.Parameters["fedauth"]
	c := &dialects.Conn{
		Dialect:  s,
		Driver:   "sqlserver",
		DSN:      dsn,
		Display:  sqlServerDisplay(cfg, fedauth),
		Secrets:  secrets,
		Warnings: warnings,

		ConnectTimeout: cfg.ConnTimeout,
		TimeoutSetting: "connection timeout",
	}
	if rc.Scheme != "sqlserver" {
		c.TimeoutSetting = "Connect Timeout"
	}
	if fedauth != "" {
		c.Driver = azuread.DriverName
		if _, err := azuread.NewConnector(dsn); err != nil {
			return nil, fmt.Errorf("%w: SQL Server Authentication=%s: %s", dialects.ErrConnString, fedauth, dialects.Scrub(err.Error(), secrets))
		}
	}
	return c, nil
}

// sqlClientToMSDSN rewrites an ADO.NET string's settings as a go-mssqldb
// string, every value quoted its way.
func sqlClientToMSDSN(pairs []dialects.Pair) (string, []string, error) {
	kv := map[string]string{}
	var warnings []string
	for _, p := range pairs {
		switch p.Key {
		case "integrated security", "trusted_connection":
			on, err := parseSQLClientBool(p.Value)
			if err != nil {
				return "", nil, fmt.Errorf("%w: %s=%s: use true or false", dialects.ErrConnString, p.Key, p.Shown())
			}
			if on && runtime.GOOS != "windows" {
				return "", nil, fmt.Errorf("%w: %s (Windows authentication) works only on Windows: "+
					"use a SQL login (User Id=…;Password=…) or Azure AD (Authentication=Active Directory Default)", dialects.ErrConnString, p.Key)
			}
			continue
		case "user instance":
			on, err := parseSQLClientBool(p.Value)
			if err != nil {
				return "", nil, fmt.Errorf("%w: %s=%s: use true or false", dialects.ErrConnString, p.Key, p.Shown())
			}
			if on {
				return "", nil, fmt.Errorf("%w: User Instance=True connects to a SQL Express instance started for the user, "+
					"which sessctl cannot start; connect to the server itself", dialects.ErrConnString)
			}
			continue
		case "attachdbfilename", "attach db filename", "extended properties", "initial file name":
			return "", nil, fmt.Errorf("%w: %s attaches a database file to LocalDB or SQL Express, which sessctl cannot do: "+
				"attach it once, then name it with Database=…", dialects.ErrConnString, p.Key)
		}
		to, ok := sqlClientKeys[p.Key]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("%w: %s is not a SQL Server setting sessctl knows; remove it or use a sqlserver:// URL", dialects.ErrConnString, p.Name())
		case to == "":
			warnings = append(warnings, fmt.Sprintf("ignoring SqlClient setting %q: it only concerns SqlClient itself", p.Key))
			continue
		case to == msdsn.Server:
			if err := checkSQLServerServer(p.Value); err != nil {
				return "", nil, err
			}
		case to == "fedauth" && p.Key == "authentication":
			folded := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(p.Value))
			if sqlClientInteractive[folded] {
				return "", nil, fmt.Errorf("%w: Authentication=%s needs a person at hand; sessctl runs unattended: "+
					"use Active Directory Default (az login, a managed or workload identity, or AZURE_* variables), "+
					"Active Directory Managed Identity or Active Directory Service Principal", dialects.ErrConnString, p.Value)
			}
			fedauth, ok := sqlClientAuthentication[folded]
			if !ok {
				return "", nil, fmt.Errorf("%w: Authentication=%q: use SqlPassword, Active Directory Default, "+
					"Active Directory Managed Identity, Active Directory Service Principal, Active Directory Password "+
					"or Active Directory Workload Identity", dialects.ErrConnString, p.Value)
			}
			if fedauth == "" {
				delete(kv, "fedauth")
				continue
			}
			kv[to] = fedauth
			continue
		case to == msdsn.ApplicationIntent && strings.EqualFold(p.Value, "readonly"):
			kv[to] = "ReadOnly" // go-mssqldb matches this spelling only
			continue
		}
		if to == msdsn.Server {
			kv[to] = unbracketServer(p.Value)
			continue
		}
		kv[to] = p.Value
	}
	// A string copied from an app means what it means there. SqlClient
	// encrypts, and checks the server's certificate, unless told otherwise;
	// go-mssqldb does not. And with Encrypt=False SqlClient encrypts only
	// the login, without checking the certificate, where go-mssqldb would
	// check it.
	switch encrypt, ok := kv[msdsn.Encrypt]; {
	case !ok:
		kv[msdsn.Encrypt] = "true"
	case sqlClientEncryptOff[strings.ToLower(strings.TrimSpace(encrypt))]:
		if _, ok := kv[msdsn.TrustServerCertificate]; !ok {
			kv[msdsn.TrustServerCertificate] = "true"
		}
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+`="`+strings.ReplaceAll(kv[k], `"`, `""`)+`"`)
	}
	return strings.Join(parts, ";"), warnings, nil
}

// unbracketServer is an ADO.NET Server value with the brackets of an IPv6
// address taken off ("tcp:[::1],1499" is "tcp:::1,1499"): SqlClient takes
// them, and go-mssqldb, which splits the port off at the ',', would look
// the brackets up as part of the host name.
func unbracketServer(v string) string {
	prefix, rest := "", strings.TrimSpace(v)
	if i := strings.Index(rest, ":"); i > 0 && !strings.HasPrefix(rest, "[") && strings.HasPrefix(rest[i+1:], "[") {
		prefix, rest = rest[:i+1], rest[i+1:]
	}
	if !strings.HasPrefix(rest, "[") {
		return v
	}
	end := strings.Index(rest, "]")
	if end < 0 || strings.ContainsAny(rest[1:end], ",\\") {
		return v
	}
	return prefix + rest[1:end] + rest[end+1:]
}

// sqlClientEncryptOff are the Encrypt values under which only the login is
// encrypted.
var sqlClientEncryptOff = map[string]bool{"false": true, "no": true, "optional": true, "0": true, "f": true}

// parseSQLClientBool reads true, false, yes, no and SSPI as SqlClient does.
func parseSQLClientBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "sspi":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// checkSQLServerServer refuses server forms go-mssqldb cannot reach from
// here: named pipes, shared memory and LocalDB are Windows-local.
func checkSQLServerServer(server string) error {
	s := strings.ToLower(strings.TrimSpace(server))
	switch {
	case strings.HasPrefix(s, "np:"), strings.HasPrefix(s, "lpc:"):
		return fmt.Errorf("%w: Server=%s uses named pipes or shared memory, which sessctl cannot; "+
			"enable TCP on the server and use Server=tcp:host,1433", dialects.ErrConnString, server)
	case strings.HasPrefix(s, "(localdb)"):
		return fmt.Errorf("%w: Server=%s is LocalDB, which answers only on a named pipe; "+
			"use a SQL Server (Express, Developer or a container) reachable over TCP", dialects.ErrConnString, server)
	}
	return nil
}

// sqlServerSecrets lists every form of every secret in raw and in the
// settings go-mssqldb read from it.
func sqlServerSecrets(raw string, params map[string]string) []string {
	out := dialects.SecretsOf(raw)
	var values []string
	for _, k := range sqlServerSecretKeys {
		values = append(values, params[k])
	}
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			values = append(values, p)
		}
	}
	if pairs, err := dialects.ParseADO(raw); err == nil {
		for _, p := range pairs {
			if to := sqlClientKeys[p.Key]; to == msdsn.Password {
				values = append(values, p.Value)
			}
		}
	}
	for _, v := range values {
		out = dialects.AddSecret(out, v, url.QueryEscape(v), url.PathEscape(v),
			strings.ReplaceAll(v, `"`, `""`), strings.ReplaceAll(v, `'`, `''`))
	}
	return out
}

// sqlServerDisplay is the connection as a sqlserver:// URL without secrets.
func sqlServerDisplay(cfg msdsn.Config, fedauth string) string {
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	u := url.URL{Scheme: "sqlserver", Host: host}
	if strings.Contains(host, ":") {
		u.Host = "[" + host + "]" // an IPv6 address
	}
	if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	if cfg.Port != 0 {
		u.Host = net.JoinHostPort(host, strconv.FormatUint(cfg.Port, 10))
	}
	if cfg.Instance != "" {
		u.Path = "/" + cfg.Instance
	}
	q := url.Values{}
	if cfg.Database != "" {
		q.Set("database", cfg.Database)
	}
	if fedauth != "" {
		q.Set("fedauth", fedauth)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a pool on a connector, go-mssqldb's or, for Azure AD, its
// azuread one, wrapped so that a certificate the client refuses is
// explained.
func (Dialect) Open(conn *dialects.Conn, _ bool) (*sql.DB, error) {
	var c driver.Connector
	var err error
	if conn.Driver == azuread.DriverName {
		c, err = azuread.NewConnector(conn.DSN)
	} else {
		c, err = mssql.NewConnector(conn.DSN)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: SQL Server: %s", dialects.ErrConnString, dialects.Scrub(err.Error(), conn.Secrets))
	}
	if mc, ok := c.(*mssql.Connector); ok && mc.Dialer == nil {
		keepAlive := 30 * time.Second // go-mssqldb's default dialer's
		if cfg, err := msdsn.Parse(conn.DSN); err == nil && cfg.KeepAlive != 0 {
			keepAlive = cfg.KeepAlive
		}
		mc.Dialer = watchedDialer{&net.Dialer{KeepAlive: keepAlive}}
	}
	return sql.OpenDB(explainingConnector{c}), nil
}

// explainingConnector adds to a failed connection what to change when the
// failure is TLS's, and ends a connection attempt when its context ends
// (see watchedDialer).
type explainingConnector struct{ driver.Connector }

func (c explainingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	w := &connectWatch{ctx: ctx}
	conn, err := c.Connector.Connect(context.WithValue(ctx, connectWatchKey{}, w))
	if !w.done() && err == nil {
		conn.Close()
		err = ctx.Err()
	}
	if err != nil {
		return nil, explainConnectError(err)
	}
	return conn, nil
}

// watchedDialer dials as go-mssqldb's own dialer does, and closes a
// connection whose login outlives the context of the Connect it is for:
// go-mssqldb reads the server's answers during login without regard to
// the context, forever when the string sets no connection timeout (a port
// that accepts connections and never answers).
type watchedDialer struct{ nd *net.Dialer }

// connectWatchKey holds, in the context go-mssqldb passes to the dialer,
// the *connectWatch of the Connect the dial is for.
type connectWatchKey struct{}

func (d watchedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.nd.DialContext(ctx, network, addr)
	if err == nil {
		if w, ok := ctx.Value(connectWatchKey{}).(*connectWatch); ok {
			w.watch(c)
		}
	}
	return c, err
}

// connectWatch closes the connections dialed for one Connect if its
// context ends before Connect returns.
type connectWatch struct {
	ctx   context.Context
	mu    sync.Mutex
	stops []func() bool
}

func (w *connectWatch) watch(c net.Conn) {
	stop := context.AfterFunc(w.ctx, func() { c.Close() })
	w.mu.Lock()
	w.stops = append(w.stops, stop)
	w.mu.Unlock()
}

// done stops watching; false when the context ended first and closed a
// connection.
func (w *connectWatch) done() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ok := true
	for _, stop := range w.stops {
		ok = stop() && ok
	}
	return ok
}

// certificateError is a TLS failure with what to do about it.
type certificateError struct {
	err  error
	hint string
}

func (e *certificateError) Error() string { return e.err.Error() + ": " + e.hint }

func (e *certificateError) Unwrap() error { return e.err }

func isCertificateError(err error) bool {
	var ce *certificateError
	return errors.As(err, &ce)
}

func isAzureADError(err error) bool {
	var ae *azidentity.AuthenticationFailedError
	return errors.As(err, &ae)
}

// explainConnectError names the setting to change when the TLS handshake
// failed. go-mssqldb does not always keep the x509 error's type, so its
// text is read too.
func explainConnectError(err error) error {
	msg := err.Error()
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	tlsFailed := strings.Contains(msg, "TLS Handshake failed") || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
	if !tlsFailed {
		return err
	}
	var hint string
	switch {
	case errors.As(err, &unknown), strings.Contains(msg, "certificate signed by unknown authority"):
		hint = "the server's certificate is not signed by an authority this machine trusts (SQL Server's own certificate is self-signed): " +
			"install the server's CA, or give it with Certificate=/path/to/ca.pem; " +
			"for a development server only, set TrustServerCertificate=True"
	case errors.As(err, &host), strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "doesn't contain any IP SANs"):
		hint = "the server's certificate is for another name than the one you connect to: " +
			"connect by a name on the certificate, or set HostNameInCertificate to it"
	case errors.As(err, &invalid), strings.Contains(msg, "certificate has expired"), strings.Contains(msg, "not yet valid"):
		hint = "the server's certificate is not valid (expired, or not for serving): renew it; " +
			"for a development server only, set TrustServerCertificate=True"
	case strings.Contains(msg, "x509:"), strings.Contains(msg, "certificate"):
		hint = "the server's certificate was refused: check Certificate, HostNameInCertificate and TrustServerCertificate"
	default:
		hint = "check Encrypt (True, False or Strict) and TrustServerCertificate; " +
			"a server older than SQL Server 2016 may need an update to speak TLS 1.2"
	}
	return &certificateError{err: err, hint: hint}
}

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "SqlClient" }

func (Dialect) KnowsSetting(key string) bool {
	_, ok := sqlClientKeys[key]
	return ok || sqlClientSpecial[key]
}
