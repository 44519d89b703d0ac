package postgres

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "Npgsql" }

func (Dialect) KnowsSetting(key string) bool { _, ok := npgsqlKeys[key]; return ok }

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

// npgsqlToLibpq rewrites Npgsql's Key=Value; settings as a libpq string for
// pgx's own parser. Every setting is translated, refused, or, if it
// changes neither what is written nor who connects where, ignored with a
// warning.
func npgsqlToLibpq(pairs []dialects.Pair) (string, []string, error) {
	s := npgsqlSettings{kv: map[string]string{}}
	for _, pr := range pairs {
		if err := s.add(pr); err != nil {
			return "", nil, err
		}
	}
	if err := s.addHosts(); err != nil {
		return "", nil, err
	}
	words := make([]string, 0, len(s.kv))
	for _, k := range sortedKeys(s.kv) {
		words = append(words, k+"="+quoteLibpq(s.kv[k]))
	}
	return strings.Join(words, " "), s.warnings, nil
}

// npgsqlSettings are an Npgsql string's settings as npgsqlToLibpq has read
// them so far: libpq's keywords and values, the warnings for those
// ignored, and Host and Port, which become libpq's lists only together.
type npgsqlSettings struct {
	kv               map[string]string
	warnings         []string
	host, port       string
	hasHost, hasPort bool
}

// add translates one setting, refuses it, or ignores it with a warning.
func (s *npgsqlSettings) add(pr dialects.Pair) error {
	to, ok := npgsqlKeys[pr.Key]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s is not an Npgsql setting sessctl knows; remove it or use a postgres:// URL", dialects.ErrConnString, pr.Name())
	case to == "":
		why := npgsqlIgnoredWhy[pr.Key]
		if why == "" {
			why = "it only concerns Npgsql itself"
		}
		s.warnings = append(s.warnings, fmt.Sprintf("ignoring Npgsql setting %q: %s", pr.Key, why))
		return nil
	case to == "check certificate revocation":
		on, err := strconv.ParseBool(strings.TrimSpace(pr.Value))
		if err != nil {
			return fmt.Errorf("%w: Check Certificate Revocation %s: use true or false", dialects.ErrConnString, pr.Shown())
		}
		if on {
			return fmt.Errorf("%w: Check Certificate Revocation=true: sessctl cannot check certificate revocation lists; "+
				"remove it to connect without that check", dialects.ErrConnString)
		}
		return nil
	case to == "gssencmode":
		switch strings.ToLower(strings.TrimSpace(pr.Value)) {
		case "disable", "prefer":
			s.warnings = append(s.warnings, fmt.Sprintf("ignoring Npgsql setting %q=%s: sessctl does not use GSS encryption, "+
				"so it connects as Npgsql does when the server offers none (SSL Mode still applies)", pr.Key, pr.Value))
			return nil
		}
		return fmt.Errorf("%w: GSS Encryption Mode=%s: sessctl cannot encrypt with GSSAPI; use SSL Mode=Require (or VerifyFull) instead", dialects.ErrConnString, pr.Shown())
	case to == "host":
		s.host, s.hasHost = pr.Value, true
		return nil
	case to == "port":
		if _, err := strconv.ParseUint(strings.TrimSpace(pr.Value), 10, 16); err != nil {
			return fmt.Errorf("%w: Port %s is not a port number", dialects.ErrConnString, pr.Shown())
		}
		s.port, s.hasPort = strings.TrimSpace(pr.Value), true
		return nil
	}
	v, err := libpqValue(to, pr)
	if err != nil {
		return err
	}
	s.kv[to] = v
	return nil
}

// libpqValue is pr's value as libpq's keyword to spells it.
func libpqValue(to string, pr dialects.Pair) (string, error) {
	switch to {
	case "sslmode":
		m, ok := npgsqlSSLModes[strings.ToLower(strings.ReplaceAll(pr.Value, " ", ""))]
		if !ok {
			return "", fmt.Errorf("%w: SSL Mode %s: use Disable, Allow, Prefer, Require, VerifyCA or VerifyFull", dialects.ErrConnString, pr.Shown())
		}
		return m, nil
	case "channel_binding", "sslnegotiation":
		return strings.ToLower(strings.TrimSpace(pr.Value)), nil // libpq's and pgx's spelling
	case "require_auth":
		return npgsqlRequireAuth(pr.Value)
	case "target_session_attrs":
		return npgsqlTargetSessionAttrs(pr.Value)
	}
	return pr.Value, nil
}

// addHosts adds Host and Port as libpq's host and port lists.
func (s *npgsqlSettings) addHosts() error {
	if s.hasHost {
		hosts, ports, err := npgsqlHosts(s.host, s.port)
		if err != nil {
			return err
		}
		s.kv["host"] = hosts
		if ports != "" {
			s.kv["port"] = ports
		}
	} else if s.hasPort {
		s.kv["port"] = s.port
	}
	return nil
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

// quoteLibpq quotes a value for a libpq key=value string: one with any of
// the white space that ends a value (libpq's and pgx's: space, \t, \n, \r,
// \v and \f), a quote or a backslash.
func quoteLibpq(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// sortedKeys returns m's keys in order, for stable messages.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
