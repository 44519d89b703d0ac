package sqlserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/sessctl/sessctl/dialects"
)

// The error numbers sessctl acts on: SQL Server's, which Babelfish gives
// too where it maps an error to one, and Babelfish's catch-all.
const (
	// A login that waiting does not mend (Permanent).
	loginFailed        = 18456 // wrong user or password
	accountDisabled    = 18470
	passwordExpired    = 18487
	mustChangePassword = 18488
	cannotOpenDatabase = 4060  // the login's database does not exist or is not open to it
	noServerAccess     = 916   // the login cannot access the database
	firewallRefused    = 40615 // Azure SQL: the client's address is not allowed

	// A session that is gone (Disconnected).
	sessionKilled      = 596  // the session is in the kill state (KILL)
	shutdownInProgress = 6005 // SHUTDOWN is in progress

	// A privilege refused (Denied).
	permissionDenied       = 229  // SELECT permission denied on an object
	showplanDenied         = 262  // permission denied in database (SHOWPLAN)
	objectNotFoundOrDenied = 1088 // cannot find the object, or no permission
	dropDenied             = 3701 // cannot drop: it does not exist, or no permission

	// A purge statement that met an app session.
	deadlockVictim     = 1205 // chosen as deadlock victim
	lockRequestTimeout = 1222 // waited its LOCK_TIMEOUT for a lock
	// referenceConflict is error 547: a DELETE conflicted with a
	// REFERENCE constraint (for an INSERT or UPDATE, 547 can be a CHECK).
	referenceConflict = 547

	// bbfError is the number Babelfish gives the errors it has no SQL
	// Server number for, a refused privilege among them (its text is
	// PostgreSQL's, which sessctl does not read).
	bbfError = 33557097
)

// errorNumber is the SQL Server error number of err, or 0.
func errorNumber(err error) int32 {
	var me mssql.Error
	if errors.As(err, &me) {
		return me.Number
	}
	var mp *mssql.Error
	if errors.As(err, &mp) && mp != nil {
		return mp.Number
	}
	return 0
}

// Permanent: a refused login, a database that is not there or not open to
// the login, a firewall rule, a certificate the client does not accept and
// an Azure AD sign-in that failed do not go away by waiting.
func (Dialect) Permanent(err error) bool {
	switch errorNumber(err) {
	case loginFailed, accountDisabled, passwordExpired, mustChangePassword,
		cannotOpenDatabase, noServerAccess, firewallRefused:
		return true
	}
	return isCertificateError(err) || isAzureADError(err)
}

// Disconnected: the session was killed (596) or the server shut down
// (6005); a ServerError is a fatal error that severs the connection, and a
// StreamError a reply cut off mid-stream (it has no Unwrap, so the EOF
// inside it is not found by cutOff).
func (Dialect) Disconnected(err error) bool {
	switch errorNumber(err) {
	case sessionKilled, shutdownInProgress:
		return true
	}
	var se mssql.StreamError
	var fatal mssql.ServerError
	return errors.As(err, &se) || errors.As(err, &fatal) || dialects.CutOff(err)
}

// Denied: 229 (an object permission), 262 (a database permission, such as
// CREATE TABLE), 1088 and 3701 (no such object, or no permission on it).
func (s Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	switch errorNumber(err) {
	case permissionDenied, showplanDenied, objectNotFoundOrDenied, dropDenied:
	case bbfError:
		if !s.lacks(ctx, q, op, n) {
			return "", false
		}
	default:
		return "", false
	}
	var user string
	u := "this user"
	if q.QueryRowContext(ctx, `SELECT USER_NAME()`).Scan(&user) == nil {
		u = s.Quote(user)
	}
	schema, table := s.Quote(n.Schema), s.qualified(n)
	switch op {
	case dialects.OpCreateSchema:
		return fmt.Sprintf("user %s may not create schema %s: GRANT CREATE SCHEMA TO %s, or have the database's owner run CREATE SCHEMA %s",
			u, schema, u, schema), true
	case "create":
		return fmt.Sprintf("user %s may not create tables in schema %s: GRANT CREATE TABLE TO %s; GRANT ALTER ON SCHEMA::%s TO %s, "+
			"or run create as the schema's owner", u, schema, u, schema, u), true
	case "drop":
		return fmt.Sprintf("user %s may not drop %s: GRANT ALTER ON SCHEMA::%s TO %s, or run drop as the owner", u, table, schema, u), true
	case "purge":
		return fmt.Sprintf("user %s may not purge %s: GRANT SELECT, DELETE ON %s TO %s", u, table, table, u), true
	}
	return fmt.Sprintf("user %s may not read %s: GRANT SELECT ON %s TO %s; GRANT SELECT ON %s TO %s; GRANT VIEW DEFINITION ON SCHEMA::%s TO %s",
		u, table, table, u, s.versionTable(n), u, schema, u), true
}

// lacks asks the server, with HAS_PERMS_BY_NAME, whether this user lacks a
// permission op needs on the table of n: how a refused privilege is told
// on Babelfish, whose error has no number of its own (bbfError). An
// unanswered question is no answer.
func (s Dialect) lacks(ctx context.Context, q dialects.Querier, op string, n dialects.Names) bool {
	e, err := engineOf(ctx, q)
	if err != nil || !e.Babelfish {
		return false
	}
	table, schema := s.qualified(n), n.Schema
	var checks []string
	switch op {
	case dialects.OpCreateSchema:
		checks = []string{`HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE SCHEMA')`}
	case "create":
		checks = []string{`HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE TABLE')`, `HAS_PERMS_BY_NAME(@p2, N'SCHEMA', N'ALTER')`}
	case "drop":
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'ALTER')`}
	case "purge":
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'SELECT')`, `HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'DELETE')`}
	default:
		checks = []string{`HAS_PERMS_BY_NAME(@p1, N'OBJECT', N'SELECT')`}
	}
	// HAS_PERMS_BY_NAME is NULL, or 0, for an object that is not there:
	// no answer (a missing table is not a missing grant).
	for i, c := range checks {
		checks[i] = "COALESCE(" + c + ", 1)"
	}
	object := "0"
	if op != dialects.OpCreateSchema && op != "create" {
		object = "CASE WHEN OBJECT_ID(@p1) IS NULL THEN 1 ELSE 0 END"
	}
	var has int
	err = q.QueryRowContext(ctx, `SELECT CASE WHEN `+object+` = 1 OR `+strings.Join(checks, " = 1 AND ")+` = 1 THEN 1 ELSE 0 END`, table, schema).Scan(&has)
	return err == nil && has == 0
}

// babelfishLockTimeout is PostgreSQL's text of lock_not_available, which
// Babelfish reports with its catch-all number (bbfError), as it maps no
// number to it (tds/README.md: error numbers match SQL Server where
// Babelfish maps them).
const babelfishLockTimeout = "canceling statement due to lock timeout"

// lockTimedOut reports whether err is a statement that gave up
// waiting for a lock (SET LOCK_TIMEOUT).
func lockTimedOut(err error) bool {
	var me mssql.Error
	switch n := errorNumber(err); {
	case n == lockRequestTimeout:
		return true
	case n == bbfError && errors.As(err, &me):
		return strings.Contains(me.Message, babelfishLockTimeout)
	}
	return false
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
