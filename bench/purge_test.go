//go:build linux

package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// Environment variables the benchmark reads.
const (
	benchEnv = "SESSCTL_BENCH"       // 1 runs it
	rowsEnv  = "SESSCTL_BENCH_ROWS"  // rows per copy; default 1,000,000
	outEnv   = "SESSCTL_BENCH_OUT"   // also write the markdown report here
	argsEnv  = "SESSCTL_BENCH_ARGS"  // extra flags for every timed sessctl purge
	quickEnv = "SESSCTL_BENCH_QUICK" // 1: only sessctl purge against the DELETE, under load
	// nothingEnv 1 runs only the nothing-to-do part (on one table, no
	// clients); beforeEnv names another sessctl binary (an earlier build)
	// to time beside this one there.
	nothingEnv = "SESSCTL_BENCH_NOTHING"
	beforeEnv  = "SESSCTL_BENCH_BEFORE"
	// Issue 14's phases (phases_test.go): onlyEnv lists those to run
	// alone (idle, tuned, replica); tunedEnv holds the flags of a
	// hand-tuned purge under load, tunedEnv_<ENGINE> one engine's;
	// replicaEnv 1 adds the replica lag phase.
	onlyEnv    = "SESSCTL_BENCH_ONLY"
	tunedEnv   = "SESSCTL_BENCH_TUNED"
	replicaEnv = "SESSCTL_BENCH_REPLICA"
)

const (
	idleFor   = 15 * time.Second // how long the clients run alone
	startRuns = 30               // runs of each command in the nothing-to-do test
	memRows   = 1_000_000        // rows the large memory run deletes
)

// TestPurgeBenchmark builds two identical tables on every server and purges
// one with sessctl and the other with the providers' single DELETE, while
// clients use live rows; then times a purge with nothing to do and the
// purge process's memory. It prints a markdown report.
func TestPurgeBenchmark(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("the purge benchmark runs only with %s=1 (see BENCHMARKS.md)", benchEnv)
	}
	rows := 1_000_000
	if v := os.Getenv(rowsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			t.Fatalf("%s=%q: want a number of rows, 1000 or more", rowsEnv, v)
		}
		rows = n
	}
	ph := selectPhases(t)
	bin := buildSessctl(t)
	hasPace := knowsFlag(t, bin, "pace")
	var report strings.Builder
	var results []*result
	fmt.Fprintf(&report, "Machine: %s. Go %s, %s/%s. %d rows per copy, values of 200-2,000 random bytes, half expired.\n",
		machine(), strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH, rows)
	if a := os.Getenv(argsEnv); a != "" {
		fmt.Fprintf(&report, "Extra purge flags: `%s`.\n", a)
	}
	dialecttest.Each(t, func(t *testing.T, s dialecttest.Server) {
		e, ok := engines[s.Dialect.Name()]
		if !ok {
			t.Skipf("no benchmark SQL for %s: add it to engines", s.Dialect.Name())
		}
		b := &bench{t: t, s: s, e: e, bin: bin, rows: rows, db: s.Open(t), ph: ph, hasPace: hasPace}
		r := b.run()
		report.WriteString(r.markdown())
		results = append(results, r)
	})
	report.WriteString(summary(results))
	fmt.Println(report.String())
	if out := os.Getenv(outEnv); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// buildSessctl builds the static binary users run.
func buildSessctl(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "sessctl")
	c := exec.Command("go", "build", "-trimpath", "-o", bin, "..")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("building sessctl: %v\n%s", err, out)
	}
	return bin
}

// machine describes the machine the benchmark ran on.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d × %s%s, Linux", runtime.NumCPU(), cpu, mem)
}

// bench is one server's run.
type bench struct {
	t    *testing.T
	s    dialecttest.Server
	e    engine
	bin  string
	rows int
	db   *sql.DB
	ph   phases
	// hasPace: the binary has purge --pace (issue 14's pacing).
	hasPace bool
}

// result is one server's figures.
type result struct {
	dialect, version string
	expired, live    int64

	idle         loadResult
	sessctl      purgeRun // auto order: a walk, on this table
	expiryOrder  purgeRun // --order expiry
	duringDelete loadResult
	deleteTook   time.Duration
	deleteRows   int64
	deleteLeft   int64 // expired rows left after the single DELETE

	version1, nothing, nothingAfter, roundTrip, connectRT timing
	firstAfter                                            time.Duration
	// nothingOnly: only the nothing-to-do part ran; before and
	// beforeAfter time SESSCTL_BENCH_BEFORE's binary beside it.
	nothingOnly         bool
	before, beforeAfter timing
	reads               map[string]int64
	plan                string

	rss10k, rss100k, rss1M    int64
	rows10k, rows100k, rows1M int64

	// Issue 14's phases: nil or zero where they did not run.
	idleRun         *idleResult
	tunedFlags      string
	tuned           purgeRun
	replica         *replicaResult
	replicaSkipped  string // why the replica phase did not run
	firstComparison bool   // the idle load, purge and DELETE under load ran
	onlyPhases      string // SESSCTL_BENCH_ONLY, when set
}

