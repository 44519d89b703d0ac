package keyring

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// What one row holds, read as XmlKeyManager reads the elements its
// repository returns (XmlKeyManager.GetAllKeys / ProcessAllElements).
type rowKind int

const (
	rowNoXML         rowKind = iota // NULL or "": EntityFrameworkCoreXmlRepository skips it
	rowMalformed                    // XElement.Parse throws: the whole ring fails to load
	rowUnchecked                    // past sessctl's bounds, or needs a DTD
	rowForeign                      // neither <key> nor <revocation>: skipped
	rowBadKey                       // a <key> ProcessKeyElement cannot read: skipped
	rowKey                          // a key
	rowBadRevocation                // a <revocation> ProcessRevocationElement cannot read: fatal
	rowRevocation                   // a revocation
)

type rowResult struct {
	row     *Row
	kind    rowKind
	problem string // why the row is malformed, unchecked, a bad key or a bad revocation
	name    string // the root element's name, for a foreign row
	doctype bool
	key     *Key
	rev     *Revocation
	noZone  []string // dates written without a UTC offset
}

// readRow reads one row. It never panics on what the row holds.
func readRow(r *Row) rowResult {
	res := rowResult{row: r}
	// EntityFrameworkCoreXmlRepository.GetAllElements: rows whose Xml is
	// NULL or empty are skipped (string.IsNullOrEmpty); every other row goes
	// to XElement.Parse, and one that does not parse throws out of
	// GetAllElements, so the key ring does not load at all.
	if !r.XML.Valid || r.XML.String == "" {
		res.kind = rowNoXML
		return res
	}
	p, err := parseXML(r.XML.String)
	if p != nil {
		res.doctype = p.doctype
	}
	switch {
	case err == nil:
	case isUnchecked(err):
		res.kind, res.problem = rowUnchecked, err.Error()
		return res
	default:
		res.kind, res.problem = rowMalformed, err.Error()
		return res
	}
	root := p.root
	switch {
	case root.name.Space == "" && root.name.Local == "key":
		res.readKey(root)
	case root.name.Space == "" && root.name.Local == "revocation":
		res.readRevocation(root)
	default:
		res.kind = rowForeign
		res.name = displayName(root.name)
	}
	return res
}

func isUnchecked(err error) bool { return errors.Is(err, errUnchecked) }

// displayName writes a resolved name as {namespace}local, as System.Xml.Linq
// prints an XName.
func displayName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// date reads one date child the way ProcessKeyElement and
// ProcessRevocationElement do: (DateTimeOffset)element.Element(name)!.
func (res *rowResult) date(parent *node, name string) (time.Time, error) {
	e := parent.child("", name)
	if e == nil {
		return time.Time{}, fmt.Errorf("it has no <%s>", name)
	}
	v := e.value()
	t, hasOffset, err := parseDate(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("its <%s> %q is %v", name, clip(v), err)
	}
	if !hasOffset {
		res.noZone = append(res.noZone, fmt.Sprintf("<%s> %s", name, strings.Trim(v, xmlSpace)))
	}
	return t, nil
}

// readKey follows XmlKeyManager.ProcessKeyElement: id attribute, then
// creation, activation and expiration dates; any failure and the key is
// left out of the ring (logged, not thrown).
func (res *rowResult) readKey(e *node) {
	res.kind = rowBadKey
	idText, ok := e.attr("", "id")
	if !ok {
		res.problem = "it has no id attribute"
		return
	}
	id, ok := parseGUID(idText)
	if !ok {
		res.problem = fmt.Sprintf("its id %q is not a GUID", clip(idText))
		return
	}
	k := &Key{ID: id, Row: res.row.ID}
	var err error
	if k.Creation, err = res.date(e, "creationDate"); err != nil {
		res.problem = err.Error()
		return
	}
	if k.Activation, err = res.date(e, "activationDate"); err != nil {
		res.problem = err.Error()
		return
	}
	if k.Expiration, err = res.date(e, "expirationDate"); err != nil {
		res.problem = err.Error()
		return
	}
	k.descriptorProblem = descriptorProblem(e)
	k.DescriptorOK = k.descriptorProblem == ""
	k.Protection, k.Decryptor, k.unencryptedSign = protectionOf(e)
	res.kind, res.key = rowKey, k
}

