package schema

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessctl/sessctl/keyring"
	"github.com/sessctl/sessctl/layouts"
)

// ErrNotKeyRing: a key ring read asked of a table of another layout.
var ErrNotKeyRing = errors.New("not a key ring table")

// ReadKeys reads every row of the key ring table t (layouts.Keys), and only
// reads: Id, FriendlyName and Xml, in the order of Id, the order the key
// manager wrote them in. It needs nothing but SELECT on the table. Call it
// once verify passes the table's shape.
func ReadKeys(ctx context.Context, db *DB, t *Table) ([]keyring.Row, error) {
	rows, err := readKeys(ctx, db, t)
	return rows, t.denied(ctx, db, "verify", err)
}

func readKeys(ctx context.Context, db *DB, t *Table) ([]keyring.Row, error) {
	if t.Layout != layouts.Keys {
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotKeyRing, t, t.Layout.Noun)
	}
	id, name, xml := t.quoted(layouts.ColKeyID), t.quoted(layouts.ColFriendlyName), t.quoted(layouts.ColXML)
	rs, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s, %s FROM %s ORDER BY %s", id, name, xml, t, id))
	if err != nil {
		return nil, fmt.Errorf("reading the key ring %s: %w", t, err)
	}
	defer rs.Close()
	var out []keyring.Row
	for rs.Next() {
		var r keyring.Row
		if err := rs.Scan(&r.ID, &r.FriendlyName, &r.XML); err != nil {
			return nil, fmt.Errorf("reading the key ring %s: %w", t, err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading the key ring %s: %w", t, err)
	}
	return out, nil
}
