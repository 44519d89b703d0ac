//go:build linux

package bench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Goals, from issue 5.
const (
	goalThroughput = 1.1  // sessctl's time over the single DELETE's
	goalP99        = 1.5  // p99 during sessctl purge over idle p99
	goalBatch      = 250  // ms, the longest sessctl transaction
	goalNothing    = 2.0  // nothing-to-do purge over version + one round trip
	goalMemory     = 1.10 // peak RSS at 1,000,000 rows deleted over 10,000
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func (r *result) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("\n### %s (%s)\n", r.dialect, r.version)
	if r.nothingOnly {
		w("%d expired and %d live rows; the nothing-to-do part only (%s=1), no clients.\n", r.expired, r.live, nothingEnv)
		r.nothingMarkdown(w)
		return b.String()
	}
	if r.firstComparison {
		r.existingMarkdown(w)
	} else {
		w("Only issue 14's phases (%s=%s).", onlyEnv, r.onlyPhases)
	}
	r.newMarkdown(w)
	return b.String()
}

// existingMarkdown writes the sections of the phases from before issue
// 14: the first comparison, and unless it ran alone, the rest.
func (r *result) existingMarkdown(w func(string, ...any)) {
	w("%d expired and %d live rows in each copy. Client load: %d clients × %d requests/s.\n",
		r.expired, r.live, clients, engines[r.dialect].rate)

	w("**Throughput**, with the clients running. sessctl's time is the whole process: start, connect, lock, batches, exit.\n")
	w("| | order | time | / DELETE | rows | rows/s | batches | longest transaction | expired left | live kept |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	w("| single `DELETE` (baseline) | as planned | %s | 1.00 | %d | %.0f | 1 | %s | %d | |", ms(r.deleteTook), r.deleteRows,
		float64(r.deleteRows)/r.deleteTook.Seconds(), ms(r.deleteTook), r.deleteLeft)
	for _, p := range []struct {
		name string
		run  purgeRun
	}{{"sessctl purge", r.sessctl}, {"sessctl purge `--order expiry`", r.expiryOrder}} {
		if p.run.wall == 0 {
			continue
		}
		order := "expiry"
		if p.run.report.Walked {
			order = "storage (walk)"
		}
		w("| %s | %s | %s | %.2f | %d | %.0f | %d | %d ms | %d | %d of %d |", p.name, order, ms(p.run.wall), ratio(p.run.wall, r.deleteTook),
			p.run.report.Deleted, float64(p.run.report.Deleted)/p.run.wall.Seconds(), p.run.report.Batches, p.run.report.MaxBatchMS,
			p.run.left, p.run.liveAfter, r.live)
	}
	tp := ratio(r.sessctl.wall, r.deleteTook)
	quick := r.expiryOrder.wall == 0
	w("")
	w("sessctl / DELETE: **%.2f** (goal ≤ %.1f: %s). Longest sessctl transaction %d ms (goal ≤ %d ms: %s).\n",
		tp, goalThroughput, met(tp <= goalThroughput), r.sessctl.report.MaxBatchMS, goalBatch, met(r.sessctl.report.MaxBatchMS <= goalBatch))

	w("**The app's view**: %.0f%% get-with-slide, %.0f%% set, on live rows. Latency counts from when each request was due,"+
		" so a request held up delays those due after it too; requests still unsent when the phase ended count as late by then.\n",
		getShare*100, (1-getShare)*100)
	w("| | requests due | sent | errors | p50 | p99 | max | p99 / idle p99 |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- |")
	idle := r.idle.percentile(0.99)
	loads := []struct {
		name string
		l    loadResult
	}{{"idle (baseline)", r.idle}, {"during sessctl purge", r.sessctl.load}, {"during sessctl purge `--order expiry`", r.expiryOrder.load},
		{"during the single DELETE", r.duringDelete}}
	for _, row := range loads {
		if row.l.ops == 0 {
			continue
		}
		w("| %s | %d | %d | %d | %s | %s | %s | %.2f |", row.name, row.l.ops+row.l.unsent, row.l.ops, row.l.errors, ms(row.l.percentile(0.5)),
			ms(row.l.percentile(0.99)), ms(row.l.percentile(1)), ratio(row.l.percentile(0.99), idle))
	}
	p99 := ratio(r.sessctl.load.percentile(0.99), idle)
	w("")
	w("p99 during sessctl / idle: **%.2f** (goal ≤ %.1f: %s); client errors during sessctl: %d (goal 0: %s).",
		p99, goalP99, met(p99 <= goalP99), r.sessctl.load.errors, met(r.sessctl.load.errors == 0))
	for _, l := range loads {
		if l.l.firstError != nil {
			w("First client error %s: `%v`.", l.name, l.l.firstError)
		}
	}
	w("")
	if quick {
		return
	}

	r.nothingMarkdown(w)

	mr := float64(r.rss1M) / float64(r.rss10k)
	w("**Memory** (peak RSS of the purge process)\n")
	w("| rows deleted | peak RSS |")
	w("| --- | --- |")
	w("| %d | %.1f MiB |", r.rows10k, float64(r.rss10k)/1024)
	w("| %d | %.1f MiB |", r.rows100k, float64(r.rss100k)/1024)
	w("| %d (the throughput run, under load) | %.1f MiB |", r.sessctl.report.Deleted, float64(r.sessctl.rss)/1024)
	w("| %d (`--order expiry`, under load) | %.1f MiB |", r.expiryOrder.report.Deleted, float64(r.expiryOrder.rss)/1024)
	w("| %d | %.1f MiB |", r.rows1M, float64(r.rss1M)/1024)
	w("")
	w("%d / %d rows: **%.2f** (goal ≤ %.2f: %s); %d / %d rows: %.2f.", r.rows1M, r.rows10k, mr, goalMemory, met(mr <= goalMemory),
		r.rows1M, r.rows100k, float64(r.rss1M)/float64(r.rss100k))
}

