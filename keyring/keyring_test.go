package keyring

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// want is what a case expects of the report. Every field is checked, so a
// zero value is an expectation too.
type want struct {
	usable    bool
	broken    bool   // the ring does not load
	defaultID string // "" when !usable
	due       bool
	newKey    bool
	successor string
	keys      int
	has       []string          // finding codes that must be there ("code" or "code/severity")
	not       []string          // finding codes that must not be there
	says      map[string]string // code → text its message must contain
	fixes     map[string]string // code → text its fix must contain
	protected map[string]Protection
	revoked   map[string]Revoked
}

type testCase struct {
	name string
	rows []Row
	now  time.Time
	want want
}

func check(t *testing.T, c testCase) {
	t.Helper()
	r := Analyze(c.rows, c.now)
	w := c.want
	if r.Usable != w.usable || (r.Status == StatusUsable) != w.usable {
		t.Errorf("usable = %v (status %q), want %v", r.Usable, r.Status, w.usable)
	}
	if r.Loads == w.broken {
		t.Errorf("loads = %v, want %v", r.Loads, !w.broken)
	}
	got := ""
	if r.DefaultKey != nil {
		got = r.DefaultKey.ID
	}
	if got != w.defaultID {
		t.Errorf("default key = %q, want %q", got, w.defaultID)
	}
	if r.Renewal.Due != w.due || r.Renewal.NewKeyNeeded != w.newKey {
		t.Errorf("renewal due/new key = %v/%v, want %v/%v", r.Renewal.Due, r.Renewal.NewKeyNeeded, w.due, w.newKey)
	}
	got = ""
	if r.Renewal.Successor != nil {
		got = r.Renewal.Successor.ID
	}
	if got != w.successor {
		t.Errorf("successor = %q, want %q", got, w.successor)
	}
	if r.KeyCount != w.keys || len(r.Keys) != w.keys {
		t.Errorf("keys = %d (%d listed), want %d", r.KeyCount, len(r.Keys), w.keys)
	}
	codes := map[string]Finding{}
	for _, f := range r.Findings {
		codes[f.code] = f
		codes[f.code+"/"+string(f.Severity)] = f
	}
	for _, c := range w.has {
		if _, ok := codes[c]; !ok {
			t.Errorf("no finding %s; findings: %s", c, dump(r.Findings))
		}
	}
	for _, c := range w.not {
		if f, ok := codes[c]; ok {
			t.Errorf("unexpected finding %s: %s", c, f.Message)
		}
	}
	for code, text := range w.says {
		if f, ok := codes[code]; !ok || !strings.Contains(f.Message, text) {
			t.Errorf("finding %s does not say %q: %q", code, text, f.Message)
		}
	}
	for code, text := range w.fixes {
		if f, ok := codes[code]; !ok || !strings.Contains(f.Fix, text) {
			t.Errorf("finding %s's fix does not say %q: %q", code, text, f.Fix)
		}
	}
	byID := map[string]Key{}
	for _, k := range r.Keys {
		byID[k.ID] = k
	}
	for id, p := range w.protected {
		if byID[id].Protection != p {
			t.Errorf("key %s protection = %q, want %q", id, byID[id].Protection, p)
		}
	}
	for id, rv := range w.revoked {
		k, ok := byID[id]
		if !ok || k.Revoked != rv {
			t.Errorf("key %s revoked = %q (found %v), want %q", id, k.Revoked, ok, rv)
		}
	}
	if r.Usable {
		d := r.DefaultKey
		if d.Revoked != NotRevoked || !d.Expiration.After(c.now) || d.Activation.After(c.now.Add(MaxServerClockSkew)) {
			t.Errorf("the default key is not usable now: %+v", *d)
		}
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n  " + f.code + "/" + string(f.Severity) + ": " + f.Message)
	}
	return b.String()
}

