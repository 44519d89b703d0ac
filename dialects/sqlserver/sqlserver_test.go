package sqlserver

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/sessctl/sessctl/migrations"
)

func TestSQLServerQuote(t *testing.T) {
	d := Dialect{}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "[SessionData]"},
		{"a]b", "[a]]b]"},
		{"]]", "[]]]]]"},
		{"x; DROP TABLE y", "[x; DROP TABLE y]"},
		{`a"b`, `[a"b]`},
		{"a`b", "[a`b]"},
		{"a[b", "[a[b]"},
	} {
		if got := d.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"SessionData", "N'SessionData'"},
		{"it's", "N'it''s'"},
		{"[dbo].[x; DROP TABLE y]", "N'[dbo].[x; DROP TABLE y]'"},
	} {
		if got := d.QuoteLiteral(tc.in); got != tc.want {
			t.Errorf("QuoteLiteral(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSQLServerCheckName(t *testing.T) {
	d := Dialect{}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"SessionData", true},
		{"x; DROP TABLE y", true},
		{`a"b`, true},
		{"Sessions état", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("é", 128), true}, // 128 UTF-16 units, 256 bytes
		{strings.Repeat("😀", 64), true},  // 64 surrogate pairs: 128 units
		{strings.Repeat("😀", 65), false}, // 130 units
		{"", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a]b", false},
		{"a'b", false},
		{"#temp", false},
		{"trailing ", false},
	} {
		err := d.CheckName(tc.name)
		if tc.ok && err != nil {
			t.Errorf("CheckName(%q): %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, dialects.ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", tc.name, err)
		}
	}
	// The version table's name is derived: the table may have 117 characters.
	n := d.Names("dbo", strings.Repeat("t", 118))
	if err := d.CheckName(n.VersionTable); !errors.Is(err, dialects.ErrInvalidName) {
		t.Errorf("version table %d characters long: %v, want ErrInvalidName", len(n.VersionTable), err)
	}
	if err := d.CheckName(d.Names("dbo", strings.Repeat("t", 117)).VersionTable); err != nil {
		t.Errorf("version table of a 117-character table: %v", err)
	}
	if err := d.CheckName(n.ExpiryIndex); err != nil {
		t.Errorf("expiry index %q: %v", n.ExpiryIndex, err)
	}
	if n.PrimaryKey != "" {
		t.Errorf("primary key name %q: SQL Server names it itself, as dotnet sql-cache create leaves it", n.PrimaryKey)
	}
}

// TestSQLServerTemplatesQuote renders every template with names CheckName
// lets through, and with a ] it keeps out, to show that quoting alone would
// hold.
func TestSQLServerTemplatesQuote(t *testing.T) {
	d := Dialect{}
	for _, table := range []string{"x; DROP TABLE y", `Sess"ion`, "a]b"} {
		n := d.Names("my schema", table)
		data := d.TemplateData(n)
		quoted := "[my schema].[" + strings.ReplaceAll(table, "]", "]]") + "]"
		ms, err := migrations.Up("sqlserver", data)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, m := range ms {
			all.WriteString(m.SQL)
		}
		for _, name := range []string{migrations.Create, migrations.Drop} {
			s, err := migrations.Script("sqlserver", name, data)
			if err != nil {
				t.Fatal(err)
			}
			all.WriteString(s)
		}
		sql := all.String()
		for _, want := range []string{
			"CREATE TABLE " + quoted + " (",
			"OBJECT_ID(N'" + quoted + "', N'U')",
			"ON " + quoted + " ([ExpiresAtTime])",
			"DROP TABLE " + quoted + ";",
			"DROP TABLE [my schema].[" + strings.ReplaceAll(table, "]", "]]") + "_migrations];",
		} {
			if !strings.Contains(sql, want) {
				t.Errorf("table %q: the SQL lacks %s:\n%s", table, want, sql)
			}
		}
	}
}