// descriptorProblem checks what XmlKeyManager.DeserializeDescriptorFromKeyElement
// needs before it can decrypt and deserialize: a <descriptor> with a
// deserializerType attribute and exactly one child element
// (descriptorElement.Elements().Single()), and every <encryptedSecret> in
// it naming a decryptorType over exactly one element
// (XmlEncryptionExtensions.DecryptElement). A key that fails this cannot
// create an encryptor, so DefaultKeyResolver never makes it the default.
// Whether the app can decrypt a well-formed secret (has the certificate,
// can reach the vault) is not something a read of the table can tell.
func descriptorProblem(key *node) string {
	d := key.child("", "descriptor")
	if d == nil {
		return "it has no <descriptor>"
	}
	if t, ok := d.attr("", "deserializerType"); !ok || strings.Trim(t, xmlSpace) == "" {
		return "its <descriptor> names no deserializerType"
	}
	if n := len(d.elements()); n != 1 {
		return fmt.Sprintf("its <descriptor> has %d child elements, not one", n)
	}
	var problem string
	var walk func(*node)
	walk = func(n *node) {
		for _, c := range n.elements() {
			if problem != "" {
				return
			}
			if c.name.Space == nsDataProtection && c.name.Local == "encryptedSecret" {
				if t, ok := c.attr("", "decryptorType"); !ok || strings.Trim(t, xmlSpace) == "" {
					problem = "an <encryptedSecret> names no decryptorType"
					return
				}
				if n := len(c.elements()); n != 1 {
					problem = fmt.Sprintf("an <encryptedSecret> holds %d elements, not one", n)
					return
				}
				continue
			}
			walk(c)
		}
	}
	walk(d)
	return problem
}

// readRevocation follows XmlKeyManager.ProcessRevocationElement: the id of
// its <key>, "*" (exactly) for the revocation of every key created before
// <revocationDate>, a GUID otherwise. Any failure there is rethrown: the
// key ring does not load.
func (res *rowResult) readRevocation(e *node) {
	res.kind = rowBadRevocation
	k := e.child("", "key")
	if k == nil {
		res.problem = "it has no <key> naming what it revokes"
		return
	}
	idText, ok := k.attr("", "id")
	if !ok {
		res.problem = "its <key> has no id attribute"
		return
	}
	rev := &Revocation{Row: res.row.ID}
	if r := e.child("", "reason"); r != nil {
		rev.Reason = clip(strings.Trim(r.value(), xmlSpace))
	}
	if idText == "*" {
		d, err := res.date(e, "revocationDate")
		if err != nil {
			res.problem = err.Error()
			return
		}
		rev.All, rev.Date = true, d
	} else {
		id, ok := parseGUID(idText)
		if !ok {
			res.problem = fmt.Sprintf("the id %q of its <key> is neither \"*\" nor a GUID", clip(idText))
			return
		}
		rev.KeyID = id
		// The date of a single revocation is not read by the framework;
		// shown when it is readable.
		if d := e.child("", "revocationDate"); d != nil {
			if t, _, err := parseDate(d.value()); err == nil {
				rev.Date = t
			}
		}
	}
	res.kind, res.rev = rowRevocation, rev
}

// The decryptors of the key encryptors that ship with ASP.NET Core and the
// Azure SDK, by type name (the assembly-qualified name up to its first
// comma). XmlEncryptionExtensions.EncryptIfNecessary writes
// <encryptedSecret decryptorType="{AssemblyQualifiedName}"> in the Data
// Protection namespace around what the encryptor returns.
var decryptors = map[string]Protection{
	// DpapiXmlEncryptor, ProtectKeysWithDpapi: <encryptedKey><!-- This key
	// is encrypted with Windows DPAPI. --><value>…
	"Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiXmlDecryptor": ProtectionDPAPI,
	// DpapiNGXmlEncryptor, ProtectKeysWithDpapiNG: <encryptedKey><!-- This
	// key is encrypted with Windows DPAPI-NG. --><!-- Rule: SID=… --><value>…
	"Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiNGXmlDecryptor": ProtectionDPAPING,
	// CertificateXmlEncryptor, ProtectKeysWithCertificate: an XML-Encryption
	// <EncryptedData> to an X.509 certificate.
	"Microsoft.AspNetCore.DataProtection.XmlEncryption.EncryptedXmlDecryptor": ProtectionCertificate,
	// NullXmlEncryptor: <unencryptedKey><!-- This key is not encrypted. -->
	// around the plain master key.
	"Microsoft.AspNetCore.DataProtection.XmlEncryption.NullXmlDecryptor": ProtectionUnencrypted,
}

