package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessctl/sessctl/schema"
)

// progress returns what purge calls after each batch: a line redrawn in
// place on a terminal, nothing otherwise.
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
		a.progressShown = true
		fmt.Fprintf(a.stderr, "\r\033[Kdeleted %d rows in %d batches, %.0f rows/s", r.Deleted, r.Batches, r.RowsPerSecond)
	}
}

// endProgress ends the progress line, if one was drawn.
func (a *app) endProgress() {
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
