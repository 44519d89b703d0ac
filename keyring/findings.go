package keyring

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxListed bounds how many rows or keys one finding names; a ring of
// thousands of expired keys is one finding, not thousands.
const maxListed = 10

// item is one row or key a finding is about.
type item struct{ object, detail string }

func (a *analysis) add(sev Severity, code, object, message, fix string) {
	a.r.Findings = append(a.r.Findings, Finding{Severity: sev, Object: object, Message: message, Fix: fix, code: code})
}

// group adds one finding for all the items of a kind: named by its object
// when there is one, counted otherwise ("3 rows"), the first maxListed
// listed.
func (a *analysis) group(sev Severity, code, noun string, items []item, lead, fix string) {
	if len(items) == 0 {
		return
	}
	object := items[0].object
	if len(items) > 1 {
		object = plural(len(items), noun)
	}
	var b strings.Builder
	b.WriteString(lead)
	b.WriteString(": ")
	for i, it := range items {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(items)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(it.object)
		if it.detail != "" {
			b.WriteString(" ")
			b.WriteString(it.detail)
		}
	}
	a.add(sev, code, object, b.String(), fix)
}

func rowObject(r *Row) string { return fmt.Sprintf("row %d", r.ID) }
func keyObject(k *Key) string { return "key " + k.ID }

// stamp writes an instant as UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// ago writes how far t is from now.
func ago(now, t time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + span(d)
	}
	return span(-d) + " ago"
}

// span writes a duration in the largest sensible unit, rounded down.
func span(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d >= 2*time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

const (
	fixProtect = "protect keys at rest: add ProtectKeysWithCertificate(certificate), ProtectKeysWithAzureKeyVault(keyIdentifier, credential) " +
		"or, on Windows, ProtectKeysWithDpapi() to AddDataProtection(); keys are immutable, so only keys created afterwards are " +
		"encrypted: once an encrypted key is the default, revoke the unencrypted ones (IKeyManager.RevokeKey) and treat the " +
		"secrets of those rows as exposed"
	fixNewKey = "start one instance with automatic key generation on and let it write a key, which activates at once, before " +
		"the others start (instances that create keys at the same moment each use their own until they next refresh, up to " +
		"24 hours later, and reject each other's cookies); or create one: IKeyManager.CreateNewKey(DateTimeOffset.UtcNow, " +
		"DateTimeOffset.UtcNow.AddDays(90))"
	fixBackup = "take a copy of the table, then restore the row's Xml from a backup or delete the row"
)

// report turns what was read and resolved into findings: what stops the
// ring from loading, the verdict, then what ASP.NET Core skips, then the
// keys, then the rest.
func (a *analysis) report(results []rowResult) {
	g := a.sortRows(results)
	a.fatalFindings(g)
	a.verdict()
	a.skippedFindings(g)
	a.keyFindings()
	a.laterFindings(g)
}

// rowItems are the rows of each finding about rows.
type rowItems struct {
	noXML, malformed, unchecked, doctype, foreign, badKey, badRev, noZone []item
	unknownRevoked, futureRevocations                                     []item
}

// sortRows sorts what was read of each row into the findings it makes.
func (a *analysis) sortRows(results []rowResult) rowItems {
	var g rowItems
	keyRows := map[string]bool{}
	for _, k := range a.keys {
		keyRows[k.ID] = true
	}
	for i := range results {
		res := &results[i]
		obj := rowObject(res.row)
		if res.doctype {
			g.doctype = append(g.doctype, item{obj, ""})
		}
		for _, d := range res.noZone {
			g.noZone = append(g.noZone, item{obj, d})
		}
		switch res.kind {
		case rowNoXML:
			what := "(NULL)"
			if res.row.XML.Valid {
				what = "(empty)"
			}
			g.noXML = append(g.noXML, item{obj, what})
		case rowMalformed:
			g.malformed = append(g.malformed, item{obj, "(" + strings.TrimPrefix(res.problem, errMalformed.Error()+": ") + ")"})
		case rowUnchecked:
			g.unchecked = append(g.unchecked, item{obj, "(" + strings.TrimPrefix(res.problem, errUnchecked.Error()+": ") + ")"})
		case rowForeign:
			g.foreign = append(g.foreign, item{obj, "holds <" + res.name + ">"})
		case rowBadKey:
			g.badKey = append(g.badKey, item{obj, "(" + res.problem + ")"})
		case rowBadRevocation:
			g.badRev = append(g.badRev, item{obj, "(" + res.problem + ")"})
		case rowRevocation:
			rev := res.rev
			if !rev.All && !keyRows[rev.KeyID] {
				g.unknownRevoked = append(g.unknownRevoked, item{obj, "revokes key " + rev.KeyID})
			}
			if rev.All && rev.Date.After(a.now) {
				g.futureRevocations = append(g.futureRevocations, item{obj, fmt.Sprintf("revokes every key created before %s (%s)", stamp(rev.Date), ago(a.now, rev.Date))})
			}
		}
	}
	return g
}

// fatalFindings are what stops the ring from loading at all.
func (a *analysis) fatalFindings(g rowItems) {
	a.group(SeverityError, "malformed", "row", g.malformed,
		"Xml that is not well-formed XML: ASP.NET Core's EntityFrameworkCoreXmlRepository parses every row with XElement.Parse, "+
			"so while such a row is there the key ring does not load and nothing can be protected or unprotected",
		fixBackup)
	a.group(SeverityError, "bad-revocation", "row", g.badRev,
		"revocations ASP.NET Core cannot read: XmlKeyManager treats an unreadable revocation as fatal, so the key ring does not load",
		fixBackup+" (a revocation can be written again with IKeyManager.RevokeKey or RevokeAllKeys)")
	var dups []item
	for _, k := range a.keys {
		rows, ok := a.duplicates[k.ID]
		if !ok {
			continue
		}
		delete(a.duplicates, k.ID)
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = fmt.Sprint(r)
		}
		dups = append(dups, item{keyObject(k), "is in rows " + strings.Join(ids, ", ")})
	}
	a.group(SeverityError, "duplicate", "key", dups,
		"key ids stored more than once: XmlKeyManager refuses a key ring with a duplicate key id, so it does not load",
		"delete all but one of each key's rows, after checking that they hold the same key (copy the table first)")
}

