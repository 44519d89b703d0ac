package keyring

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFindingsNeverEchoSecrets: whatever state a row holding an unencrypted
// master key is in (well-formed, cut short, corrupted around or inside the
// secret, in a key that cannot be read), no finding and no part of the
// report's JSON holds the secret or any long piece of it. (Key ids and the
// names of the elements ASP.NET Core writes are quoted on purpose: they are
// not secrets; any other name is not, as a stray "<" makes a tag of text.)
func TestFindingsNeverEchoSecrets(t *testing.T) {
	now := at("2025-06-01T12:00:00Z")
	const secret = "S3cr3tMasterKeyValue0123456789abcdefGHIJKLmnopQRSTuvwxYZ+/Zm9vYmFy"
	masterKey := func(value string) string {
		return `<masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><!-- Warning: the key below is in an unencrypted form. --><value>` + value + `</value></masterKey>`
	}
	good := newKey(idA, now.Add(-time.Hour), masterKey(secret))
	cut := strings.Index(good, secret) + len(secret)/2
	cases := map[string]string{
		"well-formed":           good,
		"cut inside the secret": good[:cut],
		"cut after the secret":  good[:strings.Index(good, "</value>")],
		"ampersand in secret":   newKey(idA, now.Add(-time.Hour), masterKey(secret[:20]+"&"+secret[20:])),
		"entity of the secret":  newKey(idA, now.Add(-time.Hour), masterKey("&"+secret+";")),
		"lt in secret":          newKey(idA, now.Add(-time.Hour), masterKey(secret[:20]+"<"+secret[20:])),
		"secret as element":     newKey(idA, now.Add(-time.Hour), masterKey("<"+secret+">")),
		"secret as attribute":   newKey(idA, now.Add(-time.Hour), `<masterKey v=`+secret+`></masterKey>`),
		"bad date":              strings.Replace(good, "<expirationDate>", "<expirationDate>x", 1),
		"no id":                 strings.Replace(good, `id="`+idA+`"`, "", 1),
		"secret as root":        "<" + secret + "/>",
		"wrong close":           strings.Replace(good, "</value>", "</"+secret+">", 1),
		"secret outside root":   good + secret,
		"doctype":               `<!DOCTYPE key [<!ENTITY e "` + secret + `">]>` + good,
	}
	// Short pieces of a secret made into names by corruption.
	for name, x := range map[string]string{
		"piece as end tag":         strings.Replace(good, "</value>", "</valueLEAKf>", 1),
		"piece as twice attribute": strings.Replace(good, "<value>", `<value LEAKg="1" LEAKg="2">`, 1),
		"piece as undeclared attr": strings.Replace(good, "<value>", `<value LEAKh:x="1">`, 1),
		"piece as stray end tag":   good + "</LEAKi>",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(Analyze(rows(x, good), now))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "LEAK") {
				t.Fatalf("the report quotes a name made of the secret: %s", b)
			}
		})
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			r := Analyze(rows(x, good), now)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+12 <= len(secret); i++ {
				if piece := secret[i : i+12]; strings.Contains(string(b), piece) {
					t.Fatalf("the report holds %q of the secret: %s", piece, b)
				}
			}
		})
	}
}
