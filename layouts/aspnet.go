package layouts

import (
	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/migrations"
)

// Classic ASP.NET (System.Web) session state columns, as the three SQL
// Server providers name them (LAYOUTS.md §3).
const (
	ColSessionID        = "SessionId"
	ColCreated          = "Created"
	ColExpires          = "Expires"
	ColLockDate         = "LockDate"
	ColLockDateLocal    = "LockDateLocal"
	ColLockCookie       = "LockCookie"
	ColTimeout          = "Timeout"
	ColLocked           = "Locked"
	ColSessionItemShort = "SessionItemShort"
	ColSessionItemLong  = "SessionItemLong"
	ColSessionItem      = "SessionItem"
	ColFlags            = "Flags"
)

// ExpiresIndex is the index aspnet_regsql and the async provider make on
// Expires.
const ExpiresIndex = "Index_Expires"

// sessionKey is the providers' session id: nvarchar(88), in the
// database's own collation (the ids are the providers' own, lower case).
var sessionKey = Column{Name: ColSessionID, Kind: Key, Length: 88}

// AspState is the session table aspnet_regsql -ssadd makes (-sstype p or
// c; with -sstype t the same table lives in tempdb), which
// System.Web.SessionState's SqlSessionStateStore reads through its stored
// procedures. Those procedures, and the SQL Server Agent job that runs
// DeleteExpiredSessions every minute, come with it: sessctl neither makes
// nor drops the table, and purges it where no Agent runs (Express, Azure
// SQL Database), as DeleteExpiredSessions does.
var AspState = &Layout{
	Name:        "aspstate",
	Description: "classic ASP.NET session state made by aspnet_regsql -ssadd (ASPStateTempSessions)",
	Noun:        "session state table (ASPStateTempSessions)",
	Columns: []Column{
		sessionKey,
		{Name: ColCreated, Kind: Time},
		{Name: ColExpires, Kind: Time},
		{Name: ColLockDate, Kind: Time},
		{Name: ColLockDateLocal, Kind: Time},
		{Name: ColLockCookie, Kind: Int},
		{Name: ColTimeout, Kind: Int},
		{Name: ColLocked, Kind: Int},
		{Name: ColSessionItemShort, Kind: Bytes, Nullable: true},
		{Name: ColSessionItemLong, Kind: Bytes, Nullable: true},
		{Name: ColFlags, Kind: Int},
	},
	PrimaryKey: []string{ColSessionID},
	Expiry:     ColExpires,
	Templates:  migrations.AspState,
	Engines:    []string{"sqlserver"},
	Specs:      func(dialects.Core) []dialects.ColumnSpec { return aspStateSpecs },
	Named:      sessionNames,
	NoCreate: "aspnet_regsql -ssadd makes this table together with the stored procedures and types the session state provider " +
		"calls (TempGetStateItemExclusive3, TempInsertStateItemShort, ...) and the SQL Server Agent job; a table alone would not work. " +
		"Run aspnet_regsql.exe -S SERVER -E -ssadd -sstype p (or -sstype c -d DATABASE), then `sessctl verify --layout aspstate` and `sessctl purge --layout aspstate`",
	NoDrop: "the session state provider's stored procedures read and write this table, and dropping it alone breaks every one of them; " +
		"remove the whole session state database with aspnet_regsql.exe -ssremove (same -sstype and -d as -ssadd)",
}

// AspNetAsync is the table of the async session state provider
// (Microsoft.AspNet.SessionState.SqlSessionStateProviderAsync), which the
// provider makes itself (its default name ASPNetSessionState) unless told
// not to; sessctl makes it the same way, so that it can be made ahead of
// the app, by a user the app need not be.
var AspNetAsync = &Layout{
	Name:        "aspnet-async",
	Description: "the ASP.NET async session state provider's table (Microsoft.AspNet.SessionState.SqlSessionStateProviderAsync, ASPNetSessionState)",
	Noun:        "session state table (ASPNetSessionState)",
	Columns: []Column{
		sessionKey,
		{Name: ColCreated, Kind: Time},
		{Name: ColExpires, Kind: Time},
		{Name: ColLockDate, Kind: Time},
		{Name: ColLockDateLocal, Kind: Time},
		{Name: ColLockCookie, Kind: Int},
		{Name: ColTimeout, Kind: Int},
		{Name: ColLocked, Kind: Int},
		{Name: ColSessionItemLong, Kind: Bytes, Nullable: true},
		{Name: ColFlags, Kind: Int},
	},
	PrimaryKey: []string{ColSessionID},
	Expiry:     ColExpires,
	Templates:  migrations.AspNetAsync,
	Promises: map[uint]func(*dialects.TableInfo) bool{
		migrations.Table: func(info *dialects.TableInfo) bool { return info.Kind == dialects.KindTable },
		migrations.ExpiryIndex: func(info *dialects.TableInfo) bool {
			_, ok := info.ExpiryIndex()
			return ok
		},
	},
	IndexMigration: migrations.ExpiryIndex,
	Engines:        []string{"sqlserver"},
	Specs:          func(dialects.Core) []dialects.ColumnSpec { return asyncSpecs },
	Named:          sessionNames,
}

