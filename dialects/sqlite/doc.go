// Package sqlite is SQLite's dialect, the embedded default: a cache table
// in the app's database file, through the pure-Go modernc.org/sqlite, with
// no server to run.
//
// The file is the database, and main its one schema. Times are INTEGER
// microseconds since the Unix epoch. SQLite has no users and no named
// locks, so:
//   - a refused privilege is a file (or folder) that may not be written, or
//     a connection string that opens it read-only (errors.go);
//   - the create and purge locks are OS locks on bytes of a lock file beside
//     the database, which the drop of the last cache table removes (lock.go,
//     lockfile*.go);
//   - a statement that finds the database locked by a writer tries again,
//     in short steps, so that a signal or a deadline can stop it (retry).
//
// The files follow the dialect's roles: names.go (names and columns),
// conn.go (connection strings and opening the file), errors.go, inspect.go,
// migrate.go (create), purge.go, walk.go (purge --order storage) and lock.go.
package sqlite
