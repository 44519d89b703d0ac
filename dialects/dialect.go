package dialects

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
)

// Sentinel errors. Callers test them with errors.Is; every error that wraps
// one names the object and says what to do.
var (
	// ErrInvalidName: a schema, table or derived name the database would
	// truncate or cannot hold. A usage error: nothing was sent.
	ErrInvalidName = errors.New("invalid name")
	// ErrUnknownDialect: --dialect named no dialect.
	ErrUnknownDialect = errors.New("unknown dialect")
	// ErrConnString: the connection string is unrecognised, ambiguous or
	// malformed. A usage error: nothing was sent.
	ErrConnString = errors.New("connection string")
	// ErrSchemaMissing: the schema (MySQL: database) does not exist.
	ErrSchemaMissing = errors.New("schema does not exist")
	// ErrPermission: the database refused the user a privilege the
	// command needs. The error says which, and how to grant it.
	ErrPermission = errors.New("permission denied")
	// ErrLocked: Purger.TryLock found another session holding the purge
	// lock.
	ErrLocked = errors.New("purge lock held")
	// ErrCannotWalk: a walk in storage order cannot delete from this
	// table (PostgreSQL: a rule ON DELETE refuses the statement a walk
	// uses); purge goes on in expiry order. Nothing was deleted.
	ErrCannotWalk = errors.New("cannot walk this table")
)

// Scripter is a dialect whose printed create script (create --script
// --idempotent) renders the migrations otherwise than create runs them,
// as a script cannot look at the table first.
type Scripter interface {
	// ScriptData overrides template data for the script.
	ScriptData() map[string]string
	// ScriptNote is a comment printed before the migration of version v
	// in the script, or "".
	ScriptNote(v uint) string
}

// StatementCanceller is a migration driver (Dialect.MigrateDriver's) that
// can have the server cancel the statement its session runs, from another
// session q: create calls it when it gives up on a migration in flight.
type StatementCanceller interface {
	CancelStatement(ctx context.Context, q Querier) error
}

// DefaultConnectTimeout bounds one connection attempt (to one host) when
// the connection string sets no bound of its own: the .NET providers'
// default (Npgsql Timeout, MySqlConnector Connection Timeout and SqlClient
// Connect Timeout are all 15 seconds).
const DefaultConnectTimeout = 15 * time.Second

// OpCreateSchema is create --create-schema making the schema (MySQL: the
// database), for Denied.
const OpCreateSchema = "create schema"

// Querier is what catalog queries and purge batches run on: a *sql.DB, a
// *sql.Conn or a *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect is one database engine: every role below, each of which a
// consumer can take alone. Methods that take a Querier send SQL; every
// other method is pure and never touches a database. An engine is done
// when it passes dialecttest.Run.
type Dialect interface {
	Core
	Connector
	Denier
	Inspector
	Migrator
	Purger
}

// Core is what an engine is without a database: its name, how it quotes
// and limits names, and the columns of its table. Pure.
type Core interface {
	// Name is the name users type with --dialect: postgres, sqlite, ...
	Name() string

	// CheckName reports, wrapping ErrInvalidName, a schema, table or derived
	// name that this engine would truncate or cannot hold.
	CheckName(name string) error

	// CheckSchema reports, wrapping ErrInvalidName, a SCHEMA argument this
	// engine cannot use (SQLite knows only "main").
	CheckSchema(schema string) error

	// Quote quotes one identifier, doubling embedded quote characters.
	Quote(ident string) string

	// Names derives the names sessctl gives the objects that belong to
	// schema.table: the version table, primary key and expiry index.
	Names(schema, table string) Names

	// Columns is the table as the app's cache provider needs it, in the
	// order sessctl creates it.
	Columns() []ColumnSpec
}

// Connector reads connection strings and opens pools.
type Connector interface {
	// ParseConn parses a connection string in any form this dialect takes.
	// Errors wrap ErrConnString and never contain a secret the string
	// holds where it should (registry.Parse masks any other that SecretsOf
	// finds).
	ParseConn(raw string) (*Conn, error)

	// Claim tells how surely raw is a connection string for this dialect.
	// Pure.
	Claim(c *RawConn) Certainty

	// Open opens a pool for conn; nothing is sent until first use. create
	// is false for commands that must not create a database (SQLite file).
	Open(conn *Conn, create bool) (*sql.DB, error)
}

// ADOForm is a Connector that reads Key=Value;… strings with the settings
// of a .NET client, which detection asks about a string that no engine
// claims. Pure.
type ADOForm interface {
	// Client names the .NET client (Npgsql, SqlClient, ...), for messages.
	Client() string
	// KnowsSetting reports whether the client has a setting named key, as
	// the tokeniser normalises it.
	KnowsSetting(key string) bool
}

