package sqlserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"

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

// onlyKeys are settings of SqlClient (or go-mssqldb) that no
// Npgsql, MySqlConnector or SQLite string has: their presence settles the
// dialect.
var onlyKeys = map[string]bool{
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

// secretKeys are go-mssqldb's settings whose values are secrets.
var secretKeys = []string{msdsn.Password, msdsn.ChangePassword, "clientassertion", "userassertion", "systemtoken"}

var serverKeys = []string{"server", "data source", "address", "addr", "network address"}

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
		if onlyKeys[p.Key] {
			return dialects.Surely
		}
	}
	server, hasServer := rc.Get(serverKeys...)
	if hasServer && onlyServerForm(server) {
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

// onlyServerForm reports a server value in a form only SqlClient
// writes: a protocol prefix, a ",port", a "\instance", (local), (localdb).
func onlyServerForm(server string) bool {
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

// sqlClientToMSDSN rewrites an ADO.NET string's settings as a go-mssqldb
// string, every value quoted its way.
func sqlClientToMSDSN(pairs []dialects.Pair) (string, []string, error) {
	kv := map[string]string{}
	var warnings []string
	for _, p := range pairs {
		if handled, err := byHand(p); handled || err != nil {
			if err != nil {
				return "", nil, err
			}
			continue
		}
		to, ok := sqlClientKeys[p.Key]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("%w: %s is not a SQL Server setting sessctl knows; remove it or use a sqlserver:// URL", dialects.ErrConnString, p.Name())
		case to == "":
			warnings = append(warnings, fmt.Sprintf("ignoring SqlClient setting %q: it only concerns SqlClient itself", p.Key))
		case to == msdsn.Server:
			if err := checkServer(p.Value); err != nil {
				return "", nil, err
			}
			kv[to] = unbracketServer(p.Value)
		case to == "fedauth" && p.Key == "authentication":
			fedauth, err := fedauthOf(p.Value)
			if err != nil {
				return "", nil, err
			}
			if fedauth == "" {
				delete(kv, "fedauth")
				continue
			}
			kv[to] = fedauth
		case to == msdsn.ApplicationIntent && strings.EqualFold(p.Value, "readonly"):
			kv[to] = "ReadOnly" // go-mssqldb matches this spelling only
		default:
			kv[to] = p.Value
		}
	}
	encryptAsSQLClient(kv)
	return joinMSDSN(kv), warnings, nil
}

// byHand checks the settings sqlClientSpecial lists, which go-mssqldb has
// no name for: handled is true for one of them, and err says why sessctl
// cannot do what it asks.
func byHand(p dialects.Pair) (handled bool, err error) {
	switch p.Key {
	case "integrated security", "trusted_connection":
		on, err := parseSQLClientBool(p.Value)
		if err != nil {
			return true, fmt.Errorf("%w: %s=%s: use true or false", dialects.ErrConnString, p.Key, p.Shown())
		}
		if on && runtime.GOOS != "windows" {
			return true, fmt.Errorf("%w: %s (Windows authentication) works only on Windows: "+
				"use a SQL login (User Id=…;Password=…) or Azure AD (Authentication=Active Directory Default)", dialects.ErrConnString, p.Key)
		}
		return true, nil
	case "user instance":
		on, err := parseSQLClientBool(p.Value)
		if err != nil {
			return true, fmt.Errorf("%w: %s=%s: use true or false", dialects.ErrConnString, p.Key, p.Shown())
		}
		if on {
			return true, fmt.Errorf("%w: User Instance=True connects to a SQL Express instance started for the user, "+
				"which sessctl cannot start; connect to the server itself", dialects.ErrConnString)
		}
		return true, nil
	case "attachdbfilename", "attach db filename", "extended properties", "initial file name":
		return true, fmt.Errorf("%w: %s attaches a database file to LocalDB or SQL Express, which sessctl cannot do: "+
			"attach it once, then name it with Database=…", dialects.ErrConnString, p.Key)
	}
	return false, nil
}

// fedauthOf is go-mssqldb's fedauth for SqlClient's Authentication value:
// "" for SQL Server's own login.
func fedauthOf(value string) (string, error) {
	folded := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(value))
	if sqlClientInteractive[folded] {
		return "", fmt.Errorf("%w: Authentication=%s needs a person at hand; sessctl runs unattended: "+
			"use Active Directory Default (az login, a managed or workload identity, or AZURE_* variables), "+
			"Active Directory Managed Identity or Active Directory Service Principal", dialects.ErrConnString, value)
	}
	fedauth, ok := sqlClientAuthentication[folded]
	if !ok {
		return "", fmt.Errorf("%w: Authentication=%q: use SqlPassword, Active Directory Default, "+
			"Active Directory Managed Identity, Active Directory Service Principal, Active Directory Password "+
			"or Active Directory Workload Identity", dialects.ErrConnString, value)
	}
	return fedauth, nil
}

// encryptAsSQLClient makes a string copied from an app mean what it means
// there. SqlClient encrypts, and checks the server's certificate, unless
// told otherwise; go-mssqldb does not. And with Encrypt=False SqlClient
// encrypts only the login, without checking the certificate, where
// go-mssqldb would check it.
func encryptAsSQLClient(kv map[string]string) {
	switch encrypt, ok := kv[msdsn.Encrypt]; {
	case !ok:
		kv[msdsn.Encrypt] = "true"
	case sqlClientEncryptOff[strings.ToLower(strings.TrimSpace(encrypt))]:
		if _, ok := kv[msdsn.TrustServerCertificate]; !ok {
			kv[msdsn.TrustServerCertificate] = "true"
		}
	}
}

// joinMSDSN writes go-mssqldb's settings in order, each value quoted.
func joinMSDSN(kv map[string]string) string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+`="`+strings.ReplaceAll(kv[k], `"`, `""`)+`"`)
	}
	return strings.Join(parts, ";")
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

// checkServer refuses server forms go-mssqldb cannot reach from
// here: named pipes, shared memory and LocalDB are Windows-local.
func checkServer(server string) error {
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

// secretsIn lists every form of every secret in raw and in the
// settings go-mssqldb read from it.
func secretsIn(raw string, params map[string]string) []string {
	out := dialects.SecretsOf(raw)
	var values []string
	for _, k := range secretKeys {
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

// displayURL is the connection as a sqlserver:// URL without secrets.
func displayURL(cfg msdsn.Config, fedauth string) string {
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
