package schema

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
)

// dryRun counts the expired rows and explains one batch, deleting nothing;
// it says whether the run would walk the table as the run decides it
// (walkChoice): after a first full batch on the index, if what is left of
// the backlog is enough.
func (p *PurgeRun) dryRun() error {
	ctx, conn, t, res, info := p.stmt, p.conn, p.t, p.res, p.info
	n, oldest, err := t.Dialect.CountExpired(ctx, conn, t.Names, p.opts.Grace)
	if err != nil {
		return t.explainFailure(ctx, conn, fmt.Errorf("counting the expired rows of %s: %w", t, err))
	}
	size := cmp.Or(p.opts.BatchSize, p.size) // as asked for, above the ceiling too
	plan, err := t.Dialect.ExplainPurge(ctx, conn, t.Names, p.opts.Grace, size)
	if err != nil {
		return fmt.Errorf("explaining the purge of %s: %w", t, err)
	}
	switch p.walkChoice() {
	case walkNow:
		res.WouldWalk = true
	case walkOnBacklog:
		if n > int64(size) {
			if res.WouldWalk, err = p.enoughToWalk(ctx, n-int64(size)); err != nil {
				return err
			}
		}
	}
	res.Status, res.Remaining, res.Plan = PurgeDryRun, &n, plan
	res.ExpiryIndex = planIndex(t.Dialect, plan, info, t.Layout.Expiry)
	uses := res.ExpiryIndex != ""
	res.PlanUsesIndex = &uses
	if ix, ok := info.ExpiryIndex(); ok && !uses {
		res.ExpiryIndex = ix.Name
	}
	if n > 0 {
		res.Oldest = &Expiry{oldest}
	}
	res.tally(p.start)
	return nil
}

// planIndex is the name of the first index on the expiry column
// (ExpiresAtTime) that plan reads, or "" when it reads none of them.
func planIndex(d dialects.Dialect, plan string, info *dialects.TableInfo, expiry string) string {
	for _, ix := range info.Indexes {
		if len(ix.Columns) == 0 || ix.Columns[0] != expiry {
			continue
		}
		if strings.Contains(plan, d.Quote(ix.Name)) || containsWord(plan, ix.Name) {
			return ix.Name
		}
	}
	return ""
}

// containsWord reports whether s holds word with no name character on
// either side, so that index "ix" is not found inside "ix2".
func containsWord(s, word string) bool {
	isName := func(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[j+len(word):])
		if (j == 0 || !isName(before)) && (j+len(word) == len(s) || !isName(after)) {
			return true
		}
		i = j + 1
	}
}

// Expiry is an expiry time as a report gives it: RFC 3339 (a year outside
// 0-9999, which RFC 3339 cannot write, as Go formats it), or "-infinity"
// for dialects.MinusInfinity.
type Expiry struct{ time.Time }

const minusInfinity = "-infinity"

func (e Expiry) String() string {
	if e.Equal(dialects.MinusInfinity) {
		return minusInfinity
	}
	return e.UTC().Format(time.RFC3339Nano)
}

func (e Expiry) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

func (e *Expiry) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == minusInfinity {
		e.Time = dialects.MinusInfinity
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	e.Time = t
	return err
}
