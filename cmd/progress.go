package cmd

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/sessctl/sessctl/schema"
)

// progress returns what purge calls after each batch: a line redrawn in
// place on a terminal, at most five times a second, nothing otherwise.
func (a *app) progress() func(schema.PurgeResult) {
	if !a.stderrTTY || a.quiet || a.output != outputText {
		return nil
	}
	var last time.Time
	return func(r schema.PurgeResult) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		a.ttyMu.Lock()
		defer a.ttyMu.Unlock()
		a.progressShown = true
		fmt.Fprintf(a.stderr, "\r\033[K%s", progressLine(r))
	}
}

// defaultStopNotice is what the first signal says on a terminal, unless
// the command says better (purge: stopNotice).
const defaultStopNotice = "stopping; interrupt again to abort at once"

// stopping says, on a terminal, what the first signal does and that a
// second one aborts. It runs on the goroutine that caught the signal.
func (a *app) stopping() {
	a.ttyMu.Lock()
	defer a.ttyMu.Unlock()
	if a.stopNotice != "" {
		fmt.Fprintf(a.stderr, "\r\033[Ksessctl: interrupted: %s\n", a.stopNotice)
	}
}

// noticeStop sets what the first signal says on a terminal (nothing with
// -q or elsewhere): notice, or defaultStopNotice.
func (a *app) noticeStop(notice string) {
	a.ttyMu.Lock()
	defer a.ttyMu.Unlock()
	a.stopNotice = ""
	if a.stderrTTY && !a.quiet {
		a.stopNotice = cmp.Or(notice, defaultStopNotice)
	}
}

// progressLine says how far a purge has got: rows deleted, rate, what is
// left by the count taken at the start, and the last batch.
func progressLine(r schema.PurgeResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "deleted %d", r.Deleted)
	if left, ok := r.Left(); ok {
		fmt.Fprintf(&b, " of ~%d expired rows", r.Deleted+left)
		if r.RowsPerSecond > 0 {
			fmt.Fprintf(&b, ", ~%d left (~%s)", left, (time.Duration(float64(left)/r.RowsPerSecond) * time.Second).Round(time.Second))
		}
	} else {
		b.WriteString(" rows")
	}
	fmt.Fprintf(&b, ", %.0f rows/s, batch %d: %d rows in %dms", r.RowsPerSecond, r.Batches, r.LastBatchRows, r.LastBatch.Milliseconds())
	if y := r.Yielded; y != nil {
		fmt.Fprintf(&b, "; yielded %s, last: %s", (time.Duration(y.MS) * time.Millisecond).Round(100*time.Millisecond), y.Last)
	}
	return b.String()
}

// endProgress ends the progress line, if one was drawn.
func (a *app) endProgress() {
	a.ttyMu.Lock()
	defer a.ttyMu.Unlock()
	if a.progressShown {
		fmt.Fprint(a.stderr, "\r\033[K")
		a.progressShown = false
	}
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// plural is "1 row", "2 rows", "1 batch", "2 batches".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
