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
	mysqlErrDBAccessDenied   = 1044
	mysqlErrAccessDenied     = 1045
	mysqlErrUnknownDB        = 1049
	mysqlErrHostBlocked      = 1129
	mysqlErrHostNotAllowed   = 1130
	mysqlErrTableAccess      = 1142
	mysqlErrNoSuchTable      = 1146
	mysqlErrNotSupportedAuth = 1251
	mysqlErrServerShutdown   = 1053
	mysqlErrConnectionKilled = 1927
	mysqlErrServerGone       = 2006
	mysqlErrServerLost       = 2013
	mysqlErrAccessDeniedNoPw = 1698
)

// Permanent: a refused login, a host the server will not serve, or a
// missing database does not go away by waiting.
func (Dialect) Permanent(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlErrDBAccessDenied, mysqlErrAccessDenied, mysqlErrUnknownDB, mysqlErrHostBlocked,
			mysqlErrHostNotAllowed, mysqlErrNotSupportedAuth, mysqlErrAccessDeniedNoPw:
			return true
		}
	}
	return false
}

func (Dialect) Disconnected(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlErrServerShutdown, mysqlErrConnectionKilled, mysqlErrServerGone, mysqlErrServerLost:
			return true
		}
		return false
	}
	return errors.Is(err, gomysql.ErrInvalidConn) || dialects.CutOff(err)
}

// MySQL error numbers of a privilege refused.
const (
	mysqlErrSpecificAccess = 1227 // the operation needs a global privilege, such as SUPER
	mysqlErrColumnAccess   = 1143
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
	case mysqlErrTableAccess, mysqlErrColumnAccess, mysqlErrDBAccessDenied, mysqlErrSpecificAccess:
	default:
		return "", false
	}
	account := "this user"
	var current string
	if q.QueryRowContext(ctx, `SELECT CURRENT_USER()`).Scan(&current) == nil {
		user, host, _ := strings.Cut(current, "@")
		account = m.Quote(user) + "@" + m.Quote(host)
	}
	if me.Number == mysqlErrSpecificAccess {
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
		if me.Number == mysqlErrDBAccessDenied {
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
	mysqlErrParse           = 1064
	mysqlErrNotSupportedYet = 1235
)

// mysqlErrNoSuchThread: KILL found no session with that id.
const mysqlErrNoSuchThread = 1094

func mysqlLockWaitTimeout(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == mysqlErrLockWaitTimeout
}

// mysqlErrDeadlock: the transaction was chosen as a deadlock victim and
// rolled back.
const mysqlErrDeadlock = 1213

func mysqlDeadlock(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == mysqlErrDeadlock
}

// mysqlErrLockWaitTimeout: innodb_lock_wait_timeout ran out; the statement
// was rolled back.
const mysqlErrLockWaitTimeout = 1205
