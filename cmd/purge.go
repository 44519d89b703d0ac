package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

type purgeOptions struct {
	script      bool
	batchSize   int
	batchTime   time.Duration
	grace       time.Duration
	dryRun      bool
	maxRows     int64
	maxDuration time.Duration
	pause       time.Duration
	orderFlag   string       // --order as given
	order       schema.Order // as check reads orderFlag
	// fixedSize, timed, paused and paceSet are set when --batch-size,
	// --batch-time, --pause and --pace were given.
	fixedSize, timed, paused, paceSet bool
	paceFlag                          string        // --pace as given
	pace                              schema.Pacing // as check reads paceFlag
	// --max-load and --critical-load as given, and as checkLoad reads
	// them on the table's engine.
	maxLoadFlag, criticalLoadFlag string
	maxLoad, criticalLoad         int64
	replica                       replicaOptions
}

// purgeLong is purge's help, before its exit codes.
const purgeLong = `Delete the rows that expired (by the database's clock) in short batches, each
its own transaction, on the expiry index, until none is left or a bound is
reached. Each batch is sized from the last one's time to take about
--batch-time (100ms), under a ceiling per database; --batch-size fixes the
size instead. When a fifth of the table or more has expired (a backlog),
purge walks the table in storage order instead, reading each page once
rather than once for every expired row on it (--order). A row the app slides
forward while a batch runs is kept. A second purge of the same table skips
and exits 0, so overlapping cron runs are harmless. On a terminal it shows
its progress. Rows an app session holds are passed over, not waited for, and
counted in the report. On Ctrl-C or SIGTERM it finishes the batch in flight,
reports, and exits 130; a statement still running a second or so after the
signal, --timeout or --max-duration (such as one waiting for a lock) is cut,
its batch rolled back, and a second signal cuts it at once. It first checks the table as verify does, and deletes nothing (exit 3)
from one that is missing or not a compatible cache table. A key ring
(--layout keys) is never purged (exit 2): ASP.NET Core keeps every key to
read what it protected.

Purge paces itself (--pace auto, the default): between batches it reads
how the database is doing for its other users and sets the next batch's
length and the pause before it, back to back when nobody else is there,
shorter batches and longer pauses while the app is busy, so that the app's
latency stays near what it was before. On a server the signal is the app's
busy sessions during batches against without (the --max-load signal,
sampled on a connection of purge's own); on SQLite, other connections'
commits (PRAGMA data_version). The time paused is in the report's
"yielded" ("pace"). --pace off, --batch-size, --batch-time or --pause give a
fixed pace instead.

--max-load N waits between batches (and before the first) while the
database's load is above N, reading it every 200ms; --critical-load N stops
the purge once the load is at or above N, after the batch in flight, with
its report (status "stopped", the load in "reason") and exit 4. The load is
one number per engine, read on purge's own session between batches, itself
left out: PostgreSQL active_sessions (the database's client sessions
running a statement; a role without pg_read_all_stats sees only its own
roles'), MySQL/MariaDB Threads_running (the whole server's), SQL Server
active_requests (user requests in sys.dm_exec_requests; needs VIEW SERVER
STATE). gh-ost's form, --max-load Threads_running=25, is taken too. SQLite,
with no sessions to count, refuses them (exit 2). The time spent waiting is
in the report's "yielded" and the progress line. Without them purge does
not read the load at all.

With --replica CONN (repeatable: a read replica of the same engine, written
as CONN is), purge waits between batches while a replica lags over --max-lag
(1s), or while its replication is stopped (up to --max-duration), so that a
purge never makes a read replica fall behind; the report says how long it
waited and why. Each read is bounded (5s, after connecting within the
string's connect timeout); once the purge has begun, one that fails or
times out is lag unknown: purge waits, reading it again every second.
--dry-run reads each replica once and says how far it lags. It reads the
replica: a PostgreSQL standby's replay, MySQL's and MariaDB's SHOW REPLICA
STATUS (grant REPLICATION CLIENT, MariaDB: SLAVE MONITOR), an availability
group's secondary on SQL Server (sys.dm_hadr_database_replica_states: VIEW
SERVER STATE).

Classic ASP.NET session state on SQL Server (--layout aspstate, aspnet-async,
universal) is purged as DeleteExpiredSessions does, where no SQL Server Agent
runs it (Express, Azure SQL Database): sessions whose Expires (a UTC datetime)
is before GETUTCDATE(), less --grace, the provider's Locked ones too.

`

