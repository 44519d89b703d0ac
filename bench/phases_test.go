//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/schema"
)

// phases are issue 14's phases a run has: idle throughput (no clients),
// a hand-tuned purge under load, replica lag. only: SESSCTL_BENCH_ONLY
// chose them, and the phases from before run only as far as they need.
type phases struct {
	only                 bool
	idle, tuned, replica bool
}

// selectPhases reads the phases from the environment: every full run has
// the idle phase; the tuned one runs when SESSCTL_BENCH_TUNED (or an
// engine's SESSCTL_BENCH_TUNED_<ENGINE>) is set, the replica one with
// SESSCTL_BENCH_REPLICA=1; SESSCTL_BENCH_QUICK and SESSCTL_BENCH_NOTHING
// run none; SESSCTL_BENCH_ONLY runs those it lists and nothing else.
func selectPhases(t *testing.T) phases {
	tuned := os.Getenv(tunedEnv) != ""
	for _, e := range []string{"sqlite", "postgres", "mysql"} {
		tuned = tuned || os.Getenv(tunedEnv+"_"+strings.ToUpper(e)) != ""
	}
	only := os.Getenv(onlyEnv)
	if only == "" {
		if os.Getenv(quickEnv) == "1" || os.Getenv(nothingEnv) == "1" {
			return phases{}
		}
		return phases{idle: true, tuned: tuned, replica: os.Getenv(replicaEnv) == "1"}
	}
	if os.Getenv(quickEnv) == "1" || os.Getenv(nothingEnv) == "1" {
		t.Fatalf("%s cannot be set with %s or %s: each chooses what runs", onlyEnv, quickEnv, nothingEnv)
	}
	p := phases{only: true}
	for _, name := range strings.Split(only, ",") {
		switch strings.TrimSpace(name) {
		case "idle":
			p.idle = true
		case "tuned":
			if !tuned {
				t.Fatalf("%s=%s has tuned, and %s holds no flags (e.g. %s='--batch-time 50ms --pause 50ms --pace off')", onlyEnv, only, tunedEnv, tunedEnv)
			}
			p.tuned = true
		case "replica":
			p.replica = true
		default:
			t.Fatalf("%s=%q: %q is no phase; want a comma list of idle, tuned, replica", onlyEnv, only, name)
		}
	}
	return p
}

// knowsFlag says whether bin's purge has --name.
func knowsFlag(t *testing.T, bin, name string) bool {
	out, err := exec.Command(bin, "purge", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("sessctl purge --help: %v\n%s", err, out)
	}
	return strings.Contains(string(out), "--"+name+" ")
}

// tunedFlags are the hand-tuned purge's flags on this engine
// (SESSCTL_BENCH_TUNED_<ENGINE>, else SESSCTL_BENCH_TUNED), or "" where
// the tuned phase does not run.
func (b *bench) tunedFlags() string {
	if !b.ph.tuned {
		return ""
	}
	if f := os.Getenv(tunedEnv + "_" + strings.ToUpper(b.s.Dialect.Name())); f != "" {
		return f
	}
	return os.Getenv(tunedEnv)
}

// drop drops table and its version table now, to free their space.
func (b *bench) drop(table string) {
	n := b.s.Dialect.Names(b.s.Schema, table)
	for _, name := range []string{n.Table, n.VersionTable} {
		if _, err := b.db.Exec("DROP TABLE IF EXISTS " + b.s.Qualified(name)); err != nil {
			b.fatalf("dropping %s: %v", name, err)
		}
	}
}

// newPhases runs issue 14's phases after the others: the idle
// throughput on copies of its own, then the replica lag on private
// servers (the tuned phase ran beside the first comparison).
func (b *bench) newPhases(r *result) {
	if b.ph.idle {
		r.idleRun = b.idlePhase()
	}
	if b.ph.replica {
		b.replicaPhase(r)
	}
}

// idleResult is the idle phase's figures: sessctl purge, the DELETE and
// purge --pace off, on three identical copies, no client running.
type idleResult struct {
	expired, live    int64
	deleteTook       time.Duration
	deleteRows       int64
	deleteLeft       int64
	sessctl, paceOff purgeRun
	paceOffSkipped   bool // the binary has no --pace
}

// copies makes n fresh tables named after prefix, fills the first as the
// first comparison's are filled (the same seed: the same rows) and copies
// it into the others, settles them, and checks that they are alike. It
// returns the tables, the live Ids, and the census of each.
func (b *bench) copies(prefix string, n int) (tables []string, live []string, expired, kept int64) {
	ctx := context.Background()
	var qs []string
	for i := range n {
		t := dialecttest.Table(fmt.Sprintf("%s%d", prefix, i+1))
		b.s.DropAtCleanup(b.t, b.db, t)
		b.sessctl(nil, "create", b.s.DSN, b.s.Schema, t)
		tables, qs = append(tables, t), append(qs, b.s.Qualified(t))
	}
	b.logf("seeding %d rows", b.rows)
	live = b.seed(qs[0], b.rows, 200, 2000, 0.5)
	for _, to := range qs[1:] {
		if _, err := b.db.ExecContext(ctx, `INSERT INTO `+to+` SELECT * FROM `+qs[0]); err != nil {
			b.fatalf("copying %s: %v", qs[0], err)
		}
	}
	if err := b.e.settle(ctx, b.db, qs...); err != nil {
		b.fatalf("settling: %v", err)
	}
	expired, kept = b.census(qs[0])
	for _, q := range qs[1:] {
		if e, l := b.census(q); e != expired || l != kept || expired == 0 {
			b.fatalf("the copies differ: %d/%d expired, %d/%d live", expired, e, kept, l)
		}
	}
	return tables, live, expired, kept
}

