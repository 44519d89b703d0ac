package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sessctl/sessctl/dialects"
)

// The SQLSTATEs sessctl tells apart, by PostgreSQL's names for them.
const (
	invalidPassword       = "28P01" // a wrong password
	invalidAuthorization  = "28000" // invalid_authorization_specification: no such role, or pg_hba.conf refuses it
	invalidCatalogName    = "3D000" // the database does not exist
	insufficientPrivilege = "42501"
	foreignKeyViolation   = "23503"
	featureNotSupported   = "0A000"
	lockNotAvailable      = "55P03" // a lock_timeout run out
)

// Permanent: authentication failures and a missing database do not go away
// by waiting.
func (Dialect) Permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case invalidPassword, invalidAuthorization, invalidCatalogName, insufficientPrivilege:
			return true
		}
	}
	return false
}

// Disconnected: class 57P is the server shutting down, restarting or
// ending the session (pg_terminate_backend), class 08 a lost connection.
func (Dialect) Disconnected(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "08")
	}
	return dialects.CutOff(err)
}

// Denied: SQLSTATE 42501, insufficient_privilege.
func (p Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != insufficientPrivilege {
		return "", false
	}
	var user, database string
	role := "this role"
	if q.QueryRowContext(ctx, `SELECT current_user, current_database()`).Scan(&user, &database) == nil {
		role = p.Quote(user)
	}
	schema, table, version := p.Quote(n.Schema), p.qualified(n), p.Quote(n.Schema)+"."+p.Quote(n.VersionTable)
	usage := "GRANT USAGE ON SCHEMA " + schema + " TO " + role
	switch op {
	case dialects.OpCreateSchema:
		db := "the connection string's database"
		if database != "" {
			db = p.Quote(database)
		}
		return fmt.Sprintf("role %s may not create schemas in %s: GRANT CREATE ON DATABASE %s TO %s, or have its owner run CREATE SCHEMA %s",
			role, db, db, role, schema), true
	case "create":
		// USAGE to use the tables it makes, CREATE to make them.
		return fmt.Sprintf("role %s may not create tables in schema %s: GRANT USAGE, CREATE ON SCHEMA %s TO %s, or run create as the schema's owner",
			role, schema, schema, role), true
	case "drop":
		// Only the owner may drop a table: of both tables.
		return fmt.Sprintf("role %s may not drop %s, which only its owner may: %s; ALTER TABLE %s OWNER TO %s; "+
			"ALTER TABLE IF EXISTS %s OWNER TO %s, or run drop as the owner", role, table, usage, table, role, version, role), true
	case "purge":
		// UPDATE for FOR UPDATE SKIP LOCKED, which locks a batch's rows.
		return fmt.Sprintf("role %s may not purge %s: %s; GRANT SELECT, UPDATE, DELETE ON %s TO %s",
			role, table, usage, table, role), true
	}
	return fmt.Sprintf("role %s may not read %s: %s; GRANT SELECT ON %s, %s TO %s",
		role, table, usage, table, version, role), true
}

var _ dialects.Referencer = Dialect{}

func (p Dialect) Referenced(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != foreignKeyViolation {
		return "", false
	}
	if pgErr.ConstraintName == "" {
		return "", true
	}
	fk := p.Quote(pgErr.ConstraintName)
	if pgErr.TableName != "" {
		fk += " of " + p.Quote(pgErr.SchemaName) + "." + p.Quote(pgErr.TableName)
	}
	return fk, true
}
