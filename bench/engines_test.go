//go:build linux

package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"time"
)

// engine is how the benchmark speaks to one dialect's database: the app's
// operations as its cache provider runs them, the provider's own purge,
// and the upkeep a production database would have done between runs.
type engine struct {
	// rate is the requests a second each client sends: a load the engine
	// serves here with room to spare, so that latency measures waiting,
	// not a queue.
	rate int
	// param is bind parameter i (from 1) in the engine's syntax.
	param func(i int) string
	// stamp is a time as the table stores it, for a bind parameter.
	stamp func(time.Time) any
	// get is the provider's Get: slide the expiry forward, then read the
	// row. set is its Set, an upsert.
	get func(ctx context.Context, db *sql.DB, table, id string, now time.Time) error
	set func(ctx context.Context, db *sql.DB, table, id string, value []byte, now time.Time, sliding time.Duration) error
	// deleteExpired is the provider's whole purge: one DELETE of every
	// row that expired by the app's clock.
	deleteExpired func(ctx context.Context, db *sql.DB, table string, now time.Time) (int64, error)
	// settle is the upkeep a production table gets after a bulk load
	// (statistics, vacuum), so that both copies start alike.
	settle func(ctx context.Context, db *sql.DB, tables ...string) error
	// quiesce flushes dirty pages before a timed phase, so that no phase
	// pays for the writes of the one before.
	quiesce func(ctx context.Context, db *sql.DB) error
	// counters reads the engine's cumulative counts of the pages or rows
	// read from table, so that a purge's reads are the difference across
	// it; nil where the engine keeps none.
	counters func(ctx context.Context, db *sql.DB, schema, table string) (map[string]int64, error)
}

// sliding is the sliding expiration of every session the benchmark makes:
// long enough that no live row expires during a run.
const sliding = 2 * time.Hour

