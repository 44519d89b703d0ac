package keyring

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Key XML for the tests: genuine examples, quoted with their source, and
// rows built exactly as ASP.NET Core writes them.

// From dotnet/aspnetcore, src/DataProtection/DataProtection/test/
// Microsoft.AspNetCore.DataProtection.Tests/KeyManagement/XmlKeyManagerTests.cs
// @ 7e66264969488941f336c858b91a0bb9b19d2d4f, GetAllKeys_UnderstandsRevocations:
// four keys and three revocations, one element per row as the EF store keeps
// them. The test asserts keys 1 and 2 revoked (created before the 2017-01-01
// revocation of all keys), key 3 not (created exactly then: "strictly
// before"), key 4 revoked by id.
var aspnetcoreRevocations = []string{
	`<key id='67f9cdea-83ba-41ed-b160-2b1d0ea30251' version='1'>
                    <creationDate>2015-01-01T00:00:00Z</creationDate>
                    <activationDate>2015-02-01T00:00:00Z</activationDate>
                    <expirationDate>2015-03-01T00:00:00Z</expirationDate>
                    <descriptor deserializerType='theDeserializer'>
                      <node />
                    </descriptor>
                  </key>`,
	`<key id='0cf83742-d175-42a8-94b5-1ec049b354c3' version='1'>
                    <creationDate>2016-01-01T00:00:00Z</creationDate>
                    <activationDate>2016-02-01T00:00:00Z</activationDate>
                    <expirationDate>2016-03-01T00:00:00Z</expirationDate>
                    <descriptor deserializerType='theDeserializer'>
                      <node />
                    </descriptor>
                  </key>`,
	`<key id='21580ac4-c83a-493c-bde6-29a1cc97ca0f' version='1'>
                    <creationDate>2017-01-01T00:00:00Z</creationDate>
                    <activationDate>2017-02-01T00:00:00Z</activationDate>
                    <expirationDate>2017-03-01T00:00:00Z</expirationDate>
                    <descriptor deserializerType='theDeserializer'>
                      <node />
                    </descriptor>
                  </key>`,
	`<key id='6bd14f12-0bb8-4822-91d7-04b360de0497' version='1'>
                    <creationDate>2018-01-01T00:00:00Z</creationDate>
                    <activationDate>2018-02-01T00:00:00Z</activationDate>
                    <expirationDate>2018-03-01T00:00:00Z</expirationDate>
                    <descriptor deserializerType='theDeserializer'>
                      <node />
                    </descriptor>
                  </key>`,
	`<revocation version='1'>
                    <!-- The below will revoke no keys. -->
                    <revocationDate>2014-01-01T00:00:00Z</revocationDate>
                    <key id='*' />
                  </revocation>`,
	`<revocation version='1'>
                    <!-- The below will revoke the first two keys. -->
                    <revocationDate>2017-01-01T00:00:00Z</revocationDate>
                    <key id='*' />
                  </revocation>`,
	`<revocation version='1'>
                    <!-- The below will revoke only the last key. -->
                    <revocationDate>2020-01-01T00:00:00Z</revocationDate>
                    <key id='6bd14f12-0bb8-4822-91d7-04b360de0497' />
                  </revocation>`,
}

// Same file, GetAllKeys_SwallowsKeyDeserializationErrors: the first key is
// left out of the ring ("NOT A VALID DATE"), the second loads.
var aspnetcoreBadDateKeys = []string{
	`<key id='78cd498e-9375-4e55-ac0d-d79527ecd09d' version='1'>
                    <creationDate>2015-01-01T00:00:00Z</creationDate>
                    <activationDate>2015-02-01T00:00:00Z</activationDate>
                    <expirationDate>NOT A VALID DATE</expirationDate>
                    <descriptor deserializerType='badDeserializer'>
                      <node />
                    </descriptor>
                  </key>`,
	`<key id='49c0cda9-0232-4d8c-a541-de20cc5a73d6' version='1'>
                    <creationDate>2015-01-01T00:00:00Z</creationDate>
                    <activationDate>2015-02-01T00:00:00Z</activationDate>
                    <expirationDate>2015-03-01T00:00:00Z</expirationDate>
                    <descriptor deserializerType='goodDeserializer'>
                      <node xmlns='private' />
                    </descriptor>
                  </key>`,
}