// TestSQLServerCreateScriptIsDotnets pins create.sql to the two lines
// `dotnet sql-cache script dbo SessionData` prints (aspnetcore's
// src/Tools/dotnet-sql-cache SqlQueries.cs).
func TestSQLServerCreateScriptIsDotnets(t *testing.T) {
	d := Dialect{}
	got, err := migrations.Script("sqlserver", migrations.Create, d.TemplateData(d.Names("dbo", "SessionData")))
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE [dbo].[SessionData](" +
		"Id nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL, " +
		"Value varbinary(MAX) NOT NULL, " +
		"ExpiresAtTime datetimeoffset NOT NULL, " +
		"SlidingExpirationInSeconds bigint NULL," +
		"AbsoluteExpiration datetimeoffset NULL, " +
		"PRIMARY KEY (Id))\n" +
		"CREATE NONCLUSTERED INDEX Index_ExpiresAtTime ON [dbo].[SessionData](ExpiresAtTime)\n"
	if got != want {
		t.Errorf("create.sql:\n%s\nwant, as dotnet sql-cache script prints it:\n%s", got, want)
	}
}

// sqlServerCase is one connection string and what go-mssqldb must read
// from sessctl's rewriting of it.
type sqlServerCase struct {
	raw      string
	driver   string
	display  string
	host     string
	port     uint64
	instance string
	database string
	user     string
	password string
	encrypt  msdsn.Encryption
	trust    bool
	params   map[string]string
	warnings int
}

func TestSQLServerParseConn(t *testing.T) {
	for _, tc := range []sqlServerCase{
		{
			raw:    "sqlserver://sa:p%40ss@db.example.com:1433?database=app&encrypt=true",
			driver: "sqlserver", display: "sqlserver://sa@db.example.com:1433?database=app",
			host: "db.example.com", port: 1433, database: "app", user: "sa", password: "p@ss",
			encrypt: msdsn.EncryptionRequired,
		},
		{
			raw:    "Server=tcp:db,1433;Database=app;User Id=sa;Password=S3cret!;Encrypt=True;TrustServerCertificate=True",
			driver: "sqlserver", display: "sqlserver://sa@db:1433?database=app",
			host: "db", port: 1433, database: "app", user: "sa", password: "S3cret!",
			encrypt: msdsn.EncryptionRequired, trust: true,
		},
		{
			raw:    `Data Source=.\SQLEXPRESS;Initial Catalog=app;User ID=sa;Password=x`,
			driver: "sqlserver", display: "sqlserver://sa@localhost/SQLEXPRESS?database=app",
			host: "localhost", instance: "SQLEXPRESS", database: "app", user: "sa", password: "x",
			encrypt: msdsn.EncryptionRequired, // SqlClient's default
		},
		{
			// SqlClient does not check the certificate of a login-only TLS.
			raw:    "server=db;database=app;uid=sa;pwd='p;w''d';encrypt=false",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "p;w'd", encrypt: msdsn.EncryptionOff, trust: true,
		},
		{
			raw:    "Server=db;Database=app;User Id=sa;Password=x;Encrypt=Optional;TrustServerCertificate=False",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "x", encrypt: msdsn.EncryptionOff,
		},
		{
			raw:    "Server=db;Database=app;User Id=sa;Password=x;Encrypt=disable",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "x", encrypt: msdsn.EncryptionDisabled,
		},
		{
			raw:    `Server=db;Database=app;User Id=sa;Password="a""b;c= d "`,
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: `a"b;c= d `, encrypt: msdsn.EncryptionRequired,
		},
		{
			raw:    "Server=db;Database=app;User Id=sa;Password=x;Encrypt=Strict;HostNameInCertificate=db.internal",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "x", encrypt: msdsn.EncryptionStrict,
			params: map[string]string{msdsn.HostNameInCertificate: "db.internal"},
		},
		{
			raw:    "Server=db;Database=app;User Id=sa;Password=pw0;Pooling=false;Max Pool Size=10;MultipleActiveResultSets=True",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "pw0", encrypt: msdsn.EncryptionRequired, warnings: 3,
		},
		{
			raw:    "Server=tcp:app.database.windows.net,1433;Initial Catalog=app;Authentication=Active Directory Default;Encrypt=True",
			driver: "azuresql", display: "sqlserver://app.database.windows.net:1433?database=app&fedauth=ActiveDirectoryDefault",
			host: "app.database.windows.net", port: 1433, database: "app", encrypt: msdsn.EncryptionRequired,
			params: map[string]string{"fedauth": "ActiveDirectoryDefault"},
		},
		{
			raw:    "Server=tcp:app.database.windows.net,1433;Database=app;Authentication=Active Directory Managed Identity;User Id=11111111-2222-3333-4444-555555555555",
			driver: "azuresql", display: "sqlserver://11111111-2222-3333-4444-555555555555@app.database.windows.net:1433?database=app&fedauth=ActiveDirectoryManagedIdentity",
			host: "app.database.windows.net", port: 1433, database: "app", user: "11111111-2222-3333-4444-555555555555",
			encrypt: msdsn.EncryptionRequired, params: map[string]string{"fedauth": "ActiveDirectoryManagedIdentity"},
		},
		{
			raw:    "Server=tcp:app.database.windows.net,1433;Database=app;Authentication=ActiveDirectoryMSI",
			driver: "azuresql", display: "sqlserver://app.database.windows.net:1433?database=app&fedauth=ActiveDirectoryManagedIdentity",
			host: "app.database.windows.net", port: 1433, database: "app", encrypt: msdsn.EncryptionRequired,
		},
		{
			raw:    "Server=tcp:app.database.windows.net,1433;Database=app;Authentication=Active Directory Service Principal;User Id=appid@tenant;Password=cl13nt-s3cret",
			driver: "azuresql", display: "sqlserver://appid%40tenant@app.database.windows.net:1433?database=app&fedauth=ActiveDirectoryServicePrincipal",
			host: "app.database.windows.net", port: 1433, database: "app", user: "appid@tenant", password: "cl13nt-s3cret",
			encrypt: msdsn.EncryptionRequired,
		},
		{
			raw:    "Server=db;Database=app;User Id=sa;Password=x;Authentication=SqlPassword",
			driver: "sqlserver", display: "sqlserver://sa@db?database=app",
			host: "db", database: "app", user: "sa", password: "x", encrypt: msdsn.EncryptionRequired,
		},
		{
			raw:    "sqlserver://app.database.windows.net?database=app&fedauth=ActiveDirectoryDefault",
			driver: "azuresql", display: "sqlserver://app.database.windows.net?database=app&fedauth=ActiveDirectoryDefault",
			host: "app.database.windows.net", database: "app",
		},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			c, err := Dialect{}.ParseConn(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.Driver != tc.driver || c.Display != tc.display {
				t.Errorf("driver %q, display %q; want %q, %q", c.Driver, c.Display, tc.driver, tc.display)
			}
			if len(c.Warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", c.Warnings, tc.warnings)
			}
			cfg, err := msdsn.Parse(c.DSN)
			if err != nil {
				t.Fatalf("go-mssqldb does not parse the DSN: %v", err)
			}
			if cfg.Host != tc.host || cfg.Port != tc.port || cfg.Instance != tc.instance || cfg.Database != tc.database ||
				cfg.User != tc.user || cfg.Password != tc.password {
				t.Errorf("go-mssqldb reads host %q port %d instance %q database %q user %q password %q",
					cfg.Host, cfg.Port, cfg.Instance, cfg.Database, cfg.User, cfg.Password)
			}
			if cfg.Encryption != tc.encrypt {
				t.Errorf("encryption %d, want %d", cfg.Encryption, tc.encrypt)
			}
			if cfg.TrustServerCertificate != tc.trust && !strings.HasPrefix(tc.raw, "sqlserver://") {
				t.Errorf("trust server certificate %v, want %v", cfg.TrustServerCertificate, tc.trust)
			}
			for k, v := range tc.params {
				if cfg.Parameters[k] != v {
					t.Errorf("parameter %s = %q, want %q", k, cfg.Parameters[k], v)
				}
			}
			if tc.password != "" {
				if !slices.Contains(c.Secrets, tc.password) {
					t.Errorf("secrets %q lack the password", c.Secrets)
				}
				for _, s := range append([]string{c.Display}, c.Warnings...) {
					if strings.Contains(s, tc.password) {
						t.Errorf("%q shows the password", s)
					}
				}
			}
		})
	}
}

