//go:build linux

package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

const (
	replicaMaxLag = time.Second            // purge's --max-lag in the replica phase
	lagEvery      = 100 * time.Millisecond // how often the replica's lag is sampled
	catchUpWithin = 20 * time.Minute       // how long a replica may take to catch up
)

// replicaResult is the replica phase's figures: a purge with --replica
// and --max-lag 1s, and one without, on identical copies on a private
// primary, while the replica's lag is sampled.
type replicaResult struct {
	dialect          string
	expired, live    int64
	waited, unwaited replicaRun
}

type replicaRun struct {
	purge purgeRun
	lag   lagTrace
}

// lagTrace is what sampling a replica's lag found. max and over (the
// time over replicaMaxLag) are by position: each sample is the time from
// when the primary's log position was read until the replica had
// applied it, good to lagEvery. nativeMax and nativeOver are the engine's
// own figure (PostgreSQL: pg_stat_replication.replay_lag; MariaDB:
// Seconds_Behind_Master, whole seconds).
type lagTrace struct {
	samples    int
	max, over  time.Duration
	nativeMax  time.Duration
	nativeOver time.Duration
	nativeNull int           // samples where the native figure was NULL
	unresolved int           // positions the replica had not applied when sampling stopped
	caughtUp   time.Duration // from the purge's end until the replica had applied all
	errors     int
	firstError error
	lowerBound bool // max is only a lower bound: unresolved positions
}

// position is a point of the primary's log: PostgreSQL's LSN in off
// (file ""), MariaDB's binary log file and offset.
type position struct {
	file string
	off  int64
}

// reached says whether p is at or past q.
func (p position) reached(q position) bool {
	return p.file > q.file || (p.file == q.file && p.off >= q.off)
}

// lagProbe reads a primary's log position, and what its replica has
// applied with the engine's own lag figure (valid false: NULL).
type lagProbe struct {
	primary func(ctx context.Context) (position, error)
	replica func(ctx context.Context) (applied position, native time.Duration, valid bool, err error)
}

// replicaPhase runs the replica lag phase in a subtest, so that private
// servers that cannot start skip it alone.
func (b *bench) replicaPhase(r *result) {
	name := b.s.Dialect.Name()
	if name != "postgres" && name != "mysql" {
		r.replicaSkipped = name + " has no replicas"
		return
	}
	var rr *replicaResult
	ok := b.t.Run("replica", func(t *testing.T) { rr = b.replicaRun(t) })
	switch {
	case rr != nil:
		r.replica = rr
	case !ok:
		r.replicaSkipped = "it failed (see the test log)"
	default:
		r.replicaSkipped = "its private servers could not start (see the test log)"
	}
}

// privateSettings set a private server up as the shared servers are
// where it counts here: buffers (PostgreSQL shared_buffers 128MB;
// MariaDB's buffer pool 128M and redo log 96M, where the private servers'
// default is 16 MB), and PostgreSQL's synchronous_commit on (the private
// servers' off leaves a commit's WAL to the WAL writer, up to 0.6 s, and
// the standby sees it that late); and keep WAL enough for a standby that
// falls behind in receiving it.
var privateSettings = map[string][]string{
	"postgres": {"-c", "shared_buffers=128MB", "-c", "synchronous_commit=on", "-c", "wal_keep_size=512MB"},
	"mysql":    {"--innodb-buffer-pool-size=128M", "--innodb-log-file-size=96M"},
}

