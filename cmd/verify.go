package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

type verifyOptions struct {
	strict bool
}

func newVerifyCmd(a *app) *cobra.Command {
	opts := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify [CONN] SCHEMA TABLE",
		Short: "Check that the table is what the app's provider needs, and a key ring its keys (read-only)",
		Long: `Check, reading only, that the table exists and is a table; every column's type,
length, nullability and, where it matters, collation; the primary key on Id;
the expiry index; and the recorded version. Each finding says what to do.
It runs as the app's own low-privilege user. Warnings (no expiry index, no
version recorded) fail only with --strict. --layout names the table's layout
(the cache table by default); a table that looks like another layout's is
said to. The Universal Providers' table (--layout universal) has no index on
Expires: verify warns and gives the CREATE INDEX.

On PostgreSQL it tells the two providers' tables apart: quoted PascalCase
columns and double precision seconds are Community.Microsoft.Extensions.
Caching.PostgreSql's (--layout cache, the default), lower-case columns and
bigint seconds Microsoft.Extensions.Caching.Postgres's (--layout microsoft);
a table of the other says which --layout to use. An UNLOGGED table is a
warning: a crash empties it, and a replica has none of its rows.

With --layout keys, TABLE is an ASP.NET Core Data Protection key ring
(PersistKeysToDbContext's DataProtectionKeys): after its shape, verify reads
its rows (SELECT only) and says, by this machine's clock, which key protects
new cookies and when it expires, whether its successor is due or there, and
which keys are revoked, expired, unreadable or stored unencrypted (a warning,
with the ProtectKeysWith... call to add). No secret is ever printed. It exits
3 when ASP.NET Core has no usable default key in it, an empty ring included.

` + exitCodesHelp,
		Example: `  sessctl verify app.db main SessionData
  sessctl verify --strict "Host=db;Database=app;Username=app;Password=secret" public SessionData
  sessctl verify -o json public SessionData    # CONN from $SESSCTL_CONNECTION
  sessctl verify --layout microsoft "postgres://app@db/app" public sessiondata
  sessctl verify --layout keys "Server=db;Database=app;User Id=app;Password=secret" dbo DataProtectionKeys
  sessctl verify --layout universal "$CONN" dbo Sessions`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, true)
			if err != nil {
				return err
			}
			return runVerify(c.Context(), a, tg, opts)
		},
	}
	c.Flags().BoolVar(&opts.strict, flagStrict, false, "fail on warnings too")
	return c
}

func runVerify(ctx context.Context, a *app, tg *target, opts *verifyOptions) error {
	keys := tg.table.Layout == layouts.Keys
	// The key ring's rows are read too: SQLite opens the file read-only.
	return a.withDB(ctx, tg.readOnlyIf(keys), false, func(ctx context.Context, db *schema.DB) error {
		if keys {
			r, err := verifyKeys(ctx, db, tg, opts.strict)
			if err != nil {
				return err
			}
			a.printVerifyKeys(tg, r)
			return r.Err()
		}
		r, err := schema.Verify(ctx, db, tg.table, opts.strict)
		if err != nil {
			return err
		}
		a.printVerify(tg, r)
		return r.Err()
	})
}

func (a *app) printVerify(tg *target, r *schema.Report) {
	a.printResult(r, func() {
		if !a.quiet {
			a.printVerifyLines(tg, r)
		}
	})
}

// printVerifyLines prints the report's status line and its findings.
func (a *app) printVerifyLines(tg *target, r *schema.Report) {
	{
		version := "no version recorded"
		if r.Version != nil {
			version = "version " + itoa(*r.Version)
		}
		if r.Engine != "" {
			version += ", checked on " + r.Engine
		}
		fmt.Fprintf(a.stdout, "%s: %s (%s)\n", tg.table, r.Status, version)
		for _, f := range r.Findings {
			fmt.Fprintf(a.stdout, "  %s: %s\n", f.Severity, f.Message)
			if f.Fix != "" {
				fmt.Fprintf(a.stdout, "    fix: %s\n", f.Fix)
			}
		}
	}
}
