package mysql

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sessctl/sessctl/dialects"
)

// Dialect is MySQL's and MariaDB's dialect, the engine users name mysql.
type Dialect struct{}

var _ dialects.Dialect = Dialect{}

// maxName is the longest database, table or index name, in
// characters; MySQL rejects longer ones.
const maxName = 64

// maxRune is the last character MySQL names can hold: the end of the
// Basic Multilingual Plane.
const maxRune = 0xFFFF

// expiryIndex is Pomelo's name for the expiry index. Index names are
// per table in MySQL, so every table can use it.
const expiryIndex = "Index_ExpiresAtTime"

func (Dialect) Name() string { return "mysql" }

// CheckName: at most 64 characters, all in the Basic Multilingual Plane,
// no trailing space, none of the prefixes MySQL gives a meaning, and a file
// name the file system can hold.
func (m Dialect) CheckName(name string) error { return m.checkName(name, maxTableFile) }

// CheckSchema: a database is a directory, whose name has no extension.
func (m Dialect) CheckSchema(schema string) error { return m.checkName(schema, maxFileName) }

func (Dialect) checkName(name string, maxFile int) error {
	if err := dialects.CheckName(name, maxName, "characters", runesLen); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(name, " "):
		return fmt.Errorf("%w %q: MySQL names cannot end with a space", dialects.ErrInvalidName, name)
	case strings.IndexFunc(name, func(r rune) bool { return r > maxRune }) >= 0:
		return fmt.Errorf("%w %q: MySQL names cannot hold characters beyond U+FFFF, such as emoji", dialects.ErrInvalidName, name)
	case strings.HasPrefix(lower, "#mysql50#"):
		return fmt.Errorf("%w %q: MySQL reads a name beginning with #mysql50# as an old file name", dialects.ErrInvalidName, name)
	case strings.HasPrefix(lower, "#sql"):
		return fmt.Errorf("%w %q: MySQL hides tables whose names begin with #sql", dialects.ErrInvalidName, name)
	case fileNameLen(name) > maxFile:
		return fmt.Errorf("%w %q: MySQL keeps it in a file whose name spells each character other than "+
			"a-z, A-Z, 0-9 and _ as @ and 2 or 4 more, %d bytes, over the %d a file name can have; choose a shorter name",
			dialects.ErrInvalidName, name, fileNameLen(name), maxFile)
	}
	return nil
}

// maxFileName is the longest file name file systems allow, in bytes;
// a table's files add an extension (.ibd, .frm) to its name.
const (
	maxFileName  = 255
	maxTableFile = maxFileName - len(".ibd")
)

// fileNameLen is the length of name as MySQL spells it in file names
// (its "filename" character set): a-z, A-Z, 0-9 and _ as themselves, the
// letters of fileNameLetters as @ and two characters, every other
// character as @ and four hexadecimal digits.
func fileNameLen(name string) int {
	n := 0
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf && (r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			n++
		case unicode.Is(fileNameLetters, r):
			n += 3
		default:
			n += 5
		}
	}
	return n
}

// fileNameLetters are the characters MySQL's filename character set
// spells in three bytes (Latin, Greek, Cyrillic and Armenian letters, Roman
// numerals, circled and full-width letters), as MySQL and MariaDB report
// them: LENGTH(CONVERT(c USING filename)) = 3.
var fileNameLetters = &unicode.RangeTable{R16: []unicode.Range16{
	{0x00C0, 0x00D6, 1}, {0x00D8, 0x00F6, 1}, {0x00F8, 0x012F, 1}, {0x0131, 0x01BE, 1}, {0x01C4, 0x01C4, 1},
	{0x01C6, 0x01C7, 1}, {0x01C9, 0x01CA, 1}, {0x01CC, 0x01F1, 1}, {0x01F3, 0x01F6, 1}, {0x01F8, 0x0241, 1},
	{0x0250, 0x02AF, 1}, {0x0386, 0x0386, 1}, {0x0388, 0x038A, 1}, {0x038C, 0x038C, 1}, {0x038E, 0x03A1, 1},
	{0x03A3, 0x03CE, 1}, {0x03D0, 0x03D7, 1}, {0x03D9, 0x03F3, 1}, {0x03F5, 0x03F6, 1}, {0x03F8, 0x03F8, 1},
	{0x03FB, 0x0481, 1}, {0x048A, 0x04CE, 1}, {0x04D0, 0x04F9, 1}, {0x0500, 0x050F, 1}, {0x0531, 0x0555, 1},
	{0x0561, 0x0585, 1}, {0x1E00, 0x1E9B, 1}, {0x1EA0, 0x1EF9, 1}, {0x1F00, 0x1F15, 1}, {0x1F18, 0x1F1D, 1},
	{0x1F20, 0x1F45, 1}, {0x1F48, 0x1F4D, 1}, {0x1F50, 0x1F57, 1}, {0x1F59, 0x1F59, 1}, {0x1F5B, 0x1F5B, 1},
	{0x1F5D, 0x1F5D, 1}, {0x1F5F, 0x1F7D, 1}, {0x1F80, 0x1FB4, 1}, {0x1FB6, 0x1FBC, 1}, {0x1FC2, 0x1FC4, 1},
	{0x1FC6, 0x1FCC, 1}, {0x1FD0, 0x1FD3, 1}, {0x1FD6, 0x1FDB, 1}, {0x1FE0, 0x1FEC, 1}, {0x1FF2, 0x1FF3, 1},
	{0x1FF6, 0x1FFC, 1}, {0x2160, 0x217F, 1}, {0x24B6, 0x24E9, 1}, {0xFF21, 0xFF3A, 1}, {0xFF41, 0xFF5A, 1},
}}

