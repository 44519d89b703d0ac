package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/keyring"
	"github.com/sessctl/sessctl/schema"
)

// keysReport is verify's report on a key ring table (--layout keys): the
// table's shape, as for every layout, and then the key ring it holds. Its
// findings are the table's, then the key ring's.
type keysReport struct {
	*schema.Report
	// Clock is whose clock the key ring was judged by: "local", the
	// machine sessctl runs on (see verifyKeys).
	Clock string `json:"clock"`
	// KeyRing is nil when the table's shape kept verify from reading it.
	KeyRing *keyRingSummary `json:"key_ring"`
}

// keyRingSummary is keyring.Report without its findings, which keysReport
// lists with the table's.
type keyRingSummary struct {
	Status      string               `json:"status"`
	Usable      bool                 `json:"usable"`
	Now         time.Time            `json:"now"`
	Rows        int                  `json:"rows"`
	KeyCount    int                  `json:"key_count"`
	Loads       bool                 `json:"loads"`
	DefaultKey  *keyring.Key         `json:"default_key"`
	Renewal     keyring.Renewal      `json:"renewal"`
	Keys        []keyring.Key        `json:"keys"`
	Revocations []keyring.Revocation `json:"revocations"`
}

// statusUnusable: the table is fine, but ASP.NET Core has no usable
// default key in it (exit 3, as for an incompatible table).
const statusUnusable = keyring.StatusUnusable

// clockLocal: the key ring is judged by this machine's clock.
const clockLocal = "local"

// verifyKeys checks the key ring table's shape, then reads its rows (a
// plain SELECT) and judges the key ring as ASP.NET Core would now. "Now"
// is this machine's clock, not the database's: each app instance decides
// by its own clock (KeyRingProvider and DefaultKeyResolver read
// DateTimeOffset.UtcNow), and the database's clock takes no part, so
// sessctl's, run beside the app, stands for theirs (SQLite has no other).
func verifyKeys(ctx context.Context, db *schema.DB, tg *target, strict bool) (*keysReport, error) {
	r, err := schema.Verify(ctx, db, tg.table, strict)
	if err != nil {
		return nil, err
	}
	out := &keysReport{Report: r, Clock: clockLocal}
	for _, f := range r.Findings {
		if f.Severity == schema.SeverityError {
			return out, nil // a table the key manager cannot use: its rows are not read
		}
	}
	rows, err := schema.ReadKeys(ctx, db, tg.table)
	if err != nil {
		return nil, err
	}
	kr := keyring.Analyze(rows, time.Now().UTC())
	out.KeyRing = &keyRingSummary{Status: kr.Status, Usable: kr.Usable, Now: kr.Now, Rows: kr.Rows, KeyCount: kr.KeyCount,
		Loads: kr.Loads, DefaultKey: kr.DefaultKey, Renewal: kr.Renewal, Keys: kr.Keys, Revocations: kr.Revocations}
	for _, f := range kr.Findings {
		r.Findings = append(r.Findings, schema.Finding{Severity: schema.Severity(f.Severity), Object: f.Object, Message: f.Message, Fix: f.Fix})
		if f.Severity == keyring.SeverityWarning && strict {
			r.Status = schema.StatusIncompatible
		}
	}
	if kr.Rows == 0 {
		r.Findings = append(r.Findings, emptyRingFinding)
	}
	if f, ok := unwrittenSuccessor(kr); ok {
		r.Findings = append(r.Findings, f)
	}
	if !kr.Usable {
		r.Status = statusUnusable
	}
	return out, nil
}

// emptyRingFinding explains an empty key ring: no instance stores its keys
// here, so the instances do not share keys.
var emptyRingFinding = schema.Finding{Severity: "info", Object: "key ring",
	Message: "the key ring is empty: no app instance has stored a key here. Either the app has not started since the table " +
		"was made, or it keeps its keys elsewhere (another connection string, schema or table, or no PersistKeysToDbContext " +
		"at all); while so, each instance uses keys of its own and rejects the cookies the others protect",
	Fix: "call services.AddDataProtection().PersistKeysToDbContext<TContext>() in every instance, with a DbContext whose " +
		"DbSet<DataProtectionKey> DataProtectionKeys maps to this table, start one instance, and verify again"}

// unwrittenSuccessor explains a default key that expires within a key ring
// refresh period with no successor: an instance that refreshed its key ring
// in that period would have written one (ASP.NET Core 9 and later three
// days ahead, 8 and earlier two), so none writes to this ring, or none has
// been used for a day.
func unwrittenSuccessor(kr *keyring.Report) (schema.Finding, bool) {
	def := kr.DefaultKey
	if def == nil || !kr.Renewal.NewKeyNeeded || !def.Expiration.Before(kr.Now.Add(keyring.KeyRingRefreshPeriod)) {
		return schema.Finding{}, false
	}
	return schema.Finding{Severity: schema.SeverityWarning, Object: "key " + def.ID,
		Message: "no instance has written the default key's successor, though every instance that refreshed its key ring " +
			"(at least once a day while in use) would have: no instance writes its keys to this ring (they keep them " +
			"elsewhere, or run with DisableAutomaticKeyGeneration), or none has been used for a day",
		Fix: "check that every instance calls PersistKeysToDbContext with this table, and that one runs with automatic key generation on"}, true
}

func (a *app) printVerifyKeys(tg *target, r *keysReport) {
	a.printResult(r, func() {
		if a.quiet {
			return
		}
		a.printVerifyLines(tg, r.Report)
		kr := r.KeyRing
		switch {
		case kr == nil && r.Status == schema.StatusMissing:
			fmt.Fprintf(a.stdout, "key ring: not read, as the table does not exist\n")
		case kr == nil:
			fmt.Fprintf(a.stdout, "key ring: not read, as the table is not one ASP.NET Core's key store can use\n")
		case kr.DefaultKey != nil:
			d := kr.DefaultKey
			fmt.Fprintf(a.stdout, "key ring: %s, %s in %s; default key %s expires at %s; judged at %s by this machine's clock\n",
				kr.Status, plural(int64(kr.KeyCount), "key"), plural(int64(kr.Rows), "row"), d.ID, stamp(d.Expiration), stamp(kr.Now))
		default:
			fmt.Fprintf(a.stdout, "key ring: %s, %s in %s; no usable default key; judged at %s by this machine's clock\n",
				kr.Status, plural(int64(kr.KeyCount), "key"), plural(int64(kr.Rows), "row"), stamp(kr.Now))
		}
	})
}

// stamp writes an instant as UTC, to the second, as keyring's findings do.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
