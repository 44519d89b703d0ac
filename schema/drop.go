package schema

import (
	"context"
	"fmt"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
)

// Drop statuses, as JSON reports them.
const (
	DropDropped = "dropped"
	DropMissing = "missing" // nothing there, and --if-exists
	// DropVersionTable: the table was not there, but its version table
	// was (the table dropped by hand, a create that did not finish), and
	// drop dropped that.
	DropVersionTable = "dropped_version_table"
)

// DropOptions say what Drop may drop.
type DropOptions struct {
	// Force drops a table that is not of the table's layout, or one whose
	// layout keeps its rows (the key ring) that holds some.
	Force bool
	// IfExists makes a missing table success.
	IfExists bool
}

// DropResult says what Drop did.
type DropResult struct {
	Status string `json:"status"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Forced is set when the table was not of its layout.
	Forced bool `json:"forced"`
}

// Drop removes the table and its version table, in one transaction where
// the engine has transactional DDL. It refuses a view, and, unless
// opts.Force, a table that is not of its layout (a cache table) and one
// whose layout keeps its rows (the key ring) that holds any
// (ErrHoldsRows). A version table without its table is dropped too, with
// or without opts.IfExists.
func Drop(ctx context.Context, db *DB, t *Table, opts DropOptions) (*DropResult, error) {
	res, err := drop(ctx, db, t, opts)
	return res, t.denied(ctx, db, "drop", err)
}

func drop(ctx context.Context, db *DB, t *Table, opts DropOptions) (*DropResult, error) {
	if err := t.refuseVerb("drop", t.Layout.NoDrop); err != nil {
		return nil, err
	}
	cl, ok := t.Dialect.(dialects.CreateLocker)
	if !ok {
		return dropLocked(ctx, db, db, t, opts)
	}
	// Under create's lock: a create in flight finishes first, its table
	// and version whole, and none starts until the drop is done.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	unlock, err := cl.LockCreate(ctx, conn, t.Names)
	if err != nil {
		return nil, err
	}
	res, err := dropLocked(ctx, db, conn, t, opts)
	if uerr := unlock(); uerr != nil && err == nil {
		err = fmt.Errorf("releasing the create lock: %w", uerr)
	}
	// Once the lock is released: a lock file goes with the last table,
	// not while a lock is held in it.
	if d, ok := t.Dialect.(dialects.Dropper); ok && err == nil {
		_ = d.Dropped(ctx, conn, t.Names) // what it leaves is harmless
	}
	return res, err
}

// dropLocked is drop, its statements on q.
func dropLocked(ctx context.Context, db *DB, q dialects.Querier, t *Table, opts DropOptions) (*DropResult, error) {
	res := &DropResult{Schema: t.Schema, Table: t.Names.Table}
	info, err := t.Dialect.Inspect(ctx, q, t.Names)
	if err != nil {
		return nil, err
	}
	switch info.Kind {
	case dialects.KindMissing:
		if info.VersionTable {
			return dropVersionTable(ctx, q, t, res)
		}
		if opts.IfExists {
			res.Status = DropMissing
			return res, nil
		}
		return nil, fmt.Errorf("%w: %s; pass --if-exists to make that success", ErrTableMissing, t)
	case dialects.KindTable:
	default:
		return nil, fmt.Errorf("%w: %s is a %s, not a table; sessctl drops only tables", t.notLayout(), t, info.Kind)
	}
	if err := refuseForeign(t, info, "drop"); err != nil {
		if !opts.Force {
			return nil, fmt.Errorf("%w; pass --force to drop it anyway", err)
		}
		res.Forced = true
	}
	if err := runDrop(ctx, q, t, opts.Force); err != nil {
		return nil, err
	}
	if d, ok := t.Dialect.(dialects.Dropper); ok && q == dialects.Querier(db) {
		_ = d.Dropped(ctx, db, t.Names) // what it leaves is harmless
	}
	res.Status = DropDropped
	return res, nil
}

// dropVersionTable drops a version table that has no table: left there, it
// would make create take the table for made.
func dropVersionTable(ctx context.Context, db dialects.Querier, t *Table, res *DropResult) (*DropResult, error) {
	script, err := t.script(migrations.DropVersion, t.templateData())
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, script); err != nil {
		return nil, fmt.Errorf("dropping the version table %s, left without %s: %w", t.quoted(t.VersionTable), t, err)
	}
	res.Status = DropVersionTable
	return res, nil
}

// runDrop runs the drop script on q. A layout that keeps its rows (the
// key ring) has its check in the script itself, in the drop's transaction
// (or, on MySQL, under its table locks), so that no row an app commits
// meanwhile is lost; force runs the script without it (DropForce).
func runDrop(ctx context.Context, q dialects.Querier, t *Table, force bool) error {
	name := migrations.Drop
	if force && t.Layout.Kept != "" {
		name = migrations.DropForce
	}
	script, err := t.script(name, t.templateData())
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, script)
	if err == nil {
		return nil
	}
	// The script stopped half way: its transaction or its table locks
	// must not stay on the connection, even when a signal or --timeout
	// stopped it (hence a context of its own). What fails here is
	// harmless.
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), minStopGrace*5)
	_, _ = q.ExecContext(cleanup, dropCleanup[t.Dialect.Name()])
	cancel()
	if name == migrations.Drop && t.Layout.Kept != "" && strings.Contains(err.Error(), dropGuardSays[t.Dialect.Name()]) {
		if kerr := refuseKept(ctx, q, t); kerr != nil {
			return kerr
		}
	}
	return fmt.Errorf("dropping %s: %w", t, err)
}

// dropCleanup ends, per engine, what a drop script that failed half way
// left open on its connection.
var dropCleanup = map[string]string{
	"postgres":  "ROLLBACK",
	"sqlite":    "ROLLBACK",
	"mysql":     "UNLOCK TABLES",
	"sqlserver": "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION",
}

// dropGuardSays is, per engine, what the error of the key ring's drop.sql
// says when its check refuses: its own message where the engine can raise
// one, the error the check provokes where it cannot (MySQL outside a
// stored program, SQLite).
var dropGuardSays = map[string]string{
	"postgres":  "the key ring holds keys",
	"sqlserver": "the key ring holds keys",
	"mysql":     "Subquery returns more than 1 row",
	"sqlite":    "malformed JSON",
}

// refuseKept, after the drop script's check refused t, says why: t's
// layout keeps its rows (the key ring) and t holds some, and dropping it
// loses what the app cannot make again. It returns nil if t holds none
// (the script failed for another reason).
func refuseKept(ctx context.Context, q dialects.Querier, t *Table) error {
	var n int64
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.templateData()["Table"]).Scan(&n); err != nil || n == 0 {
		return nil
	}
	rows := "rows"
	if n == 1 {
		rows = "row"
	}
	return fmt.Errorf("%w: %s is a %s that holds %d %s, and drop will not drop it: %s. "+
		"Back the rows up first (SELECT * FROM %s), then pass --force to drop it anyway; nothing was changed",
		ErrHoldsRows, t, t.Layout.Noun, n, rows, t.Layout.Kept, t.templateData()["Table"])
}
