package dialects

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	mssql "github.com/microsoft/go-mssqldb"
)

// Referencer is a dialect that can tell a purge batch refused because
// another table's foreign key references one of its rows: the statement
// was rolled back whole, and so will every batch that reaches that row be.
type Referencer interface {
	// Referenced reports whether err is that refusal, and names the
	// foreign key where the database does ("" where it does not).
	Referenced(err error) (foreignKey string, ok bool)
}

// IDDeleter is a dialect whose purge can delete named rows, so that it can
// find, by halving a refused batch, the rows a foreign key references, and
// pass over them.
type IDDeleter interface {
	Referencer
	// ExpiredIDs returns the Ids of up to limit of the oldest rows that
	// expired over grace ago, oldest first, leaving out those in skip. A
	// plain read: it locks nothing.
	ExpiredIDs(ctx context.Context, q Querier, n Names, grace time.Duration, limit int, skip []string) ([]string, error)
	// DeleteIDs deletes those rows of ids that expired over grace ago,
	// in one transaction, passing over rows another session holds as
	// DeleteExpired does. It fails whole when a foreign key references
	// one of them.
	DeleteIDs(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) (int64, error)
	// StillExpired returns those of ids that are there and expired over
	// grace ago.
	StillExpired(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) ([]string, error)
}

var (
	_ IDDeleter  = postgres{}
	_ IDDeleter  = mysql{}
	_ IDDeleter  = sqlite{}
	_ Referencer = sqlserver{}
)

// pgForeignKeyViolation is SQLSTATE 23503.
const pgForeignKeyViolation = "23503"

func (p postgres) Referenced(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgForeignKeyViolation {
		return "", false
	}
	if pgErr.ConstraintName == "" {
		return "", true
	}
	fk := p.Quote(pgErr.ConstraintName)
	if pgErr.TableName != "" {
		fk += " of " + p.Quote(pgErr.SchemaName) + "." + p.Quote(pgErr.TableName)
	}
	return fk, true
}

// The batch's expiry test, as the other statements write it.
const pgExpired = `"ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))`

func (p postgres) ExpiredIDs(ctx context.Context, q Querier, n Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	return scanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+p.qualified(n)+` WHERE `+pgExpired+
		` AND "Id" OPERATOR(pg_catalog.<>) ALL ($2::text[]) ORDER BY "ExpiresAtTime" LIMIT $3`, grace.Seconds(), nonNil(skip), limit))
}

// DeleteIDs locks the rows as a batch does, by partition and ctid (which
// a plain table has too), skipping rows another session holds.
func (p postgres) DeleteIDs(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) (int64, error) {
	t := p.qualified(n)
	res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+pgExpired+`
  AND (tableoid, ctid) IN (SELECT tableoid, ctid FROM `+t+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+pgExpired+`
    FOR UPDATE SKIP LOCKED)`, grace.Seconds(), ids)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p postgres) StillExpired(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) ([]string, error) {
	return scanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+p.qualified(n)+` WHERE "Id" OPERATOR(pg_catalog.=) ANY ($2::text[]) AND `+pgExpired,
		grace.Seconds(), ids))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scanIDs reads the Ids rows holds (a query of one text column).
