package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// DB is an open database and the connection string it came from.
type DB struct {
	*sql.DB
	Source *dialects.Conn
}

// Pool is the pool itself, for what a dialect learns once per pool (SQL
// Server: which engine it is).
func (db *DB) Pool() *sql.DB { return db.DB }

// ConnectOptions say how Connect connects.
type ConnectOptions struct {
	// Create lets SQLite make a new database file (create only).
	Create bool
	// Wait retries until the database accepts a connection, up to this
	// long, for CI jobs that start before their database.
	Wait time.Duration
	// WaitFlag names the setting Wait came from (--wait), for messages.
	WaitFlag string
	// Retry is called before each retry with the error that caused it.
	Retry func(err error, left time.Duration)
}

// retryEvery is how often Connect retries while it waits.
const retryEvery = time.Second

// Connect opens conn and checks that the database answers. When ctx ends
// first, the error says why (its cause: a signal, --timeout) and what the
// last attempt got from the database; when Wait runs out, it says so and
// what the last attempt got.
func Connect(ctx context.Context, conn *dialects.Conn, opts ConnectOptions) (*DB, error) {
	db, err := conn.Dialect.Open(conn, opts.Create)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(opts.Wait)
	// last is the last attempt's error that the database or the network
	// gave, not a deadline's or a cancellation's: what there is to fix.
	var last error
	for attempt := 1; ; attempt++ {
		bound, capped := attemptBound(conn), ""
		if left := time.Until(deadline); opts.Wait > 0 && left > 0 && left < bound {
			bound, capped = left, waitName(opts)
		}
		err = ping(ctx, db, conn, bound, capped)
		if err == nil {
			return &DB{DB: db, Source: conn}, nil
		}
		var unanswered *unansweredError
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			last = err
		}
		left := time.Until(deadline)
		switch {
		case ctx.Err() != nil:
			db.Close()
			return nil, connectStopped(ctx, conn, opts, attempt, start, last)
		case errors.As(err, &unanswered) && opts.Wait <= 0:
			db.Close()
			return nil, fmt.Errorf("connecting to %s: %w; the host and port may not be the database's, "+
				"or it is starting or overloaded: pass --wait to keep trying", conn.Display, err)
		case dialects.Permanent(conn.Dialect, err) || opts.Wait <= 0:
			db.Close()
			return nil, fmt.Errorf("connecting to %s: %w", conn.Display, err)
		case left <= 0:
			db.Close()
			return nil, fmt.Errorf("connecting to %s: still failing when %s ran out, after %s: %w",
				conn.Display, waitName(opts), plural(attempt, "attempt"), err)
		}
		if opts.Retry != nil {
			opts.Retry(err, left)
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, connectStopped(ctx, conn, opts, attempt, start, last)
		case <-time.After(min(retryEvery, left)):
		}
	}
}

// attemptBound is how long one attempt may take: the string's own connect
// timeout, else DefaultConnectTimeout, for each host it may try in turn.
func attemptBound(conn *dialects.Conn) time.Duration {
	per := conn.ConnectTimeout
	if per <= 0 {
		per = dialects.DefaultConnectTimeout
	}
	return per * time.Duration(max(conn.Hosts, 1))
}

// errUnanswered ends an attempt that ran out of its bound.
var errUnanswered = errors.New("connection attempt unanswered")

// ping is one attempt, ended after bound. An attempt that ran out of it,
// not ctx, is an *unansweredError.
func ping(ctx context.Context, db *sql.DB, conn *dialects.Conn, bound time.Duration, capped string) error {
	actx, cancel := context.WithTimeoutCause(ctx, bound, errUnanswered)
	defer cancel()
	start := time.Now()
	err := db.PingContext(actx)
	// The driver's own timer, set to the same bound (go-mssqldb's
	// connection timeout), may end the attempt a moment before ours does,
	// with a network timeout.
	var ne net.Error
	driverTimer := errors.As(err, &ne) && ne.Timeout() && time.Since(start) >= bound*9/10
	if err != nil && ctx.Err() == nil && (actx.Err() != nil || driverTimer) {
		return &unansweredError{bound: bound, capped: capped, conn: conn}
	}
	return err
}

// unansweredError is an attempt that the database did not answer within
// its bound: a host that drops packets, a port that accepts connections
// and never speaks, a server too busy to finish the handshake.
type unansweredError struct {
	bound  time.Duration
	capped string // the wait whose rest cut bound short, if it did
	conn   *dialects.Conn
}

func (e *unansweredError) Error() string {
	hosts := ""
	if e.conn.Hosts > 1 {
		hosts = fmt.Sprintf(" for %d connections tried in turn", e.conn.Hosts)
	}
	switch {
	case e.capped != "":
		return fmt.Sprintf("the database did not answer within %s%s, what was left of %s",
			e.bound.Round(time.Millisecond), hosts, e.capped)
	case e.conn.ConnectTimeout > 0:
		return fmt.Sprintf("the database did not answer within %s%s (the connection string's %s)",
			e.bound, hosts, e.conn.TimeoutSetting)
	case e.conn.TimeoutSetting != "":
		return fmt.Sprintf("the database did not answer within %s%s (sessctl's bound for one attempt; "+
			"the connection string's %s sets another)", e.bound, hosts, e.conn.TimeoutSetting)
	}
	return fmt.Sprintf("the database did not answer within %s", e.bound)
}

// connectStopped says that ctx ended while Connect tried: its cause (a
// signal, --timeout), whether it was still waiting for the database, and
// what the last attempt got, which is what to fix.
func connectStopped(ctx context.Context, conn *dialects.Conn, opts ConnectOptions, attempts int, start time.Time, last error) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	waiting := ""
	if opts.Wait > 0 {
		waiting = fmt.Sprintf(" while waiting for the database (%s)", waitName(opts))
	}
	switch {
	case last == nil && attempts == 1:
		return fmt.Errorf("connecting to %s: %w%s, %s into the first attempt, which the database had not answered",
			conn.Display, cause, waiting, time.Since(start).Round(time.Millisecond))
	case last == nil:
		return fmt.Errorf("connecting to %s: %w%s, after %s that the database did not answer",
			conn.Display, cause, waiting, plural(attempts, "attempt"))
	}
	return fmt.Errorf("connecting to %s: %w%s, after %s; the last attempt failed: %w",
		conn.Display, cause, waiting, plural(attempts, "attempt"), last)
}

func waitName(opts ConnectOptions) string {
	if opts.WaitFlag != "" {
		return fmt.Sprintf("%s %s", opts.WaitFlag, opts.Wait)
	}
	return fmt.Sprintf("the wait of %s", opts.Wait)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
