package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4/database"
	sqlservermigrate "github.com/golang-migrate/migrate/v4/database/sqlserver"
	"github.com/sessctl/sessctl/dialects"
)

// MigrateDriver: golang-migrate's sqlserver driver takes the schema and the
// version table unquoted (CheckName keeps ] and ' out of both), and locks
// per schema with sp_getapplock, so creates of two tables in one schema
// take turns.
func (s Dialect) MigrateDriver(conn *dialects.Conn, n dialects.Names) (database.Driver, error) {
	for _, name := range []string{n.Schema, n.VersionTable} {
		if err := s.CheckName(name); err != nil {
			return nil, err
		}
	}
	db, err := s.Open(conn, true)
	if err != nil {
		return nil, err
	}
	drv, err := sqlservermigrate.WithInstance(db, &sqlservermigrate.Config{SchemaName: n.Schema, MigrationsTable: n.VersionTable})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &migrator{Driver: drv, db: db, versionTable: s.qualified(dialects.Names{Schema: n.Schema, Table: n.VersionTable})}, nil
}

// migrator is golang-migrate's sqlserver driver, whose version
// table is made again once the lock is held: the driver makes it before
// (WithInstance), and a drop, which takes the same lock (LockCreate), may
// have removed it since as a version table left without its cache table.
type migrator struct {
	database.Driver
	db           *sql.DB // the driver's; its Close closes it
	versionTable string  // quoted and qualified
}

func (d *migrator) Lock() error {
	if err := d.Driver.Lock(); err != nil {
		return err
	}
	// golang-migrate's own definition of the table (ensureVersionTable).
	_, err := d.db.ExecContext(context.Background(), `IF OBJECT_ID(@p1, N'U') IS NULL
	CREATE TABLE `+d.versionTable+` (version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL);`, d.versionTable)
	if err != nil {
		return errors.Join(fmt.Errorf("making the version table: %w", err), d.Driver.Unlock())
	}
	return nil
}

func (s Dialect) TemplateData(n dialects.Names) map[string]string {
	return map[string]string{
		"Schema":              s.Quote(n.Schema),
		"Table":               s.qualified(n),
		"TableLiteral":        s.QuoteLiteral(s.qualified(n)),
		"VersionTable":        s.versionTable(n),
		"VersionTableLiteral": s.QuoteLiteral(s.versionTable(n)),
		"PrimaryKey":          s.Quote(n.PrimaryKey),
		"ExpiryIndex":         s.Quote(n.ExpiryIndex),
		"ExpiryIndexLiteral":  s.QuoteLiteral(n.ExpiryIndex),
	}
}

// CreateSchemaSQL: CREATE SCHEMA must begin its batch, hence EXEC.
func (s Dialect) CreateSchemaSQL(schema string) string {
	return fmt.Sprintf("IF SCHEMA_ID(%s) IS NULL EXEC(%s);",
		s.QuoteLiteral(schema), s.QuoteLiteral("CREATE SCHEMA "+s.Quote(schema)))
}

// ScriptSeparator: sqlcmd and SSMS run a script batch by batch, and end a
// batch at a line that says GO.
func (Dialect) ScriptSeparator() string { return "GO\n" }
