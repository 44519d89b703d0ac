// Package postgres is PostgreSQL's dialect: how sessctl names, connects
// to, inspects, creates, locks and purges the cache table of
// Community.Microsoft.Extensions.Caching.PostgreSql, through pgx and
// golang-migrate's pgx driver.
//
// Its one exported type, Dialect, implements the roles of package
// dialects; the files follow them:
//
//   - names.go: the name rules (63 bytes, no pg_ schemas), quoting, the
//     table's names and expected columns.
//   - conn.go: reading postgres:// URLs and libpq strings, detection, Open;
//     npgsql.go: Npgsql's Key=Value; strings, translated to libpq's.
//   - errors.go: what PostgreSQL's errors mean (SQLSTATEs) and the grants
//     a denied command needs.
//   - inspect.go: the catalog reads behind verify, and the fixes it prints.
//   - migrate.go: the templates' data and the migration driver, whose
//     advisory lock is polled rather than waited for.
//   - purge.go: the purge lock and its batches in expiry order;
//     walk.go: batches in storage order (ctid ranges);
//     partitioned.go: both for a partitioned table.
//   - lag.go: how far a standby lags (purge --replica).
//   - lock.go: the create lock a drop takes, and what a session waits for.
//
// sessctl names every table with its schema, and every session starts
// with search_path set to pg_catalog, pg_temp (see searchPath), so that
// no schema of the user's changes what a statement means.
package postgres