func (Dialect) Quote(ident string) string { return dialects.QuoteWith(ident, "`", "`") }

// QuoteLiteral writes a utf8mb4 string whatever the connection's
// character set: '…' with quotes doubled, which reads the same whether or
// not sql_mode has NO_BACKSLASH_ESCAPES, as long as it holds no backslash;
// a string with a backslash or a control character as a hex literal,
// which no sql_mode changes.
func (Dialect) QuoteLiteral(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) < 0 {
		return "_utf8mb4" + dialects.QuoteWith(s, "'", "'")
	}
	return "_utf8mb4 X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "'"
}

// Names: the version table is TABLE_migrations, except for a table name
// with a backtick, quote or backslash. golang-migrate's driver splices the
// version table's name into `…` and into SHOW TABLES LIKE '…' as it is, so
// such a name gets those characters replaced and a hash of the whole name
// added, which keeps it one table's own.
func (Dialect) Names(schema, table string) dialects.Names {
	return dialects.CacheColumns(dialects.Names{
		Schema:       schema,
		Table:        table,
		VersionTable: versionTable(table),
		ExpiryIndex:  expiryIndex,
	})
}

func versionTable(table string) string {
	const unsafe = "`'\\"
	if !strings.ContainsAny(table, unsafe) {
		return table + "_migrations"
	}
	h := sha256.Sum256([]byte(table))
	safe := strings.Map(func(r rune) rune {
		if strings.ContainsRune(unsafe, r) {
			return '_'
		}
		return r
	}, table)
	return safe + "_" + hex.EncodeToString(h[:4]) + "_migrations"
}

func (m Dialect) qualified(n dialects.Names) string {
	return m.Quote(n.Schema) + "." + m.Quote(n.Table)
}

// caseSensitive reports whether a collation keeps keys that differ
// only in case apart: the binary ones (_bin) and the case-sensitive ones
// (_cs, such as MySQL 8's utf8mb4_0900_as_cs) do; the _ci ones do not.
func caseSensitive(c string) bool {
	return c == "binary" || strings.HasSuffix(c, "_bin") || strings.HasSuffix(c, "_cs")
}

// Columns: Pomelo's layout. Length is the characters of Id and the
// fractional-second digits of the times: a plain datetime would round
// away the microseconds the provider writes.
func (Dialect) Columns() []dialects.ColumnSpec {
	return []dialects.ColumnSpec{
		{Name: dialects.ColID, Types: []string{"varchar"}, Length: 449, Null: dialects.NotNull,
			CollationOK: caseSensitive, Collation: "ascii_bin",
			Definition: "`Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"},
		{Name: dialects.ColAbsoluteExpiration, Types: []string{"datetime"}, Length: 6, Null: dialects.Nullable,
			Definition: "`AbsoluteExpiration` datetime(6) NULL"},
		{Name: dialects.ColExpiresAtTime, Types: []string{"datetime"}, Length: 6, Null: dialects.NotNull,
			Definition: "`ExpiresAtTime` datetime(6) NOT NULL"},
		{Name: dialects.ColSliding, Types: []string{"bigint"}, Null: dialects.Nullable,
			Definition: "`SlidingExpirationInSeconds` bigint NULL"},
		{Name: dialects.ColValue, Types: []string{"longblob"}, Null: dialects.NotNull,
			Definition: "`Value` longblob NOT NULL"},
	}
}
func runesLen(s string) int { return utf8.RuneCountInString(s) }
