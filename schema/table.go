// Package schema is what sessctl does to a table of a layout (the cache
// table, the Data Protection key ring): the names it derives, the shape
// the app's provider needs, and create, drop, verify and purge. Which table it is, is package
// layouts; how each database spells it, package dialects; the DDL itself,
// package migrations.
package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// Sentinel errors. Package cmd maps them to exit codes.
var (
	// ErrNotCacheTable: drop or create found something under the table's
	// name that is not a cache table.
	ErrNotCacheTable = errors.New("not a cache table")
	// ErrTableMissing: the table does not exist.
	ErrTableMissing = errors.New("table does not exist")
	// ErrIncompatible: verify found the table missing or not compatible.
	ErrIncompatible = errors.New("table is not compatible")
	// ErrInterrupted: a signal stopped the command; what was done is
	// consistent.
	ErrInterrupted = errors.New("interrupted")
	// ErrHoldsRows: drop found rows in a table whose layout keeps them
	// (the key ring), and was not forced, or purge was asked to delete
	// such rows; nothing was changed.
	ErrHoldsRows = errors.New("table holds rows that must be kept")
	// ErrNameTaken: create would make an object (a primary key, an
	// index) under a name that another object holds; nothing was sent.
	ErrNameTaken = errors.New("name taken")
	// ErrNotManaged: create or drop of a layout whose tables sessctl does
	// not make or drop (Layout.NoCreate, Layout.NoDrop); nothing was sent.
	ErrNotManaged = errors.New("not managed by sessctl")
)

// Table is one table of a layout in one dialect.
type Table struct {
	Dialect dialects.Dialect
	// Layout is which table it is: its columns, key, expiry and DDL.
	Layout *layouts.Layout
	dialects.Names
	// Logged asks, for a layout whose provider makes its table UNLOGGED
	// (layouts.Layout.Unlogged), for a logged table.
	Logged bool
	// Notes say how the names typed became those of the table, where the
	// layout's provider finds another name than the one typed (Microsoft's
	// package folds them to lower case): for the user to read.
	Notes []string
}

// NewTable is a cache table (layouts.Cache): it checks schema, table and
// every name derived from them against the dialect's rules, before
// anything is sent to a database.
func NewTable(d dialects.Dialect, schema, table string) (*Table, error) {
	return NewTableOf(d, layouts.Cache, schema, table)
}

// NewTableOf is a table of layout l, checked as NewTable checks a cache
// table; a layout that has no table in d's engine is refused.
func NewTableOf(d dialects.Dialect, l *layouts.Layout, schema, table string) (*Table, error) {
	if err := l.Check(d.Name()); err != nil {
		return nil, err
	}
	schema, table, notes, err := found(d, l, schema, table)
	if err != nil {
		return nil, err
	}
	if err := d.CheckSchema(schema); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := d.CheckName(table); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	n := l.NamesIn(d, schema, table)
	for _, derived := range n.Derived() {
		if err := d.CheckName(derived); err != nil {
			return nil, fmt.Errorf("table: the name %q is derived from it: %w", derived, err)
		}
	}
	return &Table{Dialect: d, Layout: l, Names: n, Notes: notes}, nil
}

// found are schema and table as l's provider finds them in d (Find), with
// a note for each that is not the name typed.
func found(d dialects.Dialect, l *layouts.Layout, schema, table string) (string, string, []string, error) {
	if l.Find == nil {
		return schema, table, nil, nil
	}
	var notes []string
	names := [2]*string{&schema, &table}
	for i, what := range [2]string{"schema", "table"} {
		got, note, err := l.Find(d.Name(), what, *names[i])
		if err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", what, err)
		}
		if note != "" {
			notes = append(notes, note)
		}
		*names[i] = got
	}
	return schema, table, notes, nil
}

// String is the table's qualified, quoted name, for messages.
func (t *Table) String() string {
	return t.Dialect.Quote(t.Schema) + "." + t.Dialect.Quote(t.Table)
}

// LatestVersion is the migration version a fully created table has.
func (t *Table) LatestVersion() (uint, error) {
	return t.Layout.Templates.Latest(t.Dialect.Name())
}

