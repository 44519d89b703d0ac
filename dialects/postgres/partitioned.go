package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.Shaper = Dialect{}

// ForTable: a partitioned table's rows are in its partitions, each with
// ctids of its own, so it takes partitioned's statements.
func (p Dialect) ForTable(info *dialects.TableInfo) dialects.Dialect {
	if info.Partitioned {
		return partitioned{}
	}
	return p
}

// partitioned is PostgreSQL for a declaratively partitioned table (hash,
// range or list; partitions of partitions too). Its rows live in its leaf
// partitions, each with heap pages and ctids of its own: a ctid names a
// row only with the tableoid of its partition, and the partitioned table
// itself has no pages to walk.
type partitioned struct{ Dialect }

var (
	_ dialects.Dialect = partitioned{}
	_ dialects.Walker  = partitioned{}
)

// partitionedDeleteSQL is deleteSQL for a partitioned table: it finds
// the batch's rows by partition and ctid, as a ctid alone matches a row in
// every partition that has one there. (The ctid list keeps each
// partition's read a TID scan.)
const partitionedDeleteSQL = `WITH batch AS MATERIALIZED (
    SELECT tableoid, ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))
    ORDER BY "ExpiresAtTime"
    LIMIT %[3]s
    FOR UPDATE SKIP LOCKED)
DELETE FROM %[1]s
WHERE ctid = ANY (ARRAY (SELECT ctid FROM batch))
  AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM batch)
  AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %[2]s))`

// partitionedHeldSQL is heldSQL for a partitioned table: rows by
// partition and ctid, as in partitionedDeleteSQL.
const partitionedHeldSQL = `WITH oldest AS MATERIALIZED (
    SELECT tableoid, ctid FROM %[1]s
    WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))
    ORDER BY "ExpiresAtTime"
    LIMIT $2),
free AS (
    SELECT 1 FROM %[1]s
    WHERE ctid = ANY (ARRAY (SELECT ctid FROM oldest))
      AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM oldest)
    FOR UPDATE SKIP LOCKED)
SELECT (SELECT count(*) FROM oldest) - (SELECT count(*) FROM free)`

func (p partitioned) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	var held int64
	err := q.QueryRowContext(ctx, p.sql(partitionedHeldSQL, n), grace.Seconds(), limit).Scan(&held)
	return held, err
}

func (p partitioned) DeleteExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, p.sql(partitionedDeleteSQL, n, "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExplainPurge: the plan reads the leaves' indexes, each a partition of
// an index of the partitioned table; each is named with the index it is a
// partition of, so that the plan says which of the table's indexes it
// reads.
func (p partitioned) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	plan, err := dialects.ExplainRows(ctx, q, "EXPLAIN "+p.sql(partitionedDeleteSQL, n, "$1", "$2"), grace.Seconds(), limit)
	if err != nil {
		return "", err
	}
	rows, err := q.QueryContext(ctx, `SELECT quote_ident(c.relname), pc.relname
		FROM pg_catalog.pg_index x
		JOIN pg_catalog.pg_class pc ON pc.oid = x.indexrelid
		CROSS JOIN LATERAL pg_catalog.pg_partition_tree(x.indexrelid) AS t
		JOIN pg_catalog.pg_class c ON c.oid = t.relid
		WHERE x.indrelid = $1::regclass AND t.isleaf`, p.qualified(n))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var leaf, parent string
		if err := rows.Scan(&leaf, &parent); err != nil {
			return "", err
		}
		plan = strings.ReplaceAll(plan, " using "+leaf+" on ", " using "+leaf+" (a partition of "+p.Quote(parent)+") on ")
	}
	return plan, rows.Err()
}

// leavesSQL lists the leaf partitions of $1 whose oid is at least $2, in
// oid order, with their pages, whether this role may delete from them, and
// whether they are tables (a foreign table has no heap to walk).
const leavesSQL = `SELECT c.oid::int8, s.nspname, c.relname, c.relkind = 'r',
       pg_relation_size(c.oid) / current_setting('block_size')::int, current_setting('block_size')::int,
       COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AND COALESCE(has_table_privilege(c.oid, 'UPDATE'), false) AND COALESCE(has_table_privilege(c.oid, 'DELETE'), false)
FROM pg_catalog.pg_partition_tree($1::regclass) AS l
JOIN pg_catalog.pg_class c ON c.oid = l.relid
JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
WHERE l.isleaf AND c.oid::int8 >= $2
ORDER BY c.oid
LIMIT 2`