// timing is the median, mean and fastest of repeated runs. (On a machine
// others load, the fastest is the steadier estimate of what a run itself
// costs: every other run also waited to be scheduled.)
type timing struct{ median, mean, min time.Duration }

func timings(ds []time.Duration) timing {
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return timing{median: ds[len(ds)/2], mean: sum / time.Duration(len(ds)), min: ds[0]}
}

func (b *bench) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf(format, args...)
}

// logf logs a step, with the machine's load average: the benchmark is
// only as quiet as the machine.
func (b *bench) logf(format string, args ...any) {
	b.t.Helper()
	load, _ := os.ReadFile("/proc/loadavg")
	b.t.Logf("%s %s (load %s): "+format, append([]any{time.Now().Format("15:04:05"), b.s.Dialect.Name(),
		strings.Join(strings.Fields(string(load))[:3], " ")}, args...)...)
}

func (b *bench) run() *result {
	r := &result{dialect: b.s.Dialect.Name(), version: b.serverVersion(), onlyPhases: os.Getenv(onlyEnv)}
	if !b.ph.only || b.tunedFlags() != "" {
		if done := b.existing(r); done {
			return r
		}
	}
	b.newPhases(r)
	return r
}

// existing runs the phases from before issue 14, as SESSCTL_BENCH_QUICK
// and SESSCTL_BENCH_NOTHING choose them (with SESSCTL_BENCH_ONLY, the
// first comparison only, which the tuned phase is set beside, and its
// table). done: nothing more is to run.
func (b *bench) existing(r *result) (done bool) {
	ctx := context.Background()
	a, c, x, m := dialecttest.Table("BenchA"), dialecttest.Table("BenchB"), dialecttest.Table("BenchX"), dialecttest.Table("BenchMem")
	for _, table := range []string{a, c, x, m} {
		b.s.DropAtCleanup(b.t, b.db, table)
		b.sessctl(nil, "create", b.s.DSN, b.s.Schema, table)
	}
	qa, qc, qx := b.s.Qualified(a), b.s.Qualified(c), b.s.Qualified(x)

	b.logf("seeding %d rows", b.rows)
	t0 := time.Now()
	live := b.seed(qa, b.rows, 200, 2000, 0.5)
	b.logf("seeded in %s; copying", time.Since(t0).Round(time.Second))
	quick := os.Getenv(quickEnv) == "1" || b.ph.only
	copies := []string{qc, qx}
	switch {
	case os.Getenv(nothingEnv) == "1":
		copies = nil
	case quick:
		copies = copies[:1]
	}
	// The tuned phase's copy: made with the others, so that it is
	// identical to them, and run beside the first comparison.
	var tt string
	if b.tunedFlags() != "" {
		tt = dialecttest.Table("BenchT")
		b.s.DropAtCleanup(b.t, b.db, tt)
		b.sessctl(nil, "create", b.s.DSN, b.s.Schema, tt)
		copies = append(copies, b.s.Qualified(tt))
	}
	for _, to := range copies {
		if _, err := b.db.ExecContext(ctx, `INSERT INTO `+to+` SELECT * FROM `+qa); err != nil {
			b.fatalf("copying %s: %v", qa, err)
		}
	}
	if err := b.e.settle(ctx, b.db, append([]string{qa}, copies...)...); err != nil {
		b.fatalf("settling: %v", err)
	}
	ea, la := b.census(qa)
	if os.Getenv(nothingEnv) == "1" {
		b.nothingOnly(r, a, ea, la)
		return true
	}
	for _, q := range copies {
		if e, l := b.census(q); e != ea || l != la || ea == 0 {
			b.fatalf("the copies differ: %d/%d expired, %d/%d live", ea, e, la, l)
		}
	}
	r.expired, r.live = ea, la

	if !quick {
		b.logf("nothing to do: %d runs", startRuns)
		// With a grace longer than the oldest expiry, nothing in the full
		// table is due: the same statement, finding nothing on its first probe.
		r.version1, r.nothing, r.roundTrip, r.connectRT, _, _ = b.startup(a, "--grace", "48h")
		r.plan, r.reads = b.probe(a, "--grace", "48h")
	}

	b.logf("idle load, %s", idleFor)
	b.quiesce()
	r.idle = during(b.db, b.e, qa, live, 1, func() { time.Sleep(idleFor) })

	b.logf("sessctl purge under load")
	r.sessctl = b.purgeUnderLoad(a, live, 2)
	b.logf("purge: %+v in %s", r.sessctl.report, r.sessctl.wall)

	b.logf("single DELETE under load")
	b.quiesce()
	r.duringDelete = during(b.db, b.e, qc, live, 3, func() {
		t0 := time.Now()
		n, err := b.e.deleteExpired(ctx, b.db, qc, time.Now())
		r.deleteTook, r.deleteRows = time.Since(t0), n
		if err != nil {
			b.t.Errorf("the single DELETE failed after %s: %v", r.deleteTook, err)
		}
	})
	r.deleteLeft, _ = b.census(qc)
	b.logf("DELETE: %d rows in %s", r.deleteRows, r.deleteTook)
	r.firstComparison = true
	b.drop(c) // what is left of it is no longer needed

	if tt != "" {
		r.tunedFlags = b.tunedFlags()
		b.logf("sessctl purge %s under load", r.tunedFlags)
		r.tuned = b.purgeUnderLoadOnly(tt, live, 5, strings.Fields(r.tunedFlags)...)
		b.logf("purge %s: %+v in %s", r.tunedFlags, r.tuned.report, r.tuned.wall)
		b.drop(tt)
	}

	if quick {
		return os.Getenv(quickEnv) == "1"
	}
	b.logf("sessctl purge --order expiry under load")
	r.expiryOrder = b.purgeUnderLoad(x, live, 4, "--order", "expiry")
	b.logf("purge --order expiry: %+v in %s", r.expiryOrder.report, r.expiryOrder.wall)
	b.drop(x)

	b.logf("nothing to do after the purge")
	_, r.nothingAfter, _, _, r.firstAfter, _ = b.startup(a)

	b.logf("memory: seeding %d rows", memRows+110_000)
	qm := b.s.Qualified(m)
	b.seed(qm, memRows+110_000, 300, 400, 1)
	r.rows10k, r.rss10k = b.purgeRSS(m, "--max-rows", "10000")
	r.rows100k, r.rss100k = b.purgeRSS(m, "--max-rows", "100000")
	r.rows1M, r.rss1M = b.purgeRSS(m)
	b.drop(a)
	b.drop(m)
	return false
}

