package schema

import (
	"context"
	"fmt"

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
	// Force drops a table that is not a cache table.
	Force bool
	// IfExists makes a missing table success.
	IfExists bool
}

// DropResult says what Drop did.
type DropResult struct {
	Status string `json:"status"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Forced is set when the table was not a cache table.
	Forced bool `json:"forced"`
}

// Drop removes the table and its version table, in one transaction where
// the engine has transactional DDL. It refuses a view, and a table that is
// not a cache table unless opts.Force. A version table without its table
// is dropped too, with or without opts.IfExists.
func Drop(ctx context.Context, db *DB, t *Table, opts DropOptions) (*DropResult, error) {
	res, err := drop(ctx, db, t, opts)
	return res, t.denied(ctx, db, "drop", err)
}

func drop(ctx context.Context, db *DB, t *Table, opts DropOptions) (*DropResult, error) {
	res := &DropResult{Schema: t.Schema, Table: t.Names.Table}
	info, err := t.Dialect.Inspect(ctx, db, t.Names)
	if err != nil {
		return nil, err
	}
	switch info.Kind {
	case dialects.KindMissing:
		if info.VersionTable {
			return dropVersionTable(ctx, db, t, res)
		}
		if opts.IfExists {
			res.Status = DropMissing
			return res, nil
		}
		return nil, fmt.Errorf("%w: %s; pass --if-exists to make that success", ErrTableMissing, t)
	case dialects.KindTable:
	default:
		return nil, fmt.Errorf("%w: %s is a %s, not a table; sessctl drops only tables", ErrNotCacheTable, t, info.Kind)
	}
	if err := refuseForeign(t, info, "drop"); err != nil {
		if !opts.Force {
			return nil, fmt.Errorf("%w; pass --force to drop it anyway", err)
		}
		res.Forced = true
	}
	script, err := DropScript(t)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, script); err != nil {
		return nil, fmt.Errorf("dropping %s: %w", t, err)
	}
	if d, ok := t.Dialect.(dialects.Dropper); ok {
		_ = d.Dropped(ctx, db, t.Names) // what it leaves is harmless
	}
	res.Status = DropDropped
	return res, nil
}

// dropVersionTable drops a version table that has no table: left there, it
// would make create take the table for made.
func dropVersionTable(ctx context.Context, db *DB, t *Table, res *DropResult) (*DropResult, error) {
	script, err := migrations.Script(t.Dialect.Name(), migrations.DropVersion, t.templateData())
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, script); err != nil {
		return nil, fmt.Errorf("dropping the version table %s, left without %s: %w", t.quoted(t.VersionTable), t, err)
	}
	res.Status = DropVersionTable
	return res, nil
}