// Remote is a Dialect reached over a network, whose connection can fail
// for a while or for good, and whose session can end under a statement.
// An engine that is not (SQLite runs in the process) has every open error
// permanent and no session to lose.
type Remote interface {
	// Permanent reports a connection error that retrying cannot fix (wrong
	// password, missing database), so --wait stops at once.
	Permanent(err error) bool

	// Disconnected reports an error that says the session ended under a
	// statement: the server shut down or restarted, or the connection was
	// killed or cut. The statement's transaction is rolled back.
	Disconnected(err error) bool
}

// Permanent reports whether retrying cannot fix connection error err on d:
// always, where d is not Remote.
func Permanent(d Core, err error) bool {
	r, ok := d.(Remote)
	return !ok || r.Permanent(err)
}

// Disconnected reports whether err says d's session ended under a
// statement: never, where d is not Remote.
func Disconnected(d Core, err error) bool {
	r, ok := d.(Remote)
	return ok && r.Disconnected(err)
}

// Denier tells a refused privilege from other errors.
type Denier interface {
	// Denied reports whether err is the database refusing the user a
	// privilege, and if so says what command op (create, drop, verify,
	// purge, or OpCreateSchema) on the table of n lacks and how to grant
	// it, naming the user it reads from q. It only reads.
	Denied(ctx context.Context, q Querier, err error, op string, n Names) (string, bool)
}

// Inspector reads the catalog.
type Inspector interface {
	// SchemaExists reports whether the schema (MySQL: database) exists.
	SchemaExists(ctx context.Context, q Querier, schema string) (bool, error)

	// Inspect reads the catalog for the table named by n, and its version
	// table. A missing table is Kind Missing, not an error. It only reads.
	Inspect(ctx context.Context, q Querier, n Names) (*TableInfo, error)

	// FixSQL is the statement that mends problem in column c of table n,
	// printed as the fix for a verify finding. Pure.
	FixSQL(n Names, c ColumnSpec, problem Problem) string
}

// Migrator runs the migrations of package migrations.
type Migrator interface {
	// TemplateData are the values the migration templates of this dialect
	// use: quoted names, string literals of names, and the like. Pure.
	TemplateData(n Names) map[string]string

	// MigrateDriver opens a pool of its own on conn's database, with schema
	// n.Schema current where the engine needs that, and wraps it in
	// golang-migrate's driver for this engine with the version table
	// n.VersionTable. Constructing it creates the version table; closing it
	// closes the pool.
	MigrateDriver(conn *Conn, n Names) (database.Driver, error)
}

// SchemaCreator is a Dialect with schemas to create (MySQL: databases);
// SQLite has one, main, always there.
type SchemaCreator interface {
	// CreateSchemaSQL is the statement --create-schema runs; it must
	// succeed when the schema already exists. Pure.
	CreateSchemaSQL(schema string) string
}

// Separator is a Dialect whose tools need each batch of a printed script
// ended by a line of its own (SQL Server's "GO").
type Separator interface {
	ScriptSeparator() string
}

// ScriptSeparator is what ends each batch of a script printed for d: "" where
// d is no Separator.
func ScriptSeparator(d Core) string {
	if s, ok := d.(Separator); ok {
		return s.ScriptSeparator()
	}
	return ""
}

// Purger deletes expired rows in batches.
type Purger interface {
	// TryLock takes the per-table purge lock on conn without waiting. It
	// returns an error wrapping ErrLocked when another session holds it
	// (SQL Server then closes conn: take the lock again on another).
	// unlock releases it; closing conn releases it too, except on SQLite,
	// whose lock is the process's, released by unlock or its exit. Holding
	// it, conn is
	// the purge's session: TryLock may also make it ready for the purge's
	// statements (MySQL: learns once whether the server can skip locked
	// rows; SQLite: waits for other writers in short steps, so that a purge
	// told to stop stops waiting), and unlock undoes that.
	TryLock(ctx context.Context, conn *sql.Conn, n Names) (unlock func() error, err error)

	// DeleteExpired deletes at most limit rows that expired more than grace
	// ago by the database's clock, the oldest first, found on the expiry
	// index, in one statement that is its own transaction (MySQL: a read,
	// then a transaction that locks and deletes),
	// re-checking the expiry of every row as it deletes it, and never
	// deleting a row an app session holds: it skips it, or, where the
	// engine cannot skip, waits for it briefly (MySQL without SKIP LOCKED:
	// a second) and then passes over it; SQLite, which locks the whole
	// database, waits for the app's write (see TryLock). It returns fewer
	// than limit only when it found fewer: purge then stops.
	DeleteExpired(ctx context.Context, q Querier, n Names, grace time.Duration, limit int) (int64, error)

	// CountExpired counts the rows DeleteExpired would delete, and returns
	// the oldest expiry (zero when none; MinusInfinity when a row expires
	// at -infinity).
	CountExpired(ctx context.Context, q Querier, n Names, grace time.Duration) (int64, time.Time, error)

	// ExplainPurge is the database's plan for one purge batch, as text.
	ExplainPurge(ctx context.Context, q Querier, n Names, grace time.Duration, limit int) (string, error)

	// PurgeScript is SQL a DBA can run by hand to purge in batches of limit.
	// Pure.
	PurgeScript(n Names, grace time.Duration, limit int) string
}

