package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessctl/sessctl/dialects"
)

// foreignKeyViolation is SQLSTATE 23503.
const foreignKeyViolation = "23503"

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

// The batch's expiry test, as the other statements write it.
const expired = `"ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))`

func (p Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+p.qualified(n)+` WHERE `+expired+
		` AND "Id" OPERATOR(pg_catalog.<>) ALL ($2::text[]) ORDER BY "ExpiresAtTime" LIMIT $3`, grace.Seconds(), dialects.NonNil(skip), limit))
}

// DeleteIDs locks the rows as a batch does, by partition and ctid (which
// a plain table has too), skipping rows another session holds.
func (p Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	t := p.qualified(n)
	res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired+`
  AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM `+t+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired+`
    FOR UPDATE SKIP LOCKED)`, grace.Seconds(), ids)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p Dialect) StillExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) ([]string, error) {
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+p.qualified(n)+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired,
		grace.Seconds(), ids))
}

// WaitSession: pgx has the backend's pid from the startup.
func (Dialect) WaitSession(conn *sql.Conn) (int64, bool) {
	var pid uint32
	if err := conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			pid = c.Conn().PgConn().PID()
		}
		return nil
	}); err != nil || pid == 0 {
		return 0, false
	}
	return int64(pid), true
}

// WaitingFor reads pg_stat_activity: a wait_event_type of Lock is a wait
// for a heavyweight lock, which wait_event says the kind of.
func (Dialect) WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error) {
	var typ, event sql.NullString
	err := db.QueryRowContext(ctx, `SELECT wait_event_type, wait_event FROM pg_catalog.pg_stat_activity WHERE pid = $1`, once, id).Scan(&typ, &event)
	if err != nil || typ.String != "Lock" {
		return "", dialects.IgnoreNoRows(err)
	}
	switch event.String {
	case "relation":
		return "waiting for a table lock", nil
	case "tuple", "transactionid":
		return "waiting for a row lock", nil
	}
	return "waiting for a lock (" + event.String + ")", nil
}
