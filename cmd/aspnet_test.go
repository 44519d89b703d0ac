package cmd

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
)

// The classic ASP.NET session state tables, each made as its provider or
// tool makes it (LAYOUTS.md §3.3); %[1]s is the schema-qualified table,
// %[2]s its bare name, spliced unquoted as the providers splice it (the
// tests' names need no quoting).
var classicDDL = map[string]string{
	// aspnet_regsql -ssadd: InstallPersistSqlState.sql, CreateTempTables,
	// SQL Server 8 and later, trailing commas and all.
	"aspstate": `CREATE TABLE %[1]s (
                SessionId           nvarchar(88)    NOT NULL PRIMARY KEY,
                Created             datetime        NOT NULL DEFAULT GETUTCDATE(),
                Expires             datetime        NOT NULL,
                LockDate            datetime        NOT NULL,
                LockDateLocal       datetime        NOT NULL,
                LockCookie          int             NOT NULL,
                Timeout             int             NOT NULL,
                Locked              bit             NOT NULL,
                SessionItemShort    varbinary(7000) NULL,
                SessionItemLong     image           NULL,
                Flags               int             NOT NULL DEFAULT 0,
            ) 

            CREATE NONCLUSTERED INDEX Index_Expires ON %[1]s(Expires)`,
	// The async provider's CreateSessionTableTemplate at HEAD, IdLength 88.
	"aspnet-async": asyncDDL("varbinary(max)"),
	// The same, as older versions wrote it: SessionItemLong image.
	"aspnet-async-old": asyncDDL("image"),
	// The same made by hand, without the default of Flags.
	"aspnet-async-nodefault": strings.Replace(asyncDDL("varbinary(max)"), "NOT NULL DEFAULT 0", "NOT NULL", 1),
	// The Universal Providers' Sessions: all NOT NULL but SessionItem, no
	// index on Expires, the primary key named as Entity Framework names it.
	"universal": `CREATE TABLE %[1]s (
    SessionId nvarchar(88) NOT NULL,
    Created datetime NOT NULL,
    Expires datetime NOT NULL,
    LockDate datetime NOT NULL,
    LockCookie int NOT NULL,
    Locked bit NOT NULL,
    SessionItem image NULL,
    Flags int NOT NULL,
    Timeout int NOT NULL,
    CONSTRAINT [PK_dbo.%[2]s] PRIMARY KEY (SessionId)
)`,
}

func asyncDDL(itemType string) string {
	return `               IF NOT EXISTS (SELECT * 
                 FROM INFORMATION_SCHEMA.TABLES 
                 WHERE TABLE_NAME = '%[2]s')
               BEGIN
                CREATE TABLE %[1]s (
                SessionId           nvarchar(88)    NOT NULL PRIMARY KEY,
                Created             datetime        NOT NULL DEFAULT GETUTCDATE(),
                Expires             datetime        NOT NULL,
                LockDate            datetime        NOT NULL,
                LockDateLocal       datetime        NOT NULL,
                LockCookie          int             NOT NULL,
                Timeout             int             NOT NULL,
                Locked              bit             NOT NULL,
                SessionItemLong     ` + itemType + `  NULL,
                Flags               int             NOT NULL DEFAULT 0,
                ) 
                CREATE NONCLUSTERED INDEX Index_Expires ON %[1]s (Expires)
            END`
}

// classicTable makes a table of kind (a key of classicDDL) with its
// provider's DDL, dropped when t ends, and returns its name.
func classicTable(t *testing.T, s dialecttest.Server, db *sql.DB, kind string) string {
	t.Helper()
	table := dialecttest.Table("Asp")
	s.DropAtCleanup(t, db, table)
	if _, err := db.Exec(fmt.Sprintf(classicDDL[kind], s.Qualified(table), table)); err != nil {
		t.Fatalf("the %s DDL: %v", kind, err)
	}
	return table
}