func TestAnalyze(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	day := 24 * time.Hour
	fresh := newKey(idA, now.Add(-time.Hour), secretCertificate)
	ist := time.FixedZone("IST", 5*3600+1800)

	cases := []testCase{
		{
			name: "a fresh ring: one key, activated at once, encrypted to a certificate",
			rows: rows(fresh), now: now,
			want: want{usable: true, defaultID: idA, keys: 1,
				has:       []string{"default/info", "protection/info"},
				not:       []string{"no-default", "renewal-due", "renewal-ready", "unencrypted", "expired"},
				says:      map[string]string{"protection": "1 certificate"},
				protected: map[string]Protection{idA: ProtectionCertificate}},
		},
		{
			name: "the only key has expired",
			rows: rows(newKey(idA, now.Add(-91*day), secretUnencrypted)), now: now,
			want: want{due: true, newKey: true, keys: 1,
				has:  []string{"no-default/error", "expired/info", "unencrypted/warning"},
				says: map[string]string{"no-default": "expired at 2025-05-31"}},
		},
		{
			name: "an empty table",
			rows: nil, now: now,
			want: want{due: true, newKey: true,
				has:  []string{"no-default/error"},
				says: map[string]string{"no-default": "the table holds no keys"}},
		},
		{
			name: "about to need a key, and no successor (dotnet/aspnetcore#33071, first key alone)",
			rows: rows(issue33071First), now: at("2020-07-21T12:00:00Z"),
			want: want{usable: true, defaultID: "36c1e414-5b3c-438a-8b07-73ec5a528486", due: true, newKey: true, keys: 1,
				has:       []string{"renewal-due/warning", "unencrypted/warning"},
				not:       []string{"renewal-ready"},
				says:      map[string]string{"renewal-due": "no key takes over", "unencrypted": "marked requiresEncryption"},
				protected: map[string]Protection{"36c1e414-5b3c-438a-8b07-73ec5a528486": ProtectionUnencrypted}},
		},
		{
			name: "about to need a key, and its successor is there (dotnet/aspnetcore#33071)",
			rows: rows(issue33071First, issue33071Second), now: at("2020-07-21T12:00:00Z"),
			want: want{usable: true, defaultID: "36c1e414-5b3c-438a-8b07-73ec5a528486", due: true, keys: 2,
				successor: "099f105a-e590-4e66-90d7-0883e8e2db72",
				has:       []string{"renewal-ready/info"},
				not:       []string{"renewal-due"}},
		},
		{
			name: "the successor is preferred 5 minutes before it activates (clock skew), to the tick",
			rows: rows(issue33071First, issue33071Second), now: at("2020-07-22T12:26:13.543231Z"),
			want: want{usable: true, defaultID: "099f105a-e590-4e66-90d7-0883e8e2db72", keys: 2},
		},
		{
			name: "a tick earlier the old key is still the default",
			rows: rows(issue33071First, issue33071Second), now: at("2020-07-22T12:26:13.5432309Z"),
			want: want{usable: true, defaultID: "36c1e414-5b3c-438a-8b07-73ec5a528486", due: true, keys: 2,
				successor: "099f105a-e590-4e66-90d7-0883e8e2db72", has: []string{"renewal-ready"}},
		},
		{
			name: "a key that expires now is expired (IsExpired: expiration <= now)",
			rows: rows(efKey(idA, now.Add(-10*day), now.Add(-10*day), now, secretCertificate)), now: now,
			want: want{due: true, newKey: true, keys: 1, has: []string{"no-default", "expired"}},
		},
		{
			name: "a key that expires one tick after now is the default, and due",
			rows: rows(efKey(idA, now.Add(-10*day), now.Add(-10*day), now.Add(100*time.Nanosecond), secretCertificate)), now: now,
			want: want{usable: true, defaultID: idA, due: true, newKey: true, keys: 1, has: []string{"renewal-due"}, not: []string{"expired"}},
		},
		{
			name: "about to need a key, and the successor expires inside the renewal window too",
			rows: rows(
				efKey(idA, now.Add(-89*day), now.Add(-89*day), now.Add(day), secretCertificate),
				efKey(idB, now.Add(-time.Hour), now.Add(day), now.Add(2*day), secretCertificate)),
			now: now,
			want: want{usable: true, defaultID: idA, due: true, newKey: true, successor: idB, keys: 2,
				has: []string{"renewal-due/warning"}, not: []string{"renewal-ready"},
				says: map[string]string{"renewal-due": "its successor " + idB + " (row 2) expires at 2025-06-03 12:00:00Z"}},
		},
		{
			name: "renewal window: expiring just inside now + 24h refresh + 48h propagation is due",
			rows: rows(efKey(idA, now.Add(-80*day), now.Add(-80*day), now.Add(72*time.Hour-time.Second), secretCertificate)), now: now,
			want: want{usable: true, defaultID: idA, due: true, newKey: true, keys: 1, has: []string{"renewal-due"}},
		},
		{
			name: "renewal window: expiring at its end is not due yet",
			rows: rows(efKey(idA, now.Add(-80*day), now.Add(-80*day), now.Add(72*time.Hour), secretCertificate)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, not: []string{"renewal-due", "renewal-ready"}},
		},
		{
			name: "only a key that activates in the future, beyond the clock skew",
			rows: rows(efKey(idA, now, now.Add(time.Hour), now.Add(90*day), secretCertificate)), now: now,
			want: want{due: true, newKey: true, keys: 1, has: []string{"no-default/error"},
				says: map[string]string{"no-default": "no key is active yet"}},
		},
		{
			name: "only a key that activates within the clock skew is already the default",
			rows: rows(efKey(idA, now, now.Add(MaxServerClockSkew), now.Add(90*day), secretCertificate)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1},
		},
		{
			name: "only a key that activates a tick past the clock skew",
			rows: rows(efKey(idA, now, now.Add(MaxServerClockSkew+100*time.Nanosecond), now.Add(90*day), secretCertificate)), now: now,
			want: want{due: true, newKey: true, keys: 1, has: []string{"no-default"}},
		},
		{
			name: "aspnetcore XmlKeyManagerTests revocations: the key created at the revocation date survives",
			rows: rows(aspnetcoreRevocations...), now: at("2017-02-15T00:00:00Z"),
			want: want{usable: true, defaultID: "21580ac4-c83a-493c-bde6-29a1cc97ca0f", due: false, keys: 4,
				has: []string{"revoked/info"},
				revoked: map[string]Revoked{
					"67f9cdea-83ba-41ed-b160-2b1d0ea30251": RevokedByDate, "0cf83742-d175-42a8-94b5-1ec049b354c3": RevokedByDate,
					"21580ac4-c83a-493c-bde6-29a1cc97ca0f": NotRevoked, "6bd14f12-0bb8-4822-91d7-04b360de0497": RevokedByID,
				},
				protected: map[string]Protection{"21580ac4-c83a-493c-bde6-29a1cc97ca0f": ProtectionUnknown}},
		},
		{
			name: "a revoked default key (by id): no fallback to an older key",
			rows: rows(aspnetcoreRevocations...), now: at("2018-02-15T00:00:00Z"),
			want: want{due: true, newKey: true, keys: 4, has: []string{"no-default/error"},
				says: map[string]string{"no-default": "6bd14f12-0bb8-4822-91d7-04b360de0497 (row 4, active since 2018-02-01 00:00:00Z), is revoked;"}},
		},
		{
			name: "a revoked default key (by date)",
			rows: rows(aspnetcoreRevocations...), now: at("2016-02-15T00:00:00Z"),
			want: want{due: true, newKey: true, keys: 4, has: []string{"no-default/error"},
				says: map[string]string{"no-default": "created before 2017-01-01 00:00:00Z, the date of a revocation of all keys"}},
		},
		{
			name: "a key revoked as XmlKeyManager.RevokeKey writes it",
			rows: rows(fresh, efRevokeKey(idA, now.Add(-time.Minute))), now: now,
			want: want{due: true, newKey: true, keys: 1, has: []string{"no-default", "revoked"},
				revoked: map[string]Revoked{idA: RevokedByID}},
		},
		{
			name: "revocation of all keys at -07:00 (Learn): compared as instants, not wall clocks",
			rows: rows(
				efKey(idB, at("2015-03-20T22:45:45Z"), at("2015-03-20T22:45:45Z"), at("2015-06-18T22:45:45Z"), secretCertificate),
				efKey(idC, at("2015-03-20T16:00:00-07:00"), at("2015-03-20T16:00:00-07:00"), at("2015-06-18T16:00:00-07:00"), secretCertificate),
				learnRevokeAll),
			now: at("2015-04-01T00:00:00Z"),
			want: want{usable: true, defaultID: idC, keys: 2,
				revoked: map[string]Revoked{idB: RevokedByDate, idC: NotRevoked}},
		},
		{
			name: "revocation of all keys at -08:00 (aspnetcore RevokeAllKeys test)",
			rows: rows(
				efKey(idA, at("2015-03-02T03:00:00Z"), at("2015-03-02T03:00:00Z"), at("2015-05-31T03:00:00Z"), secretCertificate),
				efKey(idB, at("2015-03-01T19:30:00-08:00"), at("2015-03-01T19:30:00-08:00"), at("2015-05-30T19:30:00-08:00"), secretCertificate),
				aspnetcoreRevokeAll),
			now:  at("2015-03-10T00:00:00Z"),
			want: want{usable: true, defaultID: idB, keys: 2, revoked: map[string]Revoked{idA: RevokedByDate, idB: NotRevoked}},
		},
		{
			name: "a revocation of a key that is not there (Learn's example)",
			rows: rows(fresh, learnRevokeOne), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"revocation-unknown/info"},
				says: map[string]string{"revocation-unknown": "bbbbbbbb-1c1c-2d2d-3e3e-444444444444"}},
		},
		{
			name: "a revocation of all keys dated in the future revokes the keys there now",
			rows: rows(fresh, efRevokeAll(now.Add(day))), now: now,
			want: want{due: true, newKey: true, keys: 1, has: []string{"future-revocation/warning", "no-default"},
				revoked: map[string]Revoked{idA: RevokedByDate}},
		},
		{
			name: "dates at +05:30 that read as future wall-clock times are in the past",
			rows: rows(efKey(idA, time.Date(2025, 6, 1, 12, 0, 0, 0, ist), time.Date(2025, 6, 1, 12, 0, 0, 0, ist), time.Date(2025, 8, 30, 12, 0, 0, 0, ist), secretCertificate)),
			now:  at("2025-06-01T07:00:00Z"),
			want: want{usable: true, defaultID: idA, keys: 1, not: []string{"no-offset"}},
		},
		{
			name: "dates without an offset are read as UTC, with a warning",
			rows: rows(`<key id="` + idA + `" version="1"><creationDate>2025-06-01T06:30:00</creationDate><activationDate>2025-06-01T06:30:00</activationDate><expirationDate>2025-08-30T06:30:00.1234567</expirationDate><descriptor deserializerType="x"><descriptor>` + secretCertificate + `</descriptor></descriptor></key>`),
			now:  at("2025-06-01T07:00:00Z"),
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"no-offset/warning"},
				says: map[string]string{"no-offset": "<expirationDate> 2025-08-30T06:30:00.1234567"}},
		},
		{
			name: "equal activation dates: the lower key id wins, whatever the GUID's spelling",
			rows: rows(
				efKey(idB, now.Add(-day), now.Add(-day), now.Add(89*day), secretCertificate),
				efKey("{"+strings.ToUpper(idA)+"}", now.Add(-day), now.Add(-day), now.Add(89*day), secretCertificate)),
			now:  now,
			want: want{usable: true, defaultID: idA, keys: 2},
		},
		{
			name: "aspnetcore: a key with an unreadable date is left out, the next one loads",
			rows: rows(aspnetcoreBadDateKeys...), now: at("2015-02-15T00:00:00Z"),
			want: want{usable: true, defaultID: "49c0cda9-0232-4d8c-a541-de20cc5a73d6", keys: 1, has: []string{"bad-key/warning"},
				says: map[string]string{"bad-key": `"NOT A VALID DATE"`}},
		},
		{
			name: "aspnetcore: an unreadable revocation stops the ring from loading",
			rows: rows(fresh, aspnetcoreBadRevocation), now: now,
			want: want{broken: true, due: true, keys: 1, has: []string{"bad-revocation/error", "no-default/error"}},
		},
		{
			name: "a key stored twice stops the ring from loading",
			rows: rows(fresh, fresh), now: now,
			want: want{broken: true, due: true, keys: 2, has: []string{"duplicate/error", "no-default/error"},
				says: map[string]string{"duplicate": "is in rows 1, 2"}},
		},
		{
			name: "a second copy ASP.NET Core cannot read is no duplicate: it is skipped first",
			rows: rows(fresh, strings.Replace(fresh, "<expirationDate>", "<expirationDate>x", 1)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"bad-key"}, not: []string{"duplicate"}},
		},
		{
			name: "NULL and empty Xml are skipped, as the EF store skips them",
			rows: append(rows(fresh, ""), Row{ID: 3}), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"no-xml/info"},
				says: map[string]string{"no-xml": "row 2 (empty); row 3 (NULL)"}},
		},
		{
			name: "elements that are neither keys nor revocations, a key in a namespace among them",
			rows: rows(fresh, `<repository />`, `<key xmlns="urn:other" id="`+idB+`"/>`), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"foreign/warning"},
				says: map[string]string{"foreign": "row 3 holds <{urn:other}key>"}},
		},
		{
			name: "a DOCTYPE without entities: reported, and read",
			rows: rows(`<!DOCTYPE key>` + fresh), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"doctype/warning"}, not: []string{"unchecked", "malformed"}},
		},
		{
			name: "billion laughs: entities are never expanded, the row is not checked",
			rows: rows(fresh, `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><key id="`+idB+`">&lol3;</key>`), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"doctype", "unchecked/warning"}, not: []string{"malformed"}},
		},
		{
			name: "nesting past MaxDepth is not followed",
			rows: rows(fresh, strings.Repeat("<a>", MaxDepth+1)+strings.Repeat("</a>", MaxDepth+1)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"unchecked"}, says: map[string]string{"unchecked": "deeper than 32"}},
		},
		{
			name: "more elements than a key has are not followed",
			rows: rows(fresh, "<key>"+strings.Repeat("<a/>", maxNodes)+"</key>"), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"unchecked"}, says: map[string]string{"unchecked": "more than 4096 elements"}},
		},
		{
			name: "Xml over MaxXMLBytes is not parsed",
			rows: rows(fresh, "<key>"+strings.Repeat("A", MaxXMLBytes)+"</key>"), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"unchecked"}, says: map[string]string{"unchecked": "over the 1048576 bytes"}},
		},
		{
			name: "each decryptor named, DPAPI flagged for a shared table, unknown ones reported",
			rows: rows(
				efKey(idA, now.Add(-3*day), now.Add(-3*day), now.Add(87*day), secretDPAPI),
				efKey(idB, now.Add(-2*day), now.Add(-2*day), now.Add(88*day), secretDPAPING),
				efKey(idC, now.Add(-day), now.Add(-day), now.Add(89*day), secretAzureKeyVault),
				efKey("dddddddd-3e3e-4f4f-5a5a-666666666666", now.Add(-4*day), now.Add(-4*day), now.Add(86*day), secretCustom),
			), now: now,
			want: want{usable: true, defaultID: idC, keys: 4,
				has: []string{"dpapi/warning", "custom-protection/info"},
				not: []string{"unencrypted"},
				says: map[string]string{"protection": "1 azure-key-vault, 1 custom, 1 dpapi, 1 dpapi-ng",
					"custom-protection": "Contoso.DataProtection.KmsXmlDecryptor"},
				protected: map[string]Protection{idA: ProtectionDPAPI, idB: ProtectionDPAPING, idC: ProtectionAzureKeyVault,
					"dddddddd-3e3e-4f4f-5a5a-666666666666": ProtectionCustom}},
		},
		{
			name: "unencrypted: the fix names what to configure",
			rows: rows(newKey(idA, now.Add(-time.Hour), secretUnencrypted)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"unencrypted/warning"},
				says: map[string]string{"unencrypted": "key " + idA + " (row 1: <masterKey> is marked requiresEncryption"},
				fixes: map[string]string{"unencrypted": "ProtectKeysWithCertificate(certificate), ProtectKeysWithAzureKeyVault(keyIdentifier, credential) " +
					"or, on Windows, ProtectKeysWithDpapi()"},
				protected: map[string]Protection{idA: ProtectionUnencrypted}},
		},
		{
			name: "aspnetcore: NullXmlEncryptor wraps the secret without encrypting it",
			rows: rows(aspnetcoreNullEncrypted), now: at("2014-02-15T00:00:00Z"),
			want: want{usable: true, defaultID: "3d6d01fd-c0e7-44ae-82dd-013b996b4093", keys: 1, has: []string{"unencrypted"},
				says:      map[string]string{"unencrypted": "NullXmlEncryptor"},
				protected: map[string]Protection{"3d6d01fd-c0e7-44ae-82dd-013b996b4093": ProtectionUnencrypted}},
		},
		{
			name: "an encrypted secret next to a plain master key is unencrypted",
			rows: rows(newKey(idA, now.Add(-time.Hour), secretCertificate+secretUnencrypted)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"unencrypted"},
				protected: map[string]Protection{idA: ProtectionUnencrypted}},
		},
		{
			name: "the most recent key has no descriptor: no default, though an older key would do",
			rows: rows(
				newKey(idA, now.Add(-10*day), secretCertificate),
				`<key id="`+idB+`" version="1"><creationDate>`+xsdTime(now.Add(-day))+`</creationDate><activationDate>`+xsdTime(now.Add(-day))+`</activationDate><expirationDate>`+xsdTime(now.Add(89*day))+`</expirationDate></key>`),
			now: now,
			want: want{due: true, newKey: true, keys: 2, has: []string{"bad-descriptor/warning", "no-default/error"},
				says: map[string]string{"no-default": "cannot be read: it has no <descriptor>"}},
		},
		{
			name: "a key created in the future: a server's clock is ahead",
			rows: rows(efKey(idA, now.Add(time.Hour), now.Add(-time.Minute), now.Add(90*day), secretCertificate)), now: now,
			want: want{usable: true, defaultID: idA, keys: 1, has: []string{"future-creation/warning"}},
		},
		// Ported from dotnet/aspnetcore DefaultKeyResolverTests
		// (…/KeyManagement/DefaultKeyResolverTests.cs @ fc812663b6c74c45aee7752615177d3016ef5239),
		// keys written as rows (their mocks' creation date is
		// DateTimeOffset.MinValue; here two days before activation).
		{
			name: "DefaultKeyResolverTests ValidExistingKey_ReturnsExistingKey",
			rows: resolverKeys([2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"}, [2]string{"2016-03-01T00:00:00Z", "2017-03-01T00:00:00Z"}),
			now:  at("2016-02-20T23:59:00Z"),
			want: want{usable: true, defaultID: idA, successor: idB, keys: 2},
		},
		{
			name: "DefaultKeyResolverTests AllowsForClockSkew_KeysStraddleSkewLine",
			rows: resolverKeys([2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"}, [2]string{"2016-03-01T00:00:00Z", "2017-03-01T00:00:00Z"}),
			now:  at("2016-02-29T23:59:00Z"),
			want: want{usable: true, defaultID: idB, keys: 2},
		},
		{
			name: "DefaultKeyResolverTests AllowsForClockSkew_AllKeysInFuture",
			rows: resolverKeys([2]string{"2016-03-01T00:00:00Z", "2017-03-01T00:00:00Z"}),
			now:  at("2016-02-29T23:59:00Z"),
			want: want{usable: true, defaultID: idA, keys: 1},
		},
		{
			name: "DefaultKeyResolverTests FutureKeyIsValidAndWithinClockSkew",
			rows: resolverKeys([2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"}),
			now:  at("2015-02-28T23:55:00Z"),
			want: want{usable: true, defaultID: idA, keys: 1},
		},
		{
			name: "DefaultKeyResolverTests FutureKeyIsValidButNotWithinClockSkew",
			rows: resolverKeys([2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"}),
			now:  at("2015-02-28T23:00:00Z"),
			want: want{due: true, newKey: true, keys: 1, has: []string{"no-default"}},
		},
		{
			name: "DefaultKeyResolverTests IgnoresExpiredOrRevokedFutureKeys",
			rows: append(resolverKeys(
				[2]string{"2015-03-01T00:00:00Z", "2014-03-01T00:00:00Z"},
				[2]string{"2015-03-01T00:01:00Z", "2015-04-01T00:00:00Z"},
				[2]string{"2015-03-01T00:02:00Z", "2015-04-01T00:00:00Z"}),
				Row{ID: 4, XML: sql.NullString{String: efRevokeKey(idB, at("2015-01-01T00:00:00Z")), Valid: true}}),
			now:  at("2015-02-28T23:59:00Z"),
			want: want{usable: true, defaultID: idC, keys: 3, has: []string{"backwards/warning"}},
		},
		{
			name: "DefaultKeyResolverTests MostRecentKeyIsInvalid_BecauseOfRevocation",
			rows: append(resolverKeys([2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"}, [2]string{"2015-03-02T00:00:00Z", "2016-03-01T00:00:00Z"}),
				Row{ID: 3, XML: sql.NullString{String: efRevokeKey(idB, at("2015-03-03T00:00:00Z")), Valid: true}}),
			now:  at("2015-04-01T00:00:00Z"),
			want: want{due: true, newKey: true, keys: 2, has: []string{"no-default"}},
		},
		{
			name: "DefaultKeyResolverTests NoLegitimateSuccessor: a new key is needed",
			rows: append(resolverKeys(
				[2]string{"2015-03-01T00:00:00Z", "2016-03-01T00:00:00Z"},
				[2]string{"2016-03-01T00:00:00Z", "2017-03-01T00:00:00Z"},
				[2]string{"2016-03-01T00:00:00Z", "2016-03-02T00:00:00Z"}),
				Row{ID: 4, XML: sql.NullString{String: efRevokeKey(idB, at("2016-01-01T00:00:00Z")), Valid: true}}),
			now:  at("2016-02-29T23:50:00Z"),
			want: want{usable: true, defaultID: idA, due: true, newKey: true, keys: 3, has: []string{"renewal-due"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c) })
	}
}

// resolverKeys writes keys idA, idB, idC … with the given activation and
// expiration dates.
func resolverKeys(dates ...[2]string) []Row {
	ids := []string{idA, idB, idC}
	var xml []string
	for i, d := range dates {
		act := at(d[0])
		xml = append(xml, efKey(ids[i], act.Add(-48*time.Hour), act, at(d[1]), secretCertificate))
	}
	return rows(xml...)
}

// Rows that XElement.Parse refuses: each stops the ring from loading, even
// next to a good key.
func TestMalformedRowsStopTheRing(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	fresh := newKey(idA, now.Add(-time.Hour), secretCertificate)
	for _, x := range []string{
		`<key`,
		`   `,
		`not xml`,
		`<key/><key/>`,
		`<key/>text`,
		`<p:key xmlns:q="urn:q"/>`,
		`<key p:id="1"/>`,
		`<key></yek>`,
		`<key a="1" a="2"/>`,
		`<key xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>`,
		`<key xmlns:p=""/>`,
		`<key xmlns:p="urn:a" xmlns:p="urn:b"/>`,
		`<key/><?xml version="1.0"?>`,
		`<key>&unknown;</key>`,
		`<key>` + "\x01" + `</key>`,
		"<key>\xff</key>",
		`<!ENTITY x "y"><key/>`,
		`<key/><!DOCTYPE key>`,
	} {
		t.Run(x, func(t *testing.T) {
			check(t, testCase{rows: rows(fresh, x), now: now,
				want: want{broken: true, due: true, keys: 1, has: []string{"malformed/error", "no-default/error"}, not: []string{"unchecked"}}})
		})
	}
}

// Rows that are well-formed in odd ways still read.
func TestWellFormedVariantsRead(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	k := newKey(idA, now.Add(-time.Hour), secretCertificate)
	for _, x := range []string{
		`<?xml version="1.0" encoding="utf-16"?>` + k,
		"\uFEFF" + k,
		"<!-- a comment -->\n" + k + "\n<?pi after?>",
		strings.Replace(k, idA, " "+strings.ToUpper(strings.ReplaceAll(idA, "-", ""))+" ", 1),
		strings.Replace(k, idA, "("+idA+")", 1),
		strings.Replace(k, "<creationDate>", "<creationDate><![CDATA[", 1) + "",
	} {
		if strings.Contains(x, "<![CDATA[") {
			x = strings.Replace(x, "</creationDate>", "]]></creationDate>", 1)
		}
		t.Run(x[:20], func(t *testing.T) {
			check(t, testCase{rows: rows(x), now: now,
				want: want{usable: true, defaultID: idA, keys: 1, not: []string{"malformed", "unchecked", "bad-key"}}})
		})
	}
}

// Each sign of a master key in the clear is enough on its own.
func TestUnencryptedSigns(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	for secret, want := range map[string]Protection{
		// The attribute alone (on an element of another name).
		`<secret p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><value>AA==</value></secret>`: ProtectionUnencrypted,
		// The attribute in another namespace is not the mark.
		`<secret p4:requiresEncryption="true" xmlns:p4="urn:other"><value>AA==</value></secret>`: ProtectionUnknown,
		// A <masterKey> alone (the mark and the comment stripped).
		`<masterKey><value>AA==</value></masterKey>`: ProtectionUnencrypted,
		// The comment alone.
		`<secret><!-- Warning: the key below is in an unencrypted form. --><value>AA==</value></secret>`: ProtectionUnencrypted,
		// The same inside a real encrypted secret is ciphertext's business.
		`<encryptedSecret decryptorType="Microsoft.AspNetCore.DataProtection.XmlEncryption.EncryptedXmlDecryptor, Microsoft.AspNetCore.DataProtection" xmlns="http://schemas.asp.net/2015/03/dataProtection"><masterKey xmlns=""><!-- Warning: the key below is in an unencrypted form. --></masterKey></encryptedSecret>`: ProtectionCertificate,
		secretCertificate: ProtectionCertificate,
	} {
		r := Analyze(rows(newKey(idA, now.Add(-time.Hour), secret)), now)
		if len(r.Keys) != 1 || r.Keys[0].Protection != want {
			t.Errorf("%s: keys %+v, want protection %q", secret, r.Keys, want)
		}
	}
}

// Keys ProcessKeyElement cannot read are left out; keys whose descriptor
// DeserializeDescriptorFromKeyElement cannot read load but can never be
// the default key.
func TestUnreadableKeys(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	good := newKey(idA, now.Add(-time.Hour), secretCertificate)
	for _, c := range []struct {
		name, xml, code, says string
	}{
		{"no id", strings.Replace(good, ` id="`+idA+`"`, "", 1), "bad-key", "it has no id attribute"},
		{"an id in a namespace is not the id", strings.Replace(good, ` id="`, ` xmlns:p="urn:p" p:id="`, 1), "bad-key", "it has no id attribute"},
		{"an id that is no GUID", strings.Replace(good, idA, "key-1", 1), "bad-key", `its id "key-1" is not a GUID`},
		{"no creationDate", strings.Replace(strings.Replace(good, "<creationDate>", "<created>", 1), "</creationDate>", "</created>", 1), "bad-key", "it has no <creationDate>"},
		{"a nested activationDate does not count", strings.Replace(strings.Replace(good, "<activationDate>", "<x><activationDate>", 1), "</activationDate>", "</activationDate></x>", 1), "bad-key", "it has no <activationDate>"},
		{"a creationDate in a namespace does not count", strings.Replace(strings.Replace(good, "<creationDate>", `<creationDate xmlns="urn:p">`, 1), "</creationDate>", "</creationDate>", 1), "bad-key", "it has no <creationDate>"},
		{"no expirationDate", strings.Replace(good, "expirationDate>", "expiry>", 2), "bad-key", "it has no <expirationDate>"},
		{"no deserializerType", strings.Replace(good, "deserializerType=", "type=", 1), "bad-descriptor", "names no deserializerType"},
		{"two descriptors inside", strings.Replace(good, "</descriptor></descriptor>", "</descriptor><descriptor/></descriptor>", 1), "bad-descriptor", "has 2 child elements, not one"},
		{"an encryptedSecret without decryptorType", strings.Replace(good, "decryptorType=", "type=", 1), "bad-descriptor", "names no decryptorType"},
		{"an encryptedSecret of two elements", strings.Replace(good, "</EncryptedData>", "</EncryptedData><more/>", 1), "bad-descriptor", "holds 2 elements, not one"},
		{"an empty encryptedSecret", newKey(idA, now.Add(-time.Hour), `<encryptedSecret decryptorType="x" xmlns="http://schemas.asp.net/2015/03/dataProtection"></encryptedSecret>`), "bad-descriptor", "holds 0 elements, not one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			keys := 0
			if c.code == "bad-descriptor" {
				keys = 1
			}
			check(t, testCase{rows: rows(c.xml), now: now, want: want{due: true, newKey: true, keys: keys,
				has: []string{c.code + "/warning", "no-default"}, says: map[string]string{c.code: c.says}}})
		})
	}
}

func TestDecryptorKinds(t *testing.T) {
	for name, want := range map[string]Protection{
		"Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiXmlDecryptor, Microsoft.AspNetCore.DataProtection, Version=8.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60": ProtectionDPAPI,
		"Microsoft.AspNet.DataProtection.XmlEncryption.DpapiXmlDecryptor, Microsoft.AspNet.DataProtection, Version=1.0.0.0":                                                           ProtectionDPAPI,
		" Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiNGXmlDecryptor ":                                                                                                     ProtectionDPAPING,
		"Microsoft.AspNetCore.DataProtection.XmlEncryption.EncryptedXmlDecryptor, Microsoft.AspNetCore.DataProtection":                                                                ProtectionCertificate,
		"Microsoft.AspNetCore.DataProtection.XmlEncryption.NullXmlDecryptor, Microsoft.AspNetCore.DataProtection":                                                                     ProtectionUnencrypted,
		"Microsoft.AspNetCore.DataProtection.AzureKeyVault.AzureKeyVaultXmlDecryptor, Microsoft.AspNetCore.DataProtection.AzureKeyVault, Version=2.2.0.0":                             ProtectionAzureKeyVault,
		"Microsoft.AspNetCore.DataProtection.Azure.KeyVault.AzureKeyVaultXmlDecryptor, Microsoft.AspNetCore.DataProtection.Azure.KeyVault.Keys":                                       ProtectionAzureKeyVault,
		"Azure.Extensions.AspNetCore.DataProtection.Keys.AzureKeyVaultXmlDecryptor, Azure.Extensions.AspNetCore.DataProtection.Keys":                                                  ProtectionAzureKeyVault,
		"Contoso.DpapiXmlDecryptor, Contoso": ProtectionCustom,
		"":                                   ProtectionCustom,
	} {
		if got := decryptorKind(name); got != want {
			t.Errorf("decryptorKind(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   string // RFC 3339 UTC, or "" for an error
		offset bool
	}{
		{"2015-03-19T23:32:02.3949887Z", "2015-03-19T23:32:02.3949887Z", true},
		{"2015-03-01T19:13:19.7573854-08:00", "2015-03-02T03:13:19.7573854Z", true},
		{"2025-06-01T12:00:00+05:30", "2025-06-01T06:30:00Z", true},
		{" 9999-12-31T00:00:00.00Z\n", "9999-12-31T00:00:00Z", true},
		{"2015-01-01T00:00:00", "2015-01-01T00:00:00Z", false},
		{"2015-01-01", "2015-01-01T00:00:00Z", false},
		{"2015-01-01Z", "2015-01-01T00:00:00Z", true},
		{"2015-01-01T00:00:00.123456789123Z", "2015-01-01T00:00:00.123456789Z", true},
		{"NOT A VALID DATE", "", false},
		{"2015-02-29T00:00:00Z", "", false},
		{"2015-01-01T24:00:00Z", "", false},
		{"2015-01-01T00:00:00+15:00", "", false},
		{"2015-01-01T00:00:00.Z", "", false},
		{"2015-1-01T00:00:00Z", "", false},
		{"0000-01-01T00:00:00Z", "", false},
		{"9999-12-31T23:00:00-02:00", "", false},
		{"2015-01-01T00:00:00Zjunk", "", false},
		{"", "", false},
	} {
		got, offset, err := parseDate(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("parseDate(%q) = %v, want an error", c.in, got)
		case c.want != "" && err != nil:
			t.Errorf("parseDate(%q): %v", c.in, err)
		case c.want != "" && (got.UTC().Format(time.RFC3339Nano) != c.want || offset != c.offset):
			t.Errorf("parseDate(%q) = %s, offset %v; want %s, %v", c.in, got.UTC().Format(time.RFC3339Nano), offset, c.want, c.offset)
		}
	}
}

func TestParseGUID(t *testing.T) {
	const canon = "3d6d01fd-c0e7-44ae-82dd-013b996b4093"
	for in, ok := range map[string]bool{
		canon: true, strings.ToUpper(canon): true, "{" + canon + "}": true, "(" + canon + ")": true,
		strings.ReplaceAll(canon, "-", ""): true, "  " + canon + "\t": true,
		"{invalid}": false, "": false, canon[:35]: false, "{" + canon + ")": false, strings.Replace(canon, "-", "+", 1): false,
		strings.Replace(canon, "3", "g", 1): false, "*": false,
	} {
		got, gotOK := parseGUID(in)
		if gotOK != ok || (ok && got != canon) {
			t.Errorf("parseGUID(%q) = %q, %v; want ok %v", in, got, gotOK, ok)
		}
	}
}

// The finding's JSON is verify's: severity, object, message, fix.
func TestFindingJSONShape(t *testing.T) {
	b, err := json.Marshal(Finding{Severity: SeverityWarning, Object: "o", Message: "m", Fix: "f", code: "c"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"fix", "message", "object", "severity"}) {
		t.Errorf("finding JSON keys = %v", keys)
	}
}

// A ring of thousands of expired keys is a handful of findings, each
// naming at most maxListed keys.
func TestFindingsAreBounded(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	var xml []string
	for i := range 3000 {
		created := now.Add(-time.Duration(3000-i) * 24 * time.Hour)
		xml = append(xml, efKey(guidN(i), created, created, created.Add(7*24*time.Hour), secretUnencrypted))
	}
	r := Analyze(rows(xml...), now)
	if r.KeyCount != 3000 || !r.Usable {
		t.Fatalf("keys %d, usable %v", r.KeyCount, r.Usable)
	}
	expired := 0
	for _, k := range r.Keys {
		if !k.Expiration.After(now) {
			expired++
		}
	}
	if len(r.Findings) > 6 {
		t.Errorf("%d findings: %s", len(r.Findings), dump(r.Findings))
	}
	for _, f := range r.Findings {
		if n := strings.Count(f.Message, "key "); n > maxListed+1 {
			t.Errorf("finding %s names %d keys", f.code, n)
		}
		if f.code == "expired" && !strings.Contains(f.Message, fmt.Sprintf("and %d more", expired-maxListed)) {
			t.Errorf("expired finding does not count the rest: %s", f.Message)
		}
	}
}

func guidN(i int) string {
	const hex = "0123456789abcdef"
	b := []byte("00000000-0000-4000-8000-000000000000")
	for j, p := 0, len(b)-1; j < 8; j++ {
		b[p] = hex[i&0xf]
		i >>= 4
		p--
	}
	return string(b)
}

func BenchmarkAnalyze5000(b *testing.B) {
	now := at("2025-06-01T12:00:00Z")
	var xml []string
	for i := range 5000 {
		created := now.Add(-time.Duration(5000-i) * 24 * time.Hour)
		xml = append(xml, efKey(guidN(i), created, created, created.Add(90*24*time.Hour), secretCertificate))
	}
	rs := rows(xml...)
	b.ResetTimer()
	for range b.N {
		Analyze(rs, now)
	}
}