// skippedFindings are rows ASP.NET Core skips, or sessctl did not read.
func (a *analysis) skippedFindings(g rowItems) {
	a.group(SeverityWarning, "unchecked", "row", g.unchecked,
		"rows sessctl did not read, so the verdict leaves them out (ASP.NET Core may read them)",
		"inspect these rows by hand: the key manager writes a few kilobytes of plain XML per row")
	a.group(SeverityWarning, "doctype", "row", g.doctype,
		"a DOCTYPE, which the key manager never writes: something else wrote these rows, and ASP.NET Core processes "+
			"their DTD (XElement.Parse expands internal entities)",
		"find what wrote them; "+fixBackup)
	a.group(SeverityWarning, "foreign", "row", g.foreign,
		"elements that are neither <key> nor <revocation>: ASP.NET Core skips them, so something else writes to this table",
		"keep the key table for Data Protection alone; delete these rows once nothing needs them")
	a.group(SeverityWarning, "bad-key", "row", g.badKey,
		"keys ASP.NET Core cannot read, and leaves out of the key ring: whatever they protected can no longer be unprotected",
		fixBackup)
	a.group(SeverityInfo, "no-xml", "row", g.noXML,
		"rows without Xml, which ASP.NET Core skips", "")
}

// laterFindings are revocations and dates to look at.
func (a *analysis) laterFindings(g rowItems) {
	a.group(SeverityWarning, "future-revocation", "row", g.futureRevocations,
		"revocations of all keys dated in the future: every key created before that date is revoked as soon as it is "+
			"read, including the keys ASP.NET Core generates from now until then",
		"if the date is a mistake, delete the row and revoke again as of now: IKeyManager.RevokeAllKeys(DateTimeOffset.UtcNow, reason)")
	a.group(SeverityInfo, "revocation-unknown", "row", g.unknownRevoked,
		"revocations of keys that are not in the table", "")
	a.group(SeverityWarning, "no-offset", "row", g.noZone,
		"dates without a UTC offset, which the key manager never writes: ASP.NET Core reads them in the local time zone "+
			"of each server, so servers in different zones disagree; sessctl read them as UTC",
		"write the dates with an offset (\"2025-01-01T00:00:00Z\")")
}

// verdict says which key protects new payloads, or why none does, and what
// happens when it expires.
func (a *analysis) verdict() {
	r, now := a.r, a.now
	def := r.DefaultKey
	if def == nil {
		var why string
		switch {
		case !r.Loads:
			why = "ASP.NET Core cannot load this key ring (see the errors above), so no key protects new payloads"
			a.add(SeverityError, "no-default", "key ring", why, "fix the errors above")
			return
		case len(a.keys) == 0 && r.Rows == 0:
			why = "the table holds no keys"
		case len(a.keys) == 0:
			why = "no row holds a key ASP.NET Core can read"
		case a.preferred == nil:
			first := slices.MinFunc(a.keys, func(x, y *Key) int { return x.Activation.Compare(y.Activation) })
			why = fmt.Sprintf("no key is active yet: the earliest, %s (row %d), activates at %s (%s), beyond the %s ASP.NET Core allows for clock skew",
				first.ID, first.Row, stamp(first.Activation), ago(now, first.Activation), span(MaxServerClockSkew))
		default:
			p := a.preferred
			why = fmt.Sprintf("the most recently activated key, %s (row %d, active since %s), %s; ASP.NET Core considers only that key",
				p.ID, p.Row, stamp(p.Activation), a.unusableAt(p, now))
		}
		a.add(SeverityError, "no-default", "key ring",
			"no usable default key: "+why+". With automatic key generation on (the default), each instance that starts "+
				"now creates a key of its own with immediate activation; with it off, ASP.NET Core falls back to an older "+
				"unrevoked key, or fails", fixNewKey)
		return
	}
	a.add(SeverityInfo, "default", keyObject(def),
		fmt.Sprintf("the default key is %s (row %d): active since %s, expires at %s (%s)",
			def.ID, def.Row, stamp(def.Activation), stamp(def.Expiration), ago(now, def.Expiration)), "")
	if !r.Renewal.Due {
		return
	}
	succ := r.Renewal.Successor
	switch {
	case !r.Renewal.NewKeyNeeded:
		a.add(SeverityInfo, "renewal-ready", keyObject(def),
			fmt.Sprintf("the default key expires at %s (%s); key %s (row %d) takes over then", stamp(def.Expiration), ago(now, def.Expiration), succ.ID, succ.Row), "")
	default:
		what := "and no key takes over then"
		if succ != nil {
			what = fmt.Sprintf("and its successor %s (row %d) expires at %s, soon after", succ.ID, succ.Row, stamp(succ.Expiration))
		}
		a.add(SeverityWarning, "renewal-due", keyObject(def),
			fmt.Sprintf("a new key is due: the default key expires at %s (%s), within the %s ASP.NET Core renews keys ahead "+
				"(key ring refresh %s + propagation %s), %s. The next instance to refresh its key ring writes one; if none does "+
				"before %s, the first to start afterwards creates a key with immediate activation that the others do not see "+
				"until they refresh",
				stamp(def.Expiration), ago(now, def.Expiration), span(KeyRingRefreshPeriod+KeyPropagationWindow),
				span(KeyRingRefreshPeriod), span(KeyPropagationWindow), what, stamp(def.Expiration)),
			fmt.Sprintf("keep an instance running with automatic key generation on, or write the successor now: "+
				"IKeyManager.CreateNewKey(activationDate: %s, expirationDate: 90 days later)", stamp(def.Expiration)))
	}
}

