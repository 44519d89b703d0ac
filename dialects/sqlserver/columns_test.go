package sqlserver

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// sessionNames are the names of a classic ASP.NET session table, as
// layouts.AspState sets them.
func sessionNames(table string) dialects.Names {
	n := Dialect{}.Names("dbo", table)
	n.Key, n.Expiry, n.ExpiryType, n.ExpiryIndex = "SessionId", "Expires", "datetime", "Index_Expires"
	return n
}

// TestDatetimeCutoff: a datetime expiry is compared with GETUTCDATE() less
// the grace, a datetime itself, the remainder in milliseconds (DATEADD
// refuses microsecond on a datetime); the cache table's cutoff is as it was.
func TestDatetimeCutoff(t *testing.T) {
	c := colsOf(sessionNames("S"))
	for _, tc := range []struct {
		grace     time.Duration
		sec, fine int32
		sql       string
	}{
		{0, 0, 0, "DATEADD(second, -0, GETUTCDATE())"},
		{5 * time.Minute, 300, 0, "DATEADD(second, -300, GETUTCDATE())"},
		{1500 * time.Millisecond, 1, 500, "DATEADD(millisecond, -500, DATEADD(second, -1, GETUTCDATE()))"},
	} {
		sec, fine := c.args(tc.grace)
		if sec != tc.sec || fine != tc.fine {
			t.Errorf("args(%s) = %d s %d ms, want %d s %d ms", tc.grace, sec, fine, tc.sec, tc.fine)
		}
		if got := c.cutoff(itoa(sec), itoa(fine)); got != tc.sql {
			t.Errorf("cutoff(%s) = %s, want %s", tc.grace, got, tc.sql)
		}
	}
	cache := colsOf(dialects.CacheColumns(Dialect{}.Names("dbo", "S")))
	if got := cache.cutoff("1", "500000"); got != cutoffSQL("1", "500000") || !cache.cache() {
		t.Errorf("the cache table's cutoff is %s", got)
	}
}

// TestPurgeSQLOfSessions: every purge statement of a session table names
// its key and expiry, never the cache table's, and compares no
// datetimeoffset; a table whose name holds "[Id]" keeps its name.
func TestPurgeSQLOfSessions(t *testing.T) {
	s := Dialect{}
	n := sessionNames("x[Id]y")
	for name, sql := range map[string]string{
		"batch":  s.deleteHeldAware(n, "@p1", colsOf(n).cutoff("@p2", "@p3")),
		"script": s.PurgeScript(n, time.Minute, 100),
		"dry":    s.deleteScript(n, time.Minute, 100),
	} {
		body := strings.ReplaceAll(sql, s.qualified(n), "T")
		if strings.Contains(body, "[Id]") || strings.Contains(body, "ExpiresAtTime") || strings.Contains(body, "SYSDATETIMEOFFSET") {
			t.Errorf("%s names the cache table's columns or clock:\n%s", name, sql)
		}
		if !strings.Contains(sql, "[dbo].[x[Id]]y]") || !strings.Contains(body, "[SessionId] IN (") || !strings.Contains(body, "[Expires] < DATEADD(") {
			t.Errorf("%s:\n%s", name, sql)
		}
	}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }
