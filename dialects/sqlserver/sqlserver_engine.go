package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/sessctl/sessctl/dialects"
)

// sqlserverEngine is which server speaks SQL Server's protocol: SQL Server
// itself (Azure SQL included), or Babelfish for PostgreSQL (Aurora
// included), whose catalog differs in ways sessctl must read around (see
// sqlserverCatalog).
type sqlserverEngine struct {
	Babelfish bool
	// Version is Babelfish's own version ("4.3.0"), "" on SQL Server or
	// when the server does not say.
	Version string
}

// String names the engine for verify's report.
func (e sqlserverEngine) String() string {
	switch {
	case !e.Babelfish:
		return "SQL Server"
	case e.Version != "":
		return "Babelfish for PostgreSQL " + e.Version
	}
	return "Babelfish for PostgreSQL"
}

// sqlserverEngines remembers the engine of each pool: it is asked once per
// pool. A *sql.Conn or *sql.Tx, which do not say which pool they belong
// to, asks each time (one short query).
var sqlserverEngines sync.Map

// sqlserverEngineQuery: SERVERPROPERTY('Babelfish') is 1 on Babelfish and
// NULL on SQL Server; BABELFISHPG_TSQL_VERSION is Babelfish's own version.
const sqlserverEngineQuery = `SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int),
       CAST(COALESCE(SERVERPROPERTY('BabelfishVersion'), N'') AS nvarchar(128))`

// sqlserverEngineOf asks q's server which engine it is.
func sqlserverEngineOf(ctx context.Context, q dialects.Querier) (sqlserverEngine, error) {
	db, pooled := q.(*sql.DB)
	if p, ok := q.(interface{ Pool() *sql.DB }); ok {
		db, pooled = p.Pool(), true
	}
	if pooled {
		if e, ok := sqlserverEngines.Load(db); ok {
			return e.(sqlserverEngine), nil
		}
	}
	var bbf int
	var version string
	if err := q.QueryRowContext(ctx, sqlserverEngineQuery).Scan(&bbf, &version); err != nil {
		return sqlserverEngine{}, fmt.Errorf("asking the server which engine it is: %w", err)
	}
	e := sqlserverEngine{Babelfish: bbf == 1, Version: strings.TrimSpace(version)}
	if pooled {
		sqlserverEngines.Store(db, e)
	}
	return e, nil
}

// Engine names the server q reaches, for verify's report: "SQL Server" or
// "Babelfish for PostgreSQL 4.3.0".
func (Dialect) Engine(ctx context.Context, q dialects.Querier) (string, error) {
	e, err := sqlserverEngineOf(ctx, q)
	if err != nil {
		return "", err
	}
	return e.String(), nil
}
