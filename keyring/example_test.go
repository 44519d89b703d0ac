package keyring_test

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/keyring"
)

// A key ring of one key, as the EF store keeps it (from dotnet/aspnetcore
// issue #33071, master key redacted by its reporter), the day before the
// key expires.
func ExampleAnalyze() {
	const xml = `<key id="36c1e414-5b3c-438a-8b07-73ec5a528486" version="1"><creationDate>2020-04-23T12:31:14.818651Z</creationDate><activationDate>2020-04-23T12:31:13.543231Z</activationDate><expirationDate>2020-07-22T12:31:13.543231Z</expirationDate><descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=3.0.3.0, Culture=neutral, PublicKeyToken=adb9793829ddae60"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><masterKey p5:requiresEncryption="true" xmlns:p5="http://schemas.asp.net/2015/03/dataProtection"><value>***Redacted***</value></masterKey></descriptor></descriptor></key>`
	rows := []keyring.Row{
		{ID: 1, FriendlyName: sql.NullString{String: "key-36c1e414-5b3c-438a-8b07-73ec5a528486", Valid: true}, XML: sql.NullString{String: xml, Valid: true}},
	}
	r := keyring.Analyze(rows, time.Date(2020, 7, 21, 12, 0, 0, 0, time.UTC))

	fmt.Println(r.Status, r.DefaultKey.ID, r.DefaultKey.Expiration.Format(time.RFC3339))
	fmt.Println("new key needed:", r.Renewal.NewKeyNeeded)
	for _, f := range r.Findings {
		fmt.Println(f.Severity, f.Object)
	}
	// Output:
	// usable 36c1e414-5b3c-438a-8b07-73ec5a528486 2020-07-22T12:31:13Z
	// new key needed: true
	// warning key 36c1e414-5b3c-438a-8b07-73ec5a528486
	// warning key 36c1e414-5b3c-438a-8b07-73ec5a528486
	// info key 36c1e414-5b3c-438a-8b07-73ec5a528486
	// info key ring
}
