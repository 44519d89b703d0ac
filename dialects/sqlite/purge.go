package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// now is the database clock in the table's unit, microseconds since
// the Unix epoch (SQLite's clock has milliseconds). It is written for
// SQLite 3.37, the first with STRICT tables, so that purge --script runs
// in every sqlite3 shell that can hold the table: unixepoch() came in
// 3.38, and its 'subsec' modifier in 3.42 (before, it makes NULL, and a
// DELETE by it deletes nothing). Every strftime('now') of one statement
// reads the same instant.
const now = `((CAST(strftime('%s', 'now') AS INTEGER) * 1000 + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER)) * 1000)`

// nowFmt is now inside a fmt format.
var nowFmt = strings.ReplaceAll(now, "%", "%%")

// TryLock: SQLite has no named locks, so the purge lock is an OS lock on one
// byte, chosen by the table's name, of a lock file beside the database. The
// OS releases it when the process ends, however it ends. A connection that
// cannot write (opened read-only: a dry run, Mode=ReadOnly) deletes
// nothing, so it needs no lock, and makes no lock file; a purge through it
// fails at its first DELETE, saying the file is read-only. So does one of
// a file this user may not write, before it makes a lock file. Holding it,
// conn waits for other writers in steps of busyStep (see
// retry); unlock restores its busy timeout.
func (s Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(s.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (s Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	path, offset, err := lockFileOf(conn, n)
	if err != nil {
		return nil, false, err
	}
	unlock := func() error { return nil }
	if path != "" { // in memory, no other process can see it
		readOnly, err := cannotWrite(ctx, conn, n, "purge")
		if err != nil && !readOnly {
			return nil, false, err
		}
		if !readOnly {
			release, ok, err := lockFileByte(path, offset)
			if !ok || err != nil {
				return release, ok, err
			}
			unlock = func() error {
				err := release()
				// The table may have gone while the purge ran (a drop, which
				// left the lock file as this purge held it): the last one out
				// removes it.
				// Best effort, as after a drop: a file left is harmless.
				_ = removeUnusedLockFile(context.WithoutCancel(ctx), conn, n)
				return err
			}
		}
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(busyStep.Milliseconds(), 10)); err != nil {
		return nil, false, errors.Join(fmt.Errorf("setting the busy timeout: %w", err), unlock())
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), "PRAGMA busy_timeout = "+strconv.FormatInt(busyTimeout.Milliseconds(), 10))
		return errors.Join(err, unlock())
	}, true, nil
}

var _ dialects.Limiter = Dialect{}

// Limits: a pause between batches, as a connection that finds the database locked sleeps and tries
// again (SQLite's busy handler: 1, 2, 5, 10, … then every 100 ms), so the
// app's writers get in only when a try falls between two batches. Measured
// with 8 clients on a half-expired table of 1,000,000 rows, back-to-back
// batches let 79 of 3580 requests through in 18 s, 8 of them failing with
// SQLITE_BUSY; 100 ms between batches let every request through.
func (Dialect) Limits() dialects.Limits { return dialects.Limits{Pause: 100 * time.Millisecond} }

// deleteSQL deletes the oldest expired rows, found on the expiry
// index. SQLite runs one writer at a time, so the expiry test holds for
// every row the statement deletes. The column is named with its table:
// SQLite reads a bare double-quoted name that is no column as a string, so
// on a table without "ExpiresAtTime" the test would match nothing and a
// purge of the wrong table would succeed instead of failing.
var deleteSQL = `DELETE FROM %[1]s
WHERE rowid IN (
    SELECT rowid FROM %[1]s
    WHERE %[1]s."ExpiresAtTime" < ` + nowFmt + ` - %[2]s
    ORDER BY %[1]s."ExpiresAtTime"
    LIMIT %[3]s)`

func (s Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	var deleted int64
	err := retry(ctx, func() error {
		res, err := q.ExecContext(ctx, fmt.Sprintf(deleteSQL, s.qualified(n), "?1", "?2"), grace.Microseconds(), limit)
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return deleted, err
}

func (s Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullInt64
	expiry := s.qualified(n) + `."ExpiresAtTime"`
	err := retry(ctx, func() error {
		return q.QueryRowContext(ctx, `SELECT count(*), min(`+expiry+`) FROM `+s.qualified(n)+
			` WHERE `+expiry+` < `+now+` - ?`, grace.Microseconds()).Scan(&count, &oldest)
	})
	if err != nil || !oldest.Valid {
		return count, time.Time{}, err
	}
	return count, time.UnixMicro(oldest.Int64).UTC(), nil
}

func (s Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (plan string, err error) {
	err = retry(ctx, func() error {
		plan, err = s.explainPurge(ctx, q, n, grace, limit)
		return err
	})
	return plan, err
}

func (s Dialect) explainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	rows, err := q.QueryContext(ctx, "EXPLAIN QUERY PLAN "+fmt.Sprintf(deleteSQL, s.qualified(n), "?1", "?2"), grace.Microseconds(), limit)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	depth := map[int64]int{}
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		depth[id] = depth[parent] + 1
		lines = append(lines, strings.Repeat("  ", depth[id]-1)+detail)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

func (s Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	del := fmt.Sprintf(deleteSQL, s.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit))
	return fmt.Sprintf(`-- Deletes the rows of %s that expired over %s ago, %d at a time.
-- Each run of the statement is its own transaction: repeat it until it
-- deletes no rows (sqlite3: SELECT changes();).
%s;
`, s.qualified(n), grace, limit, del)
}

var _ dialects.IDDeleter = Dialect{}

// The Ids are a JSON array, read with json_each, which SQLite has had since
// 3.38 built in (and modernc's build before that).
func (s Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	t := s.qualified(n)
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE `+t+`."ExpiresAtTime" < `+now+` - ?1
		AND "Id" NOT IN (SELECT value FROM json_each(?2)) ORDER BY `+t+`."ExpiresAtTime" LIMIT ?3`,
		grace.Microseconds(), jsonIDs(skip), limit))
}

func (s Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	t := s.qualified(n)
	var deleted int64
	err := retry(ctx, func() error {
		res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+now+` - ?1`,
			grace.Microseconds(), jsonIDs(ids))
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return deleted, err
}

func (s Dialect) StillExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) ([]string, error) {
	t := s.qualified(n)
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+now+` - ?1`,
		grace.Microseconds(), jsonIDs(ids)))
}

func jsonIDs(ids []string) string {
	b, _ := json.Marshal(dialects.NonNil(ids))
	return string(b)
}