// replicaRun starts a private primary and replica, fills two identical
// copies on the primary, waits until the replica has them, then purges
// one with --replica and --max-lag 1s and the other without, sampling the
// replica's lag during each and until it has caught up again.
func (b *bench) replicaRun(t *testing.T) *replicaResult {
	name := b.s.Dialect.Name()
	var primary, replica *dialecttest.Private
	switch name {
	case "postgres":
		primary = dialecttest.StartPostgres(t, dialecttest.PostgresOptions{})
		primary.Reconfigure(t, privateSettings[name]...)
		replica = dialecttest.StartPostgresStandby(t, primary, dialecttest.PostgresOptions{})
		replica.Reconfigure(t, privateSettings[name][:4]...)
	case "mysql":
		primary = dialecttest.StartMariaDBPrimary(t)
		primary.Reconfigure(t, privateSettings[name]...)
		replica = dialecttest.StartMariaDBReplica(t, primary)
		replica.Reconfigure(t, privateSettings[name]...)
	}
	pdb, rdb := primary.Admin(t), replica.Admin(t)
	pdb.SetMaxOpenConns(4)
	probe := newLagProbe(name, pdb, rdb)
	pb := &bench{t: t, s: primary.Server(), e: b.e, bin: b.bin, rows: b.rows, db: pdb, ph: b.ph, hasPace: b.hasPace}
	rr := &replicaResult{dialect: name}

	a, c := dialecttest.Table("BenchRA"), dialecttest.Table("BenchRB")
	for _, table := range []string{a, c} {
		pb.sessctl(nil, "create", primary.DSN(), pb.s.Schema, table)
	}
	qa, qc := pb.s.Qualified(a), pb.s.Qualified(c)
	pb.logf("replica: seeding %d rows on the private primary", b.rows)
	pb.seed(qa, b.rows, 200, 2000, 0.5)
	if _, err := pdb.Exec(`INSERT INTO ` + qc + ` SELECT * FROM ` + qa); err != nil {
		pb.fatalf("copying %s: %v", qa, err)
	}
	if err := b.e.settle(context.Background(), pdb, qa, qc); err != nil {
		pb.fatalf("settling: %v", err)
	}
	rr.expired, rr.live = pb.census(qa)
	if e, l := pb.census(qc); e != rr.expired || l != rr.live || e == 0 {
		pb.fatalf("the copies differ: %d/%d expired, %d/%d live", rr.expired, e, rr.live, l)
	}
	pb.logf("replica: waiting for the replica to catch up")
	took := waitCaughtUp(t, probe)
	pb.logf("replica: caught up in %s", took.Round(time.Millisecond))
	trimLog(t, name, pdb)

	args := strings.Fields(os.Getenv(argsEnv))
	pb.logf("replica: sessctl purge --replica --max-lag %s", replicaMaxLag)
	rr.waited = pb.lagPurge(probe, a, append([]string{"--replica", replica.DSN(), "--max-lag", replicaMaxLag.String()}, args...)...)
	pb.logf("replica: purge --replica: %+v in %s; %+v", rr.waited.purge.report, rr.waited.purge.wall, rr.waited.lag)
	pb.drop(a)
	waitCaughtUp(t, probe)
	trimLog(t, name, pdb)

	pb.logf("replica: sessctl purge without --replica")
	rr.unwaited = pb.lagPurge(probe, c, args...)
	pb.logf("replica: purge: %+v in %s; %+v", rr.unwaited.purge.report, rr.unwaited.purge.wall, rr.unwaited.lag)
	return rr
}

// lagPurge purges table on the primary with flags while the replica's
// lag is sampled, then samples on until the replica has caught up.
func (b *bench) lagPurge(probe lagProbe, table string, flags ...string) replicaRun {
	var run replicaRun
	b.quiesce()
	stop, done := make(chan struct{}), make(chan lagTrace)
	var end time.Time
	go func() { done <- sampleLag(probe, stop, &end) }()
	args := append(append([]string{"purge", "-o", "json"}, flags...), b.s.DSN, b.s.Schema, table)
	stdout, wall, rss := b.sessctl(nil, args...)
	end = time.Now()
	close(stop)
	run.purge.wall, run.purge.rss = wall, rss
	if err := json.Unmarshal(stdout, &run.purge.report); err != nil {
		b.fatalf("purge report: %v\n%s", err, stdout)
	}
	run.lag = <-done
	run.purge.left, run.purge.liveAfter = b.census(b.s.Qualified(table))
	return run
}

