package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// equalPassword is a password that is also a word sessctl prints of its
// own: the dialect, the schema, the table, the database, the user, or a
// word of its messages.
type equalPassword struct{ what, password string }

// equalRun is one command line of the equal-password runs, and the exit
// codes it may end with.
type equalRun struct {
	args  []string
	table string // "" is the case's table
	code  int
}

// equalRuns are create, verify, purge and drop of the table, each in text
// (verbose) and JSON, from no table back to none, and the failures of a
// missing table, so that a run with one password and a run with another
// meet the same state.
func equalRuns() []equalRun {
	var runs []equalRun
	for _, output := range []string{"text", "json"} {
		o := []string{"-o", output}
		if output == "text" {
			o = append(o, "-v")
		}
		with := func(args ...string) []string { return append(append([]string(nil), args...), o...) }
		runs = append(runs,
			equalRun{args: with("create"), code: 0},
			equalRun{args: with("create"), code: 0},
			equalRun{args: with("verify", "--strict"), code: 0},
			equalRun{args: with("purge"), code: 0},
			equalRun{args: with("purge", "--dry-run"), code: 0},
			equalRun{args: with("verify"), table: "NoSuchTable", code: ExitIncompatible},
			equalRun{args: with("purge"), table: "NoSuchTable", code: ExitIncompatible},
			equalRun{args: with("drop", "--yes"), code: 0},
			equalRun{args: with("drop", "--yes"), code: ExitFailed},
		)
	}
	return runs
}

// runEqualPasswords: with a password equal to a word sessctl prints of its
// own, what sessctl fills in itself (the dialect, schema, table, status,
// the names it derives, its messages) is printed as it is, unmasked; and
// the password is printed nowhere it would not be printed if it were
// another: each command line runs twice from the same state, with the
// password and with the distinctive secret in its place (setPassword
// gives the account each in turn), and the run with the password may hold
// it no more often than the run with the secret does (where the secret is
// masked, the password must be masked too), and mask no more than those
// places. conn writes the connection string for a password; badConn one
// whose login fails with it.
func runEqualPasswords(t *testing.T, dialect, schema, table string, passwords []equalPassword,
	setPassword func(pw string), conn, badConn func(pw string) string) int {
	t.Helper()
	runs := 0
	for _, ep := range passwords {
		outputs := map[string][]result{}
		for _, pw := range []string{ep.password, secret} {
			setPassword(pw)
			for _, r := range equalRuns() {
				args := append(append([]string(nil), r.args...), conn(pw), schema, cmpOr(r.table, table))
				res := sessctl(t, nil, args...)
				runs++
				if res.code != r.code {
					t.Errorf("password %s (%q): sessctl %s: exit %d, want %d\nstdout: %s\nstderr: %s",
						ep.what, pw, strings.Join(r.args, " "), res.code, r.code, res.stdout, res.stderr)
				}
				outputs[pw] = append(outputs[pw], res)
			}
			if badConn != nil {
				res := sessctl(t, nil, "verify", "-v", badConn(pw), schema, table)
				runs++
				if res.code != ExitFailed {
					t.Errorf("password %s: a refused login: exit %d, want 1\n%s", ep.what, res.code, res.stderr)
				}
				outputs[pw] = append(outputs[pw], res)
			}
		}
		for i, withPW := range outputs[ep.password] {
			withSecret := outputs[secret][i]
			what := fmt.Sprintf("password %s (%q), run %d", ep.what, ep.password, i)
			compareEqualPassword(t, what, ep.password, withPW, withSecret, dialect, schema)
		}
	}
	return runs
}

func compareEqualPassword(t *testing.T, what, pw string, withPW, withSecret result, dialect, schema string) {
	t.Helper()
	outPW, outSecret := withPW.stdout+withPW.stderr, withSecret.stdout+withSecret.stderr
	for _, f := range secretForms() {
		if strings.Contains(outSecret, f) {
			t.Errorf("%s: the run with the secret printed it (as %q):\n%s", what, f, outSecret)
		}
	}
	// Not printed where the secret was masked.
	nPW, nSecret := strings.Count(outPW, pw), strings.Count(outSecret, pw)
	if nPW > nSecret {
		t.Errorf("%s: %q printed %d times, against %d when the password is another: it is shown where a password would be\n"+
			"with it:\n%s\nwith another:\n%s", what, pw, nPW, nSecret, outPW, outSecret)
	}
	// Masked only where it came from a driver or the database (in place
	// of a word the other run shows), never in sessctl's own words.
	if stars, want := strings.Count(outPW, "***"), strings.Count(outSecret, "***")+nSecret-nPW; stars > want {
		t.Errorf("%s: %d masks, want at most %d: sessctl's own words are masked\nwith it:\n%s\nwith another:\n%s",
			what, stars, want, outPW, outSecret)
	}
	if !strings.HasPrefix(strings.TrimSpace(withPW.stdout), "{") {
		return
	}
	var a, b map[string]any
	if json.Unmarshal([]byte(withPW.stdout), &a) != nil || json.Unmarshal([]byte(withSecret.stdout), &b) != nil {
		t.Errorf("%s: stdout is not JSON:\n%s", what, withPW.stdout)
		return
	}
	for _, k := range []string{"dialect", "schema", "table", "status", "version", "latest_version", "deleted", "batches", "expiry_index", "exit_code"} {
		if fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
			t.Errorf("%s: JSON %q is %v, and %v when the password is another", what, k, a[k], b[k])
		}
	}
	if d, ok := a["dialect"]; ok && d != dialect {
		t.Errorf("%s: JSON dialect %v, want %s", what, d, dialect)
	}
	if s, ok := a["schema"]; ok && s != schema {
		t.Errorf("%s: JSON schema %v, want %s", what, s, schema)
	}
}