// Same file, GetAllKeys_SurfacesRevocationDeserializationErrors: the test
// asserts that GetAllKeys throws (FormatException).
const aspnetcoreBadRevocation = `<revocation version='1'>
                    <revocationDate>2015-01-01T00:00:00Z</revocationDate>
                    <key id='{invalid}' />
                  </revocation>`

// Same file, RevokeAllKeys: what XmlKeyManager.RevokeAllKeys stores, a
// date with a -08:00 offset (2015-03-02 03:13:19.7573854 UTC).
const aspnetcoreRevokeAll = `<revocation version='1'>
                  <revocationDate>2015-03-01T19:13:19.7573854-08:00</revocationDate>
                  <!--All keys created before the revocation date are revoked.-->
                  <key id='*' />
                  <reason>Here's some reason text.</reason>
                </revocation>`

// Same file, CreateNewKey_Internal_WithEscrowAndEncryption: what XmlKeyManager
// stores with NullXmlEncryptor configured, with the test's string.Format
// arguments filled in (new XElement("creationDate", new DateTimeOffset(2014,
// 01, 01, 0, 0, 0, TimeSpan.Zero)) and so on; typeof(NullXmlDecryptor).
// AssemblyQualifiedName). The secret is wrapped, not encrypted.
const aspnetcoreNullEncrypted = `
                <key id='3d6d01fd-c0e7-44ae-82dd-013b996b4093' version='1' xmlns:enc='http://schemas.asp.net/2015/03/dataProtection'>
                  <creationDate>2014-01-01T00:00:00Z</creationDate>
                  <activationDate>2014-02-01T00:00:00Z</activationDate>
                  <expirationDate>2014-03-01T00:00:00Z</expirationDate>
                  <descriptor deserializerType='Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManagerTests+MyDeserializer, Microsoft.AspNetCore.DataProtection.Tests'>
                    <theElement>
                      <enc:encryptedSecret decryptorType='Microsoft.AspNetCore.DataProtection.XmlEncryption.NullXmlDecryptor, Microsoft.AspNetCore.DataProtection, Version=10.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60'>
                        <unencryptedKey>
                          <secret enc:requiresEncryption='true'>
                            <![CDATA[This is a secret value.]]>
                          </secret>
                        </unencryptedKey>
                      </enc:encryptedSecret>
                    </theElement>
                  </descriptor>
                </key>`

// From dotnet/aspnetcore issue #33071 ("DataProtection - Wrong activation
// time", https://github.com/dotnet/aspnetcore/issues/33071), a key ring
// posted by its reporter (master keys redacted by him, which also removed
// the "unencrypted form" comment): a key, and its successor written by
// KeyRingProvider with activationDate = the first key's expirationDate. The
// excerpt of the second key ends inside its descriptor; it is completed in
// the shape of the first.
const (
	issue33071First  = `<key id="36c1e414-5b3c-438a-8b07-73ec5a528486" version="1"><creationDate>2020-04-23T12:31:14.818651Z</creationDate><activationDate>2020-04-23T12:31:13.543231Z</activationDate><expirationDate>2020-07-22T12:31:13.543231Z</expirationDate><descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=3.0.3.0, Culture=neutral, PublicKeyToken=adb9793829ddae60"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><masterKey p5:requiresEncryption="true" xmlns:p5="http://schemas.asp.net/2015/03/dataProtection"><value>***Redacted***</value></masterKey></descriptor></descriptor></key>`
	issue33071Second = `<key id="099f105a-e590-4e66-90d7-0883e8e2db72" version="1"><creationDate>2020-07-21T08:05:10.9149068Z</creationDate><activationDate>2020-07-22T12:31:13.543231Z</activationDate><expirationDate>2020-10-19T08:05:10.704182Z</expirationDate><descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=3.1.6.0, Culture=neutral, PublicKeyToken=adb9793829ddae60"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><masterKey p5:requiresEncryption="true" xmlns:p5="http://schemas.asp.net/2015/03/dataProtection"><value>***Redacted***</value></masterKey></descriptor></descriptor></key>`
)

