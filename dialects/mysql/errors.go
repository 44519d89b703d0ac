package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessctl/sessctl/dialects"
)

// MySQL error numbers sessctl acts on.
const (
	errDBAccessDenied   = 1044
	errAccessDenied     = 1045
	errUnknownDB        = 1049
	errHostBlocked      = 1129
	errHostNotAllowed   = 1130
	errTableAccess      = 1142
	errNoSuchTable      = 1146
	errNotSupportedAuth = 1251
	errServerShutdown   = 1053
	errConnectionKilled = 1927
	errServerGone       = 2006
	errServerLost       = 2013
	errAccessDeniedNoPw = 1698
)

// Permanent: a refused login, a host the server will not serve, or a
// missing database does not go away by waiting.
func (Dialect) Permanent(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case errDBAccessDenied, errAccessDenied, errUnknownDB, errHostBlocked,
			errHostNotAllowed, errNotSupportedAuth, errAccessDeniedNoPw:
			return true
		}
	}
	return false
}

func (Dialect) Disconnected(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case errServerShutdown, errConnectionKilled, errServerGone, errServerLost:
			return true
		}
		return false
	}
	return errors.Is(err, gomysql.ErrInvalidConn) || dialects.CutOff(err)
}

// MySQL error numbers of a privilege refused.
const (
	errSpecificAccess = 1227 // the operation needs a global privilege, such as SUPER
	errColumnAccess   = 1143
)

// Denied: 1142 and 1143 (a table or column privilege), 1044 (a database
// privilege), 1227 (a global privilege, which the server's message names).
// A refused login (1045) is not here: no privilege would help.
func (m Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case errTableAccess, errColumnAccess, errDBAccessDenied, errSpecificAccess:
	default:
		return "", false
	}
	account := "this user"
	var current string
	if q.QueryRowContext(ctx, `SELECT CURRENT_USER()`).Scan(&current) == nil {
		user, host, _ := strings.Cut(current, "@")
		account = m.Quote(user) + "@" + m.Quote(host)
	}
	if me.Number == errSpecificAccess {
		return fmt.Sprintf("user %s lacks a global privilege %s needs (%s): grant it, or run %s as a user that has it",
			account, op, me.Message, op), true
	}
	db, table, version := m.Quote(n.Schema), m.qualified(n), m.Quote(n.Schema)+"."+m.Quote(n.VersionTable)
	switch op {
	case dialects.OpCreateSchema:
		return fmt.Sprintf("user %s may not create database %s: GRANT CREATE ON %s.* TO %s, or have an administrator run CREATE DATABASE %s",
			account, db, db, account, db), true
	case "create":
		// The same grant lets it create the database, if it must.
		what := "tables in database " + db
		if me.Number == errDBAccessDenied {
			what = "database " + db + " or tables in it"
		}
		return fmt.Sprintf("user %s may not create %s: GRANT CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE, DELETE ON %s.* TO %s, "+
			"or run create as a user that has them", account, what, db, account), true
	case "drop":
		// SELECT to read its columns first: drop drops only a cache table.
		return fmt.Sprintf("user %s may not drop %s: GRANT SELECT, DROP ON %s TO %s; GRANT SELECT, DROP ON %s TO %s, or run drop as a user that has them",
			account, table, table, account, version, account), true
	case "purge":
		return fmt.Sprintf("user %s may not purge %s: GRANT SELECT, DELETE ON %s TO %s", account, table, table, account), true
	}
	return fmt.Sprintf("user %s may not read %s: GRANT SELECT ON %s TO %s; GRANT SELECT ON %s TO %s",
		account, table, table, account, version, account), true
}

// MySQL error numbers of the server refusing syntax it does not have.
const (
	errParse           = 1064
	errNotSupportedYet = 1235
)

// errNoSuchThread: KILL found no session with that id.
const errNoSuchThread = 1094

// errDeadlock: the transaction was chosen as a deadlock victim and
// rolled back.
const errDeadlock = 1213

func deadlock(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == errDeadlock
}

// errLockWaitTimeout: innodb_lock_wait_timeout ran out; the statement
// was rolled back.
const errLockWaitTimeout = 1205

func lockWaitTimeout(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == errLockWaitTimeout
}

// errRowIsReferenced is ER_ROW_IS_REFERENCED_2 (and 1217, its older
// form without the constraint's name).
const (
	errRowIsReferenced  = 1451
	errRowIsReferenced1 = 1217
)
