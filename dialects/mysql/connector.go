package mysql

import (
	"cmp"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
)

// connectorKeys translates MySqlConnector's setting names (lower case,
// as parseADO gives them) to what sessctl does with them. An empty
// translation is a setting that only concerns MySqlConnector itself
// (pooling, how it maps types) and is dropped with a warning.
var connectorKeys = map[string]string{
	"server": "server", "host": "server", "data source": "server", "datasource": "server",
	"address": "server", "addr": "server", "network address": "server",
	"port":    "port",
	"user id": "user", "userid": "user", "username": "user", "uid": "user", "user name": "user", "user": "user",
	"password": "password", "pwd": "password",
	"database": "database", "initial catalog": "database",
	"connection protocol": "protocol", "connectionprotocol": "protocol", "protocol": "protocol",
	"pipe name": "pipe", "pipename": "pipe", "pipe": "pipe",
	"ssl mode": "sslmode", "sslmode": "sslmode",
	"ssl ca": "sslca", "sslca": "sslca", "ssl-ca": "sslca", "cacertificatefile": "sslca", "ca certificate file": "sslca",
	"ssl cert": "sslcert", "sslcert": "sslcert", "ssl-cert": "sslcert",
	"ssl key": "sslkey", "sslkey": "sslkey", "ssl-key": "sslkey",
	"certificate file": "pfx", "certificatefile": "pfx",
	"certificate password": "pfxpassword", "certificatepassword": "pfxpassword",
	"certificate store location": "certstore", "certificatestorelocation": "certstore",
	"certificate thumbprint": "certstore", "certificatethumbprint": "certstore", "certificate thumb print": "certstore",
	"connection timeout": "timeout", "connectiontimeout": "timeout", "connect timeout": "timeout",
	"use compression": "compress", "usecompression": "compress", "compress": "compress",
	// go-sql-driver fetches the server's RSA key when it needs it, as
	// AllowPublicKeyRetrieval=true lets MySqlConnector do.
	"allow public key retrieval": "accepted", "allowpublickeyretrieval": "accepted",
	// MySqlConnector's own behaviour: nothing to translate.
	"tls version": "tlsversion", "tlsversion": "tlsversion", "tls-version": "tlsversion",
	"tls cipher suites": "refuse", "tlsciphersuites": "refuse",
	"server rsa public key file": "serverpubkey", "serverrsapublickeyfile": "serverpubkey",
	"pooling": "", "connection lifetime": "", "connectionlifetime": "", "connection reset": "", "connectionreset": "",
	"defer connection reset": "", "deferconnectionreset": "", "connection idle ping time": "", "connectionidlepingtime": "",
	"connection idle timeout": "", "connectionidletimeout": "", "minimum pool size": "", "min pool size": "",
	"minimumpoolsize": "", "minpoolsize": "", "maximum pool size": "", "max pool size": "", "maximumpoolsize": "",
	"maxpoolsize": "", "dns check interval": "", "dnscheckinterval": "", "load balance": "", "loadbalance": "",
	"allow load local infile": "", "allowloadlocalinfile": "", "allow user variables": "", "allowuservariables": "",
	"allow zero datetime": "", "allowzerodatetime": "", "application name": "", "applicationname": "",
	"auto enlist": "", "autoenlist": "", "cancellation timeout": "", "cancellationtimeout": "",
	"character set": "", "charset": "", "characterset": "", "convert zero datetime": "", "convertzerodatetime": "",
	"datetime kind": "", "datetimekind": "", "default command timeout": "", "defaultcommandtimeout": "",
	"command timeout": "", "force synchronous": "", "forcesynchronous": "", "guid format": "", "guidformat": "",
	"ignore command transaction": "", "ignorecommandtransaction": "", "ignore prepare": "", "ignoreprepare": "",
	"interactive session": "", "interactivesession": "", "interactive": "", "keep alive": "", "keepalive": "",
	"no backslash escapes": "", "nobackslashescapes": "", "old guids": "", "oldguids": "",
	"persist security info": "", "persistsecurityinfo": "", "pipelining": "",
	"server redirection mode": "", "serverredirectionmode": "", "server spn": "", "serverspn": "", "treat tiny as boolean": "",
	"treattinyasboolean": "", "use affected rows": "", "useaffectedrows": "", "use xa transactions": "",
	"usexatransactions": "",
}

// ignoredWhy says why sessctl may ignore a MySqlConnector setting:
// it changes neither what is written nor who connects where.
var ignoredWhy = map[string]string{
	"character set": "sessctl speaks utf8mb4, in which every name it writes is what was typed",
	"charset":       "sessctl speaks utf8mb4, in which every name it writes is what was typed",
	"characterset":  "sessctl speaks utf8mb4, in which every name it writes is what was typed",
	"server spn":    "it names the server for Kerberos logins, which sessctl does not make",
	"serverspn":     "it names the server for Kerberos logins, which sessctl does not make",
	"load balance":  "sessctl connects to the first server listed",
	"loadbalance":   "sessctl connects to the first server listed",
}