// From Learn, "Key storage format in ASP.NET Core" (dotnet/AspNetCore.Docs,
// aspnetcore/security/data-protection/implementation/key-storage-format.md
// @ 076adeaddde69c482a5672a95585c394bf99bece): the two revocation forms.
const (
	learnRevokeOne = `<?xml version="1.0" encoding="utf-8"?>
<revocation version="1">
  <revocationDate>2015-03-20T22:45:30.2616742Z</revocationDate>
  <key id="bbbbbbbb-1c1c-2d2d-3e3e-444444444444" />
  <reason>human-readable reason</reason>
</revocation>`
	learnRevokeAll = `<?xml version="1.0" encoding="utf-8"?>
<revocation version="1">
  <revocationDate>2015-03-20T15:45:45.7366491-07:00</revocationDate>
  <!-- All keys created before the revocation date are revoked. -->
  <key id="*" />
  <reason>human-readable reason</reason>
</revocation>`
)

// The secrets of rows built as ASP.NET Core 8 writes them. The Xml column
// holds element.ToString(SaveOptions.DisableFormatting)
// (EntityFrameworkCoreXmlRepository.StoreElement): no declaration, no
// indentation, the namespace declarations System.Xml.Linq generates.
const (
	// SecretExtensions.ToMasterKeyElement, no encryptor configured (the
	// form of the rows in many public database dumps).
	secretUnencrypted = `<masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><!-- Warning: the key below is in an unencrypted form. --><value>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==</value></masterKey>`
	// DpapiXmlEncryptor (ProtectKeysWithDpapi), wrapped by
	// XmlEncryptionExtensions.EncryptIfNecessary; the shape of a key file a
	// Windows host wrote (Version=8.0.0.0), ciphertext shortened.
	secretDPAPI = `<encryptedSecret decryptorType="Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiXmlDecryptor, Microsoft.AspNetCore.DataProtection, Version=8.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60" xmlns="http://schemas.asp.net/2015/03/dataProtection"><encryptedKey xmlns=""><!-- This key is encrypted with Windows DPAPI. --><value>AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAA/13cneK0bkmbEII3g6oEDgAAAAACAAAAAAAQZgAAAAEAACAAAADxJcn0BIJYkGlTN==</value></encryptedKey></encryptedSecret>`
	// DpapiNGXmlEncryptor (ProtectKeysWithDpapiNG); the <encryptedKey> is
	// the sample output of Learn, "Key management extensibility in ASP.NET
	// Core".
	secretDPAPING = `<encryptedSecret decryptorType="Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiNGXmlDecryptor, Microsoft.AspNetCore.DataProtection, Version=8.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60" xmlns="http://schemas.asp.net/2015/03/dataProtection"><encryptedKey xmlns=""><!-- This key is encrypted with Windows DPAPI-NG. --><!-- Rule: SID=S-1-5-21-1004336348-1177238915-682003330-512 --><value>MIIIfAYJKoZIhvcNAQcDoIIIbTCCCGkCAQ...T5rA4g==</value></encryptedKey></encryptedSecret>`
	// CertificateXmlEncryptor (ProtectKeysWithCertificate): XML Encryption,
	// in the shape of dotnet/aspnetcore's test key ring encrypted to its
	// dummy test certificate (Constants.KeyRingXmlContents), base64
	// shortened.
	secretCertificate = `<encryptedSecret decryptorType="Microsoft.AspNetCore.DataProtection.XmlEncryption.EncryptedXmlDecryptor, Microsoft.AspNetCore.DataProtection, Version=8.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60" xmlns="http://schemas.asp.net/2015/03/dataProtection"><EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element" xmlns="http://www.w3.org/2001/04/xmlenc#"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc" /><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><EncryptedKey xmlns="http://www.w3.org/2001/04/xmlenc#"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5" /><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>MIIDATCCAemgAwIBAgIQNH2CfRDvN5FK9yzBy/U8bTANBgkqhkiG9w0BAQsFADAb</X509Certificate></X509Data></KeyInfo><CipherData><CipherValue>ahdd65gng0TzxZ/6Nw1zLvqFi3lsvz4tvAF4pBz7BZCqTHbTzaRnK5rMWSP9wEk8</CipherValue></CipherData></EncryptedKey></KeyInfo><CipherData><CipherValue>YTcCujeLvS47fgVUWLUC9FaZJDp+MSMtuxAkUWfAh5xnbKI8i0dFulIftz+lykfx</CipherValue></CipherData></EncryptedData></encryptedSecret>`
	// Azure.Extensions.AspNetCore.DataProtection.Keys' AzureKeyVaultXmlEncryptor
	// (ProtectKeysWithAzureKeyVault, Azure/azure-sdk-for-net
	// sdk/extensions/Azure.Extensions.AspNetCore.DataProtection.Keys/src/
	// AzureKeyVaultXmlEncryptor.cs): kid, wrapped key, iv, value.
	secretAzureKeyVault = `<encryptedSecret decryptorType="Azure.Extensions.AspNetCore.DataProtection.Keys.AzureKeyVaultXmlDecryptor, Azure.Extensions.AspNetCore.DataProtection.Keys, Version=1.6.4.0, Culture=neutral, PublicKeyToken=92742159e12e44c8" xmlns="http://schemas.asp.net/2015/03/dataProtection"><encryptedKey xmlns=""><!-- This key is encrypted with Azure Key Vault. --><kid>https://contoso.vault.azure.net/keys/dataprotection/0123456789abcdef0123456789abcdef</kid><key>UGxhY2Vob2xkZXIgd3JhcHBlZCBrZXk=</key><iv>AAAAAAAAAAAAAAAAAAAAAA==</iv><value>UGxhY2Vob2xkZXIgY2lwaGVydGV4dA==</value></encryptedKey></encryptedSecret>`
	// A third-party encryptor (the pattern of the AWS KMS and similar
	// packages): a decryptor sessctl does not know.
	secretCustom = `<encryptedSecret decryptorType="Contoso.DataProtection.KmsXmlDecryptor, Contoso.DataProtection" xmlns="http://schemas.asp.net/2015/03/dataProtection"><encryptedKey xmlns=""><value>Y2lwaGVy</value></encryptedKey></encryptedSecret>`
)

