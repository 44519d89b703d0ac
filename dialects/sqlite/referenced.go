package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// sqliteConstraintForeignKey is SQLITE_CONSTRAINT_FOREIGNKEY, which SQLite
// returns with PRAGMA foreign_keys on (Microsoft.Data.Sqlite's Foreign
// Keys=True).
const sqliteConstraintForeignKey = 787

// Referenced: SQLite does not name the foreign key.
func (Dialect) Referenced(err error) (string, bool) {
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code() == sqliteConstraintForeignKey {
		return "", true
	}
	return "", false
}

// The Ids are a JSON array, read with json_each, which SQLite has had since
// 3.38 built in (and modernc's build before that).
func (s Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	t := s.qualified(n)
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1
		AND "Id" NOT IN (SELECT value FROM json_each(?2)) ORDER BY `+t+`."ExpiresAtTime" LIMIT ?3`,
		grace.Microseconds(), jsonIDs(skip), limit))
}

func (s Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	t := s.qualified(n)
	var deleted int64
	err := sqliteRetry(ctx, func() error {
		res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1`,
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
	return dialects.ScanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1`,
		grace.Microseconds(), jsonIDs(ids)))
}

func jsonIDs(ids []string) string {
	b, _ := json.Marshal(dialects.NonNil(ids))
	return string(b)
}
