package cmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// result is what one in-process run of sessctl printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// sessctl runs the command line in-process, with env as the whole
// environment.
func sessctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return result{out.String(), errb.String(), code}
}

// want fails t unless r exited with code.
func (r result) want(t *testing.T, code int, args ...string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("sessctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// must runs sessctl and fails t unless it exits with code.
func must(t *testing.T, code int, args ...string) result {
	t.Helper()
	return sessctl(t, nil, args...).want(t, code, args...)
}

// jsonOut decodes r's stdout into a map.
func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	return m
}

func TestRedact(t *testing.T) {
	r := &redactor{}
	r.add("pw", "a-longer-secret")
	for in, want := range map[string]string{
		"user:pw@host":         "user:***@host",
		"password=pw dbname=x": "password=*** dbname=x",
		"expected pwd, upward": "expected pwd, upward",
		"pw":                   "***",
		"xx a-longer-secretyy": "xx a-longer-secretyy", // inside a longer word: not the secret
		"xx a-longer-secret.":  "xx ***.",
		"the pw is pw.":        "the *** is ***.",
		"überpw pwé":           "überpw pwé",
	} {
		if got := r.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
