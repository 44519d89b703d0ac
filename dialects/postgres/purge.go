package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// lockKey is the advisory-lock key of the purge lock for one table. It is a
// different key space from golang-migrate's (two int4 keys, not one int8).
func lockKey(n dialects.Names) (int32, int32) {
	h := fnv.New32a()
	h.Write([]byte(n.Schema + "\x00" + n.Table))
	return 0x5e55c71, int32(h.Sum32())
}

func (p Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(p.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	k1, k2 := lockKey(n)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, once, k1, k2).Scan(&ok); err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock := func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, once, k1, k2)
		return err
	}
	return unlock, true, nil
}

// deleteSQL locks a batch of expired rows in index order, skipping rows an
// app session holds, and deletes them. A row slid forward after the
// statement's snapshot fails the re-check: FOR UPDATE re-evaluates it on the
// newest version, and so does the outer WHERE. Locking first writes each
// row twice (twice the WAL records of a plain DELETE), but a batch never
// waits for an app session: one left idle in a transaction holding an
// expired row would otherwise stop the purge, and Ctrl-C with it, for good.
const deleteSQL = `DELETE FROM %[1]s
WHERE ctid = ANY (ARRAY (
    SELECT ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))
    ORDER BY "ExpiresAtTime"
    LIMIT %[3]s
    FOR UPDATE SKIP LOCKED))
  AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))`

func (p Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, p.sql(deleteSQL, n, "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sql is format, a statement written for the cache table with the table
// as its %[1]s, for table n: its "Id" and "ExpiresAtTime" are n's Key and
// Expiry columns, quoted (the cache table's, byte for byte, are the
// same), and args follow the table.
func (p Dialect) sql(format string, n dialects.Names, args ...any) string {
	return p.sqlOn(format, n, p.qualified(n), args...)
}

// sqlOn is sql on relation table (quoted and qualified), a partition of
// n, say.
func (p Dialect) sqlOn(format string, n dialects.Names, table string, args ...any) string {
	esc := func(col string) string { return strings.ReplaceAll(p.Quote(col), "%", "%%") }
	format = strings.NewReplacer(`"Id"`, esc(n.Key), `"ExpiresAtTime"`, esc(n.Expiry)).Replace(format)
	return fmt.Sprintf(format, append([]any{table}, args...)...)
}

var _ dialects.HeldCounter = Dialect{}

// heldSQL counts, among the oldest $2 expired rows, those another
// session holds: it locks the others as a batch does, skipping the held,
// and releases them as it ends.
const heldSQL = `WITH oldest AS (
    SELECT ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))
    ORDER BY "ExpiresAtTime"
    LIMIT $2),
free AS (
    SELECT ctid FROM %[1]s
    WHERE ctid = ANY (ARRAY (SELECT ctid FROM oldest))
    FOR UPDATE SKIP LOCKED)
SELECT (SELECT count(*) FROM oldest) - (SELECT count(*) FROM free)`

func (p Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	var held int64
	err := q.QueryRowContext(ctx, p.sql(heldSQL, n), grace.Seconds(), limit).Scan(&held)
	return held, err
}

// CountExpired: a row that expires at -infinity has expired, and makes the
// oldest expiry MinusInfinity; one at infinity never expires. (Neither is
// a time pgx can scan.)
func (p Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullTime
	var minusInfinity bool
	err := q.QueryRowContext(ctx, p.sql(`SELECT count(*), min("ExpiresAtTime") FILTER (WHERE isfinite("ExpiresAtTime")),
		coalesce(bool_or("ExpiresAtTime" = '-infinity'), false) FROM %[1]s`+
		` WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))`, n), once, grace.Seconds()).Scan(&count, &oldest, &minusInfinity)
	if minusInfinity {
		return count, dialects.MinusInfinity, err
	}
	return count, oldest.Time, err
}

func (p Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	return dialects.ExplainRows(ctx, q, "EXPLAIN "+p.sql(deleteSQL, n, "$1", "$2"), grace.Seconds(), limit)
}

func (p Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	tag := dollarTag(n)
	del := p.sql(deleteSQL, n, strconv.FormatFloat(grace.Seconds(), 'f', -1, 64), strconv.Itoa(limit))
	return fmt.Sprintf(`-- Deletes the rows of %[1]s that expired over %[2]s ago, %[3]d at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO %[4]s
BEGIN
    LOOP
        %[5]s;
        EXIT WHEN NOT FOUND;
        COMMIT;
    END LOOP;
END
%[4]s;
`, p.qualified(n), grace, limit, tag, strings.ReplaceAll(del, "\n", "\n        "))
}

// The batch's expiry test, as the other statements write it.
const expired = `"ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))`

var _ dialects.IDDeleter = Dialect{}

func (p Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	return dialects.ScanIDs(q.QueryContext(ctx, p.sql(`SELECT "Id" FROM %[1]s WHERE `+expired+
		` AND "Id" OPERATOR(pg_catalog.<>) ALL ($2::text[]) ORDER BY "ExpiresAtTime" LIMIT $3`, n), grace.Seconds(), dialects.NonNil(skip), limit))
}

// DeleteIDs locks the rows as a batch does, by partition and ctid (which
// a plain table has too), skipping rows another session holds.
func (p Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	res, err := q.ExecContext(ctx, p.sql(`DELETE FROM %[1]s WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired+`
  AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM %[1]s WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired+`
    FOR UPDATE SKIP LOCKED)`, n), grace.Seconds(), ids)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p Dialect) StillExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) ([]string, error) {
	return dialects.ScanIDs(q.QueryContext(ctx, p.sql(`SELECT "Id" FROM %[1]s WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+expired, n),
		grace.Seconds(), ids))
}
