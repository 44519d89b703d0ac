package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/sessctl/sessctl/dialects"
)

func (p Dialect) CreateSchemaSQL(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + p.Quote(schema)
}

func (p Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":       p.Quote(n.Schema),
		"Table":        p.qualified(n),
		"TableName":    p.Quote(n.Table),
		"VersionTable": p.Quote(n.Schema) + "." + p.Quote(n.VersionTable),
		"PrimaryKey":   p.Quote(n.PrimaryKey),
		"ExpiryIndex":  p.Quote(n.ExpiryIndex),
		"TableLiteral": p.QuoteLiteral(p.qualified(n)),
		"Tag":          dollarTag(n),
		"Concurrently": "CONCURRENTLY",
		// A plain, logged table: package schema sets both for a layout
		// whose provider makes its table UNLOGGED (Microsoft's).
		"Unlogged":     "",
		"UnloggedNote": "",
	}
}

// dollarTag is a dollar-quote tag that no name of n contains.
func dollarTag(n dialects.Names) string {
	all := n.Schema + n.Table + n.VersionTable + n.PrimaryKey + n.ExpiryIndex
	tag := "$sessctl$"
	for i := 1; strings.Contains(all, tag); i++ {
		tag = "$sessctl" + strconv.Itoa(i) + "$"
	}
	return tag
}

var _ dialects.Adopter = Dialect{}

// AdoptData builds the expiry index without CONCURRENTLY on a table
// create makes in this run, and on a partitioned table. A new table has
// no rows and no app writing to it yet, so nothing is held off; and
// CREATE INDEX CONCURRENTLY waits for every transaction of the database
// that holds a snapshot, so one app session left idle in a transaction
// would stall the create of a new table for as long as it stays so.
// PostgreSQL refuses CONCURRENTLY on a partitioned table ("cannot create
// index on partitioned table concurrently"): a plain CREATE INDEX on the
// parent builds one on every partition, holding off writes while it does.
// Adopting a plain table that is there keeps CONCURRENTLY.
func (Dialect) AdoptData(info *dialects.TableInfo) map[string]string {
	if info.Partitioned || info.Kind == dialects.KindMissing {
		return map[string]string{"Concurrently": ""}
	}
	return nil
}

var _ dialects.Scripter = Dialect{}

// ScriptData: the script builds the expiry index plainly. It cannot look
// at the table it runs over, and PostgreSQL refuses CONCURRENTLY on a
// partitioned one; see ScriptNote.
func (Dialect) ScriptData() map[string]string { return map[string]string{"Concurrently": ""} }

func (Dialect) ScriptNote(v uint) string {
	if v != 2 {
		return ""
	}
	return `-- In this script the index is built with a plain CREATE INDEX, which holds
-- off the app's writes to the table while it builds: PostgreSQL refuses
-- CONCURRENTLY on a partitioned table, and a script cannot tell whether the
-- table is one. On a plain table that holds rows, a DBA may write
-- CREATE INDEX CONCURRENTLY instead (run outside a transaction block), as
-- sessctl create does.
`
}

// MigrateDriver is golang-migrate's pgx driver on a pool of one session,
// which takes golang-migrate's advisory lock for the version table by
// asking for it again and again (migrator) before the driver is made.
func (p Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	db, err := p.Open(conn, true)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &migrator{db: db, n: n, closed: make(chan struct{})}, nil
}

// lockPoll is how often a create waiting for another's lock asks again.
const lockPoll = 100 * time.Millisecond

// migrator is golang-migrate's pgx driver with its lock taken by polling
// pg_try_advisory_lock instead of waiting in pg_advisory_lock. A session
// that waits in a statement holds a snapshot, and CREATE INDEX CONCURRENTLY
// waits for every snapshot older than its own to go: so a create building
// the index and a create waiting for its lock wait for each other, and the
// server ends one of them with "deadlock detected" (golang-migrate issue
// 960). Between two tries a waiting session holds nothing.
//
// The driver is made once the lock is held, on the same session (the
// pool's only one), where golang-migrate's own lock, which it takes while
// it makes the version table and again in Lock, is granted at once: the
// session holds it already. It is released when Close ends the session;
// so a create that is killed holds it until the server has finished the
// statement it was running.
type migrator struct {
	db     *sql.DB // one session
	n      dialects.Names
	closed chan struct{}
	pid    atomic.Int32 // the session's backend, once known

	mu     sync.Mutex
	driver database.Driver // golang-migrate's, once the lock is held
	done   bool            // Close has run
}

