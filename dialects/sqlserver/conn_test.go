package sqlserver

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/sessctl/sessctl/dialects"
)

// connCase is one connection string and what go-mssqldb must read
// from sessctl's rewriting of it.
type connCase struct {
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
	for _, tc := range []connCase{
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

// TestSQLServerBracketedIPv6: an ADO.NET Server that is an IPv6 address in
// brackets, with a port or an instance, reaches that address, as with
// SqlClient; go-mssqldb would look the brackets up as a host name.
func TestSQLServerBracketedIPv6(t *testing.T) {
	for _, tc := range []struct {
		server, host, instance string
		port                   uint64
	}{
		{"[::1],1499", "::1", "", 1499},
		{"tcp:[::1],1499", "::1", "", 1499},
		{"[::1]", "::1", "", 0},
		{"[2001:db8::5],1433", "2001:db8::5", "", 1433},
		{`[::1]\SQLEXPRESS`, "::1", "SQLEXPRESS", 0},
		{"127.0.0.1,1499", "127.0.0.1", "", 1499},
	} {
		c, err := Dialect{}.ParseConn("Server=" + tc.server + ";Database=d;User Id=sa;Password=pw;Encrypt=False")
		if err != nil {
			t.Errorf("Server=%s: %v", tc.server, err)
			continue
		}
		cfg, err := msdsn.Parse(c.DSN)
		if err != nil || cfg.Host != tc.host || cfg.Port != tc.port || cfg.Instance != tc.instance {
			t.Errorf("Server=%s: host %q port %d instance %q (%v), want %q %d %q", tc.server, cfg.Host, cfg.Port, cfg.Instance, err, tc.host, tc.port, tc.instance)
		}
	}
}