func scanIDs(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// mysqlErrRowIsReferenced is ER_ROW_IS_REFERENCED_2 (and 1217, its older
// form without the constraint's name).
const (
	mysqlErrRowIsReferenced  = 1451
	mysqlErrRowIsReferenced1 = 1217
)

// Referenced names the foreign key as the message does: "(`db`.`child`,
// CONSTRAINT `fk` FOREIGN KEY …".
func (mysql) Referenced(err error) (string, bool) {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != mysqlErrRowIsReferenced && me.Number != mysqlErrRowIsReferenced1 {
		return "", false
	}
	msg := me.Message
	open, constraint := strings.Index(msg, "("), strings.Index(msg, ", CONSTRAINT ")
	if open < 0 || constraint < open {
		return "", true
	}
	name := msg[constraint+len(", CONSTRAINT "):]
	if end := strings.Index(name, " FOREIGN KEY"); end >= 0 {
		name = name[:end]
	}
	return name + " of " + msg[open+1:constraint], true
}

func (m mysql) ExpiredIDs(ctx context.Context, q Querier, n Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return nil, err
	}
	found, err := m.expiredIDs(ctx, q, n, grace, limit+len(skip)+len(s.held))
	if err != nil {
		return nil, err
	}
	passed := make(map[string]bool, len(skip))
	for _, id := range skip {
		passed[id] = true
	}
	var ids []string
	for _, id := range found {
		if id := id.(string); !passed[id] && !s.held[id] && len(ids) < limit {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (m mysql) DeleteIDs(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	return m.deleteIDs(ctx, q, n, grace, anys(ids), s)
}

func (m mysql) StillExpired(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) ([]string, error) {
	found, err := m.idsOf(ctx, q, m.idsSQL(mysqlStillExpiredSQL, n, grace, len(ids)), anys(ids))
	out := make([]string, 0, len(found))
	for _, id := range found {
		out = append(out, id.(string))
	}
	return out, err
}

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// sqliteConstraintForeignKey is SQLITE_CONSTRAINT_FOREIGNKEY, which SQLite
// returns with PRAGMA foreign_keys on (Microsoft.Data.Sqlite's Foreign
// Keys=True).
const sqliteConstraintForeignKey = 787

// Referenced: SQLite does not name the foreign key.
func (sqlite) Referenced(err error) (string, bool) {
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code() == sqliteConstraintForeignKey {
		return "", true
	}
	return "", false
}

// The Ids are a JSON array, read with json_each, which SQLite has had since
// 3.38 built in (and modernc's build before that).
func (s sqlite) ExpiredIDs(ctx context.Context, q Querier, n Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	t := s.qualified(n)
	return scanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1
		AND "Id" NOT IN (SELECT value FROM json_each(?2)) ORDER BY `+t+`."ExpiresAtTime" LIMIT ?3`,
		grace.Microseconds(), jsonIDs(skip), limit))
}

func (s sqlite) DeleteIDs(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) (int64, error) {
	t := s.qualified(n)
	var deleted int64
	err := sqliteRetry(ctx, func() error {
		res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1`,
			grace.Microseconds(), jsonIDs(ids))
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return deleted, err
}

func (s sqlite) StillExpired(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) ([]string, error) {
	t := s.qualified(n)
	return scanIDs(q.QueryContext(ctx, `SELECT "Id" FROM `+t+` WHERE "Id" IN (SELECT value FROM json_each(?2)) AND `+t+`."ExpiresAtTime" < `+sqliteNow+` - ?1`,
		grace.Microseconds(), jsonIDs(ids)))
}

func jsonIDs(ids []string) string {
	b, _ := json.Marshal(nonNil(ids))
	return string(b)
}

// sqlserverErrReference is error 547: a DELETE conflicted with a
// REFERENCE constraint (for an INSERT or UPDATE, 547 can be a CHECK).
const sqlserverErrReference = 547

// Referenced: SQL Server names the constraint in its message (The DELETE
// statement conflicted with the REFERENCE constraint "fk". …), and purge
// cannot yet pass over such rows there: it says which.
func (sqlserver) Referenced(err error) (string, bool) {
	var me mssql.Error
	var mp *mssql.Error
	switch {
	case errors.As(err, &me):
	case errors.As(err, &mp) && mp != nil:
		me = *mp
	default:
		return "", false
	}
	if me.Number != sqlserverErrReference || !strings.Contains(me.Message, "REFERENCE") {
		return "", false
	}
	if name, ok := quotedAfter(me.Message, "constraint "); ok {
		return strconv.Quote(name), true
	}
	return "", true
}

// quotedAfter is the "…" that follows word in msg.
func quotedAfter(msg, word string) (string, bool) {
	i := strings.Index(msg, word+`"`)
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(word)+1:]
	j := strings.Index(rest, `"`)
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

var (
	_ Waiter = postgres{}
	_ Waiter = mysql{}
)

// WaitSession: pgx has the backend's pid from the startup.
func (postgres) WaitSession(conn *sql.Conn) (int64, bool) {
	var pid uint32
	if err := conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			pid = c.Conn().PgConn().PID()
		}
		return nil
	}); err != nil || pid == 0 {
		return 0, false
	}
	return int64(pid), true
}