// idlePhase times, with no client running, sessctl purge (its defaults
// and SESSCTL_BENCH_ARGS), the providers' DELETE and sessctl purge
// --pace off, each on its own copy, each table dropped once counted.
func (b *bench) idlePhase() *idleResult {
	ctx := context.Background()
	n := 3
	ir := &idleResult{paceOffSkipped: !b.hasPace}
	if ir.paceOffSkipped {
		n = 2
	}
	tables, _, expired, live := b.copies("BenchI", n)
	ir.expired, ir.live = expired, live

	b.logf("idle: sessctl purge, no clients")
	ir.sessctl = b.purgeIdle(tables[0])
	b.logf("idle purge: %+v in %s", ir.sessctl.report, ir.sessctl.wall)
	b.drop(tables[0])

	b.logf("idle: single DELETE, no clients")
	b.quiesce()
	q := b.s.Qualified(tables[1])
	t0 := time.Now()
	rows, err := b.e.deleteExpired(ctx, b.db, q, time.Now())
	ir.deleteTook, ir.deleteRows = time.Since(t0), rows
	if err != nil {
		b.fatalf("the single DELETE failed after %s: %v", ir.deleteTook, err)
	}
	ir.deleteLeft, _ = b.census(q)
	b.logf("idle DELETE: %d rows in %s", ir.deleteRows, ir.deleteTook)
	b.drop(tables[1])

	if !ir.paceOffSkipped {
		b.logf("idle: sessctl purge --pace off, no clients")
		ir.paceOff = b.purgeIdle(tables[2], "--pace", "off")
		b.logf("idle purge --pace off: %+v in %s", ir.paceOff.report, ir.paceOff.wall)
		b.drop(tables[2])
	}
	return ir
}

// purgeIdle runs sessctl purge on table, with flags and those of
// SESSCTL_BENCH_ARGS, with no client running.
func (b *bench) purgeIdle(table string, flags ...string) purgeRun {
	var p purgeRun
	b.quiesce()
	args := append(append([]string{"purge", "-o", "json"}, flags...), strings.Fields(os.Getenv(argsEnv))...)
	stdout, wall, rss := b.sessctl(nil, append(args, b.s.DSN, b.s.Schema, table)...)
	p.wall, p.rss = wall, rss
	if err := json.Unmarshal(stdout, &p.report); err != nil {
		b.fatalf("purge report: %v\n%s", err, stdout)
	}
	p.left, p.liveAfter = b.census(b.s.Qualified(table))
	return p
}

// yielded is a report's time yielded, by reason: "0 ms" when none.
func yielded(y *schema.Yielded) string {
	if y == nil || y.MS == 0 {
		return "0 ms"
	}
	var by []string
	for k, v := range y.By {
		by = append(by, fmt.Sprintf("%s %d ms", k, v))
	}
	slices.Sort(by)
	return fmt.Sprintf("%d ms (%s)", y.MS, strings.Join(by, ", "))
}

// newMarkdown writes the sections of issue 14's phases that ran.
func (r *result) newMarkdown(w func(string, ...any)) {
	if ir := r.idleRun; ir != nil {
		ir.markdown(w)
	}
	if r.tuned.wall > 0 {
		r.tunedMarkdown(w)
	}
	if r.replica != nil {
		r.replica.markdown(w)
	} else if r.replicaSkipped != "" {
		w("\n**Replica lag**: not run: %s.", r.replicaSkipped)
	}
}

func (ir *idleResult) markdown(w func(string, ...any)) {
	n := "three"
	if ir.paceOffSkipped {
		n = "two"
	}
	w("\n**Idle throughput**, no clients running: %s more identical copies (%d expired, %d live rows), the same seed."+
		" sessctl's time is the whole process.\n", n, ir.expired, ir.live)
	w("| | order | time | / DELETE | rows | rows/s | batches | longest transaction | yielded | expired left | live kept |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	w("| single `DELETE` (baseline) | as planned | %s | 1.00 | %d | %.0f | 1 | %s | | %d | |", ms(ir.deleteTook), ir.deleteRows,
		float64(ir.deleteRows)/ir.deleteTook.Seconds(), ms(ir.deleteTook), ir.deleteLeft)
	for _, p := range []struct {
		name string
		run  purgeRun
	}{{"sessctl purge", ir.sessctl}, {"sessctl purge `--pace off`", ir.paceOff}} {
		if p.run.wall == 0 {
			continue
		}
		order := "expiry"
		if p.run.report.Walked {
			order = "storage (walk)"
		}
		w("| %s | %s | %s | %.2f | %d | %.0f | %d | %d ms | %s | %d | %d of %d |", p.name, order, ms(p.run.wall), ratio(p.run.wall, ir.deleteTook),
			p.run.report.Deleted, float64(p.run.report.Deleted)/p.run.wall.Seconds(), p.run.report.Batches, p.run.report.MaxBatchMS,
			yielded(p.run.report.Yielded), p.run.left, p.run.liveAfter, ir.live)
	}
	w("")
	w("%s", ir.summary())
	if ir.paceOffSkipped {
		w("This build's purge has no `--pace`: its default is today's unpaced walk, so there is no `--pace off` run.")
	}
}