var engines = map[string]engine{
	"postgres": {
		rate:  100,
		param: func(i int) string { return "$" + strconv.Itoa(i) },
		stamp: func(t time.Time) any { return t.UTC() },
		get: func(ctx context.Context, db *sql.DB, table, id string, now time.Time) error {
			// The Community PostgreSQL provider's UpdateCacheItemSql, then
			// GetCacheItemSql (schema/conformance_postgres_test.go).
			if _, err := db.ExecContext(ctx, `UPDATE `+table+`
				SET "ExpiresAtTime" = LEAST("AbsoluteExpiration", $1 + "SlidingExpirationInSeconds" * interval '1 second')
				WHERE "Id" = $2
					AND ("ExpiresAtTime" IS NULL OR $1 <= "ExpiresAtTime")
					AND "SlidingExpirationInSeconds" IS NOT NULL
					AND ("AbsoluteExpiration" IS NULL OR "AbsoluteExpiration" <> "ExpiresAtTime")`, now.UTC(), id); err != nil {
				return err
			}
			return readValue(db.QueryRowContext(ctx, `SELECT "Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration"
				FROM `+table+` WHERE "Id" = $1 AND ("ExpiresAtTime" IS NULL OR $2 <= "ExpiresAtTime")`, id, now.UTC()))
		},
		set: func(ctx context.Context, db *sql.DB, table, id string, value []byte, now time.Time, sliding time.Duration) error {
			_, err := db.ExecContext(ctx, `INSERT INTO `+table+` ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT("Id") DO
				UPDATE SET
					"Value" = EXCLUDED."Value",
					"ExpiresAtTime" = EXCLUDED."ExpiresAtTime",
					"SlidingExpirationInSeconds" = EXCLUDED."SlidingExpirationInSeconds",
					"AbsoluteExpiration" = EXCLUDED."AbsoluteExpiration"`,
				id, value, now.Add(sliding).UTC(), sliding.Seconds(), nil)
			return err
		},
		deleteExpired: func(ctx context.Context, db *sql.DB, table string, now time.Time) (int64, error) {
			return rowsAffected(db.ExecContext(ctx, `DELETE FROM `+table+` WHERE $1 > "ExpiresAtTime"`, now.UTC()))
		},
		settle: func(ctx context.Context, db *sql.DB, tables ...string) error {
			return execAll(ctx, db, `VACUUM (ANALYZE) %s`, tables...)
		},
		quiesce: func(ctx context.Context, db *sql.DB) error {
			_, err := db.ExecContext(ctx, `CHECKPOINT`)
			return err
		},
		counters: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]int64, error) {
			// Backends report their reads when they end: wait for the
			// purge's to.
			time.Sleep(1500 * time.Millisecond)
			var heap, idx int64
			err := db.QueryRowContext(ctx, `SELECT coalesce(heap_blks_read, 0) + coalesce(heap_blks_hit, 0),
					coalesce(idx_blks_read, 0) + coalesce(idx_blks_hit, 0)
				FROM pg_statio_user_tables WHERE schemaname = $1 AND relname = $2`, schema, table).Scan(&heap, &idx)
			return map[string]int64{"table pages read": heap, "index pages read": idx}, err
		},
	},
	"sqlite": {
		// Every get slides the expiry, a write; SQLite runs one writer at
		// a time, each commit synced to disk.
		rate:  25,
		param: func(i int) string { return "?" + strconv.Itoa(i) },
		stamp: func(t time.Time) any { return t.UnixMicro() },
		get: func(ctx context.Context, db *sql.DB, table, id string, now time.Time) error {
			// The operations the README documents for apps on SQLite
			// (schema/conformance_sqlite_test.go).
			if _, err := db.ExecContext(ctx, `UPDATE `+table+`
				SET "ExpiresAtTime" = min(coalesce("AbsoluteExpiration", ?3), ?1 + "SlidingExpirationInSeconds" * 1000000)
				WHERE "Id" = ?2
					AND ?1 <= "ExpiresAtTime"
					AND "SlidingExpirationInSeconds" IS NOT NULL
					AND ("AbsoluteExpiration" IS NULL OR "AbsoluteExpiration" <> "ExpiresAtTime")`, now.UnixMicro(), id, int64(math.MaxInt64)); err != nil {
				return err
			}
			return readValue(db.QueryRowContext(ctx, `SELECT "Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration"
				FROM `+table+` WHERE "Id" = ?1 AND ?2 <= "ExpiresAtTime"`, id, now.UnixMicro()))
		},
		set: func(ctx context.Context, db *sql.DB, table, id string, value []byte, now time.Time, sliding time.Duration) error {
			_, err := db.ExecContext(ctx, `INSERT INTO `+table+` ("Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration")
				VALUES (?1, ?2, ?3, ?4, ?5)
				ON CONFLICT ("Id") DO UPDATE SET
					"Value" = excluded."Value",
					"ExpiresAtTime" = excluded."ExpiresAtTime",
					"SlidingExpirationInSeconds" = excluded."SlidingExpirationInSeconds",
					"AbsoluteExpiration" = excluded."AbsoluteExpiration"`,
				id, value, now.Add(sliding).UnixMicro(), int64(sliding.Seconds()), nil)
			return err
		},
		deleteExpired: func(ctx context.Context, db *sql.DB, table string, now time.Time) (int64, error) {
			return rowsAffected(db.ExecContext(ctx, `DELETE FROM `+table+` WHERE ?1 > "ExpiresAtTime"`, now.UnixMicro()))
		},
		settle:   func(context.Context, *sql.DB, ...string) error { return nil },
		quiesce:  func(context.Context, *sql.DB) error { return nil },
		counters: func(context.Context, *sql.DB, string, string) (map[string]int64, error) { return nil, nil },
	},
	"mysql": {
		rate:  100,
		param: func(int) string { return "?" },
		stamp: func(t time.Time) any { return t.UTC() },
		get: func(ctx context.Context, db *sql.DB, table, id string, now time.Time) error {
			// Pomelo.Extensions.Caching.MySql's UpdateCacheItem, then
			// GetCacheItem (MySqlQueries).
			n := now.UTC()
			if _, err := db.ExecContext(ctx, `UPDATE `+table+`
				SET ExpiresAtTime = CASE
					WHEN TIMESTAMPDIFF(SECOND, ?, AbsoluteExpiration) <= SlidingExpirationInSeconds THEN AbsoluteExpiration
					ELSE DATE_ADD(?, INTERVAL SlidingExpirationInSeconds SECOND) END
				WHERE Id = ? AND ? <= ExpiresAtTime
					AND SlidingExpirationInSeconds IS NOT NULL
					AND (AbsoluteExpiration IS NULL OR AbsoluteExpiration <> ExpiresAtTime)`, n, n, id, n); err != nil {
				return err
			}
			return readValue(db.QueryRowContext(ctx, `SELECT Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration
				FROM `+table+` WHERE Id = ? AND ? <= ExpiresAtTime`, id, n))
		},
		set: func(ctx context.Context, db *sql.DB, table, id string, value []byte, now time.Time, sliding time.Duration) error {
			exp, secs := now.Add(sliding).UTC(), int64(sliding.Seconds())
			_, err := db.ExecContext(ctx, `INSERT INTO `+table+` (Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration)
				VALUES (?, ?, ?, ?, ?)
				ON DUPLICATE KEY UPDATE Value = ?, ExpiresAtTime = ?, SlidingExpirationInSeconds = ?, AbsoluteExpiration = ?`,
				id, value, exp, secs, nil, value, exp, secs, nil)
			return err
		},
		deleteExpired: func(ctx context.Context, db *sql.DB, table string, now time.Time) (int64, error) {
			return rowsAffected(db.ExecContext(ctx, `DELETE FROM `+table+` WHERE ? > ExpiresAtTime`, now.UTC()))
		},
		settle: func(ctx context.Context, db *sql.DB, tables ...string) error {
			return execAll(ctx, db, `ANALYZE TABLE %s`, tables...)
		},
		quiesce: func(context.Context, *sql.DB) error { return nil },
		counters: func(ctx context.Context, db *sql.DB, _, _ string) (map[string]int64, error) {
			// Server-wide: anything else running on the server counts too.
			out := map[string]int64{}
			rows, err := db.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_key', 'Handler_read_next', 'Handler_read_first', 'Handler_read_rnd_next', 'Innodb_rows_read')`)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				var v int64
				if err := rows.Scan(&k, &v); err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, rows.Err()
		},
	},
}

// readValue scans a provider's row, as the provider reads it.
func readValue(row *sql.Row) error {
	var id string
	var value []byte
	var expires, sliding, absolute any
	err := row.Scan(&id, &value, &expires, &sliding, &absolute)
	if err == sql.ErrNoRows {
		return fmt.Errorf("a live row was not found")
	}
	return err
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func execAll(ctx context.Context, db *sql.DB, format string, tables ...string) error {
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(format, t)); err != nil {
			return fmt.Errorf(format+": %w", t, err)
		}
	}
	return nil
}
