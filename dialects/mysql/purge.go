package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessctl/sessctl/dialects"
)

// TryLock takes a named lock of the session conn holds; the server
// releases it when that session ends, however it ends. The statement that
// takes it chooses its name by lower_case_table_names (as lockName does),
// so that it is one round trip. It then learns whether the server can
// skip locked rows (purgeSession), once for the whole purge.
func (m Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(m.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (m Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	exact, folded := lockNameOf("purge", n, false), lockNameOf("purge", n, true)
	var got sql.NullInt64
	var fold bool
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(IF(@@lower_case_table_names <> 0, ?, ?), 0), @@lower_case_table_names <> 0`,
		folded, exact).Scan(&got, &fold); err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	switch {
	case !got.Valid:
		return nil, false, errors.New("taking the purge lock: GET_LOCK failed")
	case got.Int64 == 0:
		return nil, false, nil
	}
	name := exact
	if fold {
		name = folded
	}
	release := func() error {
		var released sql.NullInt64
		return conn.QueryRowContext(context.Background(), `SELECT RELEASE_LOCK(?)`, name).Scan(&released)
	}
	skip, err := canSkipLocked(ctx, conn)
	if err != nil {
		return nil, false, errors.Join(fmt.Errorf("asking the server whether it can skip locked rows: %w", err), release())
	}
	end, err := m.beginSession(ctx, conn, skip)
	if err != nil {
		return nil, false, errors.Join(err, release())
	}
	return func() error { return errors.Join(end(), release()) }, true, nil
}

// purgeSession is what a purge knows about its session: whether the
// server skips locked rows, and the rows it found held by another session.
type purgeSession struct {
	// skipLocked: the server has SELECT … FOR UPDATE SKIP LOCKED (MariaDB
	// 10.6, MySQL 8.0.1 and later).
	skipLocked bool
	// held are the Ids of expired rows a batch found held by another
	// session: the rest of the purge passes over them, so that it neither
	// waits for them again nor counts them twice. They are the next run's.
	held map[string]bool
}

// purgeSessions are the sessions that hold a purge lock, by connection:
// from TryLock to its unlock.
var purgeSessions sync.Map

// lockWait is the most seconds a batch waits for one row an app
// session holds, on a server that cannot skip locked rows: the session's
// innodb_lock_wait_timeout during the purge (1, MySQL's least), instead of
// the server's, 50 by default. (MariaDB takes 0 too, but then refuses row
// locks that are free, and fails a COMMIT with error 1.)
const lockWait = 1

// beginSession registers conn as a purge's session. On a server that
// cannot skip locked rows it also bounds the session's row lock waits to
// lockWait; end restores them.
func (Dialect) beginSession(ctx context.Context, conn *sql.Conn, skipLocked bool) (end func() error, err error) {
	restore := func() error { return nil }
	if !skipLocked {
		var saved int64
		if err := conn.QueryRowContext(ctx, `SELECT @@SESSION.innodb_lock_wait_timeout`).Scan(&saved); err != nil {
			return nil, fmt.Errorf("reading innodb_lock_wait_timeout: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = "+strconv.Itoa(lockWait)); err != nil {
			return nil, fmt.Errorf("setting innodb_lock_wait_timeout: %w", err)
		}
		restore = func() error {
			_, err := conn.ExecContext(context.Background(), "SET SESSION innodb_lock_wait_timeout = "+strconv.FormatInt(saved, 10))
			return err
		}
	}
	purgeSessions.Store(conn, &purgeSession{skipLocked: skipLocked, held: map[string]bool{}})
	return func() error {
		purgeSessions.Delete(conn)
		return restore()
	}, nil
}

// session is q's purge session, or, for a q that holds no purge lock, a
// session of its own for one call.
func (Dialect) session(ctx context.Context, q dialects.Querier) (*purgeSession, error) {
	if c, ok := q.(*sql.Conn); ok {
		if s, ok := purgeSessions.Load(c); ok {
			return s.(*purgeSession), nil
		}
	}
	skip, err := canSkipLocked(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("asking the server whether it can skip locked rows: %w", err)
	}
	return &purgeSession{skipLocked: skip, held: map[string]bool{}}, nil
}

// canSkipLocked asks the server whether it has SKIP LOCKED: it
// parses it, or refuses it as a syntax error (MariaDB before 10.6, MySQL
// before 8.0.1).
func canSkipLocked(ctx context.Context, q dialects.Querier) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM DUAL FOR UPDATE SKIP LOCKED`).Scan(&one)
	var me *gomysql.MySQLError
	if errors.As(err, &me) && (me.Number == errParse || me.Number == errNotSupportedYet) {
		return false, nil
	}
	return err == nil, err
}

var _ dialects.Interrupter = Dialect{}

func (Dialect) SessionID(ctx context.Context, conn *sql.Conn) (int64, error) {
	var id int64
	err := conn.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&id)
	return id, err
}