// connectorOnly are settings that neither SqlClient nor Npgsql has:
// a string with one of them is for MySQL.
var connectorOnly = []string{
	"connection protocol", "connectionprotocol", "protocol", "pipe name", "pipename",
	"sslca", "ssl-ca", "ssl ca", "cacertificatefile", "ca certificate file", "sslcert", "ssl-cert", "ssl cert",
	"sslkey", "ssl-key", "certificate file", "certificatefile", "certificate password", "certificatepassword",
	"certificate store location", "certificatestorelocation", "certificate thumbprint", "certificatethumbprint",
	"tls version", "tlsversion", "tls-version", "tls cipher suites", "tlsciphersuites",
	"allow public key retrieval", "allowpublickeyretrieval", "allow user variables", "allowuservariables",
	"allow zero datetime", "allowzerodatetime", "convert zero datetime", "convertzerodatetime",
	"allow load local infile", "allowloadlocalinfile", "character set", "charset", "characterset",
	"datetime kind", "datetimekind", "default command timeout", "defaultcommandtimeout",
	"guid format", "guidformat", "old guids", "oldguids", "treat tiny as boolean", "treattinyasboolean",
	"use affected rows", "useaffectedrows", "use compression", "usecompression", "compress",
	"ignore prepare", "ignoreprepare", "ignore command transaction", "ignorecommandtransaction",
	"no backslash escapes", "nobackslashescapes", "server rsa public key file", "serverrsapublickeyfile",
	"connection reset", "connectionreset", "connection idle timeout", "connectionidletimeout",
	"dns check interval", "dnscheckinterval", "load balance", "loadbalance", "use xa transactions",
	"usexatransactions", "force synchronous", "forcesynchronous", "interactive session", "interactivesession",
	"server redirection mode", "serverredirectionmode", "minimumpoolsize", "maximumpoolsize",
}

// connectorSSLModes are MySqlConnector's SslMode values. The first
// three are MySQL's alone: Npgsql spells them Disable, Prefer, Require.
var connectorSSLModes = map[string]string{
	"none": "false", "disabled": "false", "preferred": "preferred", "required": "skip-verify",
	"verifyca": "verify-ca", "verifyfull": "true",
}

func connectorClaim(rc *dialects.RawConn) dialects.Certainty {
	if port, ok := rc.Get("port"); ok {
		switch port {
		case "3306":
			return dialects.Surely
		case "5432", "1433":
			return dialects.Never
		}
	}
	if mode, ok := rc.Get("ssl mode", "sslmode"); ok {
		switch strings.ToLower(mode) {
		case "none", "disabled", "preferred", "required":
			return dialects.Surely
		}
	}
	for _, k := range connectorOnly {
		if _, ok := rc.Get(k); ok {
			return dialects.Surely
		}
	}
	// A string that names neither a user nor a database, such as SQLite's
	// "Data Source=app", is not one a MySQL app would use.
	for _, p := range rc.Pairs {
		if to := connectorKeys[p.Key]; to == "user" || to == "database" {
			return dialects.Possibly
		}
	}
	return dialects.Never
}

// isConnector reports whether rc reads as Key=Value;… pairs whose
// every key MySqlConnector knows. (A DSN with parameters reads as pairs
// too, with keys that no client knows.)
func isConnector(rc *dialects.RawConn) bool {
	for _, p := range rc.Pairs {
		if _, ok := connectorKeys[p.Key]; !ok {
			return false
		}
	}
	return len(rc.Pairs) > 0
}

// connectorConfig translates a MySqlConnector string. It returns the
// secrets that only this form has (a certificate password), for masking.
func connectorConfig(pairs []dialects.Pair) (*gomysql.Config, []string, []string, error) {
	cfg := gomysql.NewConfig()
	cs := connectorSettings{sslMode: "preferred"} // MySqlConnector's default
	for _, p := range pairs {
		if err := cs.apply(cfg, p); err != nil {
			return nil, nil, nil, err
		}
	}
	if cs.cert != "" {
		return nil, nil, nil, fmt.Errorf("%w: CertificateFile: sessctl cannot read PKCS #12 files; convert it to PEM "+
			"(openssl pkcs12 -in cert.pfx -out cert.pem -nodes) and use SslCert and SslKey", dialects.ErrConnString)
	}
	if err := connectorAddress(cfg, cs.host, cs.port, cs.protocol, cs.pipe, &cs.warnings); err != nil {
		return nil, nil, nil, err
	}
	if err := connectorTLS(cfg, cs.sslMode, cs.sslCA, cs.sslCert, cs.sslKey, cs.minV, cs.maxV); err != nil {
		return nil, nil, nil, err
	}
	return cfg, cs.warnings, cs.secrets, nil
}

