package schema_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/sessctl/sessctl/schema"
)

// The run-time SQL of Microsoft.Extensions.Caching.SqlServer (aspnetcore's
// src/Caching/SqlServer/src/SqlQueries.cs), as DatabaseOperations.cs runs
// it, with its parameters bound as it binds them: Id as nvarchar, Value as
// varbinary, the sliding seconds as a float (TimeSpan.TotalSeconds), and
// every time as a datetimeoffset at +00:00 (SystemClock.UtcNow). Get is the
// slide and the read in one batch; Refresh is the slide alone. {0} is the
// provider's [schema].[table].
const (
	providerSlide = "UPDATE {0} " +
		"SET ExpiresAtTime = " +
		"(CASE " +
		"WHEN DATEDIFF(SECOND, @UtcNow, AbsoluteExpiration) <= SlidingExpirationInSeconds " +
		"THEN AbsoluteExpiration " +
		"ELSE " +
		"DATEADD(SECOND, SlidingExpirationInSeconds, @UtcNow) " +
		"END) " +
		"WHERE Id = @Id " +
		"AND @UtcNow <= ExpiresAtTime " +
		"AND SlidingExpirationInSeconds IS NOT NULL " +
		"AND (AbsoluteExpiration IS NULL OR AbsoluteExpiration <> ExpiresAtTime) ;"
	providerGet = providerSlide +
		"SELECT Value " +
		"FROM {0} WHERE Id = @Id AND @UtcNow <= ExpiresAtTime;"
	providerSet = "DECLARE @ExpiresAtTime DATETIMEOFFSET; " +
		"SET @ExpiresAtTime = " +
		"(CASE " +
		"WHEN (@SlidingExpirationInSeconds IS NUll) " +
		"THEN @AbsoluteExpiration " +
		"ELSE " +
		"DATEADD(SECOND, Convert(bigint, @SlidingExpirationInSeconds), @UtcNow) " +
		"END);" +
		"UPDATE {0} SET Value = @Value, ExpiresAtTime = @ExpiresAtTime," +
		"SlidingExpirationInSeconds = @SlidingExpirationInSeconds, AbsoluteExpiration = @AbsoluteExpiration " +
		"WHERE Id = @Id " +
		"IF (@@ROWCOUNT = 0) " +
		"BEGIN " +
		"INSERT INTO {0} " +
		"(Id, Value, ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration) " +
		"VALUES (@Id, @Value, @ExpiresAtTime, @SlidingExpirationInSeconds, @AbsoluteExpiration); " +
		"END "
	providerRemove        = "DELETE FROM {0} WHERE Id = @Id"
	providerDeleteExpired = "DELETE FROM {0} WHERE @UtcNow > ExpiresAtTime"
)

// mssqlDuplicateKey is the error the provider ignores when two requests
// insert the same new key at once.
const mssqlDuplicateKey = 2627

// sqlServerProvider runs, statement for statement, the SQL of
// Microsoft.Extensions.Caching.SqlServer, binding values as it does. Its
// clock is the app's, passed in as now.
type sqlServerProvider struct {
	db    *sql.DB
	table string // [schema].[table]
}

func (p sqlServerProvider) sql(q string) string { return strings.ReplaceAll(q, "{0}", p.table) }

// utc is the provider's SystemClock.UtcNow: a DateTimeOffset at +00:00.
func utc(now time.Time) time.Time { return now.UTC() }

// set is SetCacheItem; the sliding expiration is bound as
// TimeSpan.TotalSeconds, a double, and a duplicate key from a concurrent
// insert is ignored, as the provider ignores it.
func (p sqlServerProvider) set(t *testing.T, now time.Time, id string, value []byte, sliding time.Duration, absolute *time.Time) {
	t.Helper()
	slide := sql.NullFloat64{Float64: sliding.Seconds(), Valid: sliding > 0}
	abs := sql.NullTime{}
	if absolute != nil {
		abs = sql.NullTime{Time: utc(*absolute), Valid: true}
	}
	_, err := p.db.Exec(p.sql(providerSet),
		sql.Named("Id", id), sql.Named("Value", value),
		sql.Named("SlidingExpirationInSeconds", slide), sql.Named("AbsoluteExpiration", abs),
		sql.Named("UtcNow", utc(now)))
	var me mssql.Error
	if err != nil && !(errors.As(err, &me) && me.Number == mssqlDuplicateKey) {
		t.Fatalf("provider Set(%q): %v", id, err)
	}
}