// nothingOnly is the nothing-to-do part alone, on table (qualified) of
// expired and live rows: purges with nothing due, the plan and the reads
// of one, then purges of the table once purged; each beside
// SESSCTL_BENCH_BEFORE's binary when it is set.
func (b *bench) nothingOnly(r *result, table string, expired, live int64) {
	r.nothingOnly, r.expired, r.live = true, expired, live
	b.logf("nothing to do: %d runs", startRuns)
	r.version1, r.nothing, r.roundTrip, r.connectRT, _, r.before = b.startup(table, "--grace", "48h")
	r.plan, r.reads = b.probe(table, "--grace", "48h")
	b.logf("purging the table")
	b.sessctl(nil, "purge", "-q", b.s.DSN, b.s.Schema, table)
	b.logf("nothing to do after the purge")
	_, r.nothingAfter, _, _, r.firstAfter, r.beforeAfter = b.startup(table)
}

// purgeRun is one timed sessctl purge under the clients' load.
type purgeRun struct {
	report          schema.PurgeResult
	wall            time.Duration
	rss             int64
	load            loadResult
	left, liveAfter int64
}

// purgeUnderLoad runs sessctl purge on table, with flags and those of
// SESSCTL_BENCH_ARGS, while the clients use its live rows.
func (b *bench) purgeUnderLoad(table string, live []string, seed uint64, flags ...string) purgeRun {
	return b.purgeUnderLoadOnly(table, live, seed, append(flags, strings.Fields(os.Getenv(argsEnv))...)...)
}

// purgeUnderLoadOnly is purgeUnderLoad with flags alone, without
// SESSCTL_BENCH_ARGS's.
func (b *bench) purgeUnderLoadOnly(table string, live []string, seed uint64, flags ...string) purgeRun {
	var p purgeRun
	var stdout []byte
	b.quiesce()
	p.load = during(b.db, b.e, b.s.Qualified(table), live, seed, func() {
		args := append([]string{"purge", "-o", "json"}, flags...)
		stdout, p.wall, p.rss = b.sessctl(nil, append(args, b.s.DSN, b.s.Schema, table)...)
	})
	if err := json.Unmarshal(stdout, &p.report); err != nil {
		b.fatalf("purge report: %v\n%s", err, stdout)
	}
	p.left, p.liveAfter = b.census(b.s.Qualified(table))
	return p
}

