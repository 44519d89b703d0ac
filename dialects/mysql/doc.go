// Package mysql is MySQL's and MariaDB's dialect: the cache table of
// Pomelo.Extensions.Caching.MySql (`dotnet mysql-cache create`), through
// go-sql-driver/mysql and golang-migrate's mysql driver.
//
// SCHEMA is the database. Times are datetime(6) holding naive UTC, and the
// database clock is UTC_TIMESTAMP(6), never NOW(), which follows the
// session's time zone.
//
// The files go by role:
//
//   - names.go: names, quoting, the columns, the checks of names and of
//     the file names MySQL keeps them in;
//   - conn.go: connection strings (a go-sql-driver DSN, a mysql:// URL)
//     and opening a pool; connector.go: MySqlConnector's Key=Value form;
//   - errors.go: the server's error numbers, and what they mean to sessctl;
//   - inspect.go: reading the catalog (information_schema);
//   - migrate.go: the migrations' template data and golang-migrate's driver;
//   - lock.go: the create and purge locks' names, and the create lock
//     drop takes;
//   - purge.go: the purge's session, its batches and its script;
//     held.go: the rows another session holds; walk.go: the walk in
//     primary key order; referenced.go: deleting by Id, to pass over the
//     rows a foreign key references, and what a waiting session waits for.
//   - lag.go: how far a replica lags (purge --replica).
package mysql
