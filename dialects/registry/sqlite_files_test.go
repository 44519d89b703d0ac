package registry

import (
	"testing"
)

// TestSQLiteSettingsHonouredOrRefused: Microsoft.Data.Sqlite's Mode,
// Foreign Keys and Recursive Triggers, which change what may be written,
// are honoured; Mode=Memory, an in-memory database and SQLCipher's
// Password are refused; and every spelling of read-only opens read-only.
func TestSQLiteSettingsHonouredOrRefused(t *testing.T) {
	honouredOrRefused(t, []setting{
		{"Data Source=app.db;Mode=ReadOnly", "sqlite", "mode=ro"},
		{"Data Source=app.db;Mode=ReadWrite", "sqlite", "mode=rw"},
		{"Data Source=app.db;Mode=ReadWriteCreate", "sqlite", "mode=rwc"},
		{"Data Source=app.db;Mode=Memory", "sqlite", ""},
		{"Data Source=app.db;Foreign Keys=True", "sqlite", "foreign_keys%281%29"},
		{"Data Source=app.db;Foreign Keys=False", "sqlite", "foreign_keys%280%29"},
		{"Data Source=app.db;Recursive Triggers=True", "sqlite", "recursive_triggers%281%29"},
		{"Data Source=app.db;Password=x", "sqlite", ""},
		{"file:app.db?mode=memory", "sqlite", ""},
		{":memory:", "sqlite", ""},
	})
	// Read-only in every SQLite spelling.
	for _, raw := range []string{"Data Source=app.db;Mode=ReadOnly", "Data Source=app.db;mode=readonly", "file:app.db?mode=ro",
		"sqlite:app.db?mode=ro", "file:app.db?immutable=1"} {
		conn, err := Parse(raw, "sqlite")
		if err != nil || !conn.ReadOnly {
			t.Errorf("Parse(%q): %v, read-only %t; want it read-only", raw, err, err == nil && conn.ReadOnly)
		}
	}
}
