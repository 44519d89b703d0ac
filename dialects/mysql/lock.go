package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.CreateLocker = Dialect{}

// LockCreate takes the named lock migrator holds.
func (m Dialect) LockCreate(ctx context.Context, conn *sql.Conn, n dialects.Names) (func() error, error) {
	name, err := m.lockName(ctx, conn, "create", n)
	if err != nil {
		return nil, err
	}
	err = dialects.PollLock(ctx, func() (bool, error) {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil {
			return false, err
		}
		return got.Valid && got.Int64 == 1, nil
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `SELECT RELEASE_LOCK(?)`, name)
		return err
	}, nil
}

// lockName is the name of the create or purge lock of the table of n, at
// most 64 characters as MySQL 5.7 and later require. Where table names are
// not case-sensitive, neither is the lock's.
func (Dialect) lockName(ctx context.Context, q dialects.Querier, kind string, n dialects.Names) (string, error) {
	var fold bool
	if err := q.QueryRowContext(ctx, `SELECT @@lower_case_table_names <> 0`).Scan(&fold); err != nil {
		return "", fmt.Errorf("reading lower_case_table_names: %w", err)
	}
	return lockNameOf(kind, n, fold), nil
}

// lockNameOf is lockName where names are case-sensitive (fold false) or
// not (fold true).
func lockNameOf(kind string, n dialects.Names, fold bool) string {
	key := n.Schema + "\x00" + n.Table
	if fold {
		key = strings.ToLower(key)
	}
	h := sha256.Sum256([]byte(key))
	return "sessctl-" + kind + ":" + hex.EncodeToString(h[:20])
}