// Locked is what TryLock returns for an engine's try (ok false: another
// session holds the lock): the unlock, or an error wrapping ErrLocked.
func Locked(unlock func() error, ok bool, err error) (func() error, error) {
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, ErrLocked
	}
	return unlock, nil
}

// Limits bound a purge on one engine.
type Limits struct {
	// MaxBatch is the most rows one purge batch deletes, however fast
	// batches run: purge never asks DeleteExpired for more (a larger
	// --batch-size is cut to it, with a warning). 0 means no ceiling but the
	// batch time. Engines that escalate row locks set one under their
	// threshold (SQL Server: 4000, under the 5000 locks at which a
	// statement takes a table lock).
	MaxBatch int
	// Pause is the pause between batches unless told otherwise: an engine
	// whose app sessions wait for a batch by polling for the lock it holds
	// (SQLite) needs one, as batches back to back leave them too short a
	// gap to catch it free, and they starve until the purge ends.
	Pause time.Duration
}

// Limiter is a Purger whose purge has Limits. Pure.
type Limiter interface {
	Limits() Limits
}

// LimitsOf are d's purge limits: none where d is no Limiter.
func LimitsOf(d Core) Limits {
	if l, ok := d.(Limiter); ok {
		return l.Limits()
	}
	return Limits{}
}

// Walker is a Dialect that can also purge in the table's storage order,
// reading each page once, as the providers' one DELETE does, instead of
// once for each expired row on it, as batches in expiry order do. When
// most of a large table has expired, that is several times faster. It is
// optional: purge walks only tables whose dialect implements it.
type Walker interface {
	// StoredRows estimates the rows of the table from the engine's
	// statistics: cheap, not exact. 0 when the engine has no estimate, or
	// cannot walk this table in short batches (PostgreSQL before 14).
	StoredRows(ctx context.Context, q Querier, n Names) (int64, error)

	// DeleteExpiredFrom deletes the rows that expired more than grace ago
	// among the next span units of the table's storage after position
	// from ("" is the start), at most limit of them, as DeleteExpired
	// does: one short transaction (MySQL: three statements), expiry
	// re-checked, rows an app session holds passed over as it does. The
	// unit is the dialect's (PostgreSQL: heap pages; MySQL: rows in
	// primary key order; SQLite: rowids). It returns the rows deleted and
	// the position to go on from, "" once the span reached the end of the
	// table. A walk may pass over rows (held by the app, or expired behind
	// it): purge ends it with batches on the expiry index.
	DeleteExpiredFrom(ctx context.Context, q Querier, n Names, grace time.Duration, from string, span, limit int) (int64, string, error)
}

// TableInspector is a Dialect that can read the catalog for a table
// without its version table, which only ever yields warnings: all that
// decides whether the table is compatible, as purge's check needs, in a
// statement or two fewer than Inspect.
type TableInspector interface {
	// InspectTable is Inspect without the version table: Version is nil
	// and VersionTable false, whatever is there. It only reads.
	InspectTable(ctx context.Context, q Querier, n Names) (*TableInfo, error)
}

// Shaper is a Dialect whose purge statements depend on the table's shape,
// as the catalog describes it (PostgreSQL: a partitioned table, whose row
// positions are per partition). Pure.
type Shaper interface {
	// ForTable is the dialect to purge the table of info with: itself, or
	// a variant whose statements fit that table.
	ForTable(info *TableInfo) Dialect
}

// MinusInfinity is the oldest expiry CountExpired reports when a row
// expires at -infinity (PostgreSQL), before every time a table can hold.
// (Rows that expire at infinity never expire, and are never counted.)
var MinusInfinity = time.Unix(-1<<62, 0).UTC()