// Universal is the Universal Providers' session table
// (Microsoft.AspNet.Providers, System.Web.Providers.
// DefaultSessionStateProvider), which the provider makes itself through
// Entity Framework at first use, with no index on Expires: verify says so
// and gives the CREATE INDEX. sessctl does not make it (see NoCreate).
var Universal = &Layout{
	Name:        "universal",
	Description: "the ASP.NET Universal Providers' session table (System.Web.Providers.DefaultSessionStateProvider, Sessions)",
	Noun:        "session state table (the Universal Providers' Sessions)",
	Columns: []Column{
		sessionKey,
		{Name: ColCreated, Kind: Time},
		{Name: ColExpires, Kind: Time},
		{Name: ColLockDate, Kind: Time},
		{Name: ColLockCookie, Kind: Int},
		{Name: ColLocked, Kind: Int},
		{Name: ColSessionItem, Kind: Bytes, Nullable: true},
		{Name: ColFlags, Kind: Int},
		{Name: ColTimeout, Kind: Int},
	},
	PrimaryKey: []string{ColSessionID},
	Expiry:     ColExpires,
	Templates:  migrations.Universal,
	Engines:    []string{"sqlserver"},
	Specs:      func(dialects.Core) []dialects.ColumnSpec { return universalSpecs },
	Named:      sessionNames,
	NoCreate: "System.Web.Providers.DefaultSessionStateProvider makes its Sessions table itself, through Entity Framework, " +
		"the first time the app stores a session, and a table made by another tool may not match the model it checks; " +
		"let the app make it, then run `sessctl verify --layout universal`, which gives the CREATE INDEX on Expires it lacks",
}

// sessionNames: the index on Expires is Index_Expires, and Expires is a
// datetime holding UTC, which purge compares with GETUTCDATE().
func sessionNames(_ dialects.Core, n dialects.Names) dialects.Names {
	n.ExpiryIndex = ExpiresIndex
	n.ExpiryType = "datetime"
	return n
}

// Column specs, SQL Server only: the providers' DDL column for column.
// Their inserts leave Created out, and the async provider's Flags too
// (InsertStateItemLong): those need their defaults.
var (
	sessionIDSpec = dialects.ColumnSpec{Name: ColSessionID, Types: []string{"nvarchar"}, Length: 88, Null: dialects.NotNull,
		Definition: "[SessionId] nvarchar(88) NOT NULL"}
	createdSpec = dialects.ColumnSpec{Name: ColCreated, Types: []string{"datetime"}, Null: dialects.NotNull,
		Definition: "[Created] datetime NOT NULL DEFAULT GETUTCDATE()", Defaulted: true}
	expiresSpec = dialects.ColumnSpec{Name: ColExpires, Types: []string{"datetime"}, Null: dialects.NotNull,
		Definition: "[Expires] datetime NOT NULL"}
	lockDateSpec = dialects.ColumnSpec{Name: ColLockDate, Types: []string{"datetime"}, Null: dialects.NotNull,
		Definition: "[LockDate] datetime NOT NULL"}
	lockDateLocalSpec = dialects.ColumnSpec{Name: ColLockDateLocal, Types: []string{"datetime"}, Null: dialects.NotNull,
		Definition: "[LockDateLocal] datetime NOT NULL"}
	lockCookieSpec = dialects.ColumnSpec{Name: ColLockCookie, Types: []string{"int"}, Null: dialects.NotNull,
		Definition: "[LockCookie] int NOT NULL"}
	timeoutSpec = dialects.ColumnSpec{Name: ColTimeout, Types: []string{"int"}, Null: dialects.NotNull,
		Definition: "[Timeout] int NOT NULL"}
	lockedSpec = dialects.ColumnSpec{Name: ColLocked, Types: []string{"bit"}, Null: dialects.NotNull,
		Definition: "[Locked] bit NOT NULL"}
	flagsSpec = dialects.ColumnSpec{Name: ColFlags, Types: []string{"int"}, Null: dialects.NotNull,
		Definition: "[Flags] int NOT NULL DEFAULT 0", Defaulted: true}
)

// aspStateSpecs: InstallPersistSqlState.sql's CreateTempTables (SQL
// Server 8 and later), whose procedures bind SessionItemLong as image.
var aspStateSpecs = []dialects.ColumnSpec{
	sessionIDSpec, createdSpec, expiresSpec, lockDateSpec, lockDateLocalSpec, lockCookieSpec, timeoutSpec, lockedSpec,
	{Name: ColSessionItemShort, Types: []string{"varbinary"}, Length: 7000, Null: dialects.Nullable,
		Definition: "[SessionItemShort] varbinary(7000) NULL"},
	{Name: ColSessionItemLong, Types: []string{"image"}, Null: dialects.Nullable,
		Definition: "[SessionItemLong] image NULL"},
	flagsSpec,
}

// asyncSpecs: the async provider's CreateSessionTableTemplate at HEAD;
// older versions made SessionItemLong an image, which works as well.
var asyncSpecs = []dialects.ColumnSpec{
	sessionIDSpec, createdSpec, expiresSpec, lockDateSpec, lockDateLocalSpec, lockCookieSpec, timeoutSpec, lockedSpec,
	{Name: ColSessionItemLong, Types: []string{"varbinary", "image"}, Null: dialects.Nullable,
		Definition: "[SessionItemLong] varbinary(max) NULL"},
	flagsSpec,
}

// universalSpecs: the Universal Providers' Sessions, all NOT NULL but
// SessionItem, with no defaults.
var universalSpecs = []dialects.ColumnSpec{
	sessionIDSpec,
	{Name: ColCreated, Types: []string{"datetime"}, Null: dialects.NotNull, Definition: "[Created] datetime NOT NULL"},
	expiresSpec, lockDateSpec, lockCookieSpec, lockedSpec,
	{Name: ColSessionItem, Types: []string{"image", "varbinary"}, Null: dialects.Nullable,
		Definition: "[SessionItem] image NULL"},
	{Name: ColFlags, Types: []string{"int"}, Null: dialects.NotNull, Definition: "[Flags] int NOT NULL"},
	timeoutSpec,
}
