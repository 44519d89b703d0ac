package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	sqlitemigrate "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/sessctl/sessctl/dialects"
)

// MigrateDriver: golang-migrate's sqlite driver splices the table name into
// its SQL as given, so it gets the quoted name, without the schema: its
// CREATE INDEX … ON takes an unqualified table.
func (s Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	db, err := s.Open(conn, true)
	if err != nil {
		return nil, err
	}
	// A file or folder this user may not write is refused before anything
	// is made, the lock file included (SQLite would say only that it is
	// unable to open the database file).
	readOnly, err := cannotWrite(context.Background(), db, n, "create")
	if err != nil {
		db.Close()
		return nil, err
	}
	// Opened read-only, the version table is refused here, and Denied
	// says why.
	drv, err := versionTableDriver(db, s.Quote(n.VersionTable))
	if err != nil {
		db.Close()
		return nil, err
	}
	if readOnly {
		return drv, nil // it can write nothing, so it needs no lock, and makes no lock file
	}
	path, offset, err := lockFileOf(db, n)
	if err != nil {
		drv.Close()
		return nil, err
	}
	if path == "" {
		return drv, nil
	}
	return &createLock{Driver: drv, db: db, versionTable: s.Quote(n.VersionTable), path: path, offset: offset | 1<<32}, nil
}

// versionTableDriver is golang-migrate's driver on db, which makes the
// version table (versionTableSQL) before any lock is held: a drop run at
// that moment may remove the table between its CREATE TABLE and its
// CREATE INDEX, which then fails with "no such table". Made again then,
// a few times: createLock.Lock makes it once more under the lock.
func versionTableDriver(db *sql.DB, versionTable string) (database.Driver, error) {
	for try := 1; ; try++ {
		drv, err := sqlitemigrate.WithInstance(db, &sqlitemigrate.Config{MigrationsTable: versionTable})
		if err == nil || try == 5 || !strings.Contains(err.Error(), "no such table") {
			return drv, err
		}
	}
}

// versionTableSQL is the version table as golang-migrate's sqlite
// driver makes it.
const versionTableSQL = `CREATE TABLE IF NOT EXISTS %s (version uint64,dirty bool);
CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON %s (version);`

// createLock is golang-migrate's SQLite driver with a migration lock
// that spans processes: the driver's own stops only a second run in the
// same process, so creates run by parallel CI jobs would all apply the
// migrations at once (harmless, as each is idempotent, but every one would
// say it made the table). It is an OS lock on a byte of the lock file
// beside the database (another byte than purge's), polled until it is
// free; golang-migrate gives up after its lock timeout, and Close stops
// the polling.
type createLock struct {
	database.Driver
	db           *sql.DB
	versionTable string // quoted
	path         string
	offset       int64

	mu     sync.Mutex
	unlock func() error // set while the lock is held
	closed bool
}

func (d *createLock) Lock() error {
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return database.ErrLocked
		}
		unlock, ok, err := lockFileByte(d.path, d.offset)
		if err != nil || ok {
			if ok {
				// The driver made the version table before the lock
				// was held; a drop may have removed it since, as a
				// table left without its cache table: made again, as
				// golang-migrate makes it, under the lock.
				if err = d.Driver.Lock(); err == nil {
					_, err = d.db.Exec(fmt.Sprintf(versionTableSQL, d.versionTable, d.versionTable))
				}
				if err != nil {
					err = errors.Join(err, unlock())
				} else {
					d.unlock = unlock
				}
			}
			d.mu.Unlock()
			return err
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *createLock) Unlock() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.Driver.Unlock()
	if d.unlock != nil {
		err = errors.Join(err, d.unlock())
		d.unlock = nil
	}
	return err
}

func (d *createLock) Close() error {
	d.mu.Lock()
	d.closed = true
	var err error
	if d.unlock != nil {
		err = d.unlock()
		d.unlock = nil
	}
	d.mu.Unlock()
	return errors.Join(d.Driver.Close(), err)
}

func (s Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":           s.Quote(n.Schema),
		"Table":            s.qualified(n),
		"TableName":        s.Quote(n.Table),
		"VersionTable":     s.Quote(n.Schema) + "." + s.Quote(n.VersionTable),
		"VersionTableName": s.Quote(n.VersionTable),
		"PrimaryKey":       s.Quote(n.PrimaryKey),
		"ExpiryIndex":      s.Quote(n.Schema) + "." + s.Quote(n.ExpiryIndex),
	}
}
