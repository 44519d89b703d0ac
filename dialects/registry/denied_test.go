package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
)

// TestDenied: each dialect recognises its own permission errors, wrapped
// or not, and no other error; the message names what the command needs.
func TestDenied(t *testing.T) {
	// A database that cannot say who the user is: the messages fall back
	// to "this user".
	q, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	n := dialects.Names{Schema: "app", Table: "SessionData", VersionTable: "SessionData_migrations"}
	for _, tc := range []struct {
		dialect string
		err     error
		denied  bool
		say     string // in the create message
	}{
		{"postgres", &pgconn.PgError{Code: "42501"}, true, "GRANT USAGE, CREATE ON SCHEMA"},
		{"postgres", fmt.Errorf("dropping: %w", &pgconn.PgError{Code: "42501"}), true, "GRANT USAGE, CREATE ON SCHEMA"},
		{"postgres", &pgconn.PgError{Code: "42P01"}, false, ""},
		{"mysql", &gomysql.MySQLError{Number: 1142}, true, "GRANT CREATE"},
		{"mysql", &gomysql.MySQLError{Number: 1044}, true, "GRANT CREATE"},
		{"mysql", &gomysql.MySQLError{Number: 1045}, false, ""}, // a refused login: no grant helps
		{"mysql", &gomysql.MySQLError{Number: 1227, Message: "Access denied; you need (at least one of) the SUPER privilege(s)"}, true, "SUPER"},
		{"mysql", &gomysql.MySQLError{Number: 1146}, false, ""},
		{"sqlserver", mssql.Error{Number: 262}, true, "GRANT CREATE TABLE"},
		{"sqlserver", mssql.Error{Number: 229}, true, "GRANT CREATE TABLE"},
		{"sqlserver", mssql.Error{Number: 1088}, true, "GRANT CREATE TABLE"},
		{"sqlserver", mssql.Error{Number: 1205}, false, ""},
		{"sqlite", sqliteCode(8), true, "read-only"},
		{"sqlite", sqliteCode(8 | 3<<8), true, "read-only"}, // SQLITE_READONLY_ROLLBACK
		{"sqlite", sqliteCode(5), false, ""},
		{"postgres", errors.New("permission denied"), false, ""},
	} {
		d, _ := Lookup(tc.dialect)
		msg, ok := d.Denied(context.Background(), q, tc.err, "create", n)
		if ok != tc.denied || !strings.Contains(msg, tc.say) {
			t.Errorf("%s.Denied(%v) = %q, %t; want %t saying %q", tc.dialect, tc.err, msg, ok, tc.denied, tc.say)
		}
		if !ok {
			continue
		}
		if tc.dialect == "sqlite" {
			// Through a connection opened read-only, the message names the
			// setting that did it.
			ro, err := sql.Open("sqlite", "file::memory:?_pragma=query_only(1)")
			if err != nil {
				t.Fatal(err)
			}
			if msg, _ := d.Denied(context.Background(), ro, tc.err, "create", n); !strings.Contains(msg, "Mode=ReadOnly") || !strings.Contains(msg, "mode=ro") {
				t.Errorf("sqlite.Denied(%v) through a read-only connection = %q: does not name Mode=ReadOnly and mode=ro", tc.err, msg)
			}
			ro.Close()
		}
		for _, op := range []string{"drop", "verify", "purge"} {
			if msg, _ := d.Denied(context.Background(), q, tc.err, op, n); !strings.Contains(msg, op) && !strings.Contains(msg, "read") {
				t.Errorf("%s.Denied(%v) for %s = %q: does not say what it may not do", tc.dialect, tc.err, op, msg)
			}
		}
	}
}

// sqliteCode is an error with a SQLite result code, as modernc.org/sqlite
// returns them.
type sqliteCode int

func (c sqliteCode) Error() string { return fmt.Sprintf("sqlite error %d", int(c)) }

func (c sqliteCode) Code() int { return int(c) }
