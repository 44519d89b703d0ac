package mysql

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessctl/sessctl/dialects"
)

// Referenced names the foreign key as the message does: "(`db`.`child`,
// CONSTRAINT `fk` FOREIGN KEY …".
func (Dialect) Referenced(err error) (string, bool) {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != errRowIsReferenced && me.Number != errRowIsReferenced1 {
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

var _ dialects.IDDeleter = Dialect{}

func (m Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
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

func (m Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	return m.deleteIDs(ctx, q, n, grace, anys(ids), s)
}

func (m Dialect) StillExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) ([]string, error) {
	found, err := m.idsOf(ctx, q, m.idsSQL(stillExpiredSQL, n, grace, len(ids)), anys(ids))
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

var _ dialects.Waiter = Dialect{}

// WaitSession: MySQL's id is asked for (Interrupter.SessionID).
func (Dialect) WaitSession(*sql.Conn) (int64, bool) { return 0, false }

// WaitingFor reads InnoDB's transactions (a row lock) and the process
// list, whose state names a table or metadata lock.
func (Dialect) WaitingFor(ctx context.Context, db *sql.DB, id int64) (string, error) {
	var state string
	err := db.QueryRowContext(ctx, `SELECT COALESCE(
		(SELECT 'waiting for a row lock' FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT' LIMIT 1),
		(SELECT LOWER(STATE) FROM information_schema.PROCESSLIST WHERE ID = ? AND STATE LIKE '%lock%' LIMIT 1), '')`, id, id).Scan(&state)
	return state, dialects.IgnoreNoRows(err)
}
