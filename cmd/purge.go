package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessctl/sessctl/schema"
)

type purgeOptions struct {
	script      bool
	batchSize   int
	grace       time.Duration
	dryRun      bool
	maxRows     int64
	maxDuration time.Duration
	pause       time.Duration
}

func newPurgeCmd(a *app) *cobra.Command {
	opts := &purgeOptions{}
	c := &cobra.Command{
		Use:   "purge [CONN] SCHEMA TABLE",
		Short: "Delete expired rows in short batches, without blocking the app",
		Long: `Delete the rows that expired (by the database's clock) in short batches, each
its own transaction, on the expiry index, until none is left or a bound is
reached. A row the app slides forward while a batch runs is kept. A second
purge of the same table skips and exits 0, so overlapping cron runs are
harmless. On Ctrl-C or SIGTERM it finishes the batch in flight, reports,
and exits 130.

` + exitCodesHelp,
		Example: `  sessctl purge app.db main SessionData
  sessctl purge --grace 5m --max-duration 2m public SessionData    # CONN from $SESSCTL_CONNECTION
  sessctl purge --dry-run -o json "postgres://app@db/app" public SessionData
  sessctl purge --dialect postgres --script public SessionData`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, !opts.script)
			if err != nil {
				return err
			}
			return runPurge(c.Context(), a, tg, opts)
		},
	}
	fs := c.Flags()
	addFlagScript(fs, &opts.script)
	fs.IntVar(&opts.batchSize, flagBatchSize, schema.DefaultBatchSize, "rows each batch deletes at most")
	addFlagDuration(fs, &opts.grace, flagGrace, 0, "keep rows that expired less than this long ago")
	fs.BoolVar(&opts.dryRun, flagDryRun, false, "count the expired rows and show the plan; delete nothing")
	fs.Int64Var(&opts.maxRows, flagMaxRows, 0, "stop after deleting this many rows (0: no limit)")
	addFlagDuration(fs, &opts.maxDuration, flagMaxDuration, 0, "stop starting batches after this long (0: no limit)")
	addFlagDuration(fs, &opts.pause, flagPause, 0, "sleep this long between batches")
	return c
}

func (o *purgeOptions) check() error {
	switch {
	case o.batchSize <= 0:
		return usagef("--%s must be at least 1", flagBatchSize)
	case o.grace < 0, o.maxDuration < 0, o.pause < 0:
		return usagef("--%s, --%s and --%s take a positive duration, such as 30s or 5m", flagGrace, flagMaxDuration, flagPause)
	case o.maxRows < 0:
		return usagef("--%s must be 0 (no limit) or more", flagMaxRows)
	}
	return nil
}

func runPurge(ctx context.Context, a *app, tg *target, opts *purgeOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
	if opts.script {
		a.script(schema.PurgeScript(tg.table, opts.grace, opts.batchSize))
		return nil
	}
	// --timeout stops purge between batches, like a signal.
	ctx, cancel := a.context(ctx)
	defer cancel()
	db, err := a.connect(ctx, tg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := schema.Purge(ctx, db, tg.table, schema.PurgeOptions{
		BatchSize:   opts.batchSize,
		Grace:       opts.grace,
		MaxRows:     opts.maxRows,
		MaxDuration: opts.maxDuration,
		Pause:       opts.pause,
		DryRun:      opts.dryRun,
		Progress:    a.progress(),
	})
	// A run that failed after some batches still says what it deleted.
	if res != nil && (err == nil || res.Batches > 0 || errors.Is(err, schema.ErrInterrupted)) {
		a.endProgress()
		a.printResult(res, func() { a.purgeText(tg, res) })
	}
	if cause := context.Cause(ctx); errors.Is(err, schema.ErrInterrupted) && errors.Is(cause, errTimeout) {
		return fmt.Errorf("purge of %s stopped: %w", tg.table, cause)
	}
	return err
}

func (a *app) purgeText(tg *target, res *schema.PurgeResult) {
	switch res.Status {
	case schema.PurgeSkipped:
		a.resultf("skipped: another purge of %s holds its lock", tg.table)
		return
	case schema.PurgeDryRun:
		oldest := ""
		if res.Oldest != nil {
			oldest = fmt.Sprintf("; the oldest expired at %s", res.Oldest.UTC().Format(time.RFC3339Nano))
		}
		a.resultf("%s of %s expired and would be deleted%s", plural(*res.Remaining, "row"), tg.table, oldest)
		a.resultf("plan for one batch:\n%s", indent(res.Plan))
		return
	}
	a.resultf("deleted %s from %s in %s, %s (%.0f rows/s, longest batch %dms)",
		plural(res.Deleted, "expired row"), tg.table, plural(int64(res.Batches), "batch"),
		res.Elapsed().Round(time.Millisecond), res.RowsPerSecond, res.MaxBatchMS)
	if res.Status != schema.PurgeDone && res.Remaining != nil {
		a.resultf("stopped (%s) with %s left", res.Status, plural(*res.Remaining, "expired row"))
	}
}
