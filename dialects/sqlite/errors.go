package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// busyTimeout is how long a statement waits for another connection's
// write lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// busyStep is how long one try of a purge's statement waits for
// another connection's write lock: TryLock sets the purge session's busy
// timeout to it, and each statement purge runs tries again, step after
// step, up to busyTimeout in all, unless its context ends first
// (retry). SQLite's busy handler sleeps without heeding
// sqlite3_interrupt, which is how the driver cancels a statement, so a
// statement in one long busy wait could not be stopped by a signal or a
// deadline: it waited out all 10 seconds.
const busyStep = 250 * time.Millisecond

// codeBusy is SQLITE_BUSY, the primary result code of a statement that
// could not get a lock in its busy timeout.
const codeBusy = 5

// retry runs fn, and again while it fails with SQLITE_BUSY, for up to
// busyTimeout in all, unless ctx ends: then it returns the busy error
// and ctx's. fn must be safe to run again after SQLITE_BUSY: a read, or
// statements each of which either took its lock or did nothing.
func retry(ctx context.Context, fn func() error) error {
	start := time.Now()
	for {
		err := fn()
		var se interface{ Code() int }
		if !errors.As(err, &se) || se.Code()&0xff != codeBusy || time.Since(start) >= busyTimeout {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(err, context.Cause(ctx))
		}
	}
}

// codeCantOpen is SQLITE_CANTOPEN's primary result code.
const codeCantOpen = 14

// codeReadOnly is SQLITE_READONLY, the primary result code of every
// write to a database opened read-only (mode=ro) or a file this process
// may not write.
const codeReadOnly = 8

// Denied: SQLITE_READONLY. SQLite has no users: a file opened read-only
// (Mode=ReadOnly, mode=ro), or one the process may not write, is how it
// refuses a privilege.
func (Dialect) Denied(ctx context.Context, q dialects.Querier, err error, op string, n dialects.Names) (string, bool) {
	var se interface{ Code() int }
	if !errors.As(err, &se) || se.Code()&0xff != codeReadOnly {
		return "", false
	}
	return readOnlyMessage(ctx, q, op, n), true
}

// readOnlyMessage says that the database is read-only, and why: the
// connection string opened it so, or the file (or its folder) may not be
// written by this user.
func readOnlyMessage(ctx context.Context, q dialects.Querier, op string, n dialects.Names) string {
	var queryOnly bool
	if q.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly) == nil && queryOnly {
		return fmt.Sprintf("the database file is read-only: the connection string opens it read-only, and %s needs to write it; "+
			"open it without mode=ro (Mode=ReadOnly, immutable=1) to %s", op, op)
	}
	file := "the database file"
	var path string
	if q.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = ?`, n.Schema).Scan(&path) == nil && path != "" {
		file = path
	}
	why := "this user may not write it or its folder, or it is on a read-only file system"
	if path != "" {
		if werr := writable(path); werr != nil {
			why = werr.Error()
		}
	}
	return fmt.Sprintf("the database file is read-only (%s), and %s needs to write it: run %s as a user that may write %s and its folder",
		why, op, op, file)
}

// cannotWrite reports whether q was opened read-only (readOnly), or
// else, as an error, why op could not write the database: the file, or its
// folder (outside WAL mode, where a write needs a journal beside the
// file), may not be written.
func cannotWrite(ctx context.Context, q dialects.Querier, n dialects.Names, op string) (readOnly bool, err error) {
	var queryOnly bool
	if err := q.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly); err != nil {
		return false, fmt.Errorf("reading how the database is opened: %w", err)
	}
	if queryOnly {
		return true, nil
	}
	var file string
	if err := q.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = ?`, n.Schema).Scan(&file); err != nil || file == "" {
		return false, err
	}
	if err := writable(file); err != nil {
		return false, fmt.Errorf("%w: %s", dialects.ErrPermission, readOnlyMessage(ctx, q, op, n))
	}
	var journal string
	if err := q.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journal); err == nil && !strings.EqualFold(journal, "wal") {
		if err := writable(filepath.Dir(file)); err != nil {
			return false, fmt.Errorf("%w: the database's folder is read-only (%v): %s writes the database, for which SQLite "+
				"writes a journal beside it (and sessctl its lock file); run %s as a user that may write the folder", dialects.ErrPermission, err, op, op)
		}
	}
	return false, nil
}

var _ dialects.Referencer = Dialect{}

// codeForeignKey is SQLITE_CONSTRAINT_FOREIGNKEY, which SQLite
// returns with PRAGMA foreign_keys on (Microsoft.Data.Sqlite's Foreign
// Keys=True).
const codeForeignKey = 787

// Referenced: SQLite does not name the foreign key.
func (Dialect) Referenced(err error) (string, bool) {
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code() == codeForeignKey {
		return "", true
	}
	return "", false
}