// WaitingFor reads pg_stat_activity: a wait_event_type of Lock is a wait
// for a heavyweight lock, which wait_event says the kind of.
func (postgres) WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error) {
	var typ, event sql.NullString
	err := db.QueryRowContext(ctx, `SELECT wait_event_type, wait_event FROM pg_catalog.pg_stat_activity WHERE pid = $1`, pgOnce, id).Scan(&typ, &event)
	if err != nil || typ.String != "Lock" {
		return "", ignoreNoRows(err)
	}
	switch event.String {
	case "relation":
		return "waiting for a table lock", nil
	case "tuple", "transactionid":
		return "waiting for a row lock", nil
	}
	return "waiting for a lock (" + event.String + ")", nil
}

// WaitSession: MySQL's id is asked for (Interrupter.SessionID).
func (mysql) WaitSession(*sql.Conn) (int64, bool) { return 0, false }

// WaitingFor reads InnoDB's transactions (a row lock) and the process
// list, whose state names a table or metadata lock.
func (mysql) WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error) {
	var state string
	err := db.QueryRowContext(ctx, `SELECT COALESCE(
		(SELECT 'waiting for a row lock' FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT' LIMIT 1),
		(SELECT LOWER(STATE) FROM information_schema.PROCESSLIST WHERE ID = ? AND STATE LIKE '%lock%' LIMIT 1), '')`, id, id).Scan(&state)
	return state, ignoreNoRows(err)
}

func ignoreNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

var _ IDDeleter = sqlserver{}

// sqlserverIDs is a list of Ids as one parameter: a JSON array, which
// OPENJSON reads on SQL Server 2016 and later and on Babelfish, so that a
// batch of up to sqlserverMaxBatch Ids stays one statement (SQL Server
// takes at most 2,100 parameters).
func sqlserverIDs(ids []string) (string, error) {
	b, err := json.Marshal(nonNil(ids))
	return string(b), err
}

// sqlserverInIDs is "in the list @p1", compared as [Id]'s own collation
// compares (the column's collation wins over OPENJSON's default one).
const sqlserverInIDs = "[Id] IN (SELECT [value] FROM OPENJSON(@p1))"

// ExpiredIDs reads past rows an app session holds (READPAST; Babelfish
// ignores the hint but its reads wait for no lock).
func (s sqlserver) ExpiredIDs(ctx context.Context, q Querier, n Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	list, err := sqlserverIDs(skip)
	if err != nil {
		return nil, err
	}
	sec, us := sqlserverCutoff(grace)
	return scanIDs(q.QueryContext(ctx, `SELECT TOP (@p4) [Id] FROM `+s.qualified(n)+` WITH (READPAST)
WHERE [ExpiresAtTime] < `+sqlserverCutoffSQL("@p2", "@p3")+` AND NOT `+sqlserverInIDs+`
ORDER BY `+sqlserverOrder+`;`, list, sec, us, int64(limit)))
}

// DeleteIDs is one DELETE, which SQL Server runs whole or not at all, with
// the batch's hints and prelude (DeleteExpired): an app's row is passed over
// (READPAST), or waited for at most the lock timeout.
func (s sqlserver) DeleteIDs(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) (int64, error) {
	list, err := sqlserverIDs(ids)
	if err != nil {
		return 0, err
	}
	sec, us := sqlserverCutoff(grace)
	res, err := q.ExecContext(ctx, sqlserverPrelude+`DELETE FROM `+s.qualified(n)+` WITH (ROWLOCK, READPAST)
WHERE `+sqlserverInIDs+` AND [ExpiresAtTime] < `+sqlserverCutoffSQL("@p2", "@p3")+`;`, list, sec, us)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlserver) StillExpired(ctx context.Context, q Querier, n Names, grace time.Duration, ids []string) ([]string, error) {
	list, err := sqlserverIDs(ids)
	if err != nil {
		return nil, err
	}
	sec, us := sqlserverCutoff(grace)
	return scanIDs(q.QueryContext(ctx, `SELECT [Id] FROM `+s.qualified(n)+` WITH (READPAST)
WHERE `+sqlserverInIDs+` AND [ExpiresAtTime] < `+sqlserverCutoffSQL("@p2", "@p3")+`;`, list, sec, us))
}