// Adopter is a Dialect whose DDL for a table that is there already depends
// on what the catalog says of it. AdoptData returns the template values
// that differ from TemplateData's for that table (nil: none). Pure.
type Adopter interface {
	AdoptData(info *TableInfo) map[string]string
}

// HeldCounter is a Dialect whose purge batches skip rows another session
// holds (locked in an open transaction) rather than wait for them, and can
// count them. SQLite, which locks the whole database, has none to skip.
type HeldCounter interface {
	// CountHeld counts, among the oldest limit rows that expired more than
	// grace ago, those another session holds, which DeleteExpired would
	// pass over. It takes and at once releases the locks of the others,
	// as a batch would, without waiting for any.
	CountHeld(ctx context.Context, q Querier, n Names, grace time.Duration, limit int) (int64, error)
}

// Interrupter is a Dialect whose driver, when a statement's context ends,
// only drops the connection, while the server goes on with the statement:
// waiting for a lock, then running it to the end and committing it, and
// holding the session's locks (the purge lock among them) meanwhile.
// (go-sql-driver/mysql does so; pgx sends a cancel request, go-mssqldb an
// attention, and SQLite runs in the process.) Interrupt stops the
// statement on the server instead.
type Interrupter interface {
	// SessionID is the server's id of conn's session.
	SessionID(ctx context.Context, conn *sql.Conn) (int64, error)
	// Interrupt stops the statement that session id runs, from another
	// session of db, and returns once the server has been told. The
	// session lives on: the statement fails, its own work rolled back,
	// and a transaction it was in is left for its client to roll back.
	Interrupt(ctx context.Context, db *sql.DB, id int64) error
}

// Waiter is a dialect that can ask the server what a session's statement
// is waiting for, from another session.
type Waiter interface {
	// WaitSession is the server's id of conn's session where the driver
	// knows it without asking the server (ok false otherwise: then the
	// Interrupter's SessionID, if any, is used).
	WaitSession(conn *sql.Conn) (id int64, ok bool)
	// WaitingFor says what session id's statement waits for, from db:
	// "waiting for a row lock" and the like, or "" when it is not waiting
	// for a lock.
	WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error)
}

// EngineNamer is a Dialect whose one protocol is spoken by more than one
// server (SQL Server's: SQL Server, Azure SQL, Babelfish for PostgreSQL),
// which verify names in its report.
type EngineNamer interface {
	// Engine names the server q reaches ("SQL Server", "Babelfish for
	// PostgreSQL 4.3.0"). It only reads.
	Engine(ctx context.Context, q Querier) (string, error)
}

// Dropper is a Dialect with something to tidy away after a drop (SQLite:
// the lock file beside the database, once its last cache table is gone and
// no sessctl holds a lock in it). Dropped runs after the table and its
// version table are dropped; an error leaves only something harmless
// behind.
type Dropper interface {
	Dropped(ctx context.Context, q Querier, n Names) error
}

// Names are the unquoted names of one table's objects, and of the columns
// that purge and the guards read: those of its layout (package layouts),
// ColID and ColExpiresAtTime for the cache table. Engines render them
// quoted; none spells a column of a table's layout but through them.
type Names struct {
	Schema       string // as typed
	Table        string // as typed
	VersionTable string // derived: the golang-migrate version table
	PrimaryKey   string // derived; "" where the engine names it itself
	ExpiryIndex  string // derived: the index on the expiry column
	// Key is the key column rows are one per (the cache table's "Id").
	Key string
	// Expiry is the column rows expire by (the cache table's
	// "ExpiresAtTime"); "" for a layout whose rows do not expire.
	Expiry string
	// ExpiryType, when set, is the engine's type of Expiry where it is not
	// the cache table's, so that purge compares it with a cutoff of that
	// very type: "datetime" is a SQL Server datetime holding UTC (classic
	// ASP.NET session state's Expires, written with GETUTCDATE()), which
	// purge compares with GETUTCDATE() less the grace, in datetime, so that
	// the index on it is sought and the column is never converted. ""
	// is the cache table's type (datetimeoffset on SQL Server).
	ExpiryType string
}

// CacheColumns are n with the cache table's key and expiry columns: what
// every engine's Names returns, before a layout sets its own.
func CacheColumns(n Names) Names {
	n.Key, n.Expiry = ColID, ColExpiresAtTime
	return n
}

// cutOff reports the errors every driver gives when its connection is gone:
// database/sql's bad connection, an end of stream, a network error.
func CutOff(err error) bool {
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// Derived lists the derived names, for length checks.
func (n Names) Derived() []string {
	var out []string
	for _, s := range []string{n.VersionTable, n.PrimaryKey, n.ExpiryIndex} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