// templateData is what this table's templates render with.
func (t *Table) templateData() map[string]string {
	data := t.Dialect.TemplateData(t.Names)
	if t.Unlogged() {
		data["Unlogged"] = "UNLOGGED "
		data["UnloggedNote"] = "-- " + unloggedRisk + "; create it with --logged for a logged table (UseWAL = true).\n"
	}
	return data
}

// Unlogged reports whether create makes the table UNLOGGED: its layout's
// provider does, and no logged table was asked for.
func (t *Table) Unlogged() bool { return t.Layout.Unlogged && !t.Logged }

// unloggedRisk is what an UNLOGGED table costs.
const unloggedRisk = "UNLOGGED: PostgreSQL writes no WAL for the table, so a crash or an unclean shutdown empties it " +
	"(every session and cache entry is lost) and a replica has none of its rows, so it is empty after a failover"

// up renders the layout's migrations in this table's dialect with data.
func (t *Table) up(data map[string]string) ([]migrations.Migration, error) {
	return t.Layout.Templates.Up(t.Dialect.Name(), data)
}

// script renders one of the layout's scripts (migrations.Create, ...) in
// this table's dialect with data.
func (t *Table) script(name string, data map[string]string) (string, error) {
	return t.Layout.Templates.Script(t.Dialect.Name(), name, data)
}

// columns are the layout's columns as the dialect spells them.
func (t *Table) columns() []dialects.ColumnSpec { return t.Layout.ColumnsIn(t.Dialect) }

// expiry is the quoted column rows of the layout expire by.
func (t *Table) expiry() string { return t.quoted(t.Layout.Expiry) }

// key is the layout's primary key, its columns quoted, for messages and
// fixes.
func (t *Table) key() string {
	q := make([]string, len(t.Layout.PrimaryKey))
	for i, c := range t.Layout.PrimaryKey {
		q[i] = t.quoted(c)
	}
	return strings.Join(q, ", ")
}

// refuseVerb is nil when sessctl does verb (create, drop) to tables of
// this layout, and otherwise the error, wrapping ErrNotManaged, that says
// why not (reason) and what to run instead.
func (t *Table) refuseVerb(verb, reason string) error {
	if reason == "" {
		return nil
	}
	return fmt.Errorf("%w: %s --layout %s refused for %s: %s", ErrNotManaged, verb, t.Layout.Name, t, reason)
}

// denied turns err into dialects.ErrPermission, saying what op lacks and
// how to grant it, when it is the database refusing the user a privilege.
func (t *Table) denied(ctx context.Context, q dialects.Querier, op string, err error) error {
	if err == nil || errors.Is(err, dialects.ErrPermission) {
		return err // none, or said already
	}
	cause := err
	// golang-migrate's drivers wrap the driver's error in a database.Error,
	// which does not unwrap.
	var me *database.Error
	if errors.As(err, &me) && me.OrigErr != nil {
		cause = me.OrigErr
	}
	if msg, ok := t.Dialect.Denied(context.WithoutCancel(ctx), q, cause, op, t.Names); ok {
		text := err.Error()
		if me != nil && me.OrigErr != nil {
			// Without the statement golang-migrate adds, lines of it.
			text = strings.Replace(text, me.Error(), me.OrigErr.Error(), 1)
		}
		return &deniedError{msg: fmt.Sprintf("%s: %s (%s)", dialects.ErrPermission, msg, text), err: err}
	}
	return err
}

// deniedError is a refused privilege: what to grant, and the error that
// said so.
type deniedError struct {
	msg string
	err error
}

func (e *deniedError) Error() string   { return e.msg }
func (e *deniedError) Unwrap() []error { return []error{dialects.ErrPermission, e.err} }

// quoted quotes a derived or column name for messages.
func (t *Table) quoted(name string) string { return t.Dialect.Quote(name) }

// makeIt says how to make the missing table: the layout's create, or,
// for a layout sessctl does not make, what does.
func (t *Table) makeIt() string {
	if t.Layout.NoCreate != "" {
		return "make it as its provider does: " + t.Layout.NoCreate
	}
	return fmt.Sprintf("run `%s` to make it", t.command("create"))
}

func (t *Table) command(verb string) string {
	if t.Layout == layouts.Cache {
		return "sessctl " + verb
	}
	return "sessctl " + verb + " --layout " + t.Layout.Name
}
