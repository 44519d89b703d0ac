package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

// app is one run of sessctl: its streams and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	redact         *redactor
	getenv         func(string) string

	dialect string
	layout  *layouts.Layout
	output  string
	wait    time.Duration
	timeout time.Duration
	verbose bool
	quiet   bool

	// stderrTTY is set when stderr is a terminal; progressShown while a
	// progress line is on it. ttyMu keeps the progress line and the notice
	// of a signal, which comes from another goroutine, apart.
	stderrTTY     bool
	progressShown bool
	ttyMu         sync.Mutex
	// stopNotice is what the first signal says on a terminal (noticeStop);
	// abort is closed by the second.
	stopNotice string
	abort      <-chan struct{}

	// printedResult is set once a result is on stdout.
	printedResult bool

	// started is set once a command's RunE begins: errors before that are
	// usage errors.
	started bool
}

const rootLong = `sessctl provisions, checks and maintains the one table that ASP.NET Core's
distributed cache and session state (IDistributedCache) keep their entries in,
on SQL Server, PostgreSQL, MySQL/MariaDB and SQLite, exactly as the .NET cache
providers lay it out, so a .NET app and sessctl can share one database.

CONN is a connection string in any form you have one: a URL (postgres://,
sqlserver://, mysql://, sqlite:), an ADO.NET, Npgsql or MySqlConnector string
straight from appsettings.json, a libpq string, a MySQL DSN, or a SQLite file
path. Leave it out to read it from $SESSCTL_CONNECTION, so that no secret sits
on a command line.

` + exitCodesHelp

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "sessctl",
		Short: "Create, verify, purge and drop the SQL table of an ASP.NET Core distributed cache",
		Long:  rootLong,
		Example: `  sessctl create app.db main SessionData
  sessctl create "Host=127.0.0.1;Database=test;Username=postgres" public SessionData
  SESSCTL_CONNECTION="postgres://app@db/app" sessctl verify public SessionData
  sessctl purge --grace 5m --max-duration 2m public SessionData
  sessctl create --dialect sqlserver --script dbo SessionData`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			a.noticeStop("")
			return a.checkGlobals()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see 'sessctl %s --help')", err, c.Name())}
	})
	fs := root.PersistentFlags()
	fs.StringVar(&a.dialect, flagDialect, "", "database dialect: "+strings.Join(registry.List(), "|")+" (default: inferred from CONN)")
	fs.VarP(&layoutFlag{p: &a.layout}, flagLayout, "", "table layout: "+strings.Join(layouts.Names(), "|")+" (see 'Layouts' in the README)")
	fs.StringVarP(&a.output, flagOutput, "o", outputText, "output format: text|json")
	addFlagDuration(fs, &a.wait, flagWait, 0, "retry connecting until the database accepts logins, up to this long (for CI)")
	addFlagDuration(fs, &a.timeout, flagTimeout, 0, "give up after this long (default: no limit)")
	fs.BoolVarP(&a.verbose, flagVerbose, "v", false, "say what is being done")
	fs.BoolVarP(&a.quiet, flagQuiet, "q", false, "print only errors")

	root.AddCommand(
		newCreateCmd(a),
		newDropCmd(a),
		newVerifyCmd(a),
		newPurgeCmd(a),
		newVersionCmd(a),
	)
	// Cobra's completion commands take their output when made.
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = completionArgs
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
	}
	return root
}

// completionArgs refuses a shell cobra writes no completion for, instead
// of printing nothing and exiting 0.
func completionArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var shells []string
	for _, s := range c.Commands() {
		if s.Name() != "help" {
			shells = append(shells, s.Name())
		}
	}
	return usagef("completion %q: sessctl writes completions for %s only", args[0], strings.Join(shells, ", "))
}

func (a *app) checkGlobals() error {
	switch a.output {
	case outputText, outputJSON:
	default:
		return usagef("--%s %q: use text or json", flagOutput, a.output)
	}
	if a.dialect != "" {
		if _, err := registry.Lookup(a.dialect); err != nil {
			return usageError{err}
		}
	}
	if a.verbose && a.quiet {
		return usagef("--%s and --%s cannot be used together", flagVerbose, flagQuiet)
	}
	if a.wait < 0 || a.timeout < 0 {
		return usagef("--%s and --%s take a positive duration, such as 30s or 2m", flagWait, flagTimeout)
	}
	return nil
}

// tableArgs are the positional arguments every table command takes:
// [CONN] SCHEMA TABLE.
var tableArgs = func(c *cobra.Command, args []string) error {
	if len(args) < 2 || len(args) > 3 {
		return usagef("%s takes [CONN] SCHEMA TABLE, got %d arguments (see 'sessctl %s --help')", c.Name(), len(args), c.Name())
	}
	return nil
}