func newPurgeCmd(a *app) *cobra.Command {
	opts := &purgeOptions{}
	c := &cobra.Command{
		Use:   "purge [CONN] SCHEMA TABLE",
		Short: "Delete expired rows in short batches, without blocking the app",
		Long:  purgeLong + exitCodesHelp,
		Example: `  sessctl purge app.db main SessionData
  sessctl purge --grace 5m --max-duration 2m public SessionData    # CONN from $SESSCTL_CONNECTION
  sessctl purge --dry-run -o json "postgres://app@db/app" public SessionData
  sessctl purge --batch-time 50ms --pause 50ms --max-rows 1000000 public SessionData
  sessctl purge --dialect postgres --script public SessionData
  sessctl purge --max-load 20 --critical-load 60 "postgres://app@db/app" public SessionData    # gh-ost's throttle
  sessctl purge --pace off "$CONN" dbo SessionData    # a fixed pace: --batch-time, --pause
  sessctl purge --max-load Threads_running=25 "mysql://app@db/app" app SessionData
  sessctl purge --replica "postgres://app@db-replica/app" --max-lag 2s "postgres://app@db/app" public SessionData
  sessctl purge --layout microsoft "postgres://app@db/app" public sessiondata
  sessctl purge --layout aspstate "$CONN" dbo ASPStateTempSessions    # every minute, for the Agent job
  sessctl purge --layout aspnet-async "$CONN" dbo ASPNetSessionState`,
		Args: tableArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tg, err := a.resolve(args, !opts.script)
			if err != nil {
				return err
			}
			if l := tg.table.Layout; !l.Purges() {
				return usagef("purge does not apply to --%s %s, %s: its rows never expire, and it deletes none of them "+
					"(nor prints a script to): %s", flagLayout, l.Name, l.Description, l.Kept)
			}
			if !c.Flags().Changed(flagPause) {
				opts.pause = schema.DefaultPause(tg.table.Dialect)
			}
			opts.fixedSize = c.Flags().Changed(flagBatchSize)
			opts.timed = c.Flags().Changed(flagBatchTime)
			opts.paused = c.Flags().Changed(flagPause)
			opts.paceSet = c.Flags().Changed(flagPace)
			if err := opts.checkLoad(tg.table.Dialect); err != nil {
				return err
			}
			opts.replica.lagSet = c.Flags().Changed(flagMaxLag)
			return runPurge(c.Context(), a, tg, opts)
		},
	}
	addPurgeFlags(c.Flags(), opts)
	return c
}

