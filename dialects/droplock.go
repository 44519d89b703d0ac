package dialects

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CreateLocker is a dialect whose drop takes the lock create's migrations
// hold, so that a drop and a create of one table never interleave: a drop
// between a create's table and its version would leave a version without
// a table, or make the create fail half-way.
type CreateLocker interface {
	// LockCreate takes, on conn, create's lock for n, waiting until ctx
	// ends; unlock releases it. It makes nothing in the database.
	LockCreate(ctx context.Context, conn *sql.Conn, n Names) (unlock func() error, err error)
}

// createLockPoll is how often a drop waiting for create's lock asks again.
const createLockPoll = 100 * time.Millisecond

// pollLock asks try until it says the lock is held, or ctx ends.
func PollLock(ctx context.Context, try func() (bool, error)) error {
	for {
		ok, err := try()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a create of the same table to finish: %w", context.Cause(ctx))
		case <-time.After(createLockPoll):
		}
	}
}
