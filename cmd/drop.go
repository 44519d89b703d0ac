package cmd

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/schema"
)

type dropOptions struct {
	script   bool
	yes      bool
	force    bool
	ifExists bool
}

func newDropCmd(a *app) *cobra.Command {
	opts := &dropOptions{}
	c := &cobra.Command{
		Use:   "drop [CONN] SCHEMA TABLE --yes",
		Short: "Drop the cache table (or key ring) and its version table (needs --yes)",
		Long: `Drop the cache table and its version table, in one transaction where the
database allows it. It needs --yes. It refuses a view, and a table whose
columns are not a cache table's, unless --force. A version table left
without its table (the table dropped by hand) is dropped too. --layout
aspstate is refused (exit 2): the session state procedures need the table, and
aspnet_regsql -ssremove removes them together.

With --layout keys it drops the Data Protection key ring, whose columns
must be a key ring's; a key ring that holds keys is never dropped without
--force (exit 2): without its keys, every cookie and session the app
protected with them is unreadable. Back its rows up first. The check and
the drop are one step (one transaction; MySQL: under LOCK TABLES), so a
key an app commits meanwhile is not lost; the --script checks too, and
stops on a ring that holds keys (run it with psql -v ON_ERROR_STOP=1,
sqlite3 -bail, or the mysql client, which stops at the first error).

` + exitCodesHelp,
		Example: `  sessctl drop --yes app.db main SessionData
  sessctl drop --yes --if-exists "postgres://postgres@127.0.0.1/test" public SessionData
  sessctl drop --dialect postgres --script public SessionData
  sessctl drop --layout keys --yes "postgres://postgres@127.0.0.1/test" public DataProtectionKeys
  sessctl drop --yes --layout microsoft "postgres://app@db/app" public sessiondata`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, !opts.script)
			if err != nil {
				return err
			}
			return runDrop(c.Context(), a, tg, opts)
		},
	}
	fs := c.Flags()
	addFlagScript(fs, &opts.script)
	fs.BoolVar(&opts.yes, flagYes, false, "really drop the table")
	fs.BoolVar(&opts.force, flagForce, false, "drop the table even if it is not of its layout (a cache table), or is a key ring that holds keys")
	fs.BoolVar(&opts.ifExists, flagIfExists, false, "succeed when the table does not exist")
	return c
}

func runDrop(ctx context.Context, a *app, tg *target, opts *dropOptions) error {
	if opts.script {
		sql, err := schema.DropScript(tg.table)
		if err != nil {
			return err
		}
		a.script(sql)
		return nil
	}
	if !opts.yes {
		if tg.table.Layout.Kept != "" {
			return usagef("drop deletes %s, a %s, and every key in it: pass --%s to confirm", tg.table, tg.table.Layout.Noun, flagYes)
		}
		return usagef("drop deletes %s and every session in it: pass --%s to confirm", tg.table, flagYes)
	}
	if _, err := os.Stat(tg.conn.Path); opts.ifExists && tg.conn.Path != "" && errors.Is(err, os.ErrNotExist) {
		// No SQLite file, so no table: opening it would make the file.
		a.printDrop(tg, &schema.DropResult{Status: schema.DropMissing, Schema: tg.table.Schema, Table: tg.table.Names.Table})
		return nil
	}
	return a.withDB(ctx, tg, false, func(ctx context.Context, db *schema.DB) error {
		res, err := schema.Drop(ctx, db, tg.table, schema.DropOptions{Force: opts.force, IfExists: opts.ifExists})
		if err != nil {
			return err
		}
		a.printDrop(tg, res)
		return nil
	})
}

func (a *app) printDrop(tg *target, res *schema.DropResult) {
	a.printResult(res, func() {
		switch res.Status {
		case schema.DropMissing:
			a.resultf("%s does not exist; nothing to drop", tg.table)
			return
		case schema.DropVersionTable:
			a.resultf("%s does not exist; dropped its version table %s, which was left without it", tg.table, tg.table.Dialect.Quote(tg.table.VersionTable))
			return
		}
		a.resultf("dropped %s and its version table %s", tg.table, tg.table.Dialect.Quote(tg.table.VersionTable))
	})
}
