package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// lockAndInspect takes the purge lock, then reads the catalog for the
// table as verify does: without the version table where the dialect can
// (dialects.TableInspector), as its findings are only warnings, which do
// not stop a purge. ok is false when another session holds the lock.
// (One statement that did both cost more than the statements it replaced,
// see BENCHMARKS.md.)
func (t *Table) lockAndInspect(ctx context.Context, conn *sql.Conn) (unlock func() error, ok bool, info *dialects.TableInfo, err error) {
	if unlock, err = t.Dialect.TryLock(ctx, conn, t.Names); errors.Is(err, dialects.ErrLocked) {
		return nil, false, nil, nil
	} else if err != nil {
		return nil, false, nil, err
	}
	inspect := t.Dialect.Inspect
	if ti, can := t.Dialect.(dialects.TableInspector); can {
		inspect = ti.InspectTable
	}
	if info, err = inspect(ctx, conn, t.Names); err != nil {
		return nil, false, nil, errors.Join(err, unlock())
	}
	return unlock, true, info, nil
}

// hidden is refused, the error of a purge that refused the table, unless
// the catalog showed no table because it hides tables from a user with no
// privilege on them (MySQL, SQL Server): then the table's own answer, a
// refused privilege, says what to grant.
func (t *Table) hidden(ctx context.Context, conn *sql.Conn, info *dialects.TableInfo, opts PurgeOptions, refused error) error {
	if info.Kind != dialects.KindMissing {
		return refused
	}
	if _, _, err := t.Dialect.CountExpired(ctx, conn, t.Names, opts.Grace); err != nil {
		if denied := t.denied(ctx, conn, "purge", err); errors.Is(denied, dialects.ErrPermission) {
			return denied
		}
	}
	return refused
}

// shaped is t with the dialect whose statements fit the table info
// describes (dialects.Shaper).
func (t *Table) shaped(info *dialects.TableInfo) *Table {
	if s, ok := t.Dialect.(dialects.Shaper); ok {
		c := *t
		c.Dialect = s.ForTable(info)
		return &c
	}
	return t
}

// fail ends res as failed by err, which it returns, or, when err is the
// connection lost, an error that says so.
func (t *Table) fail(res *PurgeResult, start time.Time, err error) error {
	res.Status = PurgeFailed
	res.tally(start)
	if dialects.Disconnected(t.Dialect, err) {
		return t.lostConnection(res, err)
	}
	return err
}

// lostConnection says that the connection went from under a purge, and
// that running it again is safe: each batch is its own transaction, so the
// one in flight was rolled back whole and every row it did not delete is
// there for the next run.
func (t *Table) lostConnection(res *PurgeResult, err error) error {
	return fmt.Errorf("purge of %s lost the connection to the database after deleting %d rows (%w); "+
		"each batch commits on its own, so nothing was left half done: run purge again to go on", t, res.Deleted, err)
}

// explainFailure says so when a statement failed because the table is not
// there, the commonest reason.
func (t *Table) explainFailure(ctx context.Context, q dialects.Querier, err error) error {
	info, ierr := t.Dialect.Inspect(ctx, q, t.Names)
	if ierr != nil {
		return err
	}
	if info.Kind == dialects.KindMissing {
		return fmt.Errorf("%w: %s; `%s` makes it", ErrTableMissing, t, t.command("create"))
	}
	if ferr := refuseForeign(t, info, "purge"); ferr != nil {
		return ferr
	}
	return err
}
