package dialects

import (
	"context"
)

// NameHolder is a dialect whose derived names (Names.PrimaryKey,
// Names.ExpiryIndex) live in a namespace wider than the table's, where
// another table's object can hold them: PostgreSQL's indexes (a primary
// key's too) share their schema's namespace with its tables, views and
// sequences; SQLite's indexes share the database's with its tables and
// views. (MySQL's index names are the table's own, and its primary key is
// always PRIMARY.)
type NameHolder interface {
	// NamesHeld returns the objects that hold any of names in the table's
	// namespace, the table's own indexes among them.
	NamesHeld(ctx context.Context, q Querier, n Names, names []string) ([]HeldName, error)
}

// HeldName is an object holding a name: its kind (index, table, view,
// sequence, …) and, for an index, the table it belongs to.
type HeldName struct {
	Name, Kind, Table string
}
