package registry

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

// Parse parses raw with the dialect named dialect, or, when dialect is "",
// with the one dialect that the form of raw points to.
func Parse(raw, dialect string) (*dialects.Conn, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: none given: pass it as the first argument or set SESSCTL_CONNECTION", dialects.ErrConnString)
	}
	if dialect != "" {
		d, err := Lookup(dialect)
		if err != nil {
			return nil, err
		}
		conn, err := d.ParseConn(raw)
		return conn, masked(err, raw)
	}
	d, err := Detect(raw)
	if err != nil {
		return nil, err
	}
	conn, err := d.ParseConn(raw)
	return conn, masked(err, raw)
}

// masked masks, in the quoted values of err's message, every secret
// SecretsOf finds in raw, and nothing of sessctl's own words. The parsers
// quote no value that holds a secret (see pair.shown), so this is a net
// under them: a string with a typo ("Port=5432 password=…", a ';'
// missing) has the password inside another setting's value.
func masked(err error, raw string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	secrets := dialects.SecretsOf(raw)
	m := quotedRE.ReplaceAllStringFunc(msg, func(q string) string { return dialects.Scrub(q, secrets) })
	if m != msg {
		return &dialects.MaskedError{Msg: m, Err: err}
	}
	return err
}

// quotedRE matches a value as %q quotes it.
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// Detect returns the one dialect whose connection-string form raw has. An
// unrecognised or ambiguous string is an error that says to pass --dialect.
func Detect(raw string) (dialects.Dialect, error) {
	rc := dialects.NewRawConn(raw)
	var sure, maybe []string
	for _, name := range List() {
		switch registry[name].Claim(rc) {
		case dialects.Surely:
			sure = append(sure, name)
		case dialects.Possibly:
			maybe = append(maybe, name)
		}
	}
	candidates := sure
	if len(candidates) == 0 {
		candidates = maybe
	}
	if len(candidates) == 0 && len(rc.Pairs) > 0 {
		return detectWithUnknown(rc)
	}
	if len(candidates) == 0 && rc.QuoteSecret {
		return nil, dialects.ErrQuoteSecret
	}
	switch len(candidates) {
	case 1:
		return registry[candidates[0]], nil
	case 0:
		return nil, fmt.Errorf("%w not recognised: expected a URL (postgres://, sqlserver://, mysql://, sqlite:), "+
			"an ADO.NET or Npgsql string (Host=…;Database=…), a libpq string (host=… dbname=…), "+
			"a MySQL DSN (user:pass@tcp(host:3306)/db) or a SQLite file path; or pass --dialect", dialects.ErrConnString)
	default:
		flags := make([]string, len(candidates))
		for i, c := range candidates {
			flags[i] = "--dialect " + c
		}
		return nil, fmt.Errorf("%w is ambiguous: it could be for %s; pass %s",
			dialects.ErrConnString, strings.Join(candidates, " or "), strings.Join(flags, " or "))
	}
}

// adoForm is the dialect called name, where it reads Key=Value;… strings.
func adoForm(name string) (dialects.ADOForm, bool) {
	f, ok := registry[name].(dialects.ADOForm)
	return f, ok
}

// detectWithUnknown reads a Key=Value;… string that no dialect claims
// because it has a setting none of them knows (a typo, or a setting
// sessctl does not take): the dialect that would claim it without its
// unknown settings is the one it is for, and its ParseConn names the
// setting, as it does under --dialect. When several would, the error
// names the setting.
func detectWithUnknown(rc *dialects.RawConn) (dialects.Dialect, error) {
	var sure, maybe []string
	for _, name := range List() {
		form, ok := adoForm(name)
		if !ok {
			continue
		}
		var kept []dialects.Pair
		for _, p := range rc.Pairs {
			if form.KnowsSetting(p.Key) {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 || len(kept) == len(rc.Pairs) {
			continue
		}
		switch registry[name].Claim(&dialects.RawConn{Raw: rc.Raw, Scheme: rc.Scheme, Pairs: kept}) {
		case dialects.Surely:
			sure = append(sure, name)
		case dialects.Possibly:
			maybe = append(maybe, name)
		}
	}
	candidates := sure
	if len(candidates) == 0 {
		candidates = maybe
	}
	if len(candidates) == 1 {
		return registry[candidates[0]], nil
	}
	var unknown dialects.Pair
	for _, p := range rc.Pairs {
		if !slices.ContainsFunc(List(), func(n string) bool {
			f, ok := adoForm(n)
			return ok && f.KnowsSetting(p.Key)
		}) {
			unknown = p
			break
		}
	}
	if len(candidates) == 0 || unknown.Key == "" {
		return nil, fmt.Errorf("%w not recognised: %s is a setting of none of Npgsql, SqlClient, MySqlConnector "+
			"and Microsoft.Data.Sqlite that sessctl knows; check its spelling, or pass --dialect", dialects.ErrConnString, unknown.Name())
	}
	clients := make([]string, len(candidates))
	flags := make([]string, len(candidates))
	for i, c := range candidates {
		form, _ := adoForm(c)
		clients[i], flags[i] = form.Client(), "--dialect "+c
	}
	return nil, fmt.Errorf("%w not recognised: %s is not a setting of %s that sessctl knows; "+
		"remove it, or pass %s to be told more", dialects.ErrConnString, unknown.Name(), strings.Join(clients, " or "), strings.Join(flags, " or "))
}
