package dialects

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// rowScanner is what the catalog readers scan: a *sql.Rows, or the rows a
// statement aggregated into JSON (jsonRows).
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

var _ rowScanner = (*sql.Rows)(nil)

// jsonRows are the rows of a catalog query that one statement aggregated
// into a JSON array (PostgreSQL's json_agg, MySQL's JSON_ARRAYAGG), so
// that Inspect reads a table's catalog in one round trip. Each row is a
// JSON object or array of scalars; Scan assigns its values in order, as
// (*sql.Rows).Scan assigns columns, so the readers of both are the same.
type jsonRows struct {
	rows [][]any
	i    int
}

// newJSONRows decodes data, a JSON array of rows (or null: none). When keys
// is above 0, the first keys values of each row order the rows (numbers by
// value, strings without case, then by byte) and are dropped: an engine
// that cannot order what it aggregates sends them for that.
func newJSONRows(data []byte, keys int) (*jsonRows, error) {
	r := &jsonRows{i: -1}
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("reading the catalog's rows: %w", err)
	}
	if tok == nil {
		return r, nil // SQL NULL as JSON: no rows
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("reading the catalog's rows: want a JSON array, got %v", tok)
	}
	for dec.More() {
		row, err := decodeRow(dec)
		if err != nil {
			return nil, fmt.Errorf("reading the catalog's rows: %w", err)
		}
		if len(row) < keys {
			return nil, fmt.Errorf("reading the catalog's rows: a row of %d values has no %d keys", len(row), keys)
		}
		r.rows = append(r.rows, row)
	}
	if keys > 0 {
		slices.SortStableFunc(r.rows, func(a, b []any) int {
			for k := range keys {
				if c := compareJSON(a[k], b[k]); c != 0 {
					return c
				}
			}
			return 0
		})
		for i := range r.rows {
			r.rows[i] = r.rows[i][keys:]
		}
	}
	return r, nil
}

// decodeRow reads one object's values, in order (keys may repeat: json_agg
// names unnamed columns alike), or one array's.
func decodeRow(dec *json.Decoder) ([]any, error) {
	open, err := dec.Token()
	if err != nil {
		return nil, err
	}
	object := open == json.Delim('{')
	if !object && open != json.Delim('[') {
		return nil, fmt.Errorf("want a row as an object or an array, got %v", open)
	}
	var row []any
	for dec.More() {
		if object {
			if _, err := dec.Token(); err != nil { // the key
				return nil, err
			}
		}
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if _, ok := v.(json.Delim); ok {
			return nil, fmt.Errorf("want scalar values, got %v", v)
		}
		row = append(row, v)
	}
	_, err = dec.Token() // } or ]
	return row, err
}

func compareJSON(a, b any) int {
	if x, ok := a.(json.Number); ok {
		if y, ok := b.(json.Number); ok {
			fx, _ := x.Float64()
			fy, _ := y.Float64()
			return cmp.Compare(fx, fy)
		}
	}
	sa, sb := fmt.Sprint(a), fmt.Sprint(b)
	return cmp.Or(strings.Compare(strings.ToLower(sa), strings.ToLower(sb)), strings.Compare(sa, sb))
}

func (r *jsonRows) Next() bool {
	r.i++
	return r.i < len(r.rows)
}

func (r *jsonRows) Err() error { return nil }

// Scan assigns the current row's values to dest, converting as
// database/sql would: numbers to integers, 0 and 1 to booleans (MySQL has
// no JSON booleans for a comparison), null to a Null type's invalid value.
func (r *jsonRows) Scan(dest ...any) error {
	if r.i < 0 || r.i >= len(r.rows) {
		return fmt.Errorf("jsonRows: Scan without a row")
	}
	row := r.rows[r.i]
	if len(dest) != len(row) {
		return fmt.Errorf("jsonRows: %d destinations for a row of %d values", len(dest), len(row))
	}
	for i, d := range dest {
		if err := assignJSON(d, row[i]); err != nil {
			return fmt.Errorf("jsonRows: value %d (%v): %w", i, row[i], err)
		}
	}
	return nil
}

func assignJSON(dest, v any) error {
	switch d := dest.(type) {
	case *any:
		*d = v
		return nil
	case *sql.NullString:
		d.Valid = v != nil
		if v == nil {
			d.String = ""
			return nil
		}
		return assignJSON(&d.String, v)
	case *sql.NullInt64:
		d.Valid = v != nil
		if v == nil {
			d.Int64 = 0
			return nil
		}
		return assignJSON(&d.Int64, v)
	case *sql.NullBool:
		d.Valid = v != nil
		if v == nil {
			d.Bool = false
			return nil
		}
		return assignJSON(&d.Bool, v)
	}
	if v == nil {
		return fmt.Errorf("null into %T", dest)
	}
	switch d := dest.(type) {
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
		case json.Number:
			*d = x.String()
		case bool:
			*d = strconv.FormatBool(x)
		}
		return nil
	case *bool:
		switch x := v.(type) {
		case bool:
			*d = x
		case json.Number:
			*d = x.String() != "0"
		default:
			return fmt.Errorf("%T into *bool", v)
		}
		return nil
	case *float64:
		x, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%T into *float64", v)
		}
		f, err := x.Float64()
		*d = f
		return err
	}
	// A number, or a string that holds one (PostgreSQL writes oid so).
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return fmt.Errorf("%T into %T", v, dest)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return err
	}
	switch d := dest.(type) {
	case *int64:
		*d = n
	case *int:
		*d = int(n)
	case *int32:
		*d = int32(n)
	case *uint32:
		*d = uint32(n)
	default:
		return fmt.Errorf("a number into %T", dest)
	}
	return nil
}