// Interrupt: KILL QUERY, which a user may send to its own sessions. The
// statement fails with error 1317; a session that ended meanwhile is no
// error.
func (Dialect) Interrupt(ctx context.Context, db *sql.DB, id int64) error {
	_, err := db.ExecContext(ctx, "KILL QUERY "+strconv.FormatInt(id, 10))
	var me *gomysql.MySQLError
	if errors.As(err, &me) && me.Number == errNoSuchThread {
		return nil
	}
	return err
}

// maxBatch is the most rows one purge batch deletes. InnoDB does not
// escalate row locks, but with row-based replication a DELETE writes every
// row it deletes, Value and all, to the binary log as one event group:
// 10,000 rows of sessions of a few KB stay well under the transaction size
// limits of replicas and clusters (Group Replication's
// group_replication_transaction_size_limit, 150 MB by default; Galera's
// wsrep_max_ws_size).
const maxBatch = 10000

// Limits: see maxBatch.
func (Dialect) Limits() dialects.Limits { return dialects.Limits{MaxBatch: maxBatch} }

// A purge batch on MySQL finds its rows with one statement and deletes
// them in a transaction of its own:
//
//   - expiredSQL finds the Ids of the oldest expired rows on the
//     expiry index, as a plain (consistent, non-locking) read, so it holds
//     no lock for an app session to wait on;
//   - lockIDsSQL locks those rows by primary key, skipping (SKIP
//     LOCKED) those another session holds, such as an app's transaction
//     left open over a row: a batch never waits for it, and the rest is
//     purged. A locking read reads every row as it is now, not as a
//     snapshot, so its WHERE clause re-checks the expiry: a session slid
//     forward since the first statement is not taken;
//   - deleteIDsSQL deletes the rows it locked, by primary key, the
//     expiry checked once more, and the transaction commits.
//
// Both the lock and the DELETE go by primary key: the primary key is
// forced, as the optimizer, left to itself, may read the few rows that
// pass the expiry test on the expiry index instead. That is the order in
// which Pomelo's refresh and upsert lock a row (the primary key, then the
// entry of the expiry index they change), so a batch and the app never
// deadlock: the batch takes no index entry before the row it belongs to,
// and never waits for a row. One DELETE … ORDER BY ExpiresAtTime LIMIT n,
// or a SELECT … FOR UPDATE along the expiry index, would lock each row's
// index entry before its primary key, the reverse of the app's order; the
// DELETE waits, and an app session refreshing or rewriting a row it holds
// then deadlocks, and InnoDB rolls back the smaller transaction, the
// app's. (The multi-table form of DELETE is the one that takes index
// hints.)
//
// A server without SKIP LOCKED deletes the rows found by primary key in
// one statement, waiting at most lockWait for a row an app session
// holds; when that runs out it halves the rows and tries again, until the
// held rows are found out, one at a time, and passed over (deleteWaiting).
//
// The clock is UTC_TIMESTAMP(6), as the columns hold UTC whatever the
// session's time zone.
const (
	expiredSQL = "SELECT `Id` FROM %[1]s\n" +
		"WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
		"ORDER BY `ExpiresAtTime`\n" +
		"LIMIT %[3]s"
	lockIDsSQL = "SELECT `Id` FROM %[1]s FORCE INDEX (PRIMARY)\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
		"FOR UPDATE SKIP LOCKED"
	deleteIDsSQL = "DELETE %[1]s FROM %[1]s FORCE INDEX (PRIMARY)\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND"
	// stillExpiredSQL reads which of the rows a batch passed over
	// are still expired as last committed: those another session holds,
	// rather than slid forward or deleted meanwhile.
	stillExpiredSQL = "SELECT `Id` FROM %[1]s\n" +
		"WHERE `Id` IN (%[3]s)\n" +
		"  AND `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND"
)

