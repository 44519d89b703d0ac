package schema

import (
	"context"
	"database/sql"

	"github.com/sessctl/sessctl/dialects"
)

// countHeld counts, among the oldest expired rows, those another session
// holds, into res.Held: on an engine without row locks (SQLite) none. A
// done run left nothing else, so its remaining rows are at least these.
func (t *Table) countHeld(ctx context.Context, conn *sql.Conn, opts PurgeOptions, res *PurgeResult, limit int) {
	held := int64(0)
	if hc, ok := t.Dialect.(dialects.HeldCounter); ok {
		n, err := hc.CountHeld(ctx, conn, t.Names, opts.Grace, max(limit, 1))
		if err != nil {
			return
		}
		held = n
	}
	res.Held = &held
	if res.Status == PurgeDone && res.Remaining != nil && *res.Remaining < held {
		res.Remaining = &held
	}
}
