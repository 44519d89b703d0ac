package schema

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/migrations"
)

// Severity of a finding.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one thing verify found, with what to do about it.
type Finding struct {
	Severity Severity `json:"severity"`
	Object   string   `json:"object"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

// Verify statuses, as JSON reports them.
const (
	StatusOK           = "ok"
	StatusIncompatible = "incompatible"
	StatusMissing      = "missing"
)

// Report is the outcome of verify.
type Report struct {
	Status  string `json:"status"`
	Schema  string `json:"schema"`
	Table   string `json:"table"`
	Dialect string `json:"dialect"`
	// Engine is the server verify checked, where the dialect's protocol
	// has more than one (dialects.EngineNamer): "SQL Server", "Babelfish
	// for PostgreSQL 4.3.0".
	Engine   string    `json:"engine,omitempty"`
	Version  *int64    `json:"version"`
	Latest   uint      `json:"latest_version"`
	Findings []Finding `json:"findings"`
}

// Verify reads the catalog, and only reads, and reports how the table
// measures up to what the cache provider needs. With strict, warnings fail
// too. A table that is missing or incompatible is a report, not an error;
// Err says whether it fails.
func Verify(ctx context.Context, db *DB, t *Table, strict bool) (*Report, error) {
	res, err := verify(ctx, db, t, strict)
	return res, t.denied(ctx, db, "verify", err)
}

func verify(ctx context.Context, db *DB, t *Table, strict bool) (*Report, error) {
	info, err := t.Dialect.Inspect(ctx, db, t.Names)
	if err != nil {
		return nil, err
	}
	r, err := t.report(info, strict)
	if err != nil {
		return nil, err
	}
	if en, ok := t.Dialect.(dialects.EngineNamer); ok {
		if r.Engine, err = en.Engine(ctx, db); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// report is verify's judgement of the table info describes: the one place
// that decides whether a table is compatible, for verify and for purge.
func (t *Table) report(info *dialects.TableInfo, strict bool) (*Report, error) {
	latest, err := t.LatestVersion()
	if errors.Is(err, migrations.ErrNoTemplates) && t.Layout != layouts.Cache {
		// A layout this build has no migrations for in this engine (one
		// sessctl does not make): its shape is still checked, against no
		// version.
		latest, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Report{
		Status:   StatusOK,
		Schema:   t.Schema,
		Table:    t.Names.Table,
		Dialect:  t.Dialect.Name(),
		Latest:   latest,
		Findings: append([]Finding{}, t.check(info, latest)...),
	}
	if info.Version != nil {
		v := info.Version.Version
		r.Version = &v
	}
	// A table that passes as its layout but that another fits more
	// closely is said to, first. (One that fails and is another's is
	// reported so by check alone.)
	if len(errorsOf(r.Findings)) == 0 {
		if like := t.lookalike(info, false); len(like) > 0 {
			r.Findings = append(like, r.Findings...)
		}
	}
	for _, f := range r.Findings {
		if f.Severity == SeverityError || strict {
			r.Status = StatusIncompatible
		}
	}
	if info.Kind == dialects.KindMissing {
		r.Status = StatusMissing
	}
	return r, nil
}

// Err is nil when the report passes, and wraps ErrIncompatible otherwise.
func (r *Report) Err() error {
	if r.Status == StatusOK {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrIncompatible, r.Status)
}

// refusal is the error of a command that refused to touch a table verify
// fails: it wraps ErrIncompatible, and ErrTableMissing or ErrNotCacheTable.
type refusal struct {
	msg    string
	causes []error
}

func (e *refusal) Error() string   { return e.msg }
func (e *refusal) Unwrap() []error { return e.causes }

// refuse is nil when verify (without --strict) passes the table info
// describes, and otherwise the error that says why verb will not touch
// it, naming each problem verify found and what to run.
func (t *Table) refuse(info *dialects.TableInfo, verb string) error {
	r, err := t.report(info, false)
	if err != nil || r.Status == StatusOK {
		return err
	}
	if r.Status == StatusMissing {
		return &refusal{causes: []error{ErrIncompatible, ErrTableMissing}, msg: fmt.Sprintf(
			"%s refused: %s does not exist, so nothing was deleted; check SCHEMA and TABLE, or %s",
			verb, t, t.makeIt())}
	}
	var problems []string
	for _, f := range errorsOf(r.Findings) {
		problems = append(problems, f.Message)
	}
	const shown = 3
	if len(problems) > shown {
		problems = append(problems[:shown], fmt.Sprintf("and %d more", len(problems)-shown))
	}
	return &refusal{causes: []error{ErrIncompatible, ErrNotCacheTable}, msg: fmt.Sprintf(
		"%s refused: %s is not a compatible %s, so nothing was deleted: %s; run `sessctl verify` for every finding and its fix",
		verb, t, t.Layout.Noun, strings.Join(problems, "; "))}
}

// Errors are the findings of error severity.
func errorsOf(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// check compares what the catalog says with what the provider needs.
func (t *Table) check(info *dialects.TableInfo, latest uint) []Finding {
	var out []Finding
	add := func(sev Severity, object, fix, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Object: object, Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	create := fmt.Sprintf("run `%s` for %s", t.command("create"), t)
	switch info.Kind {
	case dialects.KindMissing:
		fix := create
		if t.Layout.NoCreate != "" {
			fix = t.Layout.NoCreate // sessctl does not make it: what does
		}
		add(SeverityError, "table", fix, "%s does not exist%s", t, t.elsewhere())
		if info.VersionTable {
			add(SeverityWarning, "version "+t.quoted(t.VersionTable),
				fmt.Sprintf("%s makes the table again; `%s --yes --if-exists` removes the version table", create, t.command("drop")),
				"the version table %s is there without its table: the table was dropped without it, or a create did not finish", t.quoted(t.VersionTable))
		}
		return append(out, t.checkVersion(info, latest)...)
	case dialects.KindView:
		add(SeverityError, "table", "", "%s is a view, not a table: the provider writes to it and needs a table", t)
		return out
	case dialects.KindOther:
		add(SeverityError, "table", "", "%s is not a table", t)
		return out
	}
	columns := t.checkColumns(info)
	if len(errorsOf(columns)) > 0 {
		// Another layout's table: that says it all, not its columns one
		// by one as if it were a broken one of this layout.
		if like := t.lookalike(info, true); len(like) > 0 {
			return append(out, like...)
		}
	}
	out = append(out, columns...)
	out = append(out, t.checkSerial(info)...)

	key := strings.Join(t.Layout.PrimaryKey, ", ")
	switch {
	case len(info.PrimaryKey) == 0:
		add(SeverityError, "primary key", t.fixHint(""),
			"%s has no primary key: the provider's writes rely on one row per %s", t, key)
	case !slices.Equal(info.PrimaryKey, t.Layout.PrimaryKey):
		add(SeverityError, "primary key", "",
			"the primary key %s is on (%s), not on (%s): keys must be unique by %s alone",
			t.quoted(info.PrimaryKeyName), strings.Join(info.PrimaryKey, ", "), key, key)
	}
	if t.Layout.Purges() {
		// The expiry index and the storage checks are about purge, and
		// the engines' notes about the cache table's key and purge.
		out = append(out, t.checkExpiryIndex(info)...)
		out = append(out, t.checkStorage(info)...)
		for _, n := range info.Notes {
			add(SeverityWarning, "table", "", "%s", n)
		}
	}
	out = append(out, t.checkUnlogged(info)...)
	if len(info.MissingPrivileges) > 0 {
		add(SeverityWarning, "privileges", info.PrivilegeGrant, "%s", t.privilegesMessage(info))
	}
	return append(out, t.checkVersion(info, latest)...)
}

// privilegesMessage says what the privileges the user lacks mean to the
// app that connects as it.
func (t *Table) privilegesMessage(info *dialects.TableInfo) string {
	lacks := strings.Join(info.MissingPrivileges, " and ")
	if t.Layout.Purges() {
		return fmt.Sprintf("this user (%s) lacks %s: the app's cache provider fails if it connects as this user, which it needs to read, write, refresh and remove entries",
			info.User, lacks)
	}
	return fmt.Sprintf("this user (%s) lacks %s: an app that connects as this user needs to read and write the %s",
		info.User, lacks, t.Layout.Noun)
}

// checkExpiryIndex warns when no index serves the purge's range scan on
// ExpiresAtTime, naming each index on it that cannot, why, and the SQL that
// mends or replaces it.
func (t *Table) checkExpiryIndex(info *dialects.TableInfo) []Finding {
	if _, ok := info.ExpiryIndex(); ok {
		return nil
	}
	scan := "every purge and the provider's own cleanup scan the whole table"
	build, err := t.script(migrations.Index, t.templateData())
	if err != nil {
		build = fmt.Sprintf("run `%s` for %s", t.command("create"), t)
	}
	build = strings.TrimSpace(build)
	unusable := info.UnusableExpiryIndexes()
	if len(unusable) == 0 {
		fix := fmt.Sprintf("run `%s` for %s", t.command("create"), t)
		if t.Layout.NoCreate != "" {
			fix = build // sessctl does not make the table; the index is the one statement
		}
		return []Finding{{Severity: SeverityWarning, Object: "index",
			Message: fmt.Sprintf("no index on %s: %s", t.expiry(), scan),
			Fix:     fix}}
	}
	var out []Finding
	for _, ix := range unusable {
		fix := ix.Fix
		switch {
		case fix != "":
		case ix.Name == t.ExpiryIndex:
			fix = ix.Drop + " " + build
		default:
			fix = build + " Then, if nothing else uses it: " + ix.Drop
		}
		out = append(out, Finding{Severity: SeverityWarning, Object: "index " + t.quoted(ix.Name),
			Message: fmt.Sprintf("the index %s on %s cannot serve the purge: %s; %s", t.quoted(ix.Name), t.expiry(), ix.Unusable, scan),
			Fix:     fix})
	}
	return out
}

// checkStorage checks how the table keeps its rows, where the engine lets
// that break purge (SQLite: a WITHOUT ROWID table, one that is not STRICT,
// times written as text).
func (t *Table) checkStorage(info *dialects.TableInfo) []Finding {
	var out []Finding
	rebuild := t.fixHint(t.Dialect.FixSQL(t.Names, dialects.ColumnSpec{}, dialects.ProblemRebuild))
	if info.WithoutRowID {
		out = append(out, Finding{SeverityError, "table",
			fmt.Sprintf("%s is a WITHOUT ROWID table: purge deletes expired rows by rowid, so it cannot purge it; make it again with a rowid", t),
			rebuild})
	}
	if info.NonIntegerExpiry {
		expiry := t.expiry()
		object := "column " + expiry
		out = append(out, Finding{SeverityError, object,
			fmt.Sprintf("rows of %s hold an %s that is text or a blob, not INTEGER microseconds since 1970-01-01 UTC: "+
				"it sorts after every integer, so no purge deletes those rows and the app never expires them", t, expiry),
			fmt.Sprintf("find them with SELECT %s, %s FROM %s WHERE typeof(%s) IN ('text', 'blob'); write their times as microseconds, "+
				"or delete them: DELETE FROM %s WHERE typeof(%s) IN ('text', 'blob');",
				t.key(), expiry, t, expiry, t, expiry)})
	}
	if info.NotStrict {
		out = append(out, Finding{SeverityWarning, "table",
			fmt.Sprintf("%s is not a STRICT table, so SQLite keeps a time written as text as it is: such a row sorts after every "+
				"integer time, and no purge deletes it; a STRICT table refuses it", t),
			rebuild})
	}
	return out
}

func (t *Table) checkVersion(info *dialects.TableInfo, latest uint) []Finding {
	if t.Layout.NoCreate != "" {
		return nil // sessctl does not make the table: no version to expect
	}
	create := fmt.Sprintf("run `%s` for %s", t.command("create"), t)
	object := "version " + t.quoted(t.VersionTable)
	v := info.Version
	switch {
	case info.VersionUnreadable:
		return []Finding{{SeverityWarning, object,
			fmt.Sprintf("the version table %s could not be read: this user may not SELECT from it, so which version is recorded is not known",
				t.quoted(t.VersionTable)), info.VersionGrant}}
	case v == nil && info.Kind == dialects.KindMissing:
		return nil
	case v == nil:
		return []Finding{{SeverityWarning, object,
			"no sessctl version is recorded: the table was made by another tool or by hand", create + " to adopt it"}}
	case v.Dirty:
		return []Finding{{SeverityWarning, object,
			fmt.Sprintf("migration %d was interrupted and is marked dirty", v.Version), create + " to finish it"}}
	case v.Version < int64(latest):
		return []Finding{{SeverityWarning, object,
			fmt.Sprintf("version %d is behind this sessctl's %d", v.Version, latest), create + " to upgrade it"}}
	case v.Version > int64(latest):
		return []Finding{{SeverityWarning, object,
			fmt.Sprintf("version %d is ahead of this sessctl's %d: a newer sessctl made it", v.Version, latest), "upgrade sessctl"}}
	}
	return nil
}

// fix is the SQL that mends a column problem, or a hint when the dialect
// has no statement for it.
func (t *Table) fix(spec dialects.ColumnSpec, p dialects.Problem) string {
	return t.fixHint(t.Dialect.FixSQL(t.Names, spec, p))
}

// notNullFix is the fix that makes spec's column NOT NULL, saying first,
// in a comment that leaves it runnable, that it fails while a row holds
// NULL there and the statement that deletes those rows.
func (t *Table) notNullFix(spec dialects.ColumnSpec) string {
	fix := t.fix(spec, dialects.ProblemNotNull)
	del := fmt.Sprintf("DELETE FROM %s WHERE %s IS NULL;", t, t.quoted(spec.Name))
	if strings.Contains(del, "*/") {
		return fix
	}
	return fmt.Sprintf("/* this fails while a row holds NULL in %s: delete those rows first (%s) or fill them in */ %s",
		t.quoted(spec.Name), del, fix)
}

func (t *Table) fixHint(sql string) string {
	if sql != "" {
		return sql
	}
	return fmt.Sprintf("re-create the table: copy its rows aside, `%s --force` it and `%s` it (%s)",
		t.command("drop"), t.command("create"), strings.Join(t.columnDefinitions(), ", "))
}

// command is the sessctl command that does verb to a table of t's layout,
// as a fix names it: --layout for any layout but the cache table.
func (t *Table) columnDefinitions() []string {
	var out []string
	for _, c := range t.columns() {
		out = append(out, c.Definition)
	}
	return out
}
