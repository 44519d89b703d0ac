package keyring

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAnalyze feeds arbitrary Xml, next to a NULL row, at an arbitrary
// time, and checks that Analyze never panics and that its verdict is
// consistent: usable exactly when a default key is named, and that key
// usable by ASP.NET Core's rule.
//
//	go test ./keyring -run '^$' -fuzz FuzzAnalyze -fuzztime 60s
func FuzzAnalyze(f *testing.F) {
	now := at("2025-06-01T12:00:00Z")
	seeds := append([]string{
		aspnetcoreBadRevocation, aspnetcoreRevokeAll, aspnetcoreNullEncrypted, issue33071First, issue33071Second,
		learnRevokeOne, learnRevokeAll, newKey(idA, now.Add(-time.Hour), secretUnencrypted),
		newKey(idB, now.Add(-time.Hour), secretDPAPI), newKey(idC, now.Add(-time.Hour), secretCertificate),
		efKey(idA, now, now.Add(time.Hour), now.Add(DefaultKeyLifetime), secretAzureKeyVault), efRevokeKey(idA, now), efRevokeAll(now),
		`<!DOCTYPE a [<!ENTITY e "x">]><key id="` + idA + `">&e;</key>`, "", "   ", "<key", "<a><b></a></b>",
	}, aspnetcoreRevocations...)
	seeds = append(seeds, aspnetcoreBadDateKeys...)
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], now.Unix())
	}
	// A key and what revokes it.
	f.Add(newKey(idA, now.Add(-time.Hour), secretCertificate), efRevokeKey(idA, now), now.Unix())
	f.Add(newKey(idA, now.Add(-time.Hour), secretCertificate), efRevokeAll(now), now.Unix())
	f.Fuzz(func(t *testing.T, a, b string, unix int64) {
		// Any instant in years 1970 to 2370.
		when := time.Unix(unix%(400*365*24*3600), 0).UTC()
		if when.Before(time.Unix(0, 0)) {
			when = when.AddDate(400, 0, 0)
		}
		rs := rows(a, b)
		rs = append(rs, Row{ID: 3})
		r := Analyze(rs, when)

		if r.Usable != (r.DefaultKey != nil) || r.Usable != (r.Status == StatusUsable) {
			t.Fatalf("usable %v, status %q, default key %v", r.Usable, r.Status, r.DefaultKey)
		}
		if r.Usable {
			d := r.DefaultKey
			if !r.Loads || d.Revoked != NotRevoked || !d.DescriptorOK || !d.Expiration.After(when) || d.Activation.After(when.Add(MaxServerClockSkew)) {
				t.Fatalf("default key not usable at %v (loads %v): %+v", when, r.Loads, *d)
			}
		}
		if r.Renewal.NewKeyNeeded && !r.Renewal.Due {
			t.Fatalf("a new key needed though none is due: %+v", r.Renewal)
		}
		if r.KeyCount != len(r.Keys) || r.Rows != 3 {
			t.Fatalf("key count %d, %d listed, rows %d", r.KeyCount, len(r.Keys), r.Rows)
		}
		noDefault := false
		for _, f := range r.Findings {
			if f.Message == "" || (f.Severity != SeverityError && f.Severity != SeverityWarning && f.Severity != SeverityInfo) {
				t.Fatalf("bad finding %+v", f)
			}
			noDefault = noDefault || f.code == "no-default"
		}
		if noDefault == r.Usable {
			t.Fatalf("usable %v but no-default finding %v", r.Usable, noDefault)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
