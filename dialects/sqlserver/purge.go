package sqlserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// maxBatch is the most rows one DELETE statement of a purge
// removes. SQL Server escalates a statement's row locks to a lock on the
// whole table once it holds 5,000 on one index, and that lock would block
// every app session; 4,000 keeps each statement well clear of it. A larger
// batch runs as several statements of at most this many rows, each its own
// transaction.
const maxBatch = 4000

// deadlockRetries is how often a purge statement chosen as a
// deadlock victim (it runs at low deadlock priority, so that the app wins)
// is tried again before purge gives up.
const deadlockRetries = 3

// lockPrefix begins the name of every purge lock, so that it
// cannot be mistaken for another application's.
const lockPrefix = "sessctl purge "

// lockResource is the sp_getapplock resource of the purge lock of
// one table. Names are folded to lower case, as SQL Server's usual
// collations fold them, since the resource is compared byte for byte. The
// resource holds at most 255 characters; a longer one is hashed.
func lockResource(n dialects.Names) string {
	r := lockPrefix + strings.ToLower(n.Schema) + "." + strings.ToLower(n.Table)
	if utf16Len(r) <= 255 {
		return r
	}
	sum := sha256.Sum256([]byte(r))
	return lockPrefix + hex.EncodeToString(sum[:])
}

// TryLock takes an exclusive application lock owned by the session, so it
// lasts across the purge's transactions and ends with the connection.
// Every negative status is "not acquired": SQL Server answers -1 to a
// lock another session holds, and stock Babelfish (Aurora's too) -999.
// And a connection that was refused the lock leaves the pool: stock
// Babelfish crashes at the fifth failed sp_getapplock on one connection,
// so none ever asks twice on one.
func (s Dialect) TryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	return dialects.Locked(s.tryLock(ctx, conn, n))
}

// tryLock is TryLock, ok false when another session holds the lock.
func (Dialect) tryLock(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, bool, error) {
	resource := lockResource(n)
	var status int
	err := conn.QueryRowContext(ctx, `DECLARE @status int;
EXEC @status = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @status;`, resource).Scan(&status)
	if err != nil {
		return nil, false, fmt.Errorf("taking the purge lock: %w", err)
	}
	if status < 0 {
		discard(conn)
		return nil, false, nil
	}
	unlock := func() error {
		_, err := conn.ExecContext(context.Background(), `EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session';`, resource)
		return err
	}
	return unlock, true, nil
}

// discard closes conn and drops its connection from the pool, instead of
// returning it there: database/sql closes a connection whose Raw says
// driver.ErrBadConn.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // the error is the request to drop it
}

// cutoff is "now" by the server's clock less the grace: a second
// count and a microsecond remainder, since DATEADD takes an int.
func cutoff(grace time.Duration) (seconds, micros int32) {
	if grace/time.Second > math.MaxInt32 {
		return math.MaxInt32, 0
	}
	return int32(grace / time.Second), int32(grace % time.Second / time.Microsecond)
}

// cutoffSQL writes the cutoff with seconds and micros as given:
// parameters, or numbers for a script.
func cutoffSQL(seconds, micros string) string {
	expr := "DATEADD(second, -" + seconds + ", SYSDATETIMEOFFSET())"
	if micros != "0" {
		expr = "DATEADD(microsecond, -" + micros + ", " + expr + ")"
	}
	return expr
}

// deleteSQL deletes the oldest expired rows, by key: the
// subquery's TOP with ORDER BY on ExpiresAtTime makes the expiry index the
// plan (whatever its name), reading only the rows it deletes, and the
// DELETE finds each of them by its key. (Babelfish refuses the form that
// deletes through a derived table, DELETE alias FROM (SELECT TOP …) AS
// alias: tds/README.md, "DELETE alias FROM".) The expiry is re-checked
// where each row is deleted: SQL Server qualifies the rows a DELETE removes
// on their current committed version, under an update lock (under read
// committed snapshot too), so a row an app slides forward meanwhile no
// longer qualifies. READPAST skips rows an app session has locked, most
// likely to slide them; where table hints are ignored (Babelfish), the
// session's LOCK_TIMEOUT bounds the wait instead (see DeleteExpired).
// %[1]s is the table, %[2]s the number of rows, %[3]s the cutoff, %[4]s
// more of the subquery's WHERE clause (a position to go on from), %[5]s its
// ORDER BY.
const deleteSQL = `DELETE FROM %[1]s WITH (ROWLOCK, READPAST)
WHERE [Id] IN (
    SELECT TOP (%[2]s) [Id]
    FROM %[1]s WITH (ROWLOCK, READPAST)
    WHERE [ExpiresAtTime] < %[3]s%[4]s
    ORDER BY %[5]s
) AND [ExpiresAtTime] < %[3]s;`

// purgeOrder is the purge's order: the oldest first, the key breaking
// ties. On SQL Server it is the expiry index's own order, as a
// nonclustered index carries the clustered key.
const purgeOrder = "[ExpiresAtTime], [Id]"

