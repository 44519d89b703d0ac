package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sessctl/sessctl/dialects"
	_ "modernc.org/sqlite"
)

// adoKeys are Microsoft.Data.Sqlite's settings.
var adoKeys = map[string]bool{
	"data source": true, "datasource": true, "filename": true, "mode": true, "cache": true,
	"foreign keys": true, "recursive triggers": true, "default timeout": true, "command timeout": true,
	"pooling": true, "password": true,
}

func (Dialect) Claim(rc *dialects.RawConn) dialects.Certainty {
	switch {
	case rc.Scheme == "sqlite" || rc.Scheme == "file":
		return dialects.Surely
	case len(rc.Pairs) > 0:
		for _, p := range rc.Pairs {
			if !adoKeys[p.Key] {
				return dialects.Never
			}
		}
		if file, ok := rc.Get("data source", "datasource", "filename"); ok && (dialects.HasSQLiteExtension(file) || file == ":memory:") {
			return dialects.Surely
		}
		return dialects.Possibly
	case rc.Libpq || strings.ContainsAny(rc.Raw, ";=@(") || strings.Contains(rc.Raw, "://"):
		return dialects.Never
	case dialects.HasSQLiteExtension(rc.Raw):
		return dialects.Surely
	case strings.ContainsAny(rc.Raw, `/\`):
		return dialects.Possibly
	}
	if fi, err := os.Stat(rc.Raw); err == nil && fi.Mode().IsRegular() {
		return dialects.Possibly
	}
	return dialects.Never
}

func (s Dialect) ParseConn(raw string) (*dialects.Conn, error) {
	rc := dialects.NewRawConn(raw)
	path, query, warnings, err := fileAndQuery(rc)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%w: no SQLite database file named", dialects.ErrConnString)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("%w: SQLite URI parameters: %v", dialects.ErrConnString, err)
	}
	readOnly, err := opensReadOnly(params)
	if err != nil {
		return nil, err
	}
	if path == ":memory:" {
		return nil, fmt.Errorf("%w: SQLite :memory: is a database that vanishes when sessctl ends; name the app's database file", dialects.ErrConnString)
	}
	return &dialects.Conn{
		Dialect:  s,
		Driver:   "sqlite",
		DSN:      query, // the file and sessctl's parameters are added by Open
		Display:  "sqlite:" + path,
		Secrets:  dialects.SecretsOf(raw),
		Warnings: warnings,
		Path:     path,
		ReadOnly: readOnly,
	}, nil
}

// fileAndQuery reads the database file and its URI parameters from any
// form of the string: a sqlite: or file: URI, Microsoft.Data.Sqlite's
// settings (turned into URI parameters, with a warning for each ignored),
// or a bare path.
func fileAndQuery(rc *dialects.RawConn) (path, query string, warnings []string, err error) {
	switch {
	case rc.Scheme == "sqlite":
		rest := strings.TrimPrefix(rc.Raw[len("sqlite:"):], "//")
		path, query, _ = strings.Cut(rest, "?")
	case rc.Scheme == "file":
		p, qs, _ := strings.Cut(rc.Raw[len("file:"):], "?")
		if path, err = url.PathUnescape(p); err != nil {
			return "", "", nil, fmt.Errorf("%w: SQLite file: URI: %v", dialects.ErrConnString, err)
		}
		query = qs
	case len(rc.Pairs) > 0:
		q := url.Values{}
		for _, p := range rc.Pairs {
			if !adoKeys[p.Key] {
				return "", "", nil, fmt.Errorf("%w: %s is not a SQLite setting sessctl knows", dialects.ErrConnString, p.Name())
			}
			w, err := adoSetting(p, q)
			if err != nil {
				return "", "", nil, err
			}
			if p.Key == "data source" || p.Key == "datasource" || p.Key == "filename" {
				path = p.Value
			}
			if w != "" {
				warnings = append(warnings, w)
			}
		}
		query = q.Encode()
	default:
		path = rc.Raw
	}
	return path, query, warnings, nil
}

// opensReadOnly reports whether the URI parameters open the database
// read-only (mode=ro, immutable), and refuses a mode sessctl cannot use.
func opensReadOnly(params url.Values) (bool, error) {
	readOnly := false
	switch m := params.Get("mode"); m {
	case "", "rw", "rwc":
	case "ro":
		readOnly = true
	case "memory":
		return false, fmt.Errorf("%w: SQLite mode=memory (Mode=Memory) is a database that vanishes when sessctl ends; "+
			"name the app's database file", dialects.ErrConnString)
	default:
		return false, fmt.Errorf("%w: SQLite mode=%s: use ro, rw or rwc (Mode=ReadOnly, ReadWrite or ReadWriteCreate)", dialects.ErrConnString, dialects.ShowValue(m))
	}
	if on, err := strconv.ParseBool(cmpOr(params.Get("immutable"), "0")); err != nil || on {
		readOnly = true // SQLite writes nothing to an immutable database, and takes no locks on it
	}
	return readOnly, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// adoSetting applies one Microsoft.Data.Sqlite setting to the URI
// parameters q, or refuses it; it returns a warning for one it ignores.
// Ignored are only those that change neither what is written nor which
// file: timeouts, pooling, a cache shared within one process.
func adoSetting(p dialects.Pair, q url.Values) (string, error) {
	v := strings.TrimSpace(p.Value)
	switch p.Key {
	case "data source", "datasource", "filename":
		return "", nil
	case "mode":
		switch strings.ToLower(v) {
		case "readwritecreate", "":
			q.Set("mode", "rwc")
		case "readwrite":
			q.Set("mode", "rw")
		case "readonly":
			q.Set("mode", "ro")
		case "memory":
			q.Set("mode", "memory") // refused by ParseConn, with the reason
		default:
			return "", fmt.Errorf("%w: SQLite Mode %s: use ReadWriteCreate, ReadWrite or ReadOnly", dialects.ErrConnString, p.Shown())
		}
		return "", nil
	case "foreign keys", "recursive triggers":
		// Both change what a DELETE writes: ON DELETE actions of other
		// tables' foreign keys, and triggers that fire triggers.
		if v == "" {
			return "", nil // SQLite's default, as in Microsoft.Data.Sqlite
		}
		on, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("%w: SQLite %s %s: use True or False", dialects.ErrConnString, p.Key, p.Shown())
		}
		pragma := strings.ReplaceAll(p.Key, " ", "_")
		q.Add("_pragma", fmt.Sprintf("%s(%d)", pragma, map[bool]int{false: 0, true: 1}[on]))
		return "", nil
	case "password":
		return "", fmt.Errorf("%w: \"password\" is not a SQLite setting sessctl knows: it opens a database encrypted with SQLCipher, "+
			"which sessctl cannot read", dialects.ErrConnString)
	case "cache":
		return fmt.Sprintf("ignoring SQLite setting %q: it only changes how connections in one process share a cache", p.Key), nil
	}
	return fmt.Sprintf("ignoring SQLite setting %q: it only concerns Microsoft.Data.Sqlite itself", p.Key), nil
}

// fileURI is a file: URI for path: SQLite decodes %XX in it, so '%', '?'
// and '#' must be escaped.
func fileURI(path, query string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	return "file:" + esc + "?" + query
}

// Open opens the file with a busy timeout, so that a writer waits for
// another instead of failing, and BEGIN IMMEDIATE, so that a transaction
// takes the write lock up front and cannot deadlock on upgrading it. Unless
// create is set, a missing file is an error, not a new empty database; so
// it is with create too when the string says mode=rw or ro. A read-only
// conn opens mode=ro with query_only: SQLite then writes nothing, not
// even a journal, and TryLock knows to make no lock file.
func (Dialect) Open(conn *dialects.Conn, create bool) (*sql.DB, error) {
	q, _ := url.ParseQuery(conn.DSN)
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_txlock", "immediate")
	mode := q.Get("mode")
	switch {
	case conn.ReadOnly:
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	case mode == "" && create:
		q.Set("mode", "rwc")
	case mode == "":
		q.Set("mode", "rw")
	}
	if _, err := os.Stat(conn.Path); errors.Is(err, os.ErrNotExist) {
		switch {
		case !create:
			return nil, fmt.Errorf("SQLite database file %s does not exist; `sessctl create` makes it", conn.Path)
		case q.Get("mode") != "rwc":
			return nil, fmt.Errorf("SQLite database file %s does not exist, and the connection string opens it without creating it "+
				"(Mode=ReadWrite or ReadOnly, mode=rw or ro): leave Mode out, or use ReadWriteCreate, for create to make it", conn.Path)
		}
	}
	db, err := sql.Open("sqlite", fileURI(conn.Path, q.Encode()))
	if err != nil {
		return nil, err
	}
	drv := db.Driver()
	db.Close()
	return sql.OpenDB(connector{drv: drv, dsn: fileURI(conn.Path, q.Encode()), path: conn.Path}), nil
}

// connector opens connections as the driver does, and says what to
// do when SQLite cannot open a file in WAL mode because it may not make
// the files it reads one with.
type connector struct {
	drv  driver.Driver
	dsn  string
	path string
}

func (c connector) Driver() driver.Driver { return c.drv }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, explainOpen(err, c.path)
	}
	// SQLite opens a WAL file's -shm and -wal at the first read: read the
	// schema now, so that a failure to is explained. (Whatever the file's
	// mode: to tell, sessctl would read its header itself, and see
	// isWAL.)
	if q, ok := conn.(driver.QueryerContext); ok {
		rows, err := q.QueryContext(ctx, `SELECT count(*) FROM sqlite_master`, nil)
		if err == nil {
			err = rows.Close()
		}
		if err != nil {
			conn.Close()
			return nil, explainOpen(err, c.path)
		}
	}
	return conn, nil
}

// walError is a file in WAL mode that SQLite could not open, with what to
// do about it.
type walError struct {
	err  error
	path string
	why  string
}

func (e *walError) Error() string {
	return fmt.Sprintf("SQLite database file %s is in WAL mode, and SQLite cannot read it without making %s-shm and %s-wal beside it, "+
		"which it may not (%s): for a command that only reads (verify, purge --dry-run), open it immutable, file:%s?immutable=1 "+
		"(only while no app writes it: SQLite then reads it without locks); for the others, let this user write the folder "+
		"(SQLite error: %v)", e.path, e.path, e.path, e.why, e.path, e.err)
}

func (e *walError) Unwrap() error { return e.err }

// explainOpen explains SQLITE_CANTOPEN for a file in WAL mode whose
// folder this user may not write, and returns any other error as it is.
func explainOpen(err error, path string) error {
	var se interface{ Code() int }
	if !errors.As(err, &se) || se.Code()&0xff != codeCantOpen || !isWAL(path) {
		return err
	}
	if _, serr := os.Stat(path + "-shm"); serr == nil {
		return err // it is there: something else is wrong
	}
	werr := writable(filepath.Dir(path))
	if werr == nil {
		return err
	}
	return &walError{err: err, path: path, why: werr.Error()}
}

// isWAL reports whether the database file at path is in WAL mode: its
// header says so. It is read on a descriptor opened once and never
// closed: a process's POSIX locks on a file go when it closes any of its
// descriptors of the file, which would drop the locks every SQLite
// connection of the process holds (SQLite keeps its own descriptors open
// while it does), and another process could then take the write lock
// while a batch of this one's runs, and roll back its journal as a crashed
// writer's. Only for explaining a failure to open (explainOpen): one
// descriptor a file, for the life of the process.
func isWAL(path string) bool {
	f, err := headerFile(path)
	if err != nil {
		return false
	}
	var h [20]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false
	}
	return string(h[:16]) == "SQLite format 3\x00" && h[18] == 2 && h[19] == 2
}

var headerFiles sync.Map // path → *os.File, never closed (see isWAL)

func headerFile(path string) (*os.File, error) {
	if f, ok := headerFiles.Load(path); ok {
		return f.(*os.File), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if prev, loaded := headerFiles.LoadOrStore(path, f); loaded {
		// Another goroutine stored one first: keep this one open too,
		// as closing it would drop the locks.
		return prev.(*os.File), nil
	}
	return f, nil
}

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "Microsoft.Data.Sqlite" }

func (Dialect) KnowsSetting(key string) bool { return adoKeys[key] }