// sampleLag samples the replica's lag every lagEvery until stop is
// closed (*end set before: when the purge ended), and on until the
// replica has applied every position read, or catchUpWithin has passed.
func sampleLag(probe lagProbe, stop <-chan struct{}, end *time.Time) lagTrace {
	var tr lagTrace
	type pending struct {
		at       time.Time
		pos      position
		interval time.Duration // since the sample before
	}
	var queue []pending
	last := time.Now()
	stopped := false
	tick := time.NewTicker(lagEvery)
	defer tick.Stop()
	fail := func(err error) {
		tr.errors++
		if tr.firstError == nil {
			tr.firstError = err
		}
	}
	for {
		now := time.Now()
		interval := now.Sub(last)
		last = now
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p, err := probe.primary(ctx)
		if err == nil {
			queue = append(queue, pending{at: now, pos: p, interval: interval})
			tr.samples++
		} else {
			fail(err)
		}
		applied, native, valid, err := probe.replica(ctx)
		cancel()
		seen := time.Now()
		if err == nil {
			i := 0
			for ; i < len(queue) && applied.reached(queue[i].pos); i++ {
				lag := seen.Sub(queue[i].at)
				tr.max = max(tr.max, lag)
				if lag > replicaMaxLag {
					tr.over += queue[i].interval
				}
			}
			queue = queue[i:]
			if !valid {
				tr.nativeNull++
			} else {
				tr.nativeMax = max(tr.nativeMax, native)
				if native > replicaMaxLag {
					tr.nativeOver += interval
				}
			}
		} else {
			fail(err)
		}
		if stopped && len(queue) == 0 {
			tr.caughtUp = seen.Sub(*end)
			return tr
		}
		if stopped && time.Since(*end) > catchUpWithin {
			tr.unresolved, tr.lowerBound = len(queue), true
			tr.max = max(tr.max, seen.Sub(queue[0].at))
			tr.caughtUp = seen.Sub(*end)
			return tr
		}
		select {
		case <-stop:
			stopped = true
			<-tick.C
		case <-tick.C:
		}
	}
}

// waitCaughtUp waits until the replica has applied the primary's
// position as it is now, and returns how long that took.
func waitCaughtUp(t *testing.T, probe lagProbe) time.Duration {
	t.Helper()
	t0 := time.Now()
	ctx := context.Background()
	want, err := probe.primary(ctx)
	if err != nil {
		t.Fatalf("the primary's log position: %v", err)
	}
	for {
		applied, _, _, err := probe.replica(ctx)
		if err == nil && applied.reached(want) {
			return time.Since(t0)
		}
		if time.Since(t0) > catchUpWithin {
			t.Fatalf("the replica did not apply %+v within %s (it has %+v, %v)", want, catchUpWithin, applied, err)
		}
		time.Sleep(lagEvery)
	}
}

// trimLog drops the MariaDB primary's binary logs that the replica has
// read, once it has caught up, to keep the disk the run uses down.
// (PostgreSQL recycles its WAL at checkpoints.)
func trimLog(t *testing.T, dialect string, primary *sql.DB) {
	if dialect != "mysql" {
		return
	}
	// A log a replica still reads, or the one being written, is kept.
	for _, q := range []string{"FLUSH BINARY LOGS", "PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY"} {
		if _, err := primary.Exec(q); err != nil {
			t.Logf("trimming the binary log: %s: %v", q, err)
		}
	}
}

// newLagProbe reads PostgreSQL's WAL positions (the primary's flushed
// one, the standby's replay), and the primary's pg_stat_replication
// replay_lag; or MariaDB's binary log positions (SHOW MASTER STATUS on
// the primary, Relay_Master_Log_File and Exec_Master_Log_Pos of SHOW
// SLAVE STATUS on the replica) and Seconds_Behind_Master. (On a standby,
// now() - pg_last_xact_replay_timestamp() grows while the primary is
// idle, nothing to replay: it is no lag.)
func newLagProbe(dialect string, primary, replica *sql.DB) lagProbe {
	if dialect == "postgres" {
		return lagProbe{
			primary: func(ctx context.Context) (position, error) {
				var p position
				// The flushed position, not pg_current_wal_lsn()'s written
				// one: the walsender sends only what is flushed, and every
				// commit is flushed (synchronous_commit on), but a record
				// no commit follows (a page pruned by a read) waits for the
				// WAL writer, up to 0.6 s, with nothing for a reader to see.
				err := primary.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint`).Scan(&p.off)
				return p, err
			},
			replica: func(ctx context.Context) (position, time.Duration, bool, error) {
				var p position
				var lag sql.NullFloat64
				if err := replica.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint`).Scan(&p.off); err != nil {
					return p, 0, false, err
				}
				if err := primary.QueryRowContext(ctx, `SELECT max(extract(epoch FROM replay_lag)) FROM pg_stat_replication`).Scan(&lag); err != nil {
					return p, 0, false, err
				}
				return p, time.Duration(lag.Float64 * float64(time.Second)), lag.Valid, nil
			},
		}
	}
	return lagProbe{
		primary: func(ctx context.Context) (position, error) {
			st, err := showStatus(ctx, primary, "SHOW MASTER STATUS")
			if err != nil {
				return position{}, err
			}
			off, err := strconv.ParseInt(st["Position"].String, 10, 64)
			return position{file: st["File"].String, off: off}, err
		},
		replica: func(ctx context.Context) (position, time.Duration, bool, error) {
			st, err := showStatus(ctx, replica, "SHOW SLAVE STATUS")
			if err != nil {
				return position{}, 0, false, err
			}
			off, err := strconv.ParseInt(st["Exec_Master_Log_Pos"].String, 10, 64)
			if err != nil {
				return position{}, 0, false, fmt.Errorf("Exec_Master_Log_Pos %q: %w", st["Exec_Master_Log_Pos"].String, err)
			}
			p := position{file: st["Relay_Master_Log_File"].String, off: off}
			behind := st["Seconds_Behind_Master"]
			secs, _ := strconv.ParseInt(behind.String, 10, 64)
			return p, time.Duration(secs) * time.Second, behind.Valid, nil
		},
	}
}

