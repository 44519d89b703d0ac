package dialecttest

import (
	"fmt"
	"net/url"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/sessctl/sessctl/dialects"
)

// ConnForms is the number of connection-string forms ConnString writes.
const ConnForms = 10

// ConnString writes a connection string in form number form (modulo
// ConnForms) for user, password, host and database, each escaped or quoted
// as that form needs, as a user copying it from an app's settings would
// have it. It returns the string and the dialect to parse it with.
func ConnString(form int, user, password, host, db string) (raw, dialect string) {
	ado := func(v string) string { return `"` + strings.ReplaceAll(v, `"`, `""`) + `"` }
	libpq := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	switch ((form % ConnForms) + ConnForms) % ConnForms {
	case 0:
		u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: host, Path: "/" + db}
		return u.String(), "postgres"
	case 1:
		return fmt.Sprintf("host=%s user=%s password=%s dbname=%s", libpq(host), libpq(user), libpq(password), libpq(db)), "postgres"
	case 2:
		return fmt.Sprintf("Host=%s;Username=%s;Password=%s;Database=%s", ado(host), ado(user), ado(password), ado(db)), "postgres"
	case 3:
		return fmt.Sprintf("Server=%s;User Id=%s;Password=%s;Database=%s", ado(host), ado(user), ado(password), ado(db)), "sqlserver"
	case 4:
		return fmt.Sprintf("Data Source=%s;Initial Catalog=%s;User ID=%s;Password='%s'",
			ado(host), ado(db), ado(user), strings.ReplaceAll(password, "'", "''")), "sqlserver"
	case 5:
		u := url.URL{Scheme: "sqlserver", User: url.UserPassword(user, password), Host: host, RawQuery: url.Values{"database": {db}}.Encode()}
		return u.String(), "sqlserver"
	case 6:
		return fmt.Sprintf("Server=%s;Port=3306;User ID=%s;Password=%s;Database=%s", ado(host), ado(user), ado(password), ado(db)), "mysql"
	case 7:
		// The form cannot hold a ':' in the user, nor a password without
		// a user.
		user = strings.ReplaceAll(user, ":", "")
		if user == "" {
			user = "user"
		}
		cfg := gomysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", host, db
		return cfg.FormatDSN(), "mysql"
	case 8:
		u := url.URL{Scheme: "mysql", User: url.UserPassword(user, password), Host: host, Path: "/" + db}
		return u.String(), "mysql"
	default:
		return fmt.Sprintf("postgresql://%s:%s@%s/%s?sslmode=disable", percentEncode(user), percentEncode(password), host, percentEncode(db)), "postgres"
	}
}

// percentEncode writes every byte but letters, digits and -._~ as %XX, as
// a user escaping a URL's user or password by hand would.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// DriverPassword is the password conn's driver will log in with, read from
// conn.DSN by the driver's own parser ("" for SQLite, which has none).
func DriverPassword(conn *dialects.Conn) (string, error) {
	switch conn.Driver {
	case "pgx/v5":
		cfg, err := pgx.ParseConfig(conn.DSN)
		if err != nil {
			return "", err
		}
		return cfg.Password, nil
	case "mysql":
		cfg, err := gomysql.ParseDSN(conn.DSN)
		if err != nil {
			return "", err
		}
		return cfg.Passwd, nil
	case "sqlserver", "azuresql":
		cfg, err := msdsn.Parse(conn.DSN)
		if err != nil {
			return "", err
		}
		return cfg.Password, nil
	case "sqlite":
		return "", nil
	}
	return "", fmt.Errorf("no password reader for driver %q", conn.Driver)
}

// Rotate replaces every ASCII letter and digit of s with the next one
// (z with a, 9 with 0) and keeps every other byte: a different string with
// the same punctuation in the same places. Fuzz tests use it to tell a
// message that repeats its input apart from one that merely happens to
// contain it.
func Rotate(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = 'a' + (c-'a'+1)%26
		case 'A' <= c && c <= 'Z':
			b[i] = 'A' + (c-'A'+1)%26
		case '0' <= c && c <= '9':
			b[i] = '0' + (c-'0'+1)%10
		}
	}
	return string(b)
}