func (d *migrator) Lock() error {
	d.mu.Lock()
	drv := d.driver
	d.mu.Unlock()
	if drv != nil {
		return drv.Lock()
	}
	ctx := context.Background()
	var dbName string
	if err := d.db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return fmt.Errorf("taking the create lock: %w", err)
	}
	id, err := database.GenerateAdvisoryLockId(dbName, d.n.Schema, d.n.VersionTable)
	if err != nil {
		return err
	}
	var pid int32
	if err := d.db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return fmt.Errorf("taking the create lock: %w", err)
	}
	d.pid.Store(pid)
	for {
		var got bool
		if err := d.db.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1::bigint)`, id).Scan(&got); err != nil {
			return fmt.Errorf("taking the create lock: %w", err)
		}
		if got {
			break
		}
		select {
		case <-d.closed:
			return database.ErrLocked
		case <-time.After(lockPoll):
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return database.ErrLocked
	}
	drv, err = pgxmigrate.WithInstance(d.db, &pgxmigrate.Config{DatabaseName: dbName, SchemaName: d.n.Schema, MigrationsTable: d.n.VersionTable})
	if err != nil {
		d.endSession(pid)
		return err
	}
	d.driver = drv
	return drv.Lock()
}

// endSession ends the migration session pid, and so the lock it holds:
// golang-migrate's WithInstance keeps the pool's only session checked out
// when it fails (making the version table, say, for want of a grant), so
// that closing the pool would leave the session, and the lock, for as long
// as this process lives. A second session, of the same user, ends it.
func (d *migrator) endSession(pid int32) {
	d.db.SetMaxOpenConns(2)
	// Best effort: a session that cannot be ended lives, as before, until
	// this process ends.
	_, _ = d.db.ExecContext(context.Background(), `SELECT pg_terminate_backend($1)`, pid)
}

var _ dialects.StatementCanceller = (*migrator)(nil)

// CancelStatement asks the server, on q, to cancel what the migration
// session runs: golang-migrate's driver runs a migration with no context,
// and a CREATE INDEX CONCURRENTLY would otherwise run on in the server
// after sessctl gave up, unseen, holding the lock. Cancelled, it leaves an
// invalid index, which the next create drops and builds again.
func (d *migrator) CancelStatement(ctx context.Context, q dialects.Querier) error {
	pid := d.pid.Load()
	if pid == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, `SELECT pg_cancel_backend($1)`, once, pid)
	return err
}

// Close ends a wait for the lock, and the session, which releases it.
func (d *migrator) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.done {
		d.done = true
		close(d.closed)
	}
	if d.driver != nil {
		return d.driver.Close() // closes d.db too
	}
	return d.db.Close()
}

func (d *migrator) Unlock() error { return d.locked().Unlock() }

func (d *migrator) Run(migration io.Reader) error { return d.locked().Run(migration) }

func (d *migrator) SetVersion(v int, dirty bool) error { return d.locked().SetVersion(v, dirty) }

func (d *migrator) Version() (int, bool, error) { return d.locked().Version() }

func (d *migrator) Drop() error { return d.locked().Drop() }

// Open is not how sessctl makes drivers.
func (d *migrator) Open(string) (database.Driver, error) {
	return nil, errors.New("sessctl makes its PostgreSQL migration driver with MigrateDriver")
}

// locked is golang-migrate's driver, which golang-migrate calls only while
// it holds the lock; before then a driver that refuses.
func (d *migrator) locked() database.Driver {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.driver == nil {
		return notLocked{}
	}
	return d.driver
}

// notLocked is a migration driver that is not holding its lock.
type notLocked struct{ database.Driver }

func (notLocked) Unlock() error { return database.ErrNotLocked }

func (notLocked) Run(io.Reader) error { return database.ErrNotLocked }

func (notLocked) SetVersion(int, bool) error { return database.ErrNotLocked }

func (notLocked) Version() (int, bool, error) { return 0, false, database.ErrNotLocked }

func (notLocked) Drop() error { return database.ErrNotLocked }
