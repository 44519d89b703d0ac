package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/schema"
)

type createOptions struct {
	script       bool
	idempotent   bool
	createSchema bool
}

func newCreateCmd(a *app) *cobra.Command {
	opts := &createOptions{}
	c := &cobra.Command{
		Use:   "create [CONN] SCHEMA TABLE",
		Short: "Create the cache table, or bring it up to date (safe to run again and in parallel)",
		Long: `Create the cache table exactly as the .NET cache provider of the dialect lays it
out, with its expiry index, through embedded golang-migrate migrations recorded
in a version table beside it (TABLE_migrations). Running it again does nothing
and says so; many CI jobs may run it at once; a run killed half-way is finished
by the next. A table the provider or another tool made is adopted: its version
is recorded and what it lacks (a usable expiry index) is added. What the
recorded version promises but is gone (the table or its index, dropped by
hand) is made again. With --script --idempotent the script records the
version too.

--layout aspnet-async makes the async session state provider's table
(ASPNetSessionState). --layout aspstate and universal are refused (exit 2):
aspnet_regsql -ssadd, and the Universal Providers themselves, make those.

` + exitCodesHelp,
		Example: `  sessctl create app.db main SessionData
  sessctl create "Host=127.0.0.1;Database=test;Username=postgres" public SessionData
  sessctl create --create-schema "postgres://app@db/app" cache SessionData
  sessctl create --dialect postgres --script public SessionData
  sessctl create --dialect postgres --script --idempotent public SessionData
  sessctl create --layout aspnet-async "$CONN" dbo ASPNetSessionState`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, !opts.script)
			if err != nil {
				return err
			}
			return runCreate(c.Context(), a, tg, opts)
		},
	}
	fs := c.Flags()
	addFlagScript(fs, &opts.script)
	fs.BoolVar(&opts.idempotent, flagIdempotent, false, "with --script: guard every statement so the script runs on a database that has the table")
	fs.BoolVar(&opts.createSchema, flagCreateSchema, false, "create the schema (MySQL: database) when it does not exist")
	return c
}

func runCreate(ctx context.Context, a *app, tg *target, opts *createOptions) error {
	if opts.idempotent && !opts.script {
		return usagef("--%s goes with --%s", flagIdempotent, flagScript)
	}
	if opts.script {
		sql, err := schema.CreateScript(tg.table, opts.idempotent)
		if err != nil {
			return err
		}
		a.script(sql)
		return nil
	}
	return a.withDB(ctx, tg, true, func(ctx context.Context, db *schema.DB) error {
		res, err := schema.Create(ctx, db, tg.table, schema.CreateOptions{CreateSchema: opts.createSchema, LockTimeout: a.timeout})
		if err != nil {
			return err
		}
		a.printCreate(tg, res)
		return nil
	})
}

func (a *app) printCreate(tg *target, res *schema.CreateResult) {
	a.printResult(res, func() {
		switch res.Status {
		case schema.CreateUpToDate:
			a.resultf("%s is already up to date (version %d); nothing to do", tg.table, res.Version)
		default:
			a.resultf("%s", strings.Join(res.Actions, "; "))
		}
		for _, w := range res.Warnings {
			a.warnf("%s", w.Message)
		}
	})
}
