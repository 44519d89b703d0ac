package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

func TestSQLServerLockResource(t *testing.T) {
	n := Dialect{}.Names("dbo", "SessionData")
	if got := lockResource(n); got != "sessctl purge dbo.sessiondata" {
		t.Errorf("lock resource %q", got)
	}
	if lockResource(n) != lockResource(Dialect{}.Names("DBO", "SESSIONDATA")) {
		t.Error("names that differ only in case, the same table under SQL Server's usual collations, take different locks")
	}
	long := Dialect{}.Names(strings.Repeat("s", 128), strings.Repeat("t", 117))
	r := lockResource(long)
	if utf16Len(r) > 255 || !strings.HasPrefix(r, lockPrefix) {
		t.Errorf("lock resource for long names: %q (%d characters)", r, utf16Len(r))
	}
	other := lockResource(Dialect{}.Names(strings.Repeat("s", 128), strings.Repeat("u", 117)))
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
		sec, us := cutoff(tc.grace)
		if sec != tc.sec || us != tc.us {
			t.Errorf("cutoff(%s) = %d s %d µs, want %d s %d µs", tc.grace, sec, us, tc.sec, tc.us)
		}
		if got := cutoffSQL(fmt.Sprint(sec), fmt.Sprint(us)); got != tc.sql {
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
	deadlock := mssql.Error{Number: deadlockVictim, Message: "chosen as the deadlock victim"}
	f := &fakeQuerier{backlog: 5, fail: []error{deadlock, deadlock}}
	got, err := d.DeleteExpired(context.Background(), f, n, 0, 10)
	if err != nil || got != 5 || len(f.calls) != 3 {
		t.Errorf("after two deadlocks: deleted %d, %v, in %d tries; want 5 in 3", got, err, len(f.calls))
	}
	f = &fakeQuerier{backlog: 5, fail: []error{deadlock, deadlock, deadlock, deadlock}}
	if _, err := d.DeleteExpired(context.Background(), f, n, 0, 10); errorNumber(err) != deadlockVictim {
		t.Errorf("after four deadlocks: %v, want the deadlock", err)
	}
	other := mssql.Error{Number: 208, Message: "Invalid object name"}
	f = &fakeQuerier{backlog: 5, fail: []error{other}}
	if _, err := d.DeleteExpired(context.Background(), f, n, 0, 10); errorNumber(err) != 208 || len(f.calls) != 1 {
		t.Errorf("another error: %v after %d tries, want it at once", err, len(f.calls))
	}
}