// xsdTime writes a date as XmlConvert.ToString(DateTimeOffset) does, which
// is how new XElement(name, DateTimeOffset) stores it:
// "yyyy-MM-ddTHH:mm:ss.FFFFFFFzzzzzz", "Z" for a zero offset.
func xsdTime(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05")
	if f := strings.TrimRight(fmt.Sprintf("%07d", t.Nanosecond()/100), "0"); f != "" {
		s += "." + f
	}
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	return s + t.Format("-07:00")
}

// efKey builds a key row as XmlKeyManager.CreateNewKey builds the element
// (ASP.NET Core 8, the default AES-256-CBC + HMACSHA256 descriptor) and the
// EF store serializes it.
func efKey(id string, created, activated, expires time.Time, secret string) string {
	return `<key id="` + id + `" version="1"><creationDate>` + xsdTime(created) + `</creationDate><activationDate>` +
		xsdTime(activated) + `</activationDate><expirationDate>` + xsdTime(expires) + `</expirationDate>` +
		`<descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=8.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60">` +
		`<descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" />` + secret + `</descriptor></descriptor></key>`
}

// newKey is a key as KeyRingProvider writes it when the ring is empty:
// activation at creation (immediate), lifetime 90 days.
func newKey(id string, created time.Time, secret string) string {
	return efKey(id, created, created, created.Add(DefaultKeyLifetime), secret)
}

// efRevokeKey is XmlKeyManager.RevokeSingleKey's element, as stored.
func efRevokeKey(id string, at time.Time) string {
	return `<revocation version="1"><revocationDate>` + xsdTime(at) + `</revocationDate><key id="` + id + `" /><reason>compromised</reason></revocation>`
}

// efRevokeAll is XmlKeyManager.RevokeAllKeys' element, as stored.
func efRevokeAll(at time.Time) string {
	return `<revocation version="1"><revocationDate>` + xsdTime(at) + `</revocationDate><!-- All keys created before the revocation date are revoked. --><key id="*" /><reason /></revocation>`
}

// rows numbers the XML values 1, 2, … as an identity column does.
func rows(xml ...string) []Row {
	out := make([]Row, len(xml))
	for i, x := range xml {
		out[i] = Row{ID: int64(i + 1), FriendlyName: sql.NullString{String: fmt.Sprintf("row-%d", i+1), Valid: true}, XML: sql.NullString{String: x, Valid: true}}
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Key ids for the built rows.
const (
	idA = "aaaaaaaa-0b0b-1c1c-2d2d-333333333333" // the id Learn's key sample uses
	idB = "bbbbbbbb-1c1c-2d2d-3e3e-444444444444"
	idC = "cccccccc-2d2d-3e3e-4f4f-555555555555"
)
