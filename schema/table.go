// Package schema is what a cache table is and what sessctl does to it:
// the names it derives, the shape the app's cache provider needs, and
// create, drop, verify and purge. How each database spells these is
// package dialects; the DDL itself is package migrations.
package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"

	"github.com/sessctl/sessctl/dialects"
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
	// ErrNameTaken: create would make an object (a primary key, an
	// index) under a name that another object holds; nothing was sent.
	ErrNameTaken = errors.New("name taken")
)

// Table is one cache table in one dialect.
type Table struct {
	Dialect dialects.Dialect
	dialects.Names
}

// NewTable checks schema, table and every name derived from them against
// the dialect's rules, before anything is sent to a database.
func NewTable(d dialects.Dialect, schema, table string) (*Table, error) {
	if err := d.CheckSchema(schema); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := d.CheckName(table); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	n := d.Names(schema, table)
	for _, derived := range n.Derived() {
		if err := d.CheckName(derived); err != nil {
			return nil, fmt.Errorf("table: the name %q is derived from it: %w", derived, err)
		}
	}
	return &Table{Dialect: d, Names: n}, nil
}

// String is the table's qualified, quoted name, for messages.
func (t *Table) String() string {
	return t.Dialect.Quote(t.Schema) + "." + t.Dialect.Quote(t.Table)
}

// LatestVersion is the migration version a fully created table has.
func (t *Table) LatestVersion() (uint, error) {
	return migrations.Latest(t.Dialect.Name())
}

// templateData is what this table's templates render with.
func (t *Table) templateData() map[string]string { return t.Dialect.TemplateData(t.Names) }

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