// connectorSettings are what a MySqlConnector string says that
// connectorConfig can only write into a Config once it has read them all:
// where to connect, and how to secure it.
type connectorSettings struct {
	warnings, secrets            []string
	host, port, protocol, pipe   string
	sslMode                      string
	sslCA, sslCert, sslKey, cert string
	minV, maxV                   uint16
}

// apply reads one setting, into cfg where it can go straight away,
// into cs otherwise.
func (cs *connectorSettings) apply(cfg *gomysql.Config, p dialects.Pair) error {
	to, ok := connectorKeys[p.Key]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s is not a MySqlConnector setting sessctl knows; remove it or use a mysql:// URL", dialects.ErrConnString, p.Name())
	case to == "":
		why := ignoredWhy[p.Key]
		if why == "" {
			why = "it only concerns MySqlConnector itself"
		}
		cs.warnings = append(cs.warnings, fmt.Sprintf("ignoring MySqlConnector setting %q: %s", p.Key, why))
	case to == "refuse":
		return fmt.Errorf("%w: %q: sessctl cannot restrict TLS cipher suites (it negotiates Go's); remove it", dialects.ErrConnString, p.Key)
	case to == "tlsversion":
		var err error
		if cs.minV, cs.maxV, err = tlsVersions(p.Value); err != nil {
			return err
		}
	case to == "serverpubkey":
		return serverPubKey(cfg, p.Value)
	case to == "server":
		cs.host = p.Value
	case to == "port":
		cs.port = p.Value
	case to == "user":
		cfg.User = p.Value
	case to == "password":
		cfg.Passwd = p.Value
	case to == "database":
		cfg.DBName = p.Value
	case to == "protocol":
		cs.protocol = strings.ToLower(p.Value)
	case to == "pipe":
		cs.pipe = p.Value
	case to == "sslmode":
		m, ok := connectorSSLModes[strings.ToLower(strings.ReplaceAll(p.Value, " ", ""))]
		if !ok {
			return fmt.Errorf("%w: SslMode %s: use None, Preferred, Required, VerifyCA or VerifyFull", dialects.ErrConnString, p.Shown())
		}
		cs.sslMode = m
	case to == "sslca":
		cs.sslCA = p.Value
	case to == "sslcert":
		cs.sslCert = p.Value
	case to == "sslkey":
		cs.sslKey = p.Value
	case to == "pfx":
		cs.cert = p.Value
	case to == "pfxpassword":
		cs.secrets = dialects.AddSecret(cs.secrets, p.Value)
	case to == "certstore":
		if p.Value != "" && !strings.EqualFold(p.Value, "none") {
			return fmt.Errorf("%w: %q: sessctl cannot read the Windows certificate store; export the client certificate as PEM and use SslCert and SslKey", dialects.ErrConnString, p.Key)
		}
	case to == "timeout":
		s, err := strconv.ParseUint(p.Value, 10, 31)
		if err != nil {
			return fmt.Errorf("%w: %s %s is not a number of seconds", dialects.ErrConnString, p.Key, p.Shown())
		}
		cfg.Timeout = time.Duration(s) * time.Second
	case to == "compress":
		return applyCompress(cfg, p)
	}
	return nil
}

// applyCompress reads UseCompression.
func applyCompress(cfg *gomysql.Config, p dialects.Pair) error {
	on, err := strconv.ParseBool(p.Value)
	if err != nil {
		return fmt.Errorf("%w: %s %s: use true or false", dialects.ErrConnString, p.Key, p.Shown())
	}
	if err := cfg.Apply(gomysql.EnableCompression(on)); err != nil {
		return fmt.Errorf("%w: %s: %v", dialects.ErrConnString, p.Key, err)
	}
	return nil
}

// tlsVersions reads MySqlConnector's TlsVersion, a list of the TLS
// versions it may use (Tls1.2, TLS 1.3, TLSv1.2, …), as the lowest and
// highest.
func tlsVersions(v string) (minV, maxV uint16, err error) {
	versions := map[string]uint16{"10": tls.VersionTLS10, "11": tls.VersionTLS11, "12": tls.VersionTLS12, "13": tls.VersionTLS13}
	for _, part := range strings.Split(v, ",") {
		k := strings.ToLower(strings.NewReplacer(" ", "", ".", "", "v", "").Replace(part))
		ver, ok := versions[strings.TrimPrefix(k, "tls")]
		if !ok || !strings.HasPrefix(k, "tls") {
			return 0, 0, fmt.Errorf("%w: TlsVersion %s: use a list of Tls1.2 and Tls1.3 (or Tls1.0, Tls1.1)", dialects.ErrConnString, dialects.ShowValue(v))
		}
		if minV == 0 || ver < minV {
			minV = ver
		}
		maxV = max(maxV, ver)
	}
	return minV, maxV, nil
}

