package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// deleteIDs deletes the rows of ids that are still expired, by primary
// key, passing over (and adding to s.held) those another session holds:
// skipped where the server can (deleteSkipping), waited for briefly where
// it cannot (deleteWaiting).
func (m Dialect) deleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any, s *purgeSession) (int64, error) {
	if !s.skipLocked {
		return m.deleteWaiting(ctx, q, n, grace, ids, s)
	}
	var deleted int64
	var locked []any
	var err error
	for attempt := 1; ; attempt++ {
		deleted, locked, err = m.deleteSkipping(ctx, q, n, grace, ids)
		if !deadlock(err) || attempt > deadlockRetries {
			break
		}
	}
	if err != nil || len(locked) == len(ids) {
		return deleted, err
	}
	taken := make(map[string]bool, len(locked))
	for _, id := range locked {
		taken[id.(string)] = true
	}
	var passed []any
	for _, id := range ids {
		if !taken[id.(string)] {
			passed = append(passed, id)
		}
	}
	return deleted, m.noteHeld(ctx, q, n, grace, passed, s)
}

// deadlockRetries is how often a batch rolled back as a deadlock
// victim is run again. It locks rows in the app's order and never waits
// for one, so only an app that locks a row's expiry index entry before
// the row (the providers' own DELETE of expired rows, along the expiry
// index) can deadlock with it; the batch was rolled back whole, so it is
// safe to run again.
const deadlockRetries = 3

// deleteSkipping locks the rows of ids that are expired and no other
// session holds (lockIDsSQL) and deletes them, in one transaction.
// It returns the rows deleted and the Ids it locked.
func (m Dialect) deleteSkipping(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any) (deleted int64, locked []any, err error) {
	tx, commit, rollback, err := begin(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	defer func() {
		if err != nil {
			_ = rollback() // err, which the rollback follows, is what matters
		}
	}()
	locked, err = m.idsOf(ctx, tx, m.idsSQL(lockIDsSQL, n, grace, len(ids)), ids)
	if err != nil || len(locked) == 0 {
		if err == nil {
			err = commit()
		}
		return 0, nil, err
	}
	res, err := tx.ExecContext(ctx, m.idsSQL(deleteIDsSQL, n, grace, len(locked)), locked...)
	if err != nil {
		return 0, nil, err
	}
	if deleted, err = res.RowsAffected(); err != nil {
		return 0, nil, err
	}
	if err = commit(); err != nil {
		return 0, nil, err
	}
	return deleted, locked, nil
}

// begin begins a transaction on q's session: a new one for a *sql.DB
// or a *sql.Conn, q itself when it is one already (its caller ends it).
func begin(ctx context.Context, q dialects.Querier) (tx dialects.Querier, commit, rollback func() error, err error) {
	none := func() error { return nil }
	if t, ok := q.(*sql.Tx); ok {
		return t, none, none, nil
	}
	b, ok := q.(interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	})
	if !ok {
		return nil, nil, nil, fmt.Errorf("a purge batch needs a transaction, which a %T cannot begin", q)
	}
	t, err := b.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, t.Commit, t.Rollback, nil
}

// deleteWaiting deletes the rows of ids in one statement, which waits at
// most the session's innodb_lock_wait_timeout (lockWait during a
// purge) for a row another session holds.
// When the wait runs out, the statement was rolled back whole: it deletes
// each half of ids in the same way, and so on down to the held rows, which
// it passes over. Each held row costs about one wait for every halving,
// log2(len(ids)) of them; the session then remembers it, so that no later
// batch waits for it again.
func (m Dialect) deleteWaiting(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []any, s *purgeSession) (int64, error) {
	res, err := q.ExecContext(ctx, m.idsSQL(deleteIDsSQL, n, grace, len(ids)), ids...)
	switch {
	case err == nil:
		return res.RowsAffected()
	case !lockWaitTimeout(err):
		return 0, err
	case len(ids) == 1:
		return 0, m.noteHeld(ctx, q, n, grace, ids, s)
	}
	half := len(ids) / 2
	first, err := m.deleteWaiting(ctx, q, n, grace, ids[:half], s)
	if err != nil {
		return first, err
	}
	second, err := m.deleteWaiting(ctx, q, n, grace, ids[half:], s)
	return first + second, err
}

// noteHeld adds to s.held the rows of passed, which a batch passed over,
// that are still expired: those another session holds.
func (m Dialect) noteHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, passed []any, s *purgeSession) error {
	if len(passed) == 0 {
		return nil
	}
	still, err := m.idsOf(ctx, q, m.idsSQL(stillExpiredSQL, n, grace, len(passed)), passed)
	if err != nil {
		return err
	}
	for _, id := range still {
		if len(s.held) < maxHeld {
			s.held[id.(string)] = true
		}
	}
	return nil
}

var _ dialects.HeldCounter = Dialect{}

// CountHeld locks the oldest limit expired rows that no other session
// holds, as a batch would, and rolls back: the rest are held, unless they
// were slid forward or deleted meanwhile. On a server that cannot skip
// locked rows, it counts the held rows the purge found.
func (m Dialect) CountHeld(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (int64, error) {
	s, err := m.session(ctx, q)
	if err != nil {
		return 0, err
	}
	if !s.skipLocked {
		var ids []any
		for id := range s.held {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return 0, nil
		}
		still, err := m.idsOf(ctx, q, m.idsSQL(stillExpiredSQL, n, grace, len(ids)), ids)
		return int64(len(still)), err
	}
	ids, err := m.expiredIDs(ctx, q, n, grace, limit)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	tx, _, rollback, err := begin(ctx, q)
	if err != nil {
		return 0, err
	}
	locked, err := m.idsOf(ctx, tx, m.idsSQL(lockIDsSQL, n, grace, len(ids)), ids)
	if rerr := rollback(); err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	taken := make(map[string]bool, len(locked))
	for _, id := range locked {
		taken[id.(string)] = true
	}
	var passed []any
	for _, id := range ids {
		if !taken[id.(string)] {
			passed = append(passed, id)
		}
	}
	if len(passed) == 0 {
		return 0, nil
	}
	still, err := m.idsOf(ctx, q, m.idsSQL(stillExpiredSQL, n, grace, len(passed)), passed)
	return int64(len(still)), err
}
