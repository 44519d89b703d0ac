// Package keyring reads an ASP.NET Core Data Protection key ring as the
// Entity Framework Core store keeps it (PersistKeysToDbContext: a table
// DataProtectionKeys of Id, FriendlyName and Xml, one row per element the
// key manager stores) and says whether it works: which key ASP.NET Core
// protects new cookies with, when that key expires and whether its
// successor is there, which keys are revoked, expired, stored unencrypted,
// duplicated or unreadable.
//
// It reads what it is given and nothing else: no I/O, no database, no clock
// (the caller passes "now"), and it trusts none of the XML. The rules are
// ASP.NET Core's own, from XmlKeyManager, DefaultKeyResolver and
// KeyRingProvider (dotnet/aspnetcore, src/DataProtection); each function
// says which part it follows.
package keyring

import (
	"database/sql"
	"time"
)

// Timing constants of ASP.NET Core Data Protection (KeyManagementOptions;
// fixed, not settable).
const (
	// MaxServerClockSkew: a key whose activation date is at most this far
	// in the future can already be the default key (DefaultKeyResolver).
	MaxServerClockSkew = 5 * time.Minute
	// KeyPropagationWindow: how long a new key needs to reach every
	// instance; new keys activate this long after they are created.
	KeyPropagationWindow = 48 * time.Hour
	// KeyRingRefreshPeriod: how often an instance rereads the key ring.
	KeyRingRefreshPeriod = 24 * time.Hour
	// DefaultKeyLifetime: KeyManagementOptions.NewKeyLifetime unless the
	// app sets another (SetDefaultKeyLifetime, at least 7 days).
	DefaultKeyLifetime = 90 * 24 * time.Hour
)

// Row is one row of the DataProtectionKeys table, as read: Xml may be
// NULL, empty, malformed or not a key. FriendlyName is what the key
// manager stored alongside ("key-{id}", "revocation-{id or date}");
// ASP.NET Core never reads it, and neither does Analyze.
type Row struct {
	ID           int64
	FriendlyName sql.NullString
	XML          sql.NullString
}

// Severity of a finding.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Finding is one thing Analyze found, with what to do about it. Its shape
// (and JSON) is verify's finding.
type Finding struct {
	Severity Severity `json:"severity"`
	Object   string   `json:"object"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`

	code string // which check made it
}

// Protection is how a key's secret is stored at rest.
type Protection string

const (
	// ProtectionUnencrypted: the master key is in the row in the clear (no
	// ProtectKeysWith… configured, or NullXmlEncryptor).
	ProtectionUnencrypted Protection = "unencrypted"
	// ProtectionDPAPI: Windows DPAPI (ProtectKeysWithDpapi), which only the
	// machine or Windows account that wrote the key can decrypt.
	ProtectionDPAPI Protection = "dpapi"
	// ProtectionDPAPING: Windows DPAPI-NG (ProtectKeysWithDpapiNG), to a
	// rule such as a domain SID.
	ProtectionDPAPING Protection = "dpapi-ng"
	// ProtectionCertificate: XML Encryption to an X.509 certificate
	// (ProtectKeysWithCertificate).
	ProtectionCertificate Protection = "certificate"
	// ProtectionAzureKeyVault: wrapped by an Azure Key Vault key
	// (ProtectKeysWithAzureKeyVault).
	ProtectionAzureKeyVault Protection = "azure-key-vault"
	// ProtectionCustom: an encryptedSecret of a decryptor sessctl does not
	// know (a third-party IXmlEncryptor).
	ProtectionCustom Protection = "custom"
	// ProtectionUnknown: no secret found where the built-in descriptors put
	// one.
	ProtectionUnknown Protection = "unknown"
)

// Revoked says whether and how a key is revoked.
type Revoked string

const (
	NotRevoked Revoked = ""
	// RevokedByID: a <revocation> names the key.
	RevokedByID Revoked = "id"
	// RevokedByDate: the key was created before the date of a <revocation>
	// of all keys (<key id="*" />).
	RevokedByDate Revoked = "date"
)

// Key is a key as ASP.NET Core loads it.
type Key struct {
	ID         string    `json:"id"`
	Row        int64     `json:"row"`
	Creation   time.Time `json:"creation_date"`
	Activation time.Time `json:"activation_date"`
	Expiration time.Time `json:"expiration_date"`
	Revoked    Revoked   `json:"revoked,omitempty"`
	// Protection is how the secret is stored; Decryptor the type named by
	// its encryptedSecret, if any.
	Protection Protection `json:"protection"`
	Decryptor  string     `json:"decryptor_type,omitempty"`
	// DescriptorOK is false when the key's descriptor cannot be read at
	// all (missing, or not shaped as XmlKeyManager needs); such a key can
	// never be the default key. It does not say that the app holds what
	// decrypts the key.
	DescriptorOK bool `json:"descriptor_ok"`

	descriptorProblem string
	unencryptedSign   string
}

// Revocation is a <revocation> element.
type Revocation struct {
	Row int64 `json:"row"`
	// KeyID is the key revoked, or "" when All.
	KeyID string `json:"key_id,omitempty"`
	// All: every key created strictly before Date is revoked.
	All bool `json:"all"`
	// Date is the revocation date; ASP.NET Core reads it only when All.
	Date   time.Time `json:"revocation_date,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Verdicts, as JSON reports them.
const (
	StatusUsable   = "usable"
	StatusUnusable = "unusable"
)

// Renewal is what KeyRingProvider decides about the next key.
type Renewal struct {
	// WindowEnd is now + KeyRingRefreshPeriod + KeyPropagationWindow: a
	// default key that expires before it must have a successor by now.
	WindowEnd time.Time `json:"window_end"`
	// Due: the default key expires before WindowEnd (or there is none).
	Due bool `json:"due"`
	// Successor is the key that becomes the default key when the current
	// one expires (DefaultKeyResolver asked at its expiration date), if
	// there is one.
	Successor *Key `json:"successor"`
	// NewKeyNeeded: ASP.NET Core, on its next key ring refresh, writes a
	// new key (none usable now, or the default key is due and its
	// successor is missing or itself expires before WindowEnd).
	NewKeyNeeded bool `json:"new_key_needed"`
}

// Report is what Analyze found. Usable is true exactly when DefaultKey is
// set; the verify command exits 3 when it is false.
type Report struct {
	Status      string       `json:"status"`
	Usable      bool         `json:"usable"`
	Now         time.Time    `json:"now"`
	Rows        int          `json:"rows"`
	KeyCount    int          `json:"key_count"`
	Keys        []Key        `json:"keys"`
	Revocations []Revocation `json:"revocations"`
	// Loads is false when ASP.NET Core cannot load the key ring at all (a
	// malformed row, an unreadable revocation, a duplicate key id).
	Loads      bool      `json:"loads"`
	DefaultKey *Key      `json:"default_key"`
	Renewal    Renewal   `json:"renewal"`
	Findings   []Finding `json:"findings"`
}
