package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

// defaultKeysTable is the key ring's table as EF Core names it: the
// DbSet of IDataProtectionKeyContext, DataProtectionKeys.
const defaultKeysTable = "DataProtectionKeys"

type createOptions struct {
	script       bool
	idempotent   bool
	createSchema bool
	withKeys     string        // --with-keys as given
	keys         *schema.Table // the key ring --with-keys asks for; nil without it
	logged       bool
}

func newCreateCmd(a *app) *cobra.Command {
	opts := &createOptions{}
	c := &cobra.Command{
		Use:   "create [CONN] SCHEMA TABLE",
		Short: "Create the cache table (or key ring), or bring it up to date (safe to run again and in parallel)",
		Long: `Create the cache table exactly as the .NET cache provider of the dialect lays it
out, with its expiry index, through embedded golang-migrate migrations recorded
in a version table beside it (TABLE_migrations). Running it again does nothing
and says so; many CI jobs may run it at once; a run killed half-way is finished
by the next. A table the provider or another tool made is adopted: its version
is recorded and what it lacks (a usable expiry index) is added. What the
recorded version promises but is gone (the table or its index, dropped by
hand) is made again. With --script --idempotent the script records the
version too.

With --layout keys it creates the ASP.NET Core Data Protection key ring
instead: the DataProtectionKeys table EF Core's migrations make for
PersistKeysToDbContext, in the same way (one made by EF or by hand, rows and
all, is adopted). --with-keys creates the key ring too, in the same schema,
after the cache table: one result line for each.

With --layout microsoft (PostgreSQL) it makes the table of
Microsoft.Extensions.Caching.Postgres, named as the package finds it: the
package puts SchemaName and TableName into its SQL unquoted, so PostgreSQL
folds them to lower case, and sessctl makes "sessiondata" for SessionData
(and says so); a name that needs quoting the package can never find, and is
refused. The table is UNLOGGED, as the package makes it, unless --logged
asks for a logged one (the package's UseWAL = true).

--layout aspnet-async makes the async session state provider's table
(ASPNetSessionState). --layout aspstate and universal are refused (exit 2):
aspnet_regsql -ssadd, and the Universal Providers themselves, make those.

` + exitCodesHelp,
		Example: `  sessctl create app.db main SessionData
  sessctl create "Host=127.0.0.1;Database=test;Username=postgres" public SessionData
  sessctl create --create-schema "postgres://app@db/app" cache SessionData
  sessctl create --dialect postgres --script public SessionData
  sessctl create --dialect postgres --script --idempotent public SessionData
  sessctl create --layout keys "postgres://app@db/app" public DataProtectionKeys
  sessctl create --with-keys "postgres://app@db/app" public SessionData
  sessctl create --with-keys=AppKeys --dialect sqlserver --script dbo SessionData
  sessctl create --layout microsoft --logged "postgres://app@db/app" public sessiondata
  sessctl create --layout aspnet-async "$CONN" dbo ASPNetSessionState`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, !opts.script)
			if err != nil {
				return err
			}
			if c.Flags().Changed(flagWithKeys) {
				if opts.keys, err = keysBeside(tg.table, opts.withKeys); err != nil {
					return err
				}
			}
			return runCreate(c.Context(), a, tg, opts)
		},
	}
	fs := c.Flags()
	addFlagScript(fs, &opts.script)
	fs.BoolVar(&opts.idempotent, flagIdempotent, false, "with --script: guard every statement so the script runs on a database that has the table")
	fs.BoolVar(&opts.createSchema, flagCreateSchema, false, "create the schema (MySQL: database) when it does not exist")
	fs.StringVar(&opts.withKeys, flagWithKeys, "", "also create the Data Protection key ring (--layout keys) in the same schema, "+
		"named as given (--with-keys=TABLE) or "+defaultKeysTable)
	fs.Lookup(flagWithKeys).NoOptDefVal = defaultKeysTable
	fs.BoolVar(&opts.logged, flagLogged, false, "with --layout microsoft: make a logged table, not UNLOGGED (the package's UseWAL = true)")
	return c
}