// looksLikeConn reports whether arg, given as SCHEMA, is a connection
// string instead: a form that names a database engine, which no schema
// name has (a URL, Key=Value settings, a MySQL DSN, a SQLite file).
func looksLikeConn(arg string) bool {
	if strings.Contains(arg, "://") || strings.Contains(arg, "@tcp(") || strings.Contains(arg, "@unix(") {
		return true
	}
	if _, err := registry.Detect(arg); err != nil {
		return false
	}
	if strings.Contains(arg, "=") {
		return true // Key=Value settings, or libpq's key=value words
	}
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".db", ".sqlite", ".sqlite3", ".db3":
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && fi.Mode().IsRegular()
}

// target is what a table command acts on.
type target struct {
	conn  *dialects.Conn // nil when no connection was needed or given
	table *schema.Table
}

// readOnlyIf is tg opening its database read-only when ro is set: for a
// command that only reads, so that the database itself refuses a write
// (SQLite: no journal, no lock file).
func (tg *target) readOnlyIf(ro bool) *target {
	if !ro || tg.conn == nil {
		return tg
	}
	c := *tg
	c.conn = tg.conn.WithReadOnly()
	return &c
}

// resolve reads [CONN] SCHEMA TABLE. The connection string comes from the
// first argument or $SESSCTL_CONNECTION; needConn=false (--script) makes it
// optional when --dialect names the dialect.
func (a *app) resolve(args []string, needConn bool) (*target, error) {
	a.started = true
	raw := ""
	if len(args) == 2 && a.getenv(envConnection) == "" && looksLikeConn(args[0]) {
		return nil, usagef("the TABLE argument is missing: the first of the two given reads as a connection string, " +
			"so the command line is CONN SCHEMA with no TABLE (it takes [CONN] SCHEMA TABLE)")
	}
	if len(args) == 3 {
		raw, args = args[0], args[1:]
	} else {
		raw = a.getenv(envConnection)
	}
	a.redact.add(dialects.SecretsOf(raw)...)
	tg := &target{}
	var d dialects.Dialect
	switch {
	case raw != "":
		conn, err := registry.Parse(raw, a.dialect)
		if err != nil {
			a.redact.add(raw)
			return nil, usageError{err}
		}
		a.redact.add(conn.Secrets...)
		tg.conn, d = conn, conn.Dialect
		for _, w := range conn.Warnings {
			a.warnf("%s", w)
		}
	case !needConn && a.dialect != "":
		d, _ = registry.Lookup(a.dialect)
	case !needConn:
		return nil, usagef("--script needs --dialect or a connection string to know the dialect")
	default:
		return nil, usagef("no connection string: pass CONN as the first argument or set %s", envConnection)
	}
	t, err := schema.NewTableOf(d, a.layoutOrCache(), args[0], args[1])
	if err != nil {
		return nil, usageError{err}
	}
	for _, n := range t.Notes {
		a.warnf("%s", n)
	}
	tg.table = t
	return tg, nil
}

// connect opens the target's database, retrying for --wait.
func (a *app) connect(ctx context.Context, tg *target, create bool) (*schema.DB, error) {
	a.infof("connecting to %s", tg.conn.Display)
	return schema.Connect(ctx, tg.conn, schema.ConnectOptions{
		Create:   create,
		Wait:     a.wait,
		WaitFlag: "--" + flagWait,
		Retry: func(err error, left time.Duration) {
			a.infof("database not ready (%s); retrying for %s more", a.redact.errorText(err), left.Round(time.Second))
		},
	})
}

// withDB connects to the target's database under --timeout, runs fn on
// it and closes it.
func (a *app) withDB(ctx context.Context, tg *target, create bool, fn func(context.Context, *schema.DB) error) error {
	ctx, cancel := a.context(ctx)
	defer cancel()
	db, err := a.connect(ctx, tg, create)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}

// context applies --timeout to a command's context.
func (a *app) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, a.timeout, fmt.Errorf("%w after %s (--%s)", errTimeout, a.timeout, flagTimeout))
}

// resultf prints a result line on stdout, unless -q or JSON output.
func (a *app) resultf(format string, args ...any) {
	if !a.quiet && a.output == outputText {
		fmt.Fprintf(a.stdout, format+"\n", args...)
	}
}

// warnf prints a warning on stderr, unless -q.
func (a *app) warnf(format string, args ...any) {
	if !a.quiet {
		fmt.Fprintf(a.stderr, "warning: "+format+"\n", args...)
	}
}

// infof prints what is being done on stderr, with -v.
func (a *app) infof(format string, args ...any) {
	if a.verbose {
		fmt.Fprintf(a.stderr, format+"\n", args...)
	}
}

// printJSON prints v as one JSON document on stdout.
func (a *app) printJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printResult prints v as JSON with --output json, or calls text.
func (a *app) printResult(v any, text func()) {
	a.printedResult = true
	if a.output == outputJSON {
		a.printJSON(v)
		return
	}
	text()
}

// script prints SQL for --script.
func (a *app) script(sql string) {
	fmt.Fprint(a.stdout, strings.TrimRight(sql, "\n")+"\n")
}