// showStatus reads the one row of a MariaDB SHOW … STATUS by column name.
func showStatus(ctx context.Context, db *sql.DB, q string) (map[string]sql.NullString, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s is empty", q)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	st := make(map[string]sql.NullString, len(cols))
	for i, c := range cols {
		st[c] = vals[i]
	}
	return st, rows.Err()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func (rr *replicaResult) markdown(w func(string, ...any)) {
	what, pos, native := "streaming hot standby", "the primary's `pg_current_wal_flush_lsn()` was read until the standby's `pg_last_wal_replay_lsn()` reached it",
		"`pg_stat_replication.replay_lag` on the primary"
	if rr.dialect == "mysql" {
		what, pos, native = "replica (binary log, ROW format)",
			"the primary's `SHOW MASTER STATUS` position was read until the replica's `Exec_Master_Log_Pos` reached it",
			"`Seconds_Behind_Master` of `SHOW SLAVE STATUS`, whole seconds: it reads 0 until a second behind, and over 1 s means 2 s or more"
	}
	w("\n**Replica lag**, no clients: a private primary and its %s on this machine (buffers, and PostgreSQL's synchronous_commit, as the shared servers'), "+
		"%d expired and %d live rows in each of two identical copies on the primary, the replica caught up before each purge. "+
		"Lag is sampled every %s: the time from when %s (good to %s); beside it, %s.\n",
		what, rr.expired, rr.live, ms(lagEvery), pos, ms(lagEvery), native)
	w("| purge | time | rows | batches | yielded | max lag | time over 1 s | max, engine's figure | over 1 s, engine's figure | caught up after the purge |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, row := range []struct {
		name string
		run  replicaRun
	}{{"`--replica REPLICA --max-lag 1s`", rr.waited}, {"without `--replica`", rr.unwaited}} {
		l, p := row.run.lag, row.run.purge
		bound := ""
		if l.lowerBound {
			bound = "≥ "
		}
		w("| %s | %s | %d | %d | %s | %s%s | %s | %s | %s | %s |", row.name, ms(p.wall), p.report.Deleted, p.report.Batches, yielded(p.report.Yielded),
			bound, seconds(l.max), seconds(l.over), seconds(l.nativeMax), seconds(l.nativeOver), seconds(l.caughtUp))
	}
	w("")
	w("%s", rr.summary())
	for _, row := range []struct {
		name string
		run  replicaRun
	}{{"with --replica", rr.waited}, {"without --replica", rr.unwaited}} {
		l, p := row.run.lag, row.run.purge
		if l.errors > 0 {
			w("Lag samples that failed %s: %d, the first `%v`.", row.name, l.errors, l.firstError)
		}
		if l.unresolved > 0 {
			w("%s: the replica had not applied %d positions %s after the purge.", row.name, l.unresolved, catchUpWithin)
		}
		if p.left > 0 || p.liveAfter != rr.live {
			w("%s: %d expired rows left, %d of %d live kept.", row.name, p.left, p.liveAfter, rr.live)
		}
	}
}

// summary is the replica phase's line of the report's summary.
func (rr *replicaResult) summary() string {
	over := rr.waited.lag.max - replicaMaxLag
	return fmt.Sprintf("Replica lag with `--max-lag 1s`: max **%s** (%s over the limit; goal about ≤ 1 s over: %s), %s over 1 s, purge %s;"+
		" without `--replica`: max **%s**, %s over 1 s, purge %s.",
		seconds(rr.waited.lag.max), seconds(max(over, 0)), met(over <= time.Second), seconds(rr.waited.lag.over), ms(rr.waited.purge.wall),
		seconds(rr.unwaited.lag.max), seconds(rr.unwaited.lag.over), ms(rr.unwaited.purge.wall))
}