// addPurgeFlags adds purge's own flags to fs, bound to opts.
func addPurgeFlags(fs *pflag.FlagSet, opts *purgeOptions) {
	addFlagScript(fs, &opts.script)
	fs.IntVar(&opts.batchSize, flagBatchSize, 0, "fix the rows each batch deletes at most, instead of sizing batches by --batch-time; "+
		"batches then keep to expiry order unless --order storage (default: sized; a script uses "+strconv.Itoa(schema.DefaultBatchSize)+")")
	addFlagDuration(fs, &opts.batchTime, flagBatchTime, schema.DefaultBatchTime, "size each batch to take about this long")
	addFlagDuration(fs, &opts.grace, flagGrace, 0, "keep rows that expired less than this long ago")
	fs.BoolVar(&opts.dryRun, flagDryRun, false, "count the expired rows and show the plan; delete nothing")
	fs.Int64Var(&opts.maxRows, flagMaxRows, 0, "stop after deleting this many rows (0: no limit)")
	addFlagDuration(fs, &opts.maxDuration, flagMaxDuration, 0, "stop starting batches after this long (0: no limit)")
	addFlagDuration(fs, &opts.pause, flagPause, 0, "sleep this long between batches (a fixed pace, as --pace off; with --pace off, "+
		"the default is 0, and on SQLite 100ms, so that the app's writers get in)")
	fs.StringVar(&opts.paceFlag, flagPace, schema.PaceAuto.String(), "auto: set the pause between batches, and their length, from how the database is doing "+
		"for its other users (back to back when nobody else uses it); off: --batch-time and --pause as they are. "+
		"--batch-size, --batch-time or --pause given: off")
	fs.StringVar(&opts.orderFlag, flagOrder, schema.OrderAuto.String(), "expiry: oldest first, on the expiry index; storage: walk the table in storage order; "+
		"auto: walk when a fifth of the table has expired")
	fs.StringVar(&opts.maxLoadFlag, flagMaxLoad, "", "between batches, wait while the database's load signal is above N (N, or SIGNAL=N: "+loadSignals+")")
	fs.StringVar(&opts.criticalLoadFlag, flagCriticalLoad, "", "stop, after the batch in flight, once the load signal is at or above N, "+
		"and exit 4 (as --max-load; not SQLite)")
	addReplicaFlags(fs, &opts.replica)
}

// check checks the options, and reads --order into order.
func (o *purgeOptions) check() error {
	order, orderErr := schema.ParseOrder(o.orderFlag)
	pace, paceErr := schema.ParsePacing(o.paceFlag)
	fixedPace := o.fixedSize || o.timed || o.paused
	switch {
	case paceErr != nil:
		return usagef("--%s %v", flagPace, paceErr)
	case o.paceSet && pace == schema.PaceAuto && fixedPace:
		return usagef("--%s auto cannot be used with --%s, --%s or --%s: they fix the pace pacing would set", flagPace, flagBatchSize, flagBatchTime, flagPause)
	case o.dryRun && o.script:
		return usagef("--%s and --%s cannot be used together: a script is printed, not run; --%s counts on the database", flagDryRun, flagScript, flagDryRun)
	case o.fixedSize && o.timed:
		return usagef("--%s and --%s cannot be used together: one fixes the batch size, the other sizes batches by time", flagBatchSize, flagBatchTime)
	case o.fixedSize && o.batchSize <= 0:
		return usagef("--%s must be at least 1", flagBatchSize)
	case o.batchTime <= 0:
		return usagef("--%s takes a positive duration, such as 100ms", flagBatchTime)
	case o.grace < 0, o.maxDuration < 0, o.pause < 0:
		return usagef("--%s, --%s and --%s take a positive duration, such as 30s or 5m", flagGrace, flagMaxDuration, flagPause)
	case orderErr != nil:
		return usagef("--%s %v", flagOrder, orderErr)
	case o.maxRows < 0:
		return usagef("--%s must be 0 (no limit) or more", flagMaxRows)
	}
	o.order, o.pace = order, pace
	if fixedPace {
		o.pace = schema.PaceOff
	}
	return o.replica.check(o.script)
}

