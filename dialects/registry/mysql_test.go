package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

func TestMySQLDetect(t *testing.T) {
	for raw, want := range map[string]string{
		"root:@tcp(127.0.0.1:3306)/test":                            "mysql",
		"mysql://app@db/cache":                                      "mysql",
		"Server=db;Port=3306;Database=cache;Uid=app;Pwd=pw":         "mysql",
		"Server=db;Database=cache;Uid=app;Pwd=pw;SslMode=None":      "mysql",
		"Host=db;Database=cache;Username=app;Password=pw":           "postgres",
		"Host=db;Port=3306;Database=cache;Username=app;Password=pw": "mysql",
		"Data Source=app.db":                                        "sqlite",
		"postgres://app@db/cache":                                   "postgres",
	} {
		d, err := Detect(raw)
		if err != nil || d.Name() != want {
			t.Errorf("Detect(%q) = %v, %v; want %s", raw, d, err, want)
		}
	}
	_, err := Detect("Server=db;Database=cache;User Id=app;Password=pw")
	if !errors.Is(err, dialects.ErrConnString) || !strings.Contains(err.Error(), "--dialect mysql") {
		t.Errorf("Detect of a string SqlClient reads too: %v, want it ambiguous, naming --dialect mysql", err)
	}
}

func TestMySQLSecretsMasked(t *testing.T) {
	for _, raw := range []string{
		"app:s3cr%t@tcp(db)/cache",
		"mysql://app:s3cr%25t@db/cache",
		"mysql://app:s3cr%25t@tcp(db)/cache",
		"Server=db;Database=cache;Uid=app;Pwd=s3cr%t",
	} {
		c, err := Parse(raw, "mysql")
		if err != nil {
			t.Fatalf("Parse(%q): %v", raw, err)
		}
		if strings.Contains(c.Display, "s3cr") {
			t.Errorf("Display of %q is %q", raw, c.Display)
		}
		if !slices.Contains(c.Secrets, "s3cr%t") {
			t.Errorf("Secrets of %q are %q, want the password", raw, c.Secrets)
		}
	}
}
