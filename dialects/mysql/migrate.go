package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	mysqlmigrate "github.com/golang-migrate/migrate/v4/database/mysql"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/sessctl/sessctl/dialects"
)

func (m Dialect) CreateSchemaSQL(schema string) string {
	return "CREATE DATABASE IF NOT EXISTS " + m.Quote(schema)
}

// versionTableSQL is golang-migrate's version table, made by sessctl
// with the name quoted, so that the driver finds it and never makes it:
// the driver looks with SHOW TABLES LIKE, where _ and % in a name match
// other tables, and without its lock two drivers at once would both run
// its CREATE TABLE, which has no IF NOT EXISTS.
const versionTableSQL = "CREATE TABLE IF NOT EXISTS %s (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"

// MigrateDriver: golang-migrate's mysql driver uses the session's current
// database, so its pool starts in n.Schema. Its own lock is off: it gives
// up after 10 seconds, which would fail a create queued behind another
// that is indexing a large table. sessctl's lock waits as long as
// golang-migrate's LockTimeout allows instead.
func (m Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	cfg, err := parseDSN(conn.DSN)
	if err != nil {
		return nil, err
	}
	cfg.DBName = n.Schema
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	drv, err := m.migrateDriver(db, n)
	if err != nil {
		db.Close()
		return nil, err
	}
	return drv, nil
}

func (m Dialect) migrateDriver(db *sql.DB, n dialects.Names) (database.Driver, error) {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(versionTableSQL, m.Quote(n.Schema)+"."+m.Quote(n.VersionTable))); err != nil {
		return nil, err
	}
	name, err := m.lockName(ctx, db, "create", n)
	if err != nil {
		return nil, err
	}
	session, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	drv, err := mysqlmigrate.WithConnection(ctx, session, &mysqlmigrate.Config{
		MigrationsTable: n.VersionTable,
		DatabaseName:    n.Schema,
		NoLock:          true,
	})
	if err != nil {
		session.Close()
		return nil, err
	}
	return &migrator{Driver: drv, session: session, db: db, name: name, closed: make(chan struct{}),
		versionTable: m.Quote(n.Schema) + "." + m.Quote(n.VersionTable)}, nil
}

// migrator is golang-migrate's mysql driver with sessctl's create lock
// in place of its own: a named lock held by the session that runs the
// migrations. A session ends only after the statement it runs, even when
// its client was killed, so the lock outlives an index the server is still
// building for a killed create; a lock in a session of its own would be
// released at once, and the next create would build the index a second
// time and fail on its name.
type migrator struct {
	database.Driver
	session   *sql.Conn
	db        *sql.DB // the pool session came from; the driver does not close it
	name      string
	closed    chan struct{}
	closeOnce sync.Once
	// versionTable is the version table, quoted and qualified.
	versionTable string
}

// Lock waits until it holds the lock, asking for it a second at a time so
// that Close can stop the wait: golang-migrate gives up waiting at its
// LockTimeout and then closes the driver.
func (d *migrator) Lock() error {
	for {
		select {
		case <-d.closed:
			return database.ErrLocked
		default:
		}
		var got sql.NullInt64
		if err := d.session.QueryRowContext(context.Background(), `SELECT GET_LOCK(?, 1)`, d.name).Scan(&got); err != nil {
			return fmt.Errorf("taking the create lock: %w", err)
		}
		switch {
		case !got.Valid:
			return errors.New("taking the create lock: GET_LOCK failed")
		case got.Int64 == 1:
			// The version table was made before the lock was held
			// (migrateDriver); a drop may have removed it since, as a
			// table left without its cache table: made again under it.
			if _, err := d.session.ExecContext(context.Background(), fmt.Sprintf(versionTableSQL, d.versionTable)); err != nil {
				_, rerr := d.session.ExecContext(context.Background(), `SELECT RELEASE_LOCK(?)`, d.name)
				return errors.Join(fmt.Errorf("making the version table: %w", err), rerr)
			}
			return nil
		}
	}
}

func (d *migrator) Unlock() error {
	var released sql.NullInt64
	return d.session.QueryRowContext(context.Background(), `SELECT RELEASE_LOCK(?)`, d.name).Scan(&released)
}

// Close ends a wait for the lock, and closes the session, which releases
// the lock if it is still held, and its pool.
func (d *migrator) Close() error {
	d.closeOnce.Do(func() { close(d.closed) })
	return errors.Join(d.Driver.Close(), d.db.Close())
}

// TemplateData: besides the quoted names, the expiry index migration
// needs the schema and table as literals, to look them up, and the quoted
// names as literals, to build the statement it prepares.
func (m Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":          m.Quote(n.Schema),
		"Table":           m.qualified(n),
		"TableName":       m.Quote(n.Table),
		"VersionTable":    m.Quote(n.Schema) + "." + m.Quote(n.VersionTable),
		"ExpiryIndex":     m.Quote(n.ExpiryIndex),
		"SchemaLiteral":   m.QuoteLiteral(n.Schema),
		"TableLiteral":    m.QuoteLiteral(n.Table),
		"TableText":       m.QuoteLiteral(m.qualified(n)),
		"ExpiryIndexText": m.QuoteLiteral(m.Quote(n.ExpiryIndex)),
	}
}