// scriptDeleteSQL is the one-statement batch a DBA runs by hand (the purge
// script), where a loop of two statements is not to be had.
const scriptDeleteSQL = "DELETE FROM %[1]s\n" +
	"WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL %[2]s MICROSECOND\n" +
	"ORDER BY `ExpiresAtTime`\n" +
	"LIMIT %[3]s"

// rounds is how many times DeleteExpired looks for expired rows in
// one batch when some it found were held, slid forward or deleted before
// it could delete them.
const rounds = 8

// maxHeld is the most held rows a purge remembers to pass over.
const maxHeld = maxBatch

// DeleteExpired finds up to limit expired rows, not counting those the
// purge found held, and deletes them by primary key. Rows held, refreshed
// or deleted meanwhile are not deleted; it then looks again for as many,
// so that it returns fewer than limit only when it finds fewer. The
// numbers of the statement that finds them are written into it, as Go
// formats integers: bound, they would cost two more round trips, as
// go-sql-driver prepares a statement with arguments on the server; the
// Ids are bound.
func (m Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	var total int64
	for range rounds {
		want := limit - int(total)
		passed := len(s.held)
		found, err := m.expiredIDs(ctx, q, n, grace, want+passed)
		if err != nil {
			return total, err
		}
		ids := make([]any, 0, want)
		for _, id := range found {
			if !s.held[id.(string)] && len(ids) < want {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return total, nil
		}
		deleted, err := m.deleteIDs(ctx, q, n, grace, ids, s)
		total += deleted
		if err != nil || len(found) < want+passed || total >= int64(limit) {
			return total, err
		}
	}
	return total, nil
}

// idsSQL writes one of the statements on a list of Ids with the grace
// written in and a placeholder for each of count Ids.
func (m Dialect) idsSQL(query string, n dialects.Names, grace time.Duration, count int) string {
	return fmt.Sprintf(query, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10),
		strings.TrimSuffix(strings.Repeat("?, ", count), ", "))
}

// idsOf runs a query of Ids and returns them.
func (Dialect) idsOf(ctx context.Context, q dialects.Querier, query string, args []any) ([]any, error) {
	ids, err := dialects.ScanIDs(q.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, err
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out, nil
}

// expiredIDs reads the Ids of up to limit of the oldest expired rows.
func (m Dialect) expiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) ([]any, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(expiredSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]any, 0, limit)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CountExpired writes the grace into the statement, as DeleteExpired does
// its numbers: bound, it would be prepared on the server first, a second
// round trip for a statement run once.
func (m Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	var count int64
	var oldest sql.NullTime
	err := q.QueryRowContext(ctx, "SELECT COUNT(*), MIN(`ExpiresAtTime`) FROM "+m.qualified(n)+
		" WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL "+strconv.FormatInt(grace.Microseconds(), 10)+" MICROSECOND").Scan(&count, &oldest)
	return count, oldest.Time, err
}

// ExplainPurge explains the statement DeleteExpired runs. (Bound
// parameters would make the driver prepare it on the server, and MySQL does
// not list EXPLAIN among the statements it can prepare.)
func (m Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	find, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(expiredSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit)))
	if err != nil {
		return "", err
	}
	del, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+fmt.Sprintf(deleteIDsSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), "''"))
	if err != nil {
		return "", err
	}
	return "find the expired Ids:\n" + find + "\ndelete them by primary key:\n" + del, nil
}

// deleteSQL is the purge batch with its numbers written in.
func (m Dialect) deleteSQL(n dialects.Names, grace time.Duration, limit int) string {
	return fmt.Sprintf(scriptDeleteSQL, m.qualified(n), strconv.FormatInt(grace.Microseconds(), 10), strconv.Itoa(limit))
}

func (m Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	del := m.deleteSQL(n, grace, limit)
	return fmt.Sprintf(`-- Deletes the rows of %s that expired over %s ago, %d at a time.
-- With autocommit on, each run of the statement is its own transaction:
-- repeat it until it deletes no rows (SELECT ROW_COUNT(); says how many).
%s;
`, m.qualified(n), grace, limit, del)
}