func TestSQLServerParseConnErrors(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
	}{
		{"Server=db;Database=app;Bogus=1", `"bogus" is not a SQL Server setting`},
		{"Server=np:\\\\.\\pipe\\sql\\query;Database=app", "named pipes"},
		{`Server=(localdb)\MSSQLLocalDB;Database=app`, "LocalDB"},
		{"Server=db;AttachDbFilename=|DataDirectory|app.mdf", "attaches a database file"},
		{"Server=db;Database=app;Authentication=Active Directory Interactive", "unattended"},
		{"Server=db;Database=app;Authentication=Active Directory Device Code Flow", "unattended"},
		{"Server=db;Database=app;Authentication=Magic", "Active Directory Default"},
		{"Server=db;Database=app;User Id=u@x.com;Password=hunter2;Authentication=Active Directory Password", "applicationclientid"},
		{"Server=db;Database=app;User Id=sa;Password=hunter2;Encrypt=maybe", "invalid encrypt"},
		{"Server=db;Database=app;User Id=sa;Password=hunter2;Port=hunter2", "invalid tcp port"},
		{"Server=db;Database=app;User Id=sa;Password='hunter2", "closing quote"},
		{"host=db dbname=app", "not a SQL Server connection string"},
		{"sqlserver://sa:hunter2@db:notaport/x", "SQL Server"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			_, err := Dialect{}.ParseConn(tc.raw)
			if !errors.Is(err, dialects.ErrConnString) {
				t.Fatalf("ParseConn = %v, want ErrConnString", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	_, err := Dialect{}.ParseConn("Server=db;Database=app;Integrated Security=SSPI")
	if runtime.GOOS != "windows" && !errors.Is(err, dialects.ErrConnString) {
		t.Errorf("Integrated Security off Windows: %v, want ErrConnString", err)
	}
}

// TestSQLServerSecrets: every form of a secret is listed, for the
// redactor, whatever the form of the string.
func TestSQLServerSecrets(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{"sqlserver://sa:p%40ss%3Bw@db?database=app", []string{"p@ss;w", "p%40ss%3Bw"}},
		{"sqlserver://sa@db?database=app&password=hunter2", []string{"hunter2"}},
		{"Server=db;Pwd='it''s';Database=app", []string{"it's", "it''s"}},
		{`Server=db;Password="say ""hi""";Database=app`, []string{`say "hi"`, `say ""hi""`}},
		{"Server=db;Authentication=ActiveDirectoryServicePrincipal;User Id=app;Password=cs", []string{"cs"}},
		{"Server=db;Authentication=ActiveDirectoryAzurePipelines;User Id=app@tenant;ServiceConnectionId=sc;SystemToken=tok3n", []string{"tok3n"}},
		{"sqlserver://db?fedauth=ActiveDirectoryClientAssertion&user+id=app&clientassertion=j.w.t", []string{"j.w.t"}},
	} {
		c, err := Dialect{}.ParseConn(tc.raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		for _, w := range tc.want {
			if !slices.Contains(c.Secrets, w) {
				t.Errorf("%s: secrets %q lack %q", tc.raw, c.Secrets, w)
			}
			if strings.Contains(c.Display, w) {
				t.Errorf("%s: display %q shows %q", tc.raw, c.Display, w)
			}
		}
	}
}

func TestSQLServerClaim(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want dialects.Certainty
	}{
		{"sqlserver://sa:x@db:1433?database=app", dialects.Surely},
		{"Server=tcp:db,1433;Database=app;User Id=sa;Password=x", dialects.Surely},
		{"Server=db,1433;Database=app;User Id=sa;Password=x", dialects.Surely},
		{`Server=.\SQLEXPRESS;Database=app;User Id=sa;Password=x`, dialects.Surely},
		{`Data Source=(localdb)\MSSQLLocalDB;Initial Catalog=app`, dialects.Surely},
		{"Server=(local);Database=app;User Id=sa;Password=x", dialects.Surely},
		{"Data Source=db;Initial Catalog=app;Integrated Security=True", dialects.Surely},
		{"Server=db;Database=app;Trusted_Connection=True", dialects.Surely},
		{"Server=db;Database=app;User Id=sa;Password=x;TrustServerCertificate=True", dialects.Surely},
		{"Server=db;Database=app;User Id=sa;Password=x;Encrypt=False", dialects.Surely},
		{"Server=db;Database=app;User Id=sa;Password=x;MultipleActiveResultSets=true", dialects.Surely},
		{"Server=db;Database=app;Authentication=Active Directory Default", dialects.Surely},
		{"Server=db;Database=app;Application Intent=ReadOnly", dialects.Surely},
		{"Server=db;Database=app;MultiSubnetFailover=True", dialects.Surely},
		{"Server=db;Port=1433;Database=app;User Id=sa;Password=x", dialects.Surely},
		// The same as a MySqlConnector string: --dialect decides.
		{"Server=db;Database=app;User Id=sa;Password=x", dialects.Possibly},
		{"Data Source=db;Database=app;User Id=sa;Password=x", dialects.Possibly},
		{"Server=db1,db2;Database=app;User Id=sa;Password=x", dialects.Possibly},
		{"Server=orders.db;Database=app;User Id=sa;Password=x", dialects.Possibly}, // a host name, not a file
		// Other engines' forms.
		{"Server=db;Port=3306;Database=app;User Id=sa;Password=x", dialects.Never},
		{"Server=db;Port=5432;Database=app;User Id=sa;Password=x", dialects.Never},
		{"Host=db;Database=app;Username=x;Password=y", dialects.Never},
		{"Server=db;Database=app;User Id=x;SslMode=Required", dialects.Never},
		{"Data Source=app.db", dialects.Never},
		{"Data Source=app.sqlite3;Cache=Shared", dialects.Never},
		{"Data Source=:memory:", dialects.Never},
		{"host=db dbname=app", dialects.Never},
		{"postgres://u@db/app", dialects.Never},
		{"user:pass@tcp(db:3306)/app", dialects.Never},
		{"app.db", dialects.Never},
	} {
		if got := (Dialect{}).Claim(dialects.NewRawConn(tc.raw)); got != tc.want {
			t.Errorf("claim(%q) = %d, want %d", tc.raw, got, tc.want)
		}
	}
}

func TestSQLServerCollation(t *testing.T) {
	for _, tc := range []struct {
		collation string
		ok        bool
	}{
		{"SQL_Latin1_General_CP1_CS_AS", true},
		{"Latin1_General_100_CS_AS_SC_UTF8", true},
		{"Latin1_General_BIN2", true},
		{"Japanese_XJIS_140_BIN", true},
		{"SQL_Latin1_General_CP1_CI_AS", false},
		{"Latin1_General_CS_AI", false},
		{"Latin1_General_100_CI_AI", false},
		{"", false},
	} {
		if got := sqlserverCollationOK(tc.collation); got != tc.ok {
			t.Errorf("collation %q: ok = %v, want %v", tc.collation, got, tc.ok)
		}
	}
}

func TestSQLServerLength(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		bytes int
		want  int
	}{
		{"nvarchar", 898, 449},
		{"nvarchar", -1, -1},
		{"nchar", 20, 10},
		{"varchar", 449, 449},
		{"varbinary", -1, -1},
		{"varbinary", 8000, 8000},
		{"datetimeoffset", 10, 0},
		{"bigint", 8, 0},
	} {
		if got := sqlserverLength(tc.typ, tc.bytes); got != tc.want {
			t.Errorf("sqlserverLength(%s, %d) = %d, want %d", tc.typ, tc.bytes, got, tc.want)
		}
	}
}

func TestSQLServerFixSQL(t *testing.T) {
	d := Dialect{}
	n := d.Names("dbo", "SessionData")
	specs := map[string]dialects.ColumnSpec{}
	for _, c := range d.Columns() {
		specs[c.Name] = c
	}
	for _, tc := range []struct {
		col     string
		problem dialects.Problem
		want    string
	}{
		{dialects.ColSliding, dialects.ProblemMissing, "ALTER TABLE [dbo].[SessionData] ADD [SlidingExpirationInSeconds] bigint NULL;"},
		{dialects.ColValue, dialects.ProblemType, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [Value] varbinary(max) NOT NULL;"},
		{dialects.ColValue, dialects.ProblemNotNull, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [Value] varbinary(max) NOT NULL;"},
		{dialects.ColAbsoluteExpiration, dialects.ProblemNullable, "ALTER TABLE [dbo].[SessionData] ALTER COLUMN [AbsoluteExpiration] datetimeoffset NULL;"},
		{dialects.ColValue, dialects.ProblemMissing, ""},      // NOT NULL without a default: re-create
		{dialects.ColID, dialects.ProblemCollation, ""},       // the primary key depends on it
		{dialects.ColExpiresAtTime, dialects.ProblemType, ""}, // the expiry index depends on it
		{dialects.ColExpiresAtTime, dialects.ProblemNotNull, ""},
	} {
		if got := d.FixSQL(n, specs[tc.col], tc.problem); got != tc.want {
			t.Errorf("FixSQL(%s, %d) = %q, want %q", tc.col, tc.problem, got, tc.want)
		}
	}
}

func TestSQLServerLockResource(t *testing.T) {
	n := Dialect{}.Names("dbo", "SessionData")
	if got := sqlserverLockResource(n); got != "sessctl purge dbo.sessiondata" {
		t.Errorf("lock resource %q", got)
	}
	if sqlserverLockResource(n) != sqlserverLockResource(Dialect{}.Names("DBO", "SESSIONDATA")) {
		t.Error("names that differ only in case, the same table under SQL Server's usual collations, take different locks")
	}
	long := Dialect{}.Names(strings.Repeat("s", 128), strings.Repeat("t", 117))
	r := sqlserverLockResource(long)
	if utf16Len(r) > 255 || !strings.HasPrefix(r, sqlserverLockPrefix) {
		t.Errorf("lock resource for long names: %q (%d characters)", r, utf16Len(r))
	}
	other := sqlserverLockResource(Dialect{}.Names(strings.Repeat("s", 128), strings.Repeat("u", 117)))
	if r == other {
		t.Error("two long names share a lock resource")
	}
}

func TestSQLServerCutoff(t *testing.T) {
	for _, tc := range []struct {
		grace   time.Duration
		sec, us int32
		sql     string
	}{
		{0, 0, 0, "DATEADD(second, -0, SYSDATETIMEOFFSET())"},
		{5 * time.Minute, 300, 0, "DATEADD(second, -300, SYSDATETIMEOFFSET())"},
		{1500 * time.Millisecond, 1, 500000, "DATEADD(microsecond, -500000, DATEADD(second, -1, SYSDATETIMEOFFSET()))"},
		{200 * 365 * 24 * time.Hour, 2147483647, 0, "DATEADD(second, -2147483647, SYSDATETIMEOFFSET())"},
	} {
		sec, us := sqlserverCutoff(tc.grace)
		if sec != tc.sec || us != tc.us {
			t.Errorf("cutoff(%s) = %d s %d µs, want %d s %d µs", tc.grace, sec, us, tc.sec, tc.us)
		}
		if got := sqlserverCutoffSQL(fmt.Sprint(sec), fmt.Sprint(us)); got != tc.sql {
			t.Errorf("cutoff(%s) SQL %s, want %s", tc.grace, got, tc.sql)
		}
	}
}

// fakeQuerier deletes from a pretend backlog of expired rows, and fails
// with the errors it is given first.
type fakeQuerier struct {
	backlog int64
	fail    []error
	calls   []int64
	queries []string
}

type fakeResult int64

func (r fakeResult) LastInsertId() (int64, error) { return 0, errors.New("none") }

func (r fakeResult) RowsAffected() (int64, error) { return int64(r), nil }

func (f *fakeQuerier) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	f.queries = append(f.queries, query)
	want := args[0].(int64)
	f.calls = append(f.calls, want)
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, err
	}
	n := min(want, f.backlog)
	f.backlog -= n
	return fakeResult(n), nil
}

func (f *fakeQuerier) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, errors.New("not faked")
}

