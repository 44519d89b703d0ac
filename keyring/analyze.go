package keyring

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Analyze reads the rows of a DataProtectionKeys table, in the order the
// table returns them, and reports on the key ring as ASP.NET Core would see
// it at now. It never fails: a row it cannot read is a finding. Its cost is
// linear in the size of the rows (plus a sort of the findings), and each
// row's Xml is read within the bounds MaxXMLBytes and MaxDepth.
//
// Example:
//
//	rows := []keyring.Row{{ID: 1, XML: sql.NullString{String: xml, Valid: true}}}
//	r := keyring.Analyze(rows, time.Now())
//	if !r.Usable {
//		// no default key: verify exits 3
//	}
//	fmt.Println(r.DefaultKey.ID, r.DefaultKey.Expiration, r.Renewal.NewKeyNeeded)
func Analyze(rows []Row, now time.Time) *Report {
	a := &analysis{now: now, r: &Report{Now: now, Rows: len(rows), Keys: []Key{}, Revocations: []Revocation{}, Findings: []Finding{}}}
	results := make([]rowResult, len(rows))
	for i := range rows {
		results[i] = readRow(&rows[i])
	}
	a.load(results)
	a.resolve()
	a.report(results)
	slices.SortStableFunc(a.r.Findings, func(x, y Finding) int { return cmp.Compare(rank(x.Severity), rank(y.Severity)) })
	return a.r
}

type analysis struct {
	now        time.Time
	r          *Report
	keys       []*Key // in row order, as XmlKeyManager returns them
	duplicates map[string][]int64
	revokedIDs map[string]bool
	massDate   time.Time // the most recent revocation of all keys, zero if none
	preferred  *Key      // the key DefaultKeyResolver considers
}

// load follows XmlKeyManager.ProcessAllElements (GetAllKeys): keys by id,
// a duplicate id among the keys it could read is fatal
// (XmlKeyManager_DuplicateKey), revocations by id are applied to the keys
// they name, and of the revocations of all keys only the most recent date
// counts: keys created strictly before it are revoked.
func (a *analysis) load(results []rowResult) {
	a.r.Loads = true
	a.duplicates = map[string][]int64{}
	a.revokedIDs = map[string]bool{}
	byID := map[string]*Key{}
	for i := range results {
		res := &results[i]
		switch res.kind {
		case rowMalformed, rowBadRevocation:
			a.r.Loads = false
		case rowKey:
			if first, ok := byID[res.key.ID]; ok {
				if len(a.duplicates[res.key.ID]) == 0 {
					a.duplicates[res.key.ID] = []int64{first.Row}
				}
				a.duplicates[res.key.ID] = append(a.duplicates[res.key.ID], res.key.Row)
				a.r.Loads = false
			} else {
				byID[res.key.ID] = res.key
			}
			a.keys = append(a.keys, res.key)
		case rowRevocation:
			rev := res.rev
			a.r.Revocations = append(a.r.Revocations, *rev)
			if rev.All {
				if rev.Date.After(a.massDate) {
					a.massDate = rev.Date
				}
			} else {
				a.revokedIDs[rev.KeyID] = true
			}
		}
	}
	for _, k := range a.keys {
		switch {
		case a.revokedIDs[k.ID]:
			k.Revoked = RevokedByID
		case !a.massDate.IsZero() && k.Creation.Before(a.massDate):
			k.Revoked = RevokedByDate
		}
	}
	a.r.KeyCount = len(a.keys)
	for _, k := range a.keys {
		a.r.Keys = append(a.r.Keys, *k)
	}
}

// preferredAt follows DefaultKeyResolver.FindDefaultKey: of the keys whose
// activation date is at most at + MaxServerClockSkew, the one activated
// most recently, ties broken by the lower key id. Only that key is
// considered: if it is revoked, expired or unreadable there is no default
// key, even when an older key would do (a new key is generated instead).
func preferredAt(keys []*Key, at time.Time) *Key {
	limit := at.Add(MaxServerClockSkew)
	var best *Key
	for _, k := range keys {
		if k.Activation.After(limit) {
			continue
		}
		if best == nil || k.Activation.After(best.Activation) || k.Activation.Equal(best.Activation) && k.ID < best.ID {
			best = k
		}
	}
	return best
}

// usableAt says why the key cannot be the default key at the given time,
// or "" when it can: not revoked, not expired (IsExpired: expiration <=
// now, no skew) and with a readable descriptor (CanCreateAuthenticatedEncryptor).
func (a *analysis) unusableAt(k *Key, at time.Time) string {
	switch {
	case k.Revoked == RevokedByID:
		return "is revoked"
	case k.Revoked == RevokedByDate:
		return fmt.Sprintf("is revoked: it was created before %s, the date of a revocation of all keys", stamp(a.massDate))
	case !k.Expiration.After(at):
		return fmt.Sprintf("expired at %s", stamp(k.Expiration))
	case !k.DescriptorOK:
		return "cannot be read: " + k.descriptorProblem
	}
	return ""
}

func (a *analysis) defaultAt(at time.Time) *Key {
	k := preferredAt(a.keys, at)
	if k == nil || a.unusableAt(k, at) != "" {
		return nil
	}
	return k
}

// resolve finds the default key and what KeyRingProvider does next
// (KeyRingProvider.CreateCacheableKeyRingCore, ASP.NET Core 9 and later): a
// new key is written when there is no default key, or when the default key
// expires before now + KeyRingRefreshPeriod + KeyPropagationWindow and the
// key that would be the default at its expiration is missing or expires
// before that too. ASP.NET Core 8 and earlier decided this in
// DefaultKeyResolver, two days ahead instead of three, and accepted as
// successor any unrevoked key activated by the default key's expiration
// that outlives now + 2 days; on the rings the key manager writes the two
// agree, a day apart.
func (a *analysis) resolve() {
	r := a.r
	r.Renewal.WindowEnd = a.now.Add(KeyRingRefreshPeriod + KeyPropagationWindow)
	if r.Loads {
		a.preferred = preferredAt(a.keys, a.now)
	}
	var def *Key
	if r.Loads {
		def = a.defaultAt(a.now)
	}
	if def == nil {
		r.Status = StatusUnusable
		r.Renewal.Due = true
		r.Renewal.NewKeyNeeded = r.Loads
		return
	}
	r.Status, r.Usable = StatusUsable, true
	r.DefaultKey = a.reported(def)
	r.Renewal.Due = def.Expiration.Before(r.Renewal.WindowEnd)
	if next := a.defaultAt(def.Expiration); next != nil {
		r.Renewal.Successor = a.reported(next)
	}
	r.Renewal.NewKeyNeeded = r.Renewal.Due &&
		(r.Renewal.Successor == nil || r.Renewal.Successor.Expiration.Before(r.Renewal.WindowEnd))
}

// reported is the report's copy of a key.
func (a *analysis) reported(k *Key) *Key {
	for i := range a.keys {
		if a.keys[i] == k {
			return &a.r.Keys[i]
		}
	}
	return nil
}

func rank(s Severity) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}
