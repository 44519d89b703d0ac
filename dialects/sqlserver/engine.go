package sqlserver

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
)

// engine is which server speaks SQL Server's protocol: SQL Server
// itself (Azure SQL included), or Babelfish for PostgreSQL (Aurora
// included), whose catalog differs in ways sessctl must read around (see
// catalog).
type engine struct {
	Babelfish bool
	// Version is Babelfish's own version ("4.3.0"), "" on SQL Server or
	// when the server does not say.
	Version string
}

// String names the engine for verify's report.
func (e engine) String() string {
	switch {
	case !e.Babelfish:
		return "SQL Server"
	case e.Version != "":
		return "Babelfish for PostgreSQL " + e.Version
	}
	return "Babelfish for PostgreSQL"
}

// engines remembers the engine of each pool: it is asked once per
// pool. A *sql.Conn or *sql.Tx, which do not say which pool they belong
// to, asks each time (one short query).
var engines sync.Map

// engineQuery: SERVERPROPERTY('Babelfish') is 1 on Babelfish and
// NULL on SQL Server; BABELFISHPG_TSQL_VERSION is Babelfish's own version.
const engineQuery = `SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int),
       CAST(COALESCE(SERVERPROPERTY('BabelfishVersion'), N'') AS nvarchar(128))`

// engineOf asks q's server which engine it is.
func engineOf(ctx context.Context, q dialects.Querier) (engine, error) {
	db, pooled := q.(*sql.DB)
	if p, ok := q.(interface{ Pool() *sql.DB }); ok {
		db, pooled = p.Pool(), true
	}
	if pooled {
		if e, ok := engines.Load(db); ok {
			return e.(engine), nil
		}
	}
	var bbf int
	var version string
	if err := q.QueryRowContext(ctx, engineQuery).Scan(&bbf, &version); err != nil {
		return engine{}, fmt.Errorf("asking the server which engine it is: %w", err)
	}
	e := engine{Babelfish: bbf == 1, Version: strings.TrimSpace(version)}
	if pooled {
		engines.Store(db, e)
	}
	return e, nil
}

// Engine names the server q reaches, for verify's report: "SQL Server" or
// "Babelfish for PostgreSQL 4.3.0".
func (Dialect) Engine(ctx context.Context, q dialects.Querier) (string, error) {
	e, err := engineOf(ctx, q)
	if err != nil {
		return "", err
	}
	return e.String(), nil
}

// isBabelfish reports whether q is Babelfish for PostgreSQL (AWS
// Aurora's included) rather than SQL Server: the one place that asks.
func isBabelfish(ctx context.Context, q dialects.Querier) (bool, error) {
	e, err := engineOf(ctx, q)
	return e.Babelfish, err
}

// catalog reads names from the catalog as they are stored, on
// both engines: the one place that knows how Babelfish's catalog differs
// (tds/README.md's divergence table). SQL Server's sys views give names
// exactly. Babelfish's give them lower-cased, an index's name followed by
// its table's and a hash, and as varchar, so that characters outside code
// page 1252 read as '?' (rows 1 and 2). So every name is read CAST to
// nvarchar, which keeps its characters on both; on Babelfish a column's
// name comes from INFORMATION_SCHEMA.COLUMNS, which keeps its case, by its
// position (ORDINAL_POSITION is column_id there), and an index's name
// loses its suffix; and since sys.indexes.has_filter is always 0 there
// (row 8), a filtered index is told by its predicate in pg_index.
type catalog struct {
	engine engine
	// table is the table's name as sys.objects gives it.
	table string
	// columns are the columns' names as stored, by column_id; nil on SQL
	// Server, whose sys.columns gives them so.
	columns map[int]string
}

// catalogOf is the catalog of q's server, as its engine stores names.
func catalogOf(ctx context.Context, q dialects.Querier) (*catalog, error) {
	e, err := engineOf(ctx, q)
	if err != nil {
		return nil, err
	}
	return &catalog{engine: e}, nil
}

// object finds the object n names in schema n.Schema: its id, its type
// (U, V, ...) and its name as stored (info.Name).
func (c *catalog) object(ctx context.Context, q dialects.Querier, schema, name string) (id int64, kind, stored string, err error) {
	s := Dialect{}
	if err = q.QueryRowContext(ctx, objectQuery, s.Quote(schema)+"."+s.Quote(name)).Scan(&id, &kind, &stored); err != nil {
		return 0, "", "", err
	}
	c.table = stored
	if !c.engine.Babelfish {
		return id, kind, stored, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT ORDINAL_POSITION, COLUMN_NAME, TABLE_NAME FROM INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2`, schema, name)
	if err != nil {
		return 0, "", "", err
	}
	defer rows.Close()
	c.columns = map[int]string{}
	for rows.Next() {
		var pos int
		var col string
		if err := rows.Scan(&pos, &col, &stored); err != nil {
			return 0, "", "", err
		}
		c.columns[pos] = col
	}
	return id, kind, stored, rows.Err()
}

// column is the name as stored of column id, which sys.columns calls name.
func (c *catalog) column(id int, name string) string {
	if stored, ok := c.columns[id]; ok {
		return stored
	}
	return name
}

// index is the name of an index as T-SQL names it, which sys.indexes calls
// name. Babelfish stores the index ix of table t as bbfIndexName(ix, t),
// their ASCII letters in lower case: the name read is the ix that gives it. Since Babelfish's
// names are the same in any case, sessctl's own name reads in its case.
func (c *catalog) index(name string, n dialects.Names) string {
	if !c.engine.Babelfish {
		return name
	}
	// c.table is the table's name as stored: Babelfish lowers only ASCII
	// letters, as PostgreSQL folds unquoted names.
	for k := 1; k <= len(name)-2*md5.Size; k++ {
		if utf8.RuneStart(name[k]) && bbfIndexName(name[:k], c.table) == name {
			name = name[:k]
			break
		}
	}
	if strings.EqualFold(name, n.ExpiryIndex) {
		return n.ExpiryIndex
	}
	return name
}

// bbfIndexName is the name Babelfish stores index ix of table t under
// (both as stored): ix+t+md5(ix), or, when that is longer than
// PostgreSQL's 63 bytes, its first 31 bytes and the MD5 of the whole.
func bbfIndexName(ix, t string) string {
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	full := ix + t + md5hex(ix)
	if len(full) <= bbfMaxName {
		return full
	}
	return clipBytes(full, bbfMaxName-2*md5.Size) + md5hex(full)
}

// bbfMaxName is the most bytes of a PostgreSQL name.
const bbfMaxName = 63

// clipBytes is the longest prefix of s of at most n bytes that ends
// between characters.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// filtered is the SQL that says whether index i has a WHERE clause.
func (c *catalog) filtered() string {
	if !c.engine.Babelfish {
		return "i.has_filter"
	}
	return `CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index AS x JOIN pg_catalog.pg_class AS xc ON xc.oid = x.indexrelid
        WHERE x.indrelid = i.object_id AND CAST(xc.relname AS nvarchar(128)) = CAST(i.name AS nvarchar(128))
          AND x.indpred IS NOT NULL) THEN 1 ELSE 0 END`
}