func (f *fakeQuerier) QueryRowContext(context.Context, string, ...any) *sql.Row { return nil }

func TestSQLServerDeleteExpiredCapsEachStatement(t *testing.T) {
	d := Dialect{}
	n := d.Names("dbo", "SessionData")
	for _, tc := range []struct {
		backlog, limit int64
		deleted        int64
		calls          []int64
	}{
		{backlog: 50, limit: 7, deleted: 7, calls: []int64{7}},
		{backlog: 3, limit: 7, deleted: 3, calls: []int64{7}},
		{backlog: 9000, limit: 10000, deleted: 9000, calls: []int64{4000, 4000, 2000}},
		{backlog: 20000, limit: 10000, deleted: 10000, calls: []int64{4000, 4000, 2000}},
		{backlog: 4000, limit: 8000, deleted: 4000, calls: []int64{4000, 4000}},
		{backlog: 0, limit: 4000, deleted: 0, calls: []int64{4000}},
	} {
		f := &fakeQuerier{backlog: tc.backlog}
		got, err := d.DeleteExpired(context.Background(), f, n, time.Minute, int(tc.limit))
		if err != nil || got != tc.deleted || fmt.Sprint(f.calls) != fmt.Sprint(tc.calls) {
			t.Errorf("backlog %d, limit %d: deleted %d (%v) in statements of %v; want %d in %v",
				tc.backlog, tc.limit, got, err, f.calls, tc.deleted, tc.calls)
		}
		for _, q := range f.queries {
			if !strings.HasPrefix(q, "SET DEADLOCK_PRIORITY LOW;\n") || !strings.Contains(q, "TOP (@p1)") ||
				!strings.Contains(q, "ORDER BY [ExpiresAtTime]") || !strings.Contains(q, "SYSDATETIMEOFFSET()") {
				t.Errorf("purge statement:\n%s", q)
			}
		}
	}
}