func runPurge(ctx context.Context, a *app, tg *target, opts *purgeOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
	if opts.script {
		a.script(schema.PurgeScript(tg.table, opts.grace, cmp.Or(opts.batchSize, schema.DefaultBatchSize)))
		return nil
	}
	// A dry run reads each replica once, and waits for none.
	yield, replicas, closeReplicas, err := a.replicas(ctx, tg, &opts.replica)
	defer closeReplicas()
	if err != nil {
		return err
	}
	if opts.dryRun {
		yield = nil
	} else {
		replicas = nil // read before the first batch: only a dry run reports it
	}
	progress := a.progress()
	run := schema.NewPurge(tg.table, schema.PurgeOptions{
		BatchSize:    opts.batchSize,
		BatchTime:    opts.batchTime,
		Grace:        opts.grace,
		MaxRows:      opts.maxRows,
		MaxDuration:  opts.maxDuration,
		Pause:        opts.pause,
		Pace:         opts.pace,
		Order:        opts.order,
		MaxLoad:      opts.maxLoad,
		CriticalLoad: opts.criticalLoad,
		DryRun:       opts.dryRun,
		Estimate:     progress != nil,
		Progress:     progress,
		Abort:        a.abort,
		Yield:        yield,
	})
	for _, w := range run.Warnings {
		a.warnf("%s", w)
	}
	if !opts.dryRun {
		a.noticeStop("finishing the batch in flight (cut if still running a second or so from now, as when it waits for a lock), then reporting; " +
			"interrupt again to abort it at once")
	}
	// --timeout stops purge as a signal does: after the batch in flight,
	// or, when a statement waits for a lock, by cutting it after a grace.
	return a.withDB(ctx, tg.readOnlyIf(opts.dryRun), false, func(ctx context.Context, db *schema.DB) error { // a dry run cannot write
		res, err := run.Run(ctx, db)
		if res != nil { // what the run changed as it ran: pacing given up
			for _, w := range res.Warnings[min(len(run.Warnings), len(res.Warnings)):] {
				a.warnf("%s", w)
			}
		}
		// A run that failed after some batches still says what it deleted.
		if res != nil && (err == nil || res.Batches > 0 || errors.Is(err, schema.ErrInterrupted) || errors.Is(err, schema.ErrCriticalLoad)) {
			if res.Status == schema.PurgeFailed {
				// Masked before it is encoded: JSON escapes some characters.
				res.Error = a.redact.errorText(err)
			}
			res.Plan = a.redact.redact(res.Plan) // the database's words
			res.Kept.ForeignKey = a.redact.redact(res.Kept.ForeignKey)
			a.endProgress()
			a.printResult(purgeReport{res, replicas}, func() { a.purgeText(tg, res, opts); a.replicasText(replicas, opts.replica.maxLag) })
		}
		if cause := context.Cause(ctx); errors.Is(err, schema.ErrInterrupted) && errors.Is(cause, errTimeout) {
			return fmt.Errorf("purge of %s stopped: %w", tg.table, cause)
		}
		return err
	})
}