// seedSessions inserts n sessions id prefix1…prefixN expiring in minutes
// from the database's UTC now (negative: expired), locked by the provider
// (Locked = 1) when locked, as the providers write them: times from
// GETUTCDATE(). Universal's table has no LockDateLocal.
func seedSessions(t *testing.T, s dialecttest.Server, db *sql.DB, kind, table, prefix string, n, minutes int, locked bool) {
	t.Helper()
	local, localValue := ", [LockDateLocal]", ", GETDATE()"
	if kind == "universal" {
		local, localValue = "", ""
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s ([SessionId], [Created], [Expires], [LockDate]%[2]s, [LockCookie], [Timeout], [Locked], [Flags])
SELECT @p1 + CAST(g.i AS nvarchar(20)), GETUTCDATE(), DATEADD(minute, @p2, GETUTCDATE()), GETUTCDATE()%[3]s, 1, 20, @p3, 0
FROM (SELECT TOP (@p4) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i
      FROM sys.all_columns AS a CROSS JOIN sys.all_columns AS b) AS g`, s.Qualified(table), local, localValue)
	if _, err := db.Exec(q, prefix, minutes, locked, n); err != nil {
		t.Fatalf("seeding %s: %v", prefix, err)
	}
}

// countSessions counts the rows whose id begins with prefix.
func countSessions(t *testing.T, s dialecttest.Server, db *sql.DB, table, prefix string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(`SELECT COUNT_BIG(*) FROM `+s.Qualified(table)+` WHERE [SessionId] LIKE @p1 + N'%'`, prefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// providerExpired is what the providers' own purge would delete now: the
// candidates DeleteExpiredSessions (KB 973849), and the async provider's
// inline copy of it, read (SELECT SessionId FROM … WITH (READUNCOMMITTED)
// WHERE Expires < @now, @now = GETUTCDATE()), which it then deletes one
// by one re-checking Expires < @now.
func providerExpired(t *testing.T, s dialecttest.Server, db *sql.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(`DECLARE @now datetime
SET @now = GETUTCDATE()
SELECT COUNT_BIG(*) FROM (SELECT SessionId FROM ` + s.Qualified(table) + ` WITH (READUNCOMMITTED) WHERE Expires < @now) AS candidates`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestClassicSessionPurge: on each classic ASP.NET layout, made by its
// provider's DDL, purge deletes every expired session, those the provider
// marked Locked too (DeleteExpiredSessions deletes them: Locked is the
// provider's flag, not a lock), and never a live one, locked or not, in
// batches; then the provider's own purge finds nothing left to delete.
func TestClassicSessionPurge(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	for _, kind := range []string{"aspstate", "aspnet-async", "aspnet-async-old", "universal"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			layout := strings.TrimSuffix(kind, "-old")
			db := s.Open(t)
			table := classicTable(t, s, db, kind)
			seedSessions(t, s, db, kind, table, "old", 700, -30, false)
			seedSessions(t, s, db, kind, table, "oldlocked", 50, -1, true)
			seedSessions(t, s, db, kind, table, "live", 100, 20, false)
			seedSessions(t, s, db, kind, table, "livelocked", 20, 1, true)

			// A grace of 90.5 s keeps the sessions expired a minute ago
			// (its half second is milliseconds on a datetime).
			m := must(t, 0, "purge", "-o", "json", "--layout", layout, "--grace", "90.5s", s.DSN, s.Schema, table).json(t)
			if m["deleted"] != float64(700) || countSessions(t, s, db, table, "oldlocked") != 50 {
				t.Errorf("purge --grace 90.5s: %v; want the 700 sessions expired 30 minutes ago deleted, not the 50 of a minute ago", m)
			}
			seedSessions(t, s, db, kind, table, "old", 700, -30, false)
			m = must(t, 0, "purge", "-o", "json", "--layout", layout, "--batch-size", "300", s.DSN, s.Schema, table).json(t)
			if m["status"] != "done" || m["deleted"] != float64(750) || m["remaining"] != float64(0) || m["held"] != float64(0) {
				t.Errorf("purge --layout %s: %v; want done, 750 deleted, none remaining or held", layout, m)
			}
			if b, _ := m["batches"].(float64); b < 3 {
				t.Errorf("purge --layout %s --batch-size 300 deleted 750 rows in %v batches", layout, m["batches"])
			}
			// "live" counts livelocked too, and "old" oldlocked.
			if got := countSessions(t, s, db, table, "live"); got != 120 {
				t.Errorf("%d live sessions left of 120", got)
			}
			if got := countSessions(t, s, db, table, "old"); got != 0 {
				t.Errorf("%d expired sessions left", got)
			}
			if n := providerExpired(t, s, db, table); n != 0 {
				t.Errorf("after purge, the provider's own purge finds %d expired sessions", n)
			}
		})
	}
}

// TestClassicSessionPurgeSkipsHeld: a session an app request holds in an
// open transaction (the provider's own UPDATE, as TempGetStateItemExclusive
// makes one) is passed over, not waited for, and reported held; once it is
// free, the next purge deletes it.
func TestClassicSessionPurgeSkipsHeld(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	db := s.Open(t)
	table := classicTable(t, s, db, "aspstate")
	seedSessions(t, s, db, "aspstate", table, "old", 400, -30, false)
	seedSessions(t, s, db, "aspstate", table, "live", 30, 30, false)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// What the provider runs on a request that takes a session
	// (TempGetStateItemExclusive3 sets Locked, LockDate, LockCookie).
	for _, id := range []string{"old3", "old250"} {
		if _, err := tx.Exec(`UPDATE `+s.Qualified(table)+` SET Locked = 1, LockDate = GETUTCDATE(), LockCookie = LockCookie + 1 WHERE SessionId = @p1`, id); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"purge", "-o", "json", "--timeout", "60s", "--layout", "aspstate", s.DSN, s.Schema, table}
	m := must(t, 0, args...).json(t)
	if m["status"] != "done" || m["deleted"] != float64(398) || m["held"] != float64(2) {
		t.Errorf("%s: %v; want done, 398 deleted, 2 held", strings.Join(args, " "), m)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	m = must(t, 0, args...).json(t)
	if m["deleted"] != float64(2) || m["held"] != float64(0) {
		t.Errorf("once free: %v; want 2 deleted, none held", m)
	}
	if n := countSessions(t, s, db, table, "live"); n != 30 {
		t.Errorf("%d of 30 live sessions left", n)
	}
}

// findings are the findings of a verify -o json report, by object.
func findings(t *testing.T, m map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	fs, _ := m["findings"].([]any)
	for _, f := range fs {
		f := f.(map[string]any)
		out[f["object"].(string)] = f
	}
	return out
}

// TestClassicSessionVerify: each provider's table passes as its own
// layout, with no version to expect of the tables sessctl does not make;
// the Universal Providers' table is warned of its missing index on
// Expires, with the CREATE INDEX that, run, makes the warning go; and a
// table verified as another layout (or as the cache table) is named for
// the layout it looks like.
func TestClassicSessionVerify(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	db := s.Open(t)
	tables := map[string]string{}
	for _, kind := range []string{"aspstate", "aspnet-async-old", "universal"} {
		tables[kind] = classicTable(t, s, db, kind)
	}
	verify := func(code int, layout, kind string) map[string]map[string]any {
		t.Helper()
		args := []string{"verify", "-o", "json", s.DSN, s.Schema, tables[kind]}
		if layout != "" {
			args = append([]string{"--layout", layout}, args...)
		}
		return findings(t, must(t, code, args...).json(t))
	}

	if f := verify(0, "aspstate", "aspstate"); len(f) != 0 {
		t.Errorf("aspstate's own table: findings %v, want none", f)
	}
	f := verify(0, "aspnet-async", "aspnet-async-old")
	if len(f) != 1 || f["version "+s.Dialect.Quote(tables["aspnet-async-old"]+"_migrations")] == nil {
		t.Errorf("the older async table (image): findings %v, want only that no sessctl version is recorded", f)
	}

	f = verify(0, "universal", "universal")
	ix := f["index"]
	fix, _ := ix["fix"].(string)
	if len(f) != 1 || ix["severity"] != "warning" || !strings.Contains(ix["message"].(string), "no index on [Expires]") ||
		fix != "CREATE NONCLUSTERED INDEX [Index_Expires] ON "+s.Qualified(tables["universal"])+" ([Expires]);" {
		t.Fatalf("the Universal Providers' table: findings %v, want one warning of the missing index with its CREATE INDEX", f)
	}
	if _, err := db.Exec(fix); err != nil {
		t.Fatalf("the fix %s: %v", fix, err)
	}
	if f := verify(0, "universal", "universal"); len(f) != 0 {
		t.Errorf("after the fix: findings %v, want none", f)
	}

	// A table made by hand without the default of Flags, which the
	// async provider's inserts leave out: an error, whose fix mends it.
	tables["aspnet-async-nodefault"] = classicTable(t, s, db, "aspnet-async-nodefault")
	f = verify(3, "aspnet-async", "aspnet-async-nodefault")
	flags := f["column [Flags]"]
	fix, _ = flags["fix"].(string)
	if flags == nil || flags["severity"] != "error" || fix != "ALTER TABLE "+s.Qualified(tables["aspnet-async-nodefault"])+" ADD DEFAULT 0 FOR [Flags];" {
		t.Errorf("an async table whose Flags has no default: findings %v", f)
	} else if _, err := db.Exec(fix); err != nil {
		t.Errorf("the fix %s: %v", fix, err)
	} else if f := verify(0, "aspnet-async", "aspnet-async-nodefault"); f["column [Flags]"] != nil {
		t.Errorf("after the fix: %v", f)
	}

	for _, tc := range []struct {
		layout, kind, looks, severity string
		code                          int
	}{
		{"universal", "aspstate", "--layout aspstate", "error", 3},
		{"", "aspstate", "--layout aspstate", "error", 3},
		{"aspstate", "universal", "--layout universal", "error", 3},
		{"", "aspnet-async-old", "--layout aspnet-async", "error", 3},
		// aspstate's table has every column of the async one, and one more.
		{"aspnet-async", "aspstate", "--layout aspstate", "warning", 0},
	} {
		f := verify(tc.code, tc.layout, tc.kind)
		l := f["layout"]
		if l == nil || l["severity"] != tc.severity || !strings.Contains(l["message"].(string), tc.looks) {
			t.Errorf("the %s table verified as --layout %q: layout finding %v, want a %s naming %s", tc.kind, tc.layout, l, tc.severity, tc.looks)
		}
	}
}

// TestClassicSessionCreateDrop: create --layout aspnet-async makes the
// async provider's table, again and again with nothing to do, and the
// provider's own create statement then finds it there; create refuses
// aspstate (aspnet_regsql makes it with its procedures) and universal (the
// provider makes it), drop refuses aspstate and a table of another layout,
// all with nothing changed; --layout aspstate on PostgreSQL is
// refused before anything is connected to.
func TestClassicSessionCreateDrop(t *testing.T) {
	s := dialecttest.Get(t, "sqlserver")
	db := s.Open(t)
	table := dialecttest.Table("AspCreate")
	s.DropAtCleanup(t, db, table)
	create := []string{"create", "-o", "json", "--layout", "aspnet-async", s.DSN, s.Schema, table}
	if m := must(t, 0, create...).json(t); m["status"] != "created" || m["version"] != float64(2) {
		t.Errorf("first create: %v", m)
	}
	if m := must(t, 0, create...).json(t); m["status"] != "up_to_date" {
		t.Errorf("second create: %v", m)
	}
	if _, err := db.Exec(fmt.Sprintf(classicDDL["aspnet-async"], s.Qualified(table), table)); err != nil {
		t.Errorf("the provider's own create after sessctl's: %v", err)
	}
	if f := findings(t, must(t, 0, "verify", "-o", "json", "--layout", "aspnet-async", s.DSN, s.Schema, table).json(t)); len(f) != 0 {
		t.Errorf("verify of the table create made: %v", f)
	}

	aspstate := classicTable(t, s, db, "aspstate")
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"create", "--layout", "aspstate", s.DSN, s.Schema, aspstate}, 2, "aspnet_regsql"},
		{[]string{"create", "--layout", "aspstate", "--script", "--dialect", "sqlserver", s.Schema, aspstate}, 2, "-ssadd"},
		{[]string{"create", "--layout", "universal", s.DSN, s.Schema, aspstate}, 2, "Entity Framework"},
		{[]string{"drop", "--yes", "--layout", "aspstate", s.DSN, s.Schema, aspstate}, 2, "-ssremove"},
		{[]string{"drop", "--yes", "--layout", "aspnet-async", s.DSN, s.Schema, aspstate}, 1, "--layout aspstate"},
		{[]string{"purge", "--layout", "aspstate", "postgres://app@127.0.0.1:1/app", "public", "ASPStateTempSessions"}, 2, "sqlserver only"},
	} {
		r := sessctl(t, nil, tc.args...).want(t, tc.code, tc.args...)
		if !strings.Contains(r.stderr, tc.say) {
			t.Errorf("sessctl %s: stderr %q does not say %q", strings.Join(tc.args, " "), r.stderr, tc.say)
		}
	}
	if n := countSessions(t, s, db, aspstate, ""); n != 0 {
		t.Errorf("%d rows in the aspstate table, made empty", n)
	}
	if f := findings(t, must(t, 0, "verify", "-o", "json", "--layout", "aspstate", s.DSN, s.Schema, aspstate).json(t)); len(f) != 0 {
		t.Errorf("the aspstate table after the refusals: %v", f)
	}
	must(t, 0, "drop", "--yes", "--layout", "aspnet-async", s.DSN, s.Schema, table)
	must(t, 3, "verify", "--layout", "aspnet-async", s.DSN, s.Schema, table)
}

// TestMissingTableAdvice: verify and purge of a missing table say how to
// make it for the layout asked for: `sessctl create --layout microsoft`,
// not the cache table's create, and, for aspstate, which sessctl does not
// make, aspnet_regsql, not a create that refuses.
func TestMissingTableAdvice(t *testing.T) {
	for _, c := range []struct{ engine, layout, want, not string }{
		{"postgres", "microsoft", "`sessctl create --layout microsoft`", "`sessctl create`"},
		{"sqlserver", "aspstate", "aspnet_regsql.exe -S SERVER -E -ssadd", "sessctl create"},
	} {
		t.Run(c.layout, func(t *testing.T) {
			t.Parallel()
			s := dialecttest.Get(t, c.engine)
			table := strings.ToLower(dialecttest.Table("nosuch"))
			for _, verb := range []string{"verify", "purge"} {
				r := must(t, ExitIncompatible, verb, "--layout", c.layout, s.DSN, s.Schema, table)
				if out := r.stdout + r.stderr; !strings.Contains(out, c.want) || strings.Contains(out, c.not) {
					t.Errorf("%s --layout %s of a missing table said:\n%s\nwant %s, not %s", verb, c.layout, out, c.want, c.not)
				}
			}
		})
	}
}
