package dialects

import (
	"testing"
)

func TestParseADO(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Pair
		err  bool
	}{
		{"Host=h;Database=d", []Pair{{Key: "host", Value: "h"}, {Key: "database", Value: "d"}}, false},
		{"  Host = h ; ; User  ID=u;", []Pair{{Key: "host", Value: "h"}, {Key: "user id", Value: "u"}}, false},
		{`Password="a;b""c"`, []Pair{{Key: "password", Value: `a;b"c`}}, false},
		{`Password='it''s'`, []Pair{{Key: "password", Value: "it's"}}, false},
		{`Password=" a b " ; Host= h `, []Pair{{Key: "password", Value: " a b "}, {Key: "host", Value: "h"}}, false},
		{`Password=' it''s '`, []Pair{{Key: "password", Value: " it's "}}, false},
		{"Pass==word=x", []Pair{{Key: "pass=word", Value: "x"}}, false},
		{"Value=a=b", []Pair{{Key: "value", Value: "a=b"}}, false},
		{`Password="open`, nil, true},
		{`Password="a" junk`, nil, true},
		{"NoEquals", nil, true},
		{"=x", nil, true},
	} {
		got, err := ParseADO(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseADO(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && !equalPairs(got, tc.want) {
			t.Errorf("parseADO(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func equalPairs(a, b []Pair) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

func TestIsLibpq(t *testing.T) {
	for in, want := range map[string]bool{
		"host=localhost dbname=test":                 true,
		"host=h port=5432 user=u password='a b\\'c'": true,
		"dbname=test":     true,
		"Host=localhost":  false,
		"host=h;dbname=d": false,
		"foo=bar":         false,
		"app.db":          false,
		"postgres://u@h/db?sslmode=disable host=x":      false,
		"host=h sslmode=verify-full sslrootcert=/c.pem": true,
	} {
		if got := IsLibpq(in); got != want {
			t.Errorf("isLibpq(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSecretsOf(t *testing.T) {
	for in, secret := range map[string]string{
		"postgres://u:hunter2@h/db":                 "hunter2",
		"postgres://u:hun%3Ater2@h/db":              "hun:ter2",
		"host=h password=hunter2 dbname=d":          "hunter2",
		"host=h password='hunter 2' dbname=d":       "hunter 2",
		"Server=h;Password=hunter2;Database=d":      "hunter2",
		"Server=h;Pwd=\"hunter;2\"":                 "hunter;2",
		"u:hunter2@tcp(h:3306)/db":                  "hunter2",
		"u:hunt@r2@tcp(h:3306)/db":                  "hunt@r2",
		"sqlserver://h?database=d&password=hunter2": "hunter2",
		"postgres://u:hunter2@h:bad/db":             "hunter2",
	} {
		if got := SecretsOf(in); !Contains(got, secret) {
			t.Errorf("SecretsOf(%q) = %q, want it to hold %q", in, got, secret)
		}
	}
}

func Contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		msg     string
		secrets []string
		want    string
	}{
		{"the connection string does not parse", []string{"p"}, "the connection string does not parse"},
		{"postgres://u:p@h/db: refused", []string{"p"}, "postgres://u:***@h/db: refused"},
		{"password=pw; pw was wrong", []string{"pw"}, "password=***; *** was wrong"},
		{"xpp p", []string{"p"}, "xpp ***"}, // a skipped match is no word boundary for the next
		// A secret inside a longer word is not that secret: whole tokens only.
		{"a-longer-secret and a-longer-secretly", []string{"a-longer-secret"}, "*** and a-longer-secretly"},
		{"dial tcp: connect: connection refused", []string{"connect"}, "dial tcp: ***: connection refused"},
		{"password 'remove' rejected; removed", []string{"remove"}, "password '***' rejected; removed"},
		// A secret whose edge is not a letter or digit ends a word there.
		{"x-pw- and -pw-x", []string{"-pw-"}, "x*** and ***x"},
		{"u:Bbf_Passw0rd@host", []string{"Bbf_Passw0rd"}, "u:***@host"},
		{"ab abc", []string{"ab", "abc"}, "*** ***"},
	} {
		if got := Scrub(tc.msg, tc.secrets); got != tc.want {
			t.Errorf("Scrub(%q, %q) = %q, want %q", tc.msg, tc.secrets, got, tc.want)
		}
	}
}
