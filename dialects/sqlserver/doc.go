// Package sqlserver is SQL Server's and Azure SQL's dialect, also spoken by
// Babelfish for PostgreSQL (AWS Aurora's included): the table `dotnet
// sql-cache create` makes, which Microsoft.Extensions.Caching.SqlServer
// reads and writes, reached through go-mssqldb.
//
// The files follow the roles of dialects.Dialect:
//
//   - names.go: names, quoting and the expected columns (Core).
//   - conn.go, connstring.go: sqlserver:// URLs and SqlClient's ADO.NET
//     strings, read into go-mssqldb's form, and the pool (Connector,
//     ADOForm).
//   - errors.go: the error numbers sessctl acts on, refused logins and
//     privileges, and TLS failures explained (Remote, Denier).
//   - engine.go: whether the server is SQL Server or Babelfish, and how
//     Babelfish's catalog stores names differently.
//   - inspect.go: the catalog queries behind verify (Inspector).
//   - migrate.go: the template data and golang-migrate's driver (Migrator).
//   - purge.go, explain.go: batched deletes under lock escalation's limit,
//     rows an app session holds, the dry run's plan and the purge script
//     (Purger).
//   - lock.go: the create lock golang-migrate's driver takes.
//   - referenced.go: rows a foreign key keeps, and deletes by Id.
//   - lag.go: how far an availability group's secondary lags (purge
//     --replica).
package sqlserver