// refresh is RefreshCacheItem: the slide alone.
func (p sqlServerProvider) refresh(t *testing.T, now time.Time, id string) {
	t.Helper()
	if _, err := p.db.Exec(p.sql(providerSlide), sql.Named("Id", id), sql.Named("UtcNow", utc(now))); err != nil {
		t.Fatalf("provider Refresh(%q): %v", id, err)
	}
}

// get is GetCacheItem: the slide and the read, in one batch.
func (p sqlServerProvider) get(t *testing.T, now time.Time, id string) []byte {
	t.Helper()
	rows, err := p.db.Query(p.sql(providerGet), sql.Named("Id", id), sql.Named("UtcNow", utc(now)))
	if err != nil {
		t.Fatalf("provider Get(%q): %v", id, err)
	}
	defer rows.Close()
	var value []byte
	for {
		for rows.Next() {
			if err := rows.Scan(&value); err != nil {
				t.Fatalf("provider Get(%q): %v", id, err)
			}
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("provider Get(%q): %v", id, err)
	}
	return value
}

func (p sqlServerProvider) remove(t *testing.T, id string) {
	t.Helper()
	if _, err := p.db.Exec(p.sql(providerRemove), sql.Named("Id", id)); err != nil {
		t.Fatalf("provider Remove(%q): %v", id, err)
	}
}

func (p sqlServerProvider) deleteExpired(t *testing.T, now time.Time) int64 {
	t.Helper()
	res, err := p.db.Exec(p.sql(providerDeleteExpired), sql.Named("UtcNow", utc(now)))
	if err != nil {
		t.Fatalf("provider DeleteExpiredCacheItems: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

func (p sqlServerProvider) expiresAt(t *testing.T, id string) time.Time {
	t.Helper()
	return p.row(t, id).expires
}

// sqlServerRow is a row read back with typed reads, as the provider's
// 3.1-and-earlier versions read it (GetDateTimeOffset, GetInt64).
type sqlServerRow struct {
	expires  time.Time
	sliding  sql.NullInt64
	absolute sql.NullTime
}

func (p sqlServerProvider) row(t *testing.T, id string) sqlServerRow {
	t.Helper()
	var r sqlServerRow
	err := p.db.QueryRow("SELECT ExpiresAtTime, SlidingExpirationInSeconds, AbsoluteExpiration FROM "+p.table+" WHERE Id = @p1", id).
		Scan(&r.expires, &r.sliding, &r.absolute)
	if err != nil {
		t.Fatalf("reading the row %q: %v", id, err)
	}
	return r
}

// TestSQLServerProviderConformance: the provider works, unchanged, on the
// table sessctl creates, and on one `dotnet sql-cache create` made that
// sessctl adopted.
func TestSQLServerProviderConformance(t *testing.T) {
	e := newSQLServerEnv(t, "Conform")
	e.create(t, schema.CreateOptions{})
	exercise(t, sqlServerProvider{db: e.raw, table: e.t.String()})

	adopted := e.other(t, "ConformAdopted")
	adopted.dotnetCreate(t)
	p := sqlServerProvider{db: adopted.raw, table: adopted.t.String()}
	exercise(t, p)
	if res := adopted.create(t, schema.CreateOptions{}); res.Status != schema.CreateAdopted {
		t.Errorf("create of the dotnet-made table: %+v", res)
	}
	exercise(t, p)
}

// timePrecision is the step of a datetimeoffset e's server keeps: 100 ns
// on SQL Server; a microsecond on Babelfish (tds/README.md, "datetimeoffset
// keeps microseconds"), whose PostgreSQL stores no finer.
func (e *sqlServerEnv) timePrecision(t *testing.T) time.Duration {
	t.Helper()
	var bbf int
	if err := e.raw.QueryRow(`SELECT CAST(COALESCE(SERVERPROPERTY('Babelfish'), 0) AS int)`).Scan(&bbf); err != nil {
		t.Fatal(err)
	}
	if bbf == 1 {
		return time.Microsecond
	}
	return 100 * time.Nanosecond
}

// TestSQLServerProviderTypes: what the provider writes reads back as it
// reads it: times at +00:00 to the 100ns, the sliding seconds as a bigint.
func TestSQLServerProviderTypes(t *testing.T) {
	e := newSQLServerEnv(t, "Types")
	e.create(t, schema.CreateOptions{})
	p := sqlServerProvider{db: e.raw, table: e.t.String()}
	now := time.Now().Truncate(e.timePrecision(t))
	abs := now.Add(time.Hour)
	p.set(t, now, "k", []byte("v"), 20*time.Minute, &abs)
	r := p.row(t, "k")
	if !r.expires.Equal(now.Add(20*time.Minute)) || r.sliding != (sql.NullInt64{Int64: 1200, Valid: true}) || !r.absolute.Time.Equal(abs) {
		t.Errorf("row %+v", r)
	}
	for _, ts := range []time.Time{r.expires, r.absolute.Time} {
		if _, offset := ts.Zone(); offset != 0 {
			t.Errorf("%s is stored at an offset of %ds, want +00:00", ts, offset)
		}
	}
}

// TestSQLServerProviderKeys: a key may have 449 characters, and not 450,
// and a value need not fit in 8,000 bytes.
func TestSQLServerProviderKeys(t *testing.T) {
	e := newSQLServerEnv(t, "Keys")
	e.create(t, schema.CreateOptions{})
	p := sqlServerProvider{db: e.raw, table: e.t.String()}
	now := time.Now()
	long := strings.Repeat("é", 449)
	p.set(t, now, long, []byte("long"), time.Hour, nil)
	if v := p.get(t, now, long); string(v) != "long" {
		t.Errorf("a 449-character key: %q", v)
	}
	_, err := p.db.Exec(p.sql(providerSet), sql.Named("Id", long+"x"), sql.Named("Value", []byte("x")),
		sql.Named("SlidingExpirationInSeconds", 60.0), sql.Named("AbsoluteExpiration", sql.NullTime{}),
		sql.Named("UtcNow", utc(now)))
	if err == nil {
		t.Error("a 450-character key was stored: the key column is wider than the provider's")
	}
	big := bytes.Repeat([]byte{0xAB, 0xCD, 0x00}, 100_000)
	p.set(t, now, "big", big, time.Hour, nil)
	if v := p.get(t, now, "big"); !bytes.Equal(v, big) {
		t.Errorf("a %d-byte value came back as %d bytes", len(big), len(v))
	}
}

// TestSQLServerProviderAndPurgeAgree: sessctl's purge deletes what the
// provider calls expired, and nothing it would still serve.
func TestSQLServerProviderAndPurgeAgree(t *testing.T) {
	e := newSQLServerEnv(t, "Agree")
	e.create(t, schema.CreateOptions{})
	p := sqlServerProvider{db: e.raw, table: e.t.String()}
	// The app's clock is the database's here, so that both agree on now.
	var now time.Time
	if err := p.db.QueryRow("SELECT SYSDATETIMEOFFSET()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	past, soon, later := now.Add(-time.Hour), now.Add(time.Minute), now.Add(time.Hour)
	p.set(t, past, "expired-sliding", []byte("x"), time.Minute, nil)
	p.set(t, past, "expired-absolute", []byte("x"), 0, &soon)
	p.set(t, past, "expired-both", []byte("x"), time.Minute, &later)
	p.set(t, now, "live-sliding", []byte("x"), time.Hour, nil)
	p.set(t, now, "live-absolute", []byte("x"), 0, &later)
	// expired-absolute expires in a minute; move it into the past, as
	// time would.
	if _, err := p.db.Exec("UPDATE " + p.table + " SET ExpiresAtTime = DATEADD(minute, -5, SYSDATETIMEOFFSET()) WHERE Id = N'expired-absolute'"); err != nil {
		t.Fatal(err)
	}

	res, err := schema.Purge(context.Background(), e.db, e.t, schema.PurgeOptions{})
	if err != nil || res.Deleted != 3 {
		t.Fatalf("purge: %+v, %v; want 3 deleted", res, err)
	}
	for _, id := range []string{"live-sliding", "live-absolute"} {
		if p.get(t, now, id) == nil {
			t.Errorf("purge deleted %s, which the provider still serves", id)
		}
	}
	if n := p.deleteExpired(t, now); n != 0 {
		t.Errorf("the provider's own cleanup found %d expired rows after purge", n)
	}
	if r := e.verify(t); r.Status != schema.StatusOK || len(r.Findings) != 0 {
		t.Errorf("verify after the provider wrote to the table: %+v", r)
	}
}
