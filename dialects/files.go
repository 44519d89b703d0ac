package dialects

import (
	"path/filepath"
	"strings"
)

// sqliteExtensions mark a path as a SQLite database file.
var sqliteExtensions = []string{".db", ".sqlite", ".sqlite3", ".db3", ".s3db", ".sl3"}

func HasSQLiteExtension(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	for _, e := range sqliteExtensions {
		if ext == e {
			return true
		}
	}
	return false
}