// keysBeside is the key ring called name in cache's schema, for
// --with-keys.
func keysBeside(cache *schema.Table, name string) (*schema.Table, error) {
	switch {
	case cache.Layout != layouts.Cache && cache.Layout != layouts.Microsoft:
		return nil, usagef("--%s goes with the cache table: --%s %s creates the %s itself", flagWithKeys, flagLayout, cache.Layout.Name, cache.Layout.Noun)
	case name == "":
		return nil, usagef("--%s= names no table: write --%s for %s, or --%s=TABLE", flagWithKeys, flagWithKeys, defaultKeysTable, flagWithKeys)
	case strings.EqualFold(name, cache.Names.Table):
		// The same table on an engine whose names match in any case
		// (MySQL, SQLite), and a confusing one where they do not.
		return nil, usagef("--%s=%s names the cache table itself: the key ring needs a table of its own", flagWithKeys, name)
	}
	t, err := schema.NewTableOf(cache.Dialect, layouts.Keys, cache.Schema, name)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %w", flagWithKeys, err)}
	}
	return t, nil
}

func runCreate(ctx context.Context, a *app, tg *target, opts *createOptions) error {
	if opts.idempotent && !opts.script {
		return usagef("--%s goes with --%s", flagIdempotent, flagScript)
	}
	if opts.logged && !tg.table.Layout.Unlogged {
		return usagef("--%s goes with --%s microsoft: a table of --%s %s is always logged", flagLogged, flagLayout, flagLayout, tg.table.Layout.Name)
	}
	tg.table.Logged = opts.logged
	if opts.script {
		return a.createScripts(tg.table, opts)
	}
	co := schema.CreateOptions{CreateSchema: opts.createSchema, LockTimeout: a.timeout}
	return a.withDB(ctx, tg, true, func(ctx context.Context, db *schema.DB) error {
		if opts.keys != nil {
			return a.createWithKeys(ctx, db, tg.table, opts.keys, co)
		}
		res, err := schema.Create(ctx, db, tg.table, co)
		if err != nil {
			return err
		}
		a.printCreate(tg.table, res)
		return nil
	})
}

// createScripts prints the create script of t, and, with --with-keys,
// the key ring's after it.
func (a *app) createScripts(t *schema.Table, opts *createOptions) error {
	sql, err := schema.CreateScript(t, opts.idempotent)
	if err != nil {
		return err
	}
	if opts.keys != nil {
		keys, err := schema.CreateScript(opts.keys, opts.idempotent)
		if err != nil {
			return err
		}
		// SQL Server's plain script ends without GO: the key ring's
		// CREATE TABLE gets a batch of its own, as in its own script.
		if sep := dialects.ScriptSeparator(t.Dialect); !strings.HasSuffix(sql, sep) {
			sql = strings.TrimRight(sql, "\n") + "\n" + sep
		}
		sql += keys
	}
	a.script(sql)
	return nil
}

// createWithKeys creates the cache table and then the key ring, and
// reports both; when either fails, the error says what was made and what
// was not.
func (a *app) createWithKeys(ctx context.Context, db *schema.DB, cache, keys *schema.Table, co schema.CreateOptions) error {
	cres, err := schema.Create(ctx, db, cache, co)
	if err != nil {
		return fmt.Errorf("%w; the key ring %s (--%s) was not made either: run create again once the cache table can be made", err, keys, flagWithKeys)
	}
	if a.output == outputText {
		a.createLines(cache, cres) // said now: the key ring may fail
	}
	kres, err := schema.Create(ctx, db, keys, co)
	if err != nil {
		err = fmt.Errorf("the cache table %s is made (%s), but the key ring %s was not: %w", cache, cres.Status, keys, err)
		if a.output == outputJSON {
			a.printedResult = true
			a.printJSON(map[string]any{"status": "error", "error": a.redact.errorText(err), "cache": cres, "keys": nil})
		}
		return err
	}
	a.printResult(map[string]any{"status": "ok", "cache": cres, "keys": kres}, func() { a.createLines(keys, kres) })
	return nil
}

func (a *app) printCreate(t *schema.Table, res *schema.CreateResult) {
	a.printResult(res, func() { a.createLines(t, res) })
}

// createLines prints the result line of one create, and its warnings.
func (a *app) createLines(t *schema.Table, res *schema.CreateResult) {
	switch res.Status {
	case schema.CreateUpToDate:
		a.resultf("%s is already up to date (version %d); nothing to do", t, res.Version)
	default:
		a.resultf("%s", strings.Join(res.Actions, "; "))
	}
	for _, w := range res.Warnings {
		a.warnf("%s", w.Message)
	}
}
