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

			m := must(t, 0, "purge", "-o", "json", "--layout", layout, "--batch-size", "300", s.DSN, s.Schema, table).json(t)
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