func TestSQLServerDeleteExpiredRetriesDeadlocks(t *testing.T) {
	d := Dialect{}
	n := d.Names("dbo", "SessionData")
	deadlock := mssql.Error{Number: mssqlDeadlockVictim, Message: "chosen as the deadlock victim"}
	f := &fakeQuerier{backlog: 5, fail: []error{deadlock, deadlock}}
	got, err := d.DeleteExpired(context.Background(), f, n, 0, 10)
	if err != nil || got != 5 || len(f.calls) != 3 {
		t.Errorf("after two deadlocks: deleted %d, %v, in %d tries; want 5 in 3", got, err, len(f.calls))
	}
	f = &fakeQuerier{backlog: 5, fail: []error{deadlock, deadlock, deadlock, deadlock}}
	if _, err := d.DeleteExpired(context.Background(), f, n, 0, 10); mssqlNumber(err) != mssqlDeadlockVictim {
		t.Errorf("after four deadlocks: %v, want the deadlock", err)
	}
	other := mssql.Error{Number: 208, Message: "Invalid object name"}
	f = &fakeQuerier{backlog: 5, fail: []error{other}}
	if _, err := d.DeleteExpired(context.Background(), f, n, 0, 10); mssqlNumber(err) != 208 || len(f.calls) != 1 {
		t.Errorf("another error: %v after %d tries, want it at once", err, len(f.calls))
	}
}

func TestSQLServerCertificateErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("TLS Handshake failed: %w", x509.UnknownAuthorityError{}), "TrustServerCertificate=True"},
		{errors.New("TLS Handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"), "TrustServerCertificate=True"},
		{fmt.Errorf("TLS Handshake failed: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "db"}), "HostNameInCertificate"},
		{errors.New("TLS Handshake failed: x509: certificate is valid for sql1, not db"), "HostNameInCertificate"},
		{fmt.Errorf("TLS Handshake failed: %w", x509.CertificateInvalidError{Reason: x509.Expired}), "renew"},
		{errors.New("TLS Handshake failed: remote error: tls: protocol version not supported"), "Encrypt"},
	} {
		err := explainConnectError(tc.err)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("%v explained as %q, want it to name %s", tc.err, err, tc.want)
		}
		if !(Dialect{}).Permanent(fmt.Errorf("connecting: %w", err)) {
			t.Errorf("%v is not permanent", err)
		}
	}
	plain := errors.New("dial tcp 10.0.0.1:1433: connect: connection refused")
	if explainConnectError(plain) != plain || (Dialect{}).Permanent(plain) {
		t.Errorf("a refused connection is explained or permanent")
	}
}

func TestSQLServerPermanent(t *testing.T) {
	for _, tc := range []struct {
		number int32
		want   bool
	}{
		{mssqlLoginFailed, true},
		{mssqlCannotOpenDatabase, true},
		{mssqlFirewall, true},
		{40613, false}, // Azure SQL: database not currently available
		{18401, false}, // server in script upgrade mode, as when starting
		{1205, false},
	} {
		err := fmt.Errorf("connecting: %w", mssql.Error{Number: tc.number})
		if got := (Dialect{}).Permanent(err); got != tc.want {
			t.Errorf("error %d: permanent %v, want %v", tc.number, got, tc.want)
		}
	}
}

func TestSQLServerDisconnected(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{mssql.Error{Number: 596}, true},  // session killed
		{mssql.Error{Number: 6005}, true}, // shutting down
		{mssql.ServerError{}, true},       // fatal: the connection is severed
		{fmt.Errorf("batch: %w", mssql.StreamError{InnerError: io.EOF}), true},
		{mssql.Error{Number: 1205}, false}, // deadlock victim: the session lives on
		{errors.New("syntax"), false},
	} {
		if got := (Dialect{}).Disconnected(tc.err); got != tc.want {
			t.Errorf("Disconnected(%#v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}
