package schema

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
)

func (t *Table) checkColumns(info *dialects.TableInfo) []Finding {
	var out []Finding
	specs := t.columns()
	for _, spec := range specs {
		object := "column " + t.quoted(spec.Name)
		col, ok := info.Column(spec.Name)
		if !ok {
			msg := fmt.Sprintf("%s is missing", object)
			for _, c := range info.Columns {
				if strings.EqualFold(c.Name, spec.Name) {
					msg = fmt.Sprintf("%s is missing; there is %s, which differs in case, and the provider names columns exactly",
						object, t.quoted(c.Name))
				}
			}
			out = append(out, Finding{SeverityError, object, msg, t.fix(spec, dialects.ProblemMissing)})
			continue
		}
		switch {
		case !slices.Contains(spec.Types, col.Type):
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s is %s; the provider needs %s", object, typeString(col.Type, col.Length), typeString(spec.Types[0], spec.Length)),
				t.fix(spec, dialects.ProblemType)})
		case spec.Precision != 0 && col.Length < spec.Precision:
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s is %s(%d), with %d fractional-second digits; the provider needs %d: it writes times to the microsecond, "+
					"and this column rounds them, so a stored expiry is up to %s off the one the app set",
					object, col.Type, col.Length, col.Length, spec.Precision, roundingOf(col.Length)),
				t.fix(spec, dialects.ProblemType)})
		case spec.Length == -1 && col.Length == 0:
			// MAX asked of a type without a declared length (SQL Server's
			// ntext, text, xml): unbounded, as MAX is.
		case spec.Length != 0 && col.Length != spec.Length:
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s is %s; the provider needs %s", object, typeString(col.Type, col.Length), typeString(col.Type, spec.Length)),
				t.fix(spec, dialects.ProblemType)})
		case spec.MinLength != 0 && col.Length > 0 && col.Length < spec.MinLength:
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s is %s: a key longer than %d characters fails when the app writes it; the provider's keys take up to %d (or use %s)",
					object, typeString(col.Type, col.Length), col.Length, spec.MinLength, spec.Types[0]),
				t.fix(spec, dialects.ProblemType)})
		}
		if spec.Defaulted && !col.HasDefault {
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s has no default, and the provider's inserts leave it out: %s", object, spec.Definition),
				t.fix(spec, dialects.ProblemDefault)})
		}
		if spec.CollationOK != nil && !spec.CollationOK(col.Collation) {
			has := "has collation " + col.Collation
			if col.Collation == "" {
				has = "has no collation of its own"
			}
			out = append(out, Finding{SeverityError, object,
				fmt.Sprintf("%s %s, under which keys that differ only in case collide; the provider needs %s",
					object, has, spec.Collation),
				t.fix(spec, dialects.ProblemCollation)})
		}
		out = append(out, t.checkNull(spec, col, object)...)
	}
	for _, c := range info.Columns {
		if !slices.ContainsFunc(specs, func(s dialects.ColumnSpec) bool { return s.Name == c.Name }) && !c.Nullable && !c.HasDefault {
			out = append(out, Finding{SeverityError, "column " + t.quoted(c.Name),
				fmt.Sprintf("column %s is NOT NULL without a default, and the provider's inserts leave it out", t.quoted(c.Name)),
				"give it a default or allow NULL"})
		}
	}
	return out
}

// checkNull checks that column col, which spec describes, takes NULL as
// the provider needs.
func (t *Table) checkNull(spec dialects.ColumnSpec, col dialects.Column, object string) []Finding {
	switch {
	case spec.Null == dialects.NotNull && col.Nullable:
		return []Finding{{SeverityError, object,
			fmt.Sprintf("%s allows NULL; it must be NOT NULL", object), t.notNullFix(spec)}}
	case spec.Null == dialects.NotNullPreferred && col.Nullable:
		why := "the provider never writes NULL there, and NOT NULL keeps any other writer from doing so"
		if spec.Name == t.Layout.Expiry {
			why = "a row with NULL there never expires, and no purge deletes it"
		}
		return []Finding{{SeverityWarning, object,
			fmt.Sprintf("%s allows NULL (the provider's own layout); %s", object, why), t.notNullFix(spec)}}
	case spec.Null == dialects.Nullable && !col.Nullable:
		return []Finding{{SeverityError, object,
			fmt.Sprintf("%s is NOT NULL, but the provider writes NULL to it", object), t.fix(spec, dialects.ProblemNullable)}}
	}
	return nil // as it should be, or NullEither: the provider works with either
}

// checkSerial checks that the database numbers the layout's Serial
// columns (identity, AUTO_INCREMENT, serial, SQLite's rowid): the
// provider's inserts leave them out.
func (t *Table) checkSerial(info *dialects.TableInfo) []Finding {
	var out []Finding
	for _, lc := range t.Layout.Columns {
		col, ok := info.Column(lc.Name)
		if lc.Kind != layouts.Serial || !ok || col.HasDefault {
			continue
		}
		object := "column " + t.quoted(lc.Name)
		out = append(out, Finding{SeverityError, object,
			fmt.Sprintf("%s is not numbered by the database (no identity, auto-increment or default): the provider's inserts leave it out, so every one fails", object),
			t.fixHint("")})
	}
	return out
}

// roundingOf is the most a time is moved when rounded to digits
// fractional-second digits: half of the last digit's unit.
func roundingOf(digits int) time.Duration {
	d := 500 * time.Millisecond
	for range digits {
		d /= 10
	}
	return d
}

func typeString(typ string, length int) string {
	switch {
	case typ == "":
		return "of no declared type"
	case length == -1:
		return typ + "(max)"
	case length > 0:
		return fmt.Sprintf("%s(%d)", typ, length)
	}
	return typ
}
