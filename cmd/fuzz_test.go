package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

// scriptCommands are the command lines that print SQL without connecting.
var scriptCommands = [][]string{
	{"create", "--script"},
	{"create", "--script", "--idempotent"},
	{"drop", "--script"},
	{"purge", "--script", "--batch-size", "500", "--grace", "1m"},
}

// FuzzScript runs `sessctl <command> --script --dialect <each>` in-process
// with fuzzed schema and table names: it never panics, exits 0 or 2, prints
// nothing on stdout when it exits 2, and on 0 prints the script it prints
// for plain names with the names, quoted, in their places (see
// dialecttest.SameShape).
func FuzzScript(f *testing.F) {
	for _, s := range []string{"SessionData", "public", "main", "dbo", `a"b`, "a`b", "a]b", "a'b", `a\b`,
		"x; DROP TABLE y", "-- c", "/* c */", "$sessctl$", "{{.Table}}", "Sessión データ", "-x", "--help", "--yes",
		"", " ", "a\x00b", "\xff", "a\nb", strings.Repeat("a", 64), strings.Repeat("`", 30)} {
		f.Add("public", s)
		f.Add(s, "SessionData")
	}
	// The scripts for plain names, by dialect and command.
	benign := map[string]*schema.Table{}
	want := map[string]string{}
	for _, dn := range registry.List() {
		d, _ := registry.Lookup(dn)
		benignSchema := "Sbenign"
		if dn == "sqlite" {
			benignSchema = "main"
		}
		tbl, err := schema.NewTable(d, benignSchema, "Tbenign")
		if err != nil {
			f.Fatal(err)
		}
		benign[dn] = tbl
		for i, c := range scriptCommands {
			args := append(append(append([]string(nil), c...), "--dialect", dn, "--"), tbl.Schema, tbl.Table)
			var out, errb bytes.Buffer
			if code := run(args, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != ExitOK {
				f.Fatalf("sessctl %q exited %d:\n%s", args, code, errb.String())
			}
			want[dn+strconv.Itoa(i)] = out.String()
		}
	}
	f.Fuzz(func(t *testing.T, schemaName, tableName string) {
		for _, dn := range registry.List() {
			d, _ := registry.Lookup(dn)
			tbl, tableErr := schema.NewTable(d, schemaName, tableName)
			for i, c := range scriptCommands {
				args := append(append(append([]string(nil), c...), "--dialect", dn, "--"), schemaName, tableName)
				r := sessctl(t, nil, args...)
				switch {
				case r.code == ExitUsage:
					if r.stdout != "" {
						t.Errorf("sessctl %q exited 2 and printed on stdout:\n%s", args, r.stdout)
					}
					if tableErr == nil {
						t.Errorf("sessctl %q exited 2, but NewTable accepts the names:\n%s", args, r.stderr)
					}
					continue
				case r.code != ExitOK:
					t.Fatalf("sessctl %q exited %d, want 0 or 2:\n%s", args, r.code, r.stderr)
				}
				if tableErr != nil {
					t.Errorf("sessctl %q exited 0, but NewTable refuses the names (%v)", args, tableErr)
					continue
				}
				err := dialecttest.SameShape(dn, want[dn+strconv.Itoa(i)], tableNames(benign[dn]), r.stdout, tableNames(tbl))
				if err != nil {
					t.Errorf("sessctl %q printed a script of another shape: %v\n%s", args, err, r.stdout)
				}
			}
		}
	})
}

func tableNames(t *schema.Table) []string {
	return []string{t.Schema, t.Table, t.VersionTable, t.PrimaryKey, t.ExpiryIndex}
}

// FuzzRedact writes a password into every form of connection string,
// registers its secrets as sessctl does (resolve: what SecretsOf finds,
// and what the dialect's parser finds, or the whole string when it does
// not parse), and redacts a text holding the password. The output holds
// no password where it stood as a whole token (no letter or digit touching
// a letter or digit at its edge), which is where a message shows one:
// user:pw@host, password=pw. (One inside a longer word stays, by design: a
// password "connect" must not mask the "connect" of "connection".)
func FuzzRedact(f *testing.F) {
	for i, pw := range []string{"s3cr3t-password", "pw", "p@ss:w/rd", `it's "quoted"`, "a;b=c", "ünïcødé", "***",
		"a***b", "xx", "%41%42", "pw pw", " pw ", "password", "\x00", "\xff", "ab", "aba", "abab",
		// passwords that are also words sessctl prints of its own
		"postgres", "mysql", "sqlite", "public", "main", "SessionData", "table", "connecting", "purging", "interrupted",
		"remove", "setting", "use", "a", "connect", "refused", "Password", "quoted"} {
		f.Add(i, pw, "failed: user:", "@host refused")
		f.Add(i, pw, "password=", " dbname=x")
		f.Add(i, pw, "", "")
		f.Add(i, pw, pw, pw)
	}
	f.Fuzz(func(t *testing.T, form int, password, before, after string) {
		if strings.Trim(password, "*") == "" {
			return // nothing, or only stars: what the mask itself shows
		}
		raw, dn := dialecttest.ConnString(form, "user", password, "127.0.0.1:5432", "db")
		r := &redactor{}
		r.add(dialects.SecretsOf(raw)...)
		if conn, err := registry.Parse(raw, dn); err != nil {
			r.add(raw)
		} else {
			r.add(conn.Secrets...)
		}
		checkErrorText(t, r, raw, password, before, after)
		// The password, alone between spaces (driver text masks whole
		// tokens only, never a part of a longer word): masking writes
		// stars, never spaces, so " password " in the output can only be
		// one that was there, alone, and not masked.
		text := before + " " + password + " " + after
		if out := r.redact(text); strings.Contains(out, " "+password+" ") {
			t.Errorf("redact(%q) with the secrets of %q = %q: the password %q is still there", text, raw, out, password)
		}
	})
}

// checkErrorText: an error of sessctl's own words, which name the password
// as if it were the table, around a driver's error that holds the
// password, is printed with sessctl's words as they are and the driver's
// masked as redact masks them; and never with the password more often
// than sessctl's own words hold it.
func checkErrorText(t *testing.T, r *redactor, raw, password, before, after string) {
	t.Helper()
	foreign := before + " " + password + " " + after
	own := fmt.Sprintf("purging %s after 0 rows: ", password)
	err := fmt.Errorf("%w: purging %s after 0 rows: %w", schema.ErrInterrupted, password, errors.New(foreign))
	got := r.errorText(err)
	prefix := schema.ErrInterrupted.Error() + ": " + own
	if strings.Count(err.Error(), foreign) == 1 {
		if want := prefix + r.redact(foreign); got != want {
			t.Errorf("errorText with the secrets of %q:\n got %q\nwant %q", raw, got, want)
		}
		return
	}
	// The driver's words are said twice (they are among sessctl's): both
	// are masked, and the password is shown no more often than in
	// sessctl's words alone.
	if n, max := strings.Count(got, " "+password+" "), strings.Count(prefix, " "+password+" "); n > max {
		t.Errorf("errorText(%q) with the secrets of %q = %q: the password %q shown %d times, sessctl's words hold it %d times",
			err, raw, got, password, n, max)
	}
}