// DeleteExpiredFrom walks the leaf partitions one after another, each as
// a table of its own; a position is a leaf's oid and a tid in it. It
// deletes from each leaf directly, which needs SELECT and DELETE on the
// leaves themselves, not only on the partitioned table. A foreign leaf
// has no heap: the batches on the expiry index that end the walk reach it.
// (UPDATE, as a walk that meets a held row locks the rest, FOR UPDATE.)
func (p partitioned) DeleteExpiredFrom(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, from string, span, limit int) (int64, string, error) {
	leaf, tid := int64(0), ""
	if from != "" {
		l, t, ok := strings.Cut(from, "/")
		var err error
		if leaf, err = strconv.ParseInt(l, 10, 64); !ok || err != nil {
			return 0, "", fmt.Errorf("walking %s: bad position %q", p.qualified(n), from)
		}
		tid = t
	}
	leaves, err := p.leaves(ctx, q, n, leaf)
	if err != nil {
		return 0, "", err
	}
	if len(leaves) == 0 {
		return 0, "", nil
	}
	cur := leaves[0]
	if cur.oid != leaf {
		tid = "" // the leaf was detached or dropped: the next from its start
	}
	var deleted int64
	next := ""
	if cur.heap {
		table := p.Quote(cur.schema) + "." + p.Quote(cur.name)
		if !cur.may {
			role := "<role>" // when it cannot be read, the GRANT names a placeholder
			if err := q.QueryRowContext(ctx, `SELECT current_user`).Scan(&role); err != nil {
				role = "<role>"
			}
			return 0, "", fmt.Errorf("%w: a walk in storage order deletes from each partition of %s directly, and role %s may not "+
				"delete from its partition %s: GRANT SELECT, UPDATE, DELETE ON %s TO %s, or purge with --order expiry",
				dialects.ErrPermission, p.qualified(n), p.Quote(role), table, table, p.Quote(role))
		}
		if deleted, next, err = p.walkHeap(ctx, q, n, table, cur.blocks, cur.blockSize, grace, tid, span, limit); err != nil {
			return deleted, "", err
		}
	}
	switch {
	case next != "":
		return deleted, fmt.Sprintf("%d/%s", cur.oid, next), nil
	case len(leaves) > 1:
		return deleted, fmt.Sprintf("%d/", leaves[1].oid), nil
	}
	return deleted, "", nil
}

// leafInfo is a leaf partition as leavesSQL reads it.
type leafInfo struct {
	oid               int64
	schema, name      string
	heap, may         bool
	blocks, blockSize int64
}

// leaves reads leavesSQL: the leaf whose oid is from, or the next one, and
// the one after it.
func (p partitioned) leaves(ctx context.Context, q dialects.Querier, n dialects.Names, from int64) ([]leafInfo, error) {
	rows, err := q.QueryContext(ctx, leavesSQL, p.qualified(n), from)
	if err != nil {
		return nil, err
	}
	var leaves []leafInfo
	for rows.Next() {
		var l leafInfo
		if err := rows.Scan(&l.oid, &l.schema, &l.name, &l.heap, &l.blocks, &l.blockSize, &l.may); err != nil {
			rows.Close()
			return nil, err
		}
		leaves = append(leaves, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return leaves, nil
}

// StoredRows adds up the planner's estimates of the leaves (autovacuum
// analyzes them, never the partitioned table itself). It is 0, so that
// purge does not walk on its own, when a walk could not: a leaf this role
// may not delete from directly, a foreign leaf, or PostgreSQL before 14.
func (p partitioned) StoredRows(ctx context.Context, q dialects.Querier, n dialects.Names) (int64, error) {
	var rows float64
	var walkable bool
	var version int
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(greatest(c.reltuples, 0)), 0),
		coalesce(bool_and(c.relkind = 'r' AND COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AND COALESCE(has_table_privilege(c.oid, 'UPDATE'), false)
			AND COALESCE(has_table_privilege(c.oid, 'DELETE'), false)), false),
		current_setting('server_version_num')::int
		FROM pg_catalog.pg_partition_tree($1::regclass) AS l JOIN pg_catalog.pg_class c ON c.oid = l.relid
		WHERE l.isleaf`, p.qualified(n)).Scan(&rows, &walkable, &version)
	if err != nil || !walkable || version < 140000 {
		return 0, err
	}
	return int64(rows), nil
}