// serverPubKey makes cfg encrypt the password for the server's RSA
// key in the PEM file at path (MySqlConnector's ServerRsaPublicKeyFile),
// rather than fetching the key from the server.
func serverPubKey(cfg *gomysql.Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: ServerRsaPublicKeyFile: %v", dialects.ErrConnString, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("%w: ServerRsaPublicKeyFile %s holds no PEM key", dialects.ErrConnString, path)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		if k, err1 := x509.ParsePKCS1PublicKey(block.Bytes); err1 == nil {
			key, err = k, nil
		}
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if err != nil || !ok {
		return fmt.Errorf("%w: ServerRsaPublicKeyFile %s holds no RSA public key", dialects.ErrConnString, path)
	}
	h := sha256.Sum256(block.Bytes)
	name := "sessctl-" + hex.EncodeToString(h[:8])
	gomysql.RegisterServerPubKey(name, rsaKey)
	cfg.ServerPubKey = name
	return nil
}

// connectorAddress sets where cfg connects: MySqlConnector takes a
// list of hosts, or a socket path as the server, and a separate port.
func connectorAddress(cfg *gomysql.Config, host, port, protocol, pipe string, warnings *[]string) error {
	switch protocol {
	case "", "socket", "tcp":
	case "unix":
		cfg.Net = "unix"
	default:
		return fmt.Errorf("%w: Protocol %s: sessctl connects by TCP or a Unix socket only", dialects.ErrConnString, dialects.ShowValue(protocol))
	}
	if pipe != "" {
		*warnings = append(*warnings, "ignoring Pipe Name: sessctl does not use named pipes")
	}
	if first, _, many := strings.Cut(host, ","); many {
		*warnings = append(*warnings, fmt.Sprintf("Server lists several hosts: sessctl connects to the first, %s", strings.TrimSpace(first)))
		host = strings.TrimSpace(first)
	}
	if host == "" {
		host = "localhost" // MySqlConnector's default
	}
	if strings.HasPrefix(host, "/") || cfg.Net == "unix" {
		cfg.Net, cfg.Addr = "unix", host
		return nil
	}
	if port == "" {
		port = "3306"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]") // [::1]: an IPv6 address
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%w: Port %s is not a port number", dialects.ErrConnString, dialects.ShowValue(port))
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	return nil
}

// connectorTLS sets cfg's TLS as MySqlConnector's SslMode means it.
// A mode that needs a CA file or client certificate gets a TLS config of
// its own, registered under a name derived from its settings so that the
// DSN can name it.
func connectorTLS(cfg *gomysql.Config, mode, caFile, certFile, keyFile string, minV, maxV uint16) error {
	if caFile == "" && certFile == "" && keyFile == "" && mode != "verify-ca" && minV == 0 {
		cfg.TLSConfig = mode
		return nil
	}
	if mode == "false" {
		cfg.TLSConfig = mode
		return nil
	}
	tc := &tls.Config{MinVersion: cmp.Or(minV, tls.VersionTLS12), MaxVersion: maxV}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("%w: SslCa: %v", dialects.ErrConnString, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%w: SslCa %s holds no PEM certificate", dialects.ErrConnString, caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return fmt.Errorf("%w: SslCert and SslKey go together", dialects.ErrConnString)
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("%w: SslCert and SslKey: %v", dialects.ErrConnString, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	switch mode {
	case "preferred", "skip-verify":
		tc.InsecureSkipVerify = true
		cfg.AllowFallbackToPlaintext = mode == "preferred"
	case "verify-ca":
		// The chain is checked, the host name is not.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = verifyChain(tc.RootCAs)
	case "true":
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			tc.ServerName = host
		}
	}
	h := sha256.Sum256([]byte(strings.Join([]string{mode, caFile, certFile, keyFile, cfg.Addr, strconv.Itoa(int(minV)), strconv.Itoa(int(maxV))}, "\x00")))
	name := "sessctl-" + hex.EncodeToString(h[:8])
	if err := gomysql.RegisterTLSConfig(name, tc); err != nil {
		return fmt.Errorf("%w: TLS settings: %v", dialects.ErrConnString, err)
	}
	cfg.TLSConfig = name
	return nil
}

// verifyChain checks the server's certificate chain against roots (the
// system's when nil) without checking the host name: SslMode=VerifyCA.
func verifyChain(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("the server sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := certs[0].Verify(opts)
		return err
	}
}