// nothingMarkdown writes the nothing-to-do part: a purge's whole process
// with nothing due and after the table's purge, against `sessctl version`
// and a round trip, and, when SESSCTL_BENCH_BEFORE was set, the same
// purges by that binary, timed in turn with this one's.
func (r *result) nothingMarkdown(w func(string, ...any)) {
	base := r.version1.median + r.roundTrip.median
	nr := ratio(r.nothing.median, base)
	w("**Nothing to do** (whole process; median, mean and fastest of %d runs each)\n", startRuns)
	w("| | median | mean | fastest |")
	w("| --- | --- | --- | --- |")
	w("| `sessctl version` | %s | %s | %s |", ms(r.version1.median), ms(r.version1.mean), ms(r.version1.min))
	w("| one round trip (`SELECT 1`, open connection) | %s | %s | %s |", ms(r.roundTrip.median), ms(r.roundTrip.mean), ms(r.roundTrip.min))
	w("| connect + `SELECT 1` (new connection) | %s | %s | %s |", ms(r.connectRT.median), ms(r.connectRT.mean), ms(r.connectRT.min))
	w("| purge, %d-row table, nothing due (`--grace 48h`) | %s | %s | %s |", r.expired+r.live, ms(r.nothing.median), ms(r.nothing.mean), ms(r.nothing.min))
	if r.before.median > 0 {
		w("| the same, by %s (before) | %s | %s | %s |", "`"+os.Getenv(beforeEnv)+"`", ms(r.before.median), ms(r.before.mean), ms(r.before.min))
	}
	w("| purge, the same table after its purge (nothing expired) | %s | %s | %s |", ms(r.nothingAfter.median), ms(r.nothingAfter.mean), ms(r.nothingAfter.min))
	if r.beforeAfter.median > 0 {
		w("| the same, by %s (before) | %s | %s | %s |", "`"+os.Getenv(beforeEnv)+"`", ms(r.beforeAfter.median), ms(r.beforeAfter.mean), ms(r.beforeAfter.min))
	}
	w("")
	connect := r.version1.median + r.connectRT.median
	w("purge / (version + one round trip): **%.2f** (goal ≤ %.1f: %s); purge / (version + connect and one round trip): **%.2f** (%s).",
		nr, goalNothing, met(nr <= goalNothing), ratio(r.nothing.median, connect), met(ratio(r.nothing.median, connect) <= goalNothing))
	if r.before.median > 0 {
		w("Before: **%.2f** and **%.2f**. This purge / the one before, medians: %.2f (nothing due), %.2f (after the purge); fastest: %.2f, %.2f.",
			ratio(r.before.median, base), ratio(r.before.median, connect), ratio(r.nothing.median, r.before.median),
			ratio(r.nothingAfter.median, r.beforeAfter.median), ratio(r.nothing.min, r.before.min), ratio(r.nothingAfter.min, r.beforeAfter.min))
		fast := r.version1.min + r.connectRT.min
		w("With the fastest runs: purge / (version + connect and one round trip) %.2f, before %.2f.", ratio(r.nothing.min, fast), ratio(r.before.min, fast))
	}
	w("The first purge after the walk took %s.", ms(r.firstAfter))
	if len(r.reads) > 0 {
		var keys []string
		for k := range r.reads {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.reads[k]))
		}
		w("Read by one such purge: %s.", strings.Join(parts, ", "))
	}
	w("Plan of its batch:\n\n```\n%s\n```\n", r.plan)
}
