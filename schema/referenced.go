package schema

import (
	"context"
	"database/sql"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// maxPassed is the most rows a purge remembers to pass over by Id (rows a
// foreign key references, and rows of the same batches that were held or
// kept): past it, the run ends, and the next one starts afresh.
const maxPassed = 100_000

// isolation is a purge that met a foreign key referencing an expired row:
// every batch that reaches that row is refused whole, so it deletes rows
// by Id, halving a refused set down to single rows, and passes over those
// for the rest of the run.
type isolation struct {
	d      dialects.IDDeleter
	passed []string
	seen   map[string]bool
}

func (iso *isolation) pass(ids ...string) {
	for _, id := range ids {
		if !iso.seen[id] {
			iso.seen[id] = true
			iso.passed = append(iso.passed, id)
		}
	}
}

// batch deletes up to limit of the oldest expired rows not passed over
// yet; more is false when there were none left to try (or too many have
// been passed over).
func (t *Table) isolatedBatch(ctx context.Context, conn *sql.Conn, iso *isolation, grace time.Duration, limit int, res *PurgeResult) (n int64, more bool, err error) {
	if len(iso.passed) >= maxPassed {
		return 0, false, nil
	}
	ids, err := iso.d.ExpiredIDs(ctx, conn, t.Names, grace, limit, iso.passed)
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	n, err = t.deleteHalving(ctx, conn, iso, grace, ids, res)
	return n, true, err
}

// deleteHalving deletes ids, or, when a foreign key refuses that, each
// half of them, down to the single rows it refuses, which it passes over
// and counts. Rows left otherwise (held by an app session, kept by a
// trigger) are passed over too, so that the next batch reaches new ones.
func (t *Table) deleteHalving(ctx context.Context, conn *sql.Conn, iso *isolation, grace time.Duration, ids []string, res *PurgeResult) (int64, error) {
	n, err := iso.d.DeleteIDs(ctx, conn, t.Names, grace, ids)
	if err == nil {
		if n < int64(len(ids)) {
			left, err := iso.d.StillExpired(ctx, conn, t.Names, grace, ids)
			if err != nil {
				return n, err
			}
			iso.pass(left...)
		}
		return n, nil
	}
	fk, referenced := iso.d.Referenced(err)
	if !referenced {
		return 0, err
	}
	if len(ids) == 1 {
		iso.pass(ids[0])
		res.Kept.ByForeignKey++
		if res.Kept.ForeignKey == "" {
			res.Kept.ForeignKey = fk
		}
		return 0, nil
	}
	half := len(ids) / 2
	first, err := t.deleteHalving(ctx, conn, iso, grace, ids[:half], res)
	if err != nil {
		return first, err
	}
	second, err := t.deleteHalving(ctx, conn, iso, grace, ids[half:], res)
	return first + second, err
}
