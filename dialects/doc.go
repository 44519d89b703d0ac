// Package dialects is the contract every database engine of sessctl
// implements, and what the engines share: the names of one table's objects
// (Names), the columns it must have (ColumnSpec) and what the catalog says
// of it (TableInfo), connection strings tokenised once for every engine's
// Claim, and the masking of their secrets.
//
// The contract is a set of small roles (Core, Connector, Denier,
// Inspector, Migrator, Purger, and optional ones such as Remote, Walker or
// Limiter) that each consumer takes alone; Dialect is all the required
// ones. Each engine is a package of its own under this one (postgres,
// mysql, sqlserver, sqlite), and package registry lists them. Nothing here
// knows what the commands do with these facts: that is package schema.
// Implementations return values and errors and print nothing.
package dialects