func (a *app) purgeText(tg *target, res *schema.PurgeResult, opts *purgeOptions) {
	switch res.Status {
	case schema.PurgeSkipped:
		a.resultf("skipped: another purge of %s holds its lock", tg.table)
		return
	case schema.PurgeDryRun:
		a.dryRunText(tg, res, opts)
		return
	}
	a.resultf("deleted %s from %s in %s, %s (%.0f rows/s, longest batch %dms)",
		plural(res.Deleted, "expired row"), tg.table, plural(int64(res.Batches), "batch"),
		res.Elapsed().Round(time.Millisecond), res.RowsPerSecond, res.MaxBatchMS)
	if y := res.Yielded; y != nil {
		a.resultf("gave way to the database's other users for %s (%s); last: %s", (time.Duration(y.MS) * time.Millisecond).Round(time.Millisecond),
			yieldedBy(y), y.Last)
	}
	if res.Walked {
		a.resultf("walked the table in storage order: what expires meanwhile is the next run's")
	}
	switch {
	case res.Status == schema.PurgeStopped:
		a.resultf("stopped: %s", res.Reason)
		if res.Remaining != nil {
			a.resultf("%s left for a run once the load is down", plural(*res.Remaining, "expired row"))
		}
	case res.Remaining == nil:
	case res.Status != schema.PurgeDone:
		a.resultf("stopped (%s) with %s left", res.Status, plural(*res.Remaining, "expired row"))
	case *res.Remaining > res.Kept.ByTrigger+res.Kept.ByForeignKey:
		a.resultf("%s left for the next run: held by an app session, or expired while the purge ran",
			plural(*res.Remaining-res.Kept.ByTrigger-res.Kept.ByForeignKey, "expired row"))
	}
	if k := res.Kept; k.ByForeignKey > 0 {
		fk := "a foreign key"
		if k.ForeignKey != "" {
			fk = "the foreign key " + k.ForeignKey
		}
		a.resultf("kept %s that %s references: the database refuses to delete them, so purge passed over them and deleted the rest; "+
			"they stay until the rows referencing them go (or the key says ON DELETE CASCADE or SET NULL)", plural(k.ByForeignKey, "expired row"), fk)
	}
	if res.Kept.ByTrigger > 0 {
		a.resultf("a trigger, rule or row-level security policy on %s kept %s: the database did not delete them when asked; "+
			"every run leaves them until it lets them go", tg.table, plural(res.Kept.ByTrigger, "expired row"))
	}
	switch {
	case res.Cut && res.CutWhile != "":
		a.resultf("stopped (%s): a statement %s that another session holds was cut, its batch rolled back", res.Status, res.CutWhile)
	case res.Cut:
		a.resultf("stopped (%s): a statement still running after the grace a batch has once told to stop (a second, or twice --batch-time) "+
			"was cut, its batch rolled back", res.Status)
	}
	if res.Held != nil && *res.Held > 0 {
		a.resultf("left %s that another session holds (an app's open transaction): not waited for; the next run takes them once they are free",
			plural(*res.Held, "expired row"))
	}
}

// dryRunText is a dry run's report: what would be deleted, the plan, and
// in which order.
func (a *app) dryRunText(tg *target, res *schema.PurgeResult, opts *purgeOptions) {
	oldest := ""
	if res.Oldest != nil {
		oldest = fmt.Sprintf("; the oldest expired at %s", res.Oldest)
	}
	a.resultf("%s of %s expired and would be deleted%s", plural(*res.Remaining, "row"), tg.table, oldest)
	switch {
	case *res.PlanUsesIndex:
		a.resultf("each batch reads the expiry index %s; plan for one batch:\n%s", tg.table.Dialect.Quote(res.ExpiryIndex), indent(res.Plan))
	case res.ExpiryIndex != "":
		a.resultf("each batch would NOT read the expiry index %s; plan for one batch:\n%s", tg.table.Dialect.Quote(res.ExpiryIndex), indent(res.Plan))
		a.warnf("the database prefers reading the table to the expiry index: normal on a small table; on a large one, refresh its statistics (PostgreSQL: ANALYZE)")
	default:
		a.resultf("each batch would NOT read an index: the table has none on \"%s\"; plan for one batch:\n%s", tg.table.Layout.Expiry, indent(res.Plan))
		a.warnf("without an expiry index every batch reads the whole table; `sessctl verify%s` gives the statement that adds it", layoutArg(tg.table))
	}
	switch {
	case res.WouldWalk && opts.order == schema.OrderStorage:
		a.resultf("purge would walk the table in storage order (--order storage)")
	case res.WouldWalk:
		a.resultf("so much has expired that purge would walk the table in storage order instead (--order)")
	case opts.fixedSize && opts.order == schema.OrderAuto:
		a.resultf("purge would delete in expiry order, oldest first: with --%s it walks the table only with --order storage", flagBatchSize)
	default:
		a.resultf("purge would delete in expiry order, oldest first (--order)")
	}
}

// layoutArg is " --layout NAME" for a table of a layout other than the
// cache table's, for commands a message tells the user to run.
func layoutArg(t *schema.Table) string {
	if t.Layout == layouts.Cache {
		return ""
	}
	return " --" + flagLayout + " " + t.Layout.Name
}