// heldTable lists, for the session, the rows its purge found
// held (see DeleteExpired): a temporary table, which ends with the session.
const heldTable = "#sessctl_held"

// notHeld leaves the rows heldTable lists out of a batch.
const notHeld = "\n      AND [Id] NOT IN (SELECT [Id] FROM " + heldTable + ")"

// lockTimeoutMS bounds how long a purge statement waits for a lock
// an app session holds (SET LOCK_TIMEOUT): well under minStopGrace, so that
// a waiting statement ends on its own before a signal or deadline would
// have to cut it. On SQL Server READPAST passes over held rows and this
// bounds only other waits (a table lock, a schema change); on Babelfish,
// which ignores table hints, every held row makes the statement wait this
// long, and DeleteExpired steps past it.
const lockTimeoutMS = 100

// prelude begins each purge statement's batch.
var prelude = "SET DEADLOCK_PRIORITY LOW;\nSET LOCK_TIMEOUT " + strconv.Itoa(lockTimeoutMS) + ";\n"

// Limits keep a batch under lock escalation: see maxBatch.
func (Dialect) Limits() dialects.Limits { return dialects.Limits{MaxBatch: maxBatch} }

// DeleteExpired runs statements of at most maxBatch rows, each its
// own (autocommitted) transaction, at low deadlock priority, until limit
// rows are gone or one statement finds fewer than it may delete.
//
// A statement that waited its LOCK_TIMEOUT for a row an app session holds
// (Babelfish, which ignores READPAST) was rolled back whole; it is tried
// again with half as many rows, until one row alone times out: that row is
// held, and is listed in the session's heldTable, which the
// session's statements from then on leave out, as READPAST would have.
// Rows held so are left for the next run, and counted by CountHeld.
func (s Dialect) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	c := colsOf(n)
	sec, us := c.args(grace)
	query := prelude + s.deleteHeldAware(n, "@p1", c.cutoff("@p2", "@p3"))
	var total int64
	most := int64(maxBatch)
	var bbf *bool // whether q is Babelfish, asked at the first lock timeout
	for total < int64(limit) {
		want := min(int64(limit)-total, most)
		deleted, err := s.deleteOnce(ctx, q, query, []any{want, sec, us})
		if lockTimedOut(err) && ctx.Err() == nil {
			if bbf == nil {
				b, berr := isBabelfish(ctx, q)
				if berr != nil {
					return total, berr
				}
				bbf = &b
			}
			switch {
			case *bbf && want > 1:
				most = max(want/2, 1)
				continue
			case *bbf:
				found, nerr := s.noteHeld(ctx, q, n, sec, us)
				if nerr == nil && !found {
					return total, nil
				}
				if nerr == nil {
					most = maxBatch
					continue
				}
				if !lockTimedOut(nerr) {
					return total, nerr
				}
			}
			// More than a row is locked: on SQL Server, where READPAST
			// passes over held rows, any lock timeout is a lock on the
			// table (or its schema); on Babelfish, one that the read of
			// noteHeld waited for too. The purge waits for it, as it
			// would without LOCK_TIMEOUT, in steps between which its
			// context can end it with no statement to cut.
			select {
			case <-ctx.Done():
				return total, err
			case <-time.After(lockTimeoutMS * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return total, err
		}
		total += deleted
		if deleted < want {
			break
		}
		most = min(most*2, maxBatch)
	}
	return total, nil
}

// deleteHeldAware is one batch, leaving out the rows heldTable
// lists where the session has one.
func (s Dialect) deleteHeldAware(n dialects.Names, rows, cutoff string) string {
	t, c := s.qualified(n), colsOf(n)
	return "IF OBJECT_ID(N'tempdb.." + heldTable + "') IS NULL\n" +
		fmt.Sprintf(c.of(deleteSQL), t, rows, cutoff, "", c.of(purgeOrder)) +
		"\nELSE\n" + fmt.Sprintf(c.of(deleteSQL), t, rows, cutoff, c.of(notHeld), c.of(purgeOrder))
}

// noteHeld lists in heldTable the first expired row it does not
// list yet, the one a batch of one row waited for; found is false when
// there is none. It reads without waiting for row locks.
func (s Dialect) noteHeld(ctx context.Context, q dialects.Querier, n dialects.Names, sec, us int32) (found bool, err error) {
	c := colsOf(n)
	res, err := q.ExecContext(ctx, c.in(`IF OBJECT_ID(N'tempdb..`+heldTable+`') IS NULL
    `+c.heldCreate()+`;
INSERT INTO `+heldTable+` ([Id])
SELECT TOP (1) [Id] FROM `+tableMark+` WITH (READUNCOMMITTED)
WHERE [ExpiresAtTime] < `+c.cutoff("@p1", "@p2")+notHeld+`
ORDER BY `+purgeOrder+`;`, s.qualified(n)), sec, us)
	if err != nil {
		return false, fmt.Errorf("noting a row an app session holds: %w", err)
	}
	added, err := res.RowsAffected()
	return added > 0, err
}

// deleteOnce runs one DELETE, again when it was chosen as a deadlock
// victim: it was rolled back whole, so running it again is safe.
func (Dialect) deleteOnce(ctx context.Context, q dialects.Querier, query string, args []any) (int64, error) {
	for attempt := 1; ; attempt++ {
		res, err := q.ExecContext(ctx, query, args...)
		if err == nil {
			return res.RowsAffected()
		}
		if errorNumber(err) != deadlockVictim || attempt > deadlockRetries {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

func (s Dialect) CountExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration) (int64, time.Time, error) {
	c := colsOf(n)
	sec, us := c.args(grace)
	var count int64
	var oldest sql.NullTime
	err := q.QueryRowContext(ctx, c.in(`SELECT COUNT_BIG(*), MIN([ExpiresAtTime]) FROM `+tableMark+
		` WHERE [ExpiresAtTime] < `+c.cutoff("@p1", "@p2"), s.qualified(n)), sec, us).Scan(&count, &oldest)
	if err != nil || !oldest.Valid {
		return count, time.Time{}, err
	}
	return count, oldest.Time.UTC(), nil
}

var _ dialects.HeldCounter = Dialect{}

// heldSQL counts, among the oldest @p1 expired rows (read without
// waiting for locks), those another session holds: the others it takes
// update locks on, as a batch would, skipping (READPAST) the held ones,
// and releases them as it ends. %[1]s is the table, %[2]s the cutoff.
const heldSQL = `SELECT COUNT_BIG(*) - COUNT_BIG(free.[Id])
FROM (
    SELECT TOP (@p1) [Id]
    FROM %[1]s WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < %[2]s
    ORDER BY [ExpiresAtTime]
) AS oldest
LEFT JOIN %[1]s AS free WITH (UPDLOCK, ROWLOCK, READPAST)
    ON free.[Id] = oldest.[Id] AND free.[ExpiresAtTime] < %[2]s;`

// CountHeld: on Babelfish, which ignores the hints, the held rows are those
// a DELETE cannot lock within its LOCK_TIMEOUT: the oldest limit expired
// rows are tried in a transaction that is rolled back, all at once, and,
// only when one of them is held, one by one.
func (s Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	c := colsOf(n)
	sec, us := c.args(grace)
	if bbf, err := isBabelfish(ctx, q); err != nil || bbf {
		if err != nil {
			return 0, err
		}
		return s.probeHeld(ctx, q, n, sec, us, limit)
	}
	var held int64
	err := q.QueryRowContext(ctx, fmt.Sprintf(c.of(heldSQL), s.qualified(n), c.cutoff("@p2", "@p3")), limit, sec, us).Scan(&held)
	return held, err
}

// probeHeld counts, among the oldest limit expired rows, those a DELETE
// cannot lock within lockTimeoutMS, deleting nothing: each try is
// rolled back.
func (s Dialect) probeHeld(ctx context.Context, q dialects.Querier, n dialects.Names, sec, us int32, limit int) (int64, error) {
	session, release, err := oneSession(ctx, q)
	if err != nil {
		return 0, err
	}
	defer release()
	c := colsOf(n)
	t, cutoff := s.qualified(n), c.cutoff("@p2", "@p3")
	all := prelude + fmt.Sprintf(c.of(deleteSQL), t, "@p1", cutoff, "", c.of(purgeOrder))
	one := prelude + c.in("DELETE FROM "+tableMark+" WHERE [Id] = @p1 AND [ExpiresAtTime] < "+cutoff+";", t)
	try := func(query string, args ...any) (held bool, err error) {
		undo, err := rolledBack(ctx, session)
		if err != nil {
			return false, err
		}
		defer undo()
		_, err = session.ExecContext(ctx, query, args...)
		if lockTimedOut(err) {
			return true, nil
		}
		return false, err
	}
	if held, err := try(all, limit, sec, us); err != nil || !held {
		return 0, err
	}
	// The rows to try one by one: those the session's batches found held,
	// when they found any; else the oldest.
	rows, err := session.QueryContext(ctx, c.in(`IF OBJECT_ID(N'tempdb..`+heldTable+`') IS NULL
    SELECT TOP (@p1) [Id] FROM `+tableMark+` WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < `+cutoff+` ORDER BY `+purgeOrder+`
ELSE
    SELECT TOP (@p1) [Id] FROM `+tableMark+` WITH (READUNCOMMITTED)
    WHERE [ExpiresAtTime] < `+cutoff+` AND [Id] IN (SELECT [Id] FROM `+heldTable+`) ORDER BY `+purgeOrder+`;`, t), limit, sec, us)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var count int64
	for _, id := range ids {
		held, err := try(one, id, sec, us)
		if err != nil {
			return count, err
		}
		if held {
			count++
		}
	}
	return count, nil
}