// decryptorKind names the protection a decryptorType stands for. Type
// names of the pre-Core "Microsoft.AspNet.DataProtection" namespace are
// forwarded as TypeForwardingActivator does. Azure Key Vault's decryptor
// has had three namespaces (Microsoft.AspNetCore.DataProtection.AzureKeyVault,
// Microsoft.AspNetCore.DataProtection.Azure.KeyVault, and now
// Azure.Extensions.AspNetCore.DataProtection.Keys); its <encryptedKey>
// holds <!-- This key is encrypted with Azure Key Vault. --> and kid, key,
// iv and value.
func decryptorKind(typeName string) Protection {
	name := strings.TrimSpace(typeName)
	if i := strings.IndexByte(name, ','); i >= 0 {
		name = strings.TrimSpace(name[:i])
	}
	if rest, ok := strings.CutPrefix(name, "Microsoft.AspNet.DataProtection."); ok {
		name = "Microsoft.AspNetCore.DataProtection." + rest
	}
	if p, ok := decryptors[name]; ok {
		return p
	}
	if name == "AzureKeyVaultXmlDecryptor" || strings.HasSuffix(name, ".AzureKeyVaultXmlDecryptor") {
		return ProtectionAzureKeyVault
	}
	return ProtectionCustom
}

// unencryptedComment is what SecretExtensions.ToMasterKeyElement writes
// inside <masterKey> next to the key in the clear.
const unencryptedComment = "the key below is in an unencrypted form"

// protectionOf says how the key's secret is stored. The built-in
// descriptors write their secret as <masterKey
// p:requiresEncryption="true"> holding the comment above and <value>;
// when an encryptor is configured, XmlKeyManager replaces every element
// marked requiresEncryption by <encryptedSecret>. So a key is unencrypted
// at rest when a marked element, a <masterKey> or that comment is found
// outside every <encryptedSecret> of a real decryptor (NullXmlDecryptor's
// secret is the plain element again). A decoy <encryptedSecret> next to a
// plain master key does not make the key encrypted.
func protectionOf(key *node) (_ Protection, decryptor, sign string) {
	var secret Protection
	var secretType, nullType string
	var walk func(*node)
	walk = func(n *node) {
		if n.name.Space == nsDataProtection && n.name.Local == "encryptedSecret" {
			t, _ := n.attr("", "decryptorType")
			kind := decryptorKind(t)
			if kind != ProtectionUnencrypted {
				if secret == "" {
					secret, secretType = kind, strings.TrimSpace(t)
				}
				return // ciphertext below
			}
			if sign == "" {
				nullType = strings.TrimSpace(t)
				sign = "its secret is wrapped by NullXmlEncryptor, which does not encrypt"
			}
		}
		if v, ok := n.attr(nsDataProtection, "requiresEncryption"); ok && sign == "" {
			if b := strings.Trim(v, xmlSpace); b == "true" || b == "1" {
				sign = fmt.Sprintf("<%s> is marked requiresEncryption and is stored as is", n.name.Local)
			}
		}
		if n.name.Space == "" && n.name.Local == "masterKey" && sign == "" {
			sign = "its <masterKey> is stored as is"
		}
		for _, c := range n.comments {
			if strings.Contains(c, unencryptedComment) && sign == "" {
				sign = "it says \"Warning: the key below is in an unencrypted form.\""
			}
		}
		for _, c := range n.elements() {
			walk(c)
		}
	}
	walk(key)
	switch {
	case sign != "":
		return ProtectionUnencrypted, nullType, sign
	case secret != "":
		return secret, secretType, ""
	}
	return ProtectionUnknown, "", ""
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const n = 60
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n {
			break
		}
		count++
	}
	return s[:i] + "…"
}