// keyFindings are about the keys themselves: protection at rest, validity,
// revocation.
func (a *analysis) keyFindings() {
	now := a.now
	var unencrypted, dpapi, custom, badDescriptor, expired, revoked, futureCreated, backwards []item
	counts := map[Protection]int{}
	for _, k := range a.keys {
		obj := keyObject(k)
		counts[k.Protection]++
		switch k.Protection {
		case ProtectionUnencrypted:
			unencrypted = append(unencrypted, item{obj, fmt.Sprintf("(row %d: %s)", k.Row, k.unencryptedSign)})
		case ProtectionDPAPI:
			dpapi = append(dpapi, item{obj, fmt.Sprintf("(row %d)", k.Row)})
		case ProtectionCustom:
			custom = append(custom, item{obj, fmt.Sprintf("(row %d: %s)", k.Row, k.Decryptor)})
		}
		if !k.DescriptorOK {
			badDescriptor = append(badDescriptor, item{obj, fmt.Sprintf("(row %d: %s)", k.Row, k.descriptorProblem)})
		}
		if !k.Expiration.After(now) {
			expired = append(expired, item{obj, "at " + stamp(k.Expiration)})
		}
		switch k.Revoked {
		case RevokedByID:
			revoked = append(revoked, item{obj, "by id"})
		case RevokedByDate:
			revoked = append(revoked, item{obj, "created " + stamp(k.Creation) + ", before the revocation of all keys of " + stamp(a.massDate)})
		}
		if k.Creation.After(now.Add(MaxServerClockSkew)) {
			futureCreated = append(futureCreated, item{obj, fmt.Sprintf("created at %s (%s)", stamp(k.Creation), ago(now, k.Creation))})
		}
		if !k.Expiration.After(k.Activation) {
			backwards = append(backwards, item{obj, fmt.Sprintf("activates %s, expires %s", stamp(k.Activation), stamp(k.Expiration))})
		}
	}
	a.group(SeverityWarning, "unencrypted", "key", unencrypted,
		"keys stored unencrypted at rest: their master key is in the row in the clear, so whoever can read this table "+
			"can read and forge the app's protected cookies and tokens", fixProtect)
	a.group(SeverityWarning, "dpapi", "key", dpapi,
		"keys protected with Windows DPAPI, which only the machine (or Windows account) that wrote them can decrypt: "+
			"other instances sharing this table cannot use them and create keys of their own",
		"when several machines share the key ring, protect it with ProtectKeysWithCertificate, ProtectKeysWithAzureKeyVault "+
			"or ProtectKeysWithDpapiNG to a domain account or group")
	a.group(SeverityInfo, "custom-protection", "key", custom,
		"keys encrypted by a decryptor sessctl does not know, so it cannot say how they are protected", "")
	a.group(SeverityWarning, "bad-descriptor", "key", badDescriptor,
		"keys whose descriptor cannot be read: ASP.NET Core can never make them the default key, nor unprotect what they protected",
		fixBackup)
	a.group(SeverityWarning, "future-creation", "key", futureCreated,
		"keys created after now: the clock of the server that wrote them is ahead", "synchronize the servers' clocks (NTP)")
	a.group(SeverityWarning, "backwards", "key", backwards,
		"keys that expire before they activate, so they are never used", "")
	a.group(SeverityInfo, "revoked", "key", revoked,
		"revoked keys, which ASP.NET Core neither protects nor (by default) unprotects with", "")
	a.group(SeverityInfo, "expired", "key", expired,
		"expired keys, which ASP.NET Core keeps to unprotect what they protected", "")
	if len(a.keys) > 0 {
		kinds := make([]Protection, 0, len(counts))
		for p := range counts {
			kinds = append(kinds, p)
		}
		slices.SortFunc(kinds, func(x, y Protection) int { return cmp.Or(cmp.Compare(counts[y], counts[x]), cmp.Compare(x, y)) })
		parts := make([]string, len(kinds))
		for i, p := range kinds {
			parts[i] = fmt.Sprintf("%d %s", counts[p], p)
		}
		a.add(SeverityInfo, "protection", "key ring",
			fmt.Sprintf("%s, protected at rest as: %s", plural(len(a.keys), "key"), strings.Join(parts, ", ")), "")
	}
}