func (b *bench) serverVersion() string {
	q := map[string]string{"postgres": "SELECT 'PostgreSQL ' || current_setting('server_version')",
		"sqlite": "SELECT 'SQLite ' || sqlite_version()", "mysql": "SELECT VERSION()"}[b.s.Dialect.Name()]
	var v string
	if err := b.db.QueryRow(q).Scan(&v); err != nil {
		b.fatalf("server version: %v", err)
	}
	return v
}

// sessctl runs the binary and fails unless it exits 0; it returns stdout,
// the wall time and the peak RSS in KiB.
func (b *bench) sessctl(env []string, args ...string) ([]byte, time.Duration, int64) {
	b.t.Helper()
	return b.runBin(b.bin, env, args...)
}

// runBin is sessctl with the binary bin.
func (b *bench) runBin(bin string, env []string, args ...string) ([]byte, time.Duration, int64) {
	b.t.Helper()
	c := exec.Command(bin, args...)
	c.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	t0 := time.Now()
	if err := c.Start(); err != nil {
		b.fatalf("sessctl %s: %v", strings.Join(args, " "), err)
	}
	hwm, exited := make(chan int64), make(chan struct{})
	go func() { hwm <- watchHWM(c.Process.Pid, exited) }()
	err := c.Wait()
	took := time.Since(t0)
	close(exited)
	if err != nil {
		b.fatalf("sessctl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes(), took, <-hwm
}

// watchHWM polls the peak RSS (VmHWM, KiB) of process pid until it exits.
// (The child's rusage cannot tell it: Linux carries the parent's peak over
// into the child's at exec, and this test process is larger than sessctl.)
func watchHWM(pid int, exited <-chan struct{}) int64 {
	var peak int64
	for {
		select {
		case <-exited:
			return peak
		default:
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			<-exited
			return peak
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &kb); err == nil {
					peak = max(peak, kb)
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// seed fills table with n rows, Ids in insertion order, values of min to
// max random bytes, each expired with probability expired (its expiry up
// to a day ago) or live for one to two hours, with the providers' sliding
// expiry. It returns the live Ids.
func (b *bench) seed(table string, n, minSize, maxSize int, expired float64) []string {
	ctx := context.Background()
	const perStatement, perTx = 100, 10_000
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	var stmt strings.Builder
	var cols []string
	for _, c := range []string{"Id", "Value", "ExpiresAtTime", "SlidingExpirationInSeconds", "AbsoluteExpiration"} {
		cols = append(cols, b.s.Dialect.Quote(c))
	}
	stmt.WriteString(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `)
	for i := range perStatement {
		if i > 0 {
			stmt.WriteString(", ")
		}
		k := i * 4
		fmt.Fprintf(&stmt, "(%s, %s, %s, %s, NULL)", b.e.param(k+1), b.e.param(k+2), b.e.param(k+3), b.e.param(k+4))
	}
	if n%perStatement != 0 {
		b.fatalf("seed: %d rows is not a multiple of %d", n, perStatement)
	}
	now := time.Now()
	buf := make([]byte, perStatement*maxSize)
	var live []string
	args := make([]any, 0, perStatement*4)
	for i := 0; i < n; i += perTx {
		err := inTx(ctx, b.db, func(tx *sql.Tx) error {
			insert, err := tx.PrepareContext(ctx, stmt.String())
			if err != nil {
				return err
			}
			defer insert.Close()
			for k := i; k < min(i+perTx, n); k += perStatement {
				args = args[:0]
				off := 0
				for j := range perStatement {
					id := fmt.Sprintf("s%08d-%08x", k+j, rng.Uint32())
					size := minSize + rng.IntN(maxSize-minSize+1)
					v := buf[off : off+size]
					off += size
					fillRandom(rng, v)
					var exp time.Time
					if rng.Float64() < expired {
						exp = now.Add(-time.Second - time.Duration(rng.Int64N(int64(24*time.Hour))))
					} else {
						exp = now.Add(time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
						live = append(live, id)
					}
					args = append(args, id, v, b.e.stamp(exp), int64(sliding.Seconds()))
				}
				if _, err := insert.ExecContext(ctx, args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.fatalf("seeding %s: %v", table, err)
		}
	}
	return live
}

// inTx runs fn in a transaction, committed when fn returns nil.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// census counts the expired and live rows of table by the app's clock.
func (b *bench) census(table string) (expired, live int64) {
	q := fmt.Sprintf(`SELECT count(CASE WHEN %[2]s > %[1]s THEN 1 END), count(CASE WHEN %[2]s <= %[1]s THEN 1 END) FROM %[3]s`,
		b.s.Dialect.Quote("ExpiresAtTime"), b.e.param(1), table)
	if b.s.Dialect.Name() == "mysql" {
		q = strings.ReplaceAll(q, b.e.param(1), "?")
		if err := b.db.QueryRow(q, b.e.stamp(time.Now()), b.e.stamp(time.Now())).Scan(&expired, &live); err != nil {
			b.fatalf("census: %v", err)
		}
		return
	}
	if err := b.db.QueryRow(q, b.e.stamp(time.Now())).Scan(&expired, &live); err != nil {
		b.fatalf("census: %v", err)
	}
	return expired, live
}

func (b *bench) quiesce() {
	if err := b.e.quiesce(context.Background(), b.db); err != nil {
		b.fatalf("quiesce: %v", err)
	}
}

// startup times `sessctl version`, then purge of table with extra flags
// and nothing to delete (and the same purge by SESSCTL_BENCH_BEFORE's
// binary, when set: before), each run startRuns times in turn; and one
// round trip to the server, on an open connection and on a new one. first
// is the first purge's time.
func (b *bench) startup(table string, flags ...string) (version, purge, rt, connectRT timing, first time.Duration, before timing) {
	var vs, ps, bs, rs, cs []time.Duration
	purgeArgs := append(append([]string{"purge", "-q", "-o", "json"}, flags...), b.s.DSN, b.s.Schema, table)
	nothing := func(bin string) time.Duration {
		out, d, _ := b.runBin(bin, nil, purgeArgs...)
		var rep schema.PurgeResult
		if err := json.Unmarshal(out, &rep); err != nil || rep.Deleted != 0 || rep.Batches != 1 {
			b.fatalf("%s purge with nothing to do: %s", bin, out)
		}
		return d
	}
	for i := range startRuns {
		_, d, _ := b.sessctl(nil, "version")
		vs = append(vs, d)
		d = nothing(b.bin)
		if i == 0 {
			first = d
		}
		ps = append(ps, d)
		if bin := os.Getenv(beforeEnv); bin != "" {
			bs = append(bs, nothing(bin))
		}
	}
	if len(bs) > 0 {
		before = timings(bs)
	}
	for range 200 {
		t0 := time.Now()
		if _, err := b.db.Exec(`SELECT 1`); err != nil {
			b.fatalf("round trip: %v", err)
		}
		rs = append(rs, time.Since(t0))
	}
	for range startRuns {
		t0 := time.Now()
		db := b.s.Open(b.t)
		if _, err := db.Exec(`SELECT 1`); err != nil {
			b.fatalf("round trip: %v", err)
		}
		db.Close()
		cs = append(cs, time.Since(t0))
	}
	return timings(vs), timings(ps), timings(rs), timings(cs), first, before
}

// probe shows what a purge with nothing to do reads: its plan, and the
// engine's read counters across one run.
func (b *bench) probe(table string, flags ...string) (string, map[string]int64) {
	ctx := context.Background()
	out, _, _ := b.sessctl(nil, append(append([]string{"purge", "--dry-run", "-o", "json"}, flags...), b.s.DSN, b.s.Schema, table)...)
	var rep schema.PurgeResult
	if err := json.Unmarshal(out, &rep); err != nil {
		b.fatalf("dry run: %v\n%s", err, out)
	}
	if rep.PlanUsesIndex == nil || !*rep.PlanUsesIndex {
		b.t.Errorf("the purge plan does not read the expiry index:\n%s", rep.Plan)
	}
	before, err := b.e.counters(ctx, b.db, b.s.Schema, table)
	if err != nil {
		b.fatalf("counters: %v", err)
	}
	b.sessctl(nil, append(append([]string{"purge", "-q"}, flags...), b.s.DSN, b.s.Schema, table)...)
	after, err := b.e.counters(ctx, b.db, b.s.Schema, table)
	if err != nil {
		b.fatalf("counters: %v", err)
	}
	for k := range after {
		after[k] -= before[k]
	}
	return rep.Plan, after
}

// purgeRSS purges table with flags and returns the rows deleted and the
// process's peak RSS.
func (b *bench) purgeRSS(table string, flags ...string) (int64, int64) {
	out, _, rss := b.sessctl(nil, append(append([]string{"purge", "-o", "json"}, flags...), b.s.DSN, b.s.Schema, table)...)
	var rep schema.PurgeResult
	if err := json.Unmarshal(out, &rep); err != nil {
		b.fatalf("purge: %v\n%s", err, out)
	}
	return rep.Deleted, rss
}