// summary is the idle phase's line of the report's summary.
func (ir *idleResult) summary() string {
	tp := ratio(ir.sessctl.wall, ir.deleteTook)
	s := fmt.Sprintf("Idle sessctl / DELETE: **%.2f** (goal ≤ %.1f: %s)", tp, goalThroughput, met(tp <= goalThroughput))
	if ir.paceOff.wall > 0 {
		s += fmt.Sprintf("; `--pace off` / DELETE: **%.2f**", ratio(ir.paceOff.wall, ir.deleteTook))
	}
	return s + "."
}

func (r *result) tunedMarkdown(w func(string, ...any)) {
	w("\n**Hand-tuned purge under load**: `sessctl purge %s` (without %s's flags) on another identical copy, the same %d clients,"+
		" beside the default purge and the single DELETE above, against the same idle baseline.\n", r.tunedFlags, argsEnv, clients)
	w("| | time | / DELETE | batches | longest transaction | requests due | sent | errors | p50 | p99 | max | p99 / idle p99 |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	idle := r.idle.percentile(0.99)
	w("| idle (baseline) | | | | | %d | %d | %d | %s | %s | %s | 1.00 |", r.idle.ops+r.idle.unsent, r.idle.ops, r.idle.errors,
		ms(r.idle.percentile(0.5)), ms(idle), ms(r.idle.percentile(1)))
	for _, p := range []struct {
		name string
		run  purgeRun
	}{{"sessctl purge (defaults)", r.sessctl}, {"sessctl purge `" + r.tunedFlags + "`", r.tuned}} {
		l := p.run.load
		w("| %s | %s | %.2f | %d | %d ms | %d | %d | %d | %s | %s | %s | %.2f |", p.name, ms(p.run.wall), ratio(p.run.wall, r.deleteTook),
			p.run.report.Batches, p.run.report.MaxBatchMS, l.ops+l.unsent, l.ops, l.errors, ms(l.percentile(0.5)), ms(l.percentile(0.99)),
			ms(l.percentile(1)), ratio(l.percentile(0.99), idle))
	}
	d := r.duringDelete
	w("| the single `DELETE` | %s | 1.00 | 1 | %s | %d | %d | %d | %s | %s | %s | %.2f |", ms(r.deleteTook), ms(r.deleteTook), d.ops+d.unsent, d.ops, d.errors,
		ms(d.percentile(0.5)), ms(d.percentile(0.99)), ms(d.percentile(1)), ratio(d.percentile(0.99), idle))
	w("")
	w("%s", r.tunedSummary())
	if r.tuned.left > 0 || r.tuned.liveAfter != r.live {
		w("The hand-tuned purge left %d expired rows and kept %d of %d live.", r.tuned.left, r.tuned.liveAfter, r.live)
	}
	if e := r.tuned.load.firstError; e != nil {
		w("First client error during the hand-tuned purge: `%v`.", e)
	}
}

// tunedSummary is the tuned phase's line of the report's summary.
func (r *result) tunedSummary() string {
	idle := r.idle.percentile(0.99)
	return fmt.Sprintf("Hand-tuned (`%s`) / DELETE: **%.2f**, p99 / idle **%.2f**; default purge / DELETE: %.2f, p99 / idle %.2f.",
		r.tunedFlags, ratio(r.tuned.wall, r.deleteTook), ratio(r.tuned.load.percentile(0.99), idle),
		ratio(r.sessctl.wall, r.deleteTook), ratio(r.sessctl.load.percentile(0.99), idle))
}

// summary is the report's last section: a line for each of issue 14's
// phases on each engine; "" when none of them ran.
func summary(results []*result) string {
	var b strings.Builder
	for _, r := range results {
		var lines []string
		if r.idleRun != nil {
			lines = append(lines, r.idleRun.summary())
		}
		if r.tuned.wall > 0 {
			lines = append(lines, r.tunedSummary())
		}
		if r.replica != nil {
			lines = append(lines, r.replica.summary())
		} else if r.replicaSkipped != "" {
			lines = append(lines, "Replica lag: not run: "+r.replicaSkipped+".")
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s: %s\n", r.dialect, l)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n### Summary of issue 14's phases\n\n" + b.String()
}
