package schema

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// KindReplicaLag names the waits for a replica in the report's yielded.by.
const KindReplicaLag = "replica lag"

// DefaultMaxLag is --max-lag when --replica is given without it.
const DefaultMaxLag = time.Second

// ReplicaReadTimeout bounds one read of a replica's lag, once purge has a
// session on it (getting one is bounded by the connection string's own
// connect timeout). The query reads the replica's own state and answers in
// milliseconds, even on a busy replica; 5 s leaves room for a replica
// whose SHOW REPLICA STATUS waits a moment for its SQL thread, or a
// distant one, and keeps a purge from standing still long behind one
// that stopped answering. A read it cuts short is lag unknown: purge
// waits and reads again, so a bound too short costs time, never a replica
// left behind. (PostgreSQL's driver then gives the server up to 3 s more
// to honour its cancel request before it drops the connection.)
const ReplicaReadTimeout = 5 * time.Second

// How often a lagging replica is read again: the wait is what it lags over
// the limit, within these bounds, so that purge goes on soon after the
// replica catches up, without reading it back to back. One whose lag is
// unknown (its read failed) is read again after maxLagPoll.
const (
	minLagPoll = 50 * time.Millisecond
	maxLagPoll = time.Second
)

// errReplicaUnanswered ends a lag read that ran out of its bound.
var errReplicaUnanswered = errors.New("the replica did not answer")

// ReplicaLag is a Yielder that waits while a read replica lags over Max
// (pt-archiver's --check-slave-lag), so that a purge never makes one fall
// behind. A replica whose replication is stopped is waited for too, as
// long as it stays stopped (or until --max-duration): a purge must not
// pile up changes a stopped replica will have to apply before it serves
// fresh reads again. So is one whose lag cannot be read once the purge
// has begun (it stopped answering, refused the connection, failed the
// query): its lag is unknown, and purge waits, reading it again every
// second, until it answers under Max.
type ReplicaLag struct {
	Name   string // the replica as messages show it, its secrets masked
	DB     *sql.DB
	Reader dialects.LagReader
	Max    time.Duration
	// ConnectTimeout bounds getting a session on the replica when the
	// pool has none (the first read, one after a failure): the
	// connection string's own connect timeout, else
	// dialects.DefaultConnectTimeout, for each host it may try.
	ConnectTimeout time.Duration
	// ReadTimeout bounds the lag query on that session; 0 is
	// ReplicaReadTimeout.
	ReadTimeout time.Duration
	// Mask masks secrets in what the driver or the replica says, before
	// it goes into a reason; nil leaves it as is.
	Mask func(string) string
}

// NewReplicaLag is the ReplicaLag of conn, open as db: its connect
// timeout is conn's, as Connect bounds an attempt.
func NewReplicaLag(conn *dialects.Conn, db *sql.DB, reader dialects.LagReader, maxLag time.Duration, mask func(string) string) *ReplicaLag {
	return &ReplicaLag{Name: conn.Display, DB: db, Reader: reader, Max: maxLag, ConnectTimeout: attemptBound(conn), Mask: mask}
}

// ReplicaState is a replica's lag as read once, for a dry run's report.
type ReplicaState struct {
	Name  string `json:"name"`
	LagMS int64  `json:"lag_ms"`
	// Stopped is set when its replication is not running: its lag is
	// unknown, and Why says what was read.
	Stopped bool   `json:"stopped"`
	Why     string `json:"why,omitempty"`
	// WouldWait says that a purge would wait for it now.
	WouldWait bool `json:"would_wait"`
}

// Kind implements Kinded.
func (*ReplicaLag) Kind() string { return KindReplicaLag }

// Yield implements Yielder. A read that fails is lag unknown: wait, and
// read again.
func (r *ReplicaLag) Yield(ctx context.Context) (time.Duration, string, error) {
	lag, err := r.read(ctx)
	switch {
	case ctx.Err() != nil:
		return 0, "", nil // the run ends; the step says why
	case err != nil:
		return maxLagPoll, fmt.Sprintf("replica %s: lag unknown: %s; waiting until its lag can be read", r.Name, r.mask(oneLine(err.Error()))), nil
	}
	return r.wait(lag)
}

// wait is how long to wait for a replica that lags lag, and why.
func (r *ReplicaLag) wait(lag dialects.Lag) (time.Duration, string, error) {
	switch {
	case lag.Stopped:
		return maxLagPoll, fmt.Sprintf("replica %s: %s; waiting until it replicates again", r.Name, lag.Why), nil
	case lag.Behind <= r.Max:
		return 0, "", nil
	}
	why := fmt.Sprintf("replica %s lags %s, over --max-lag %s", r.Name, lag.Behind.Round(time.Millisecond), r.Max)
	if lag.Why != "" {
		why += ": " + lag.Why
	}
	return min(max(lag.Behind-r.Max, minLagPoll), maxLagPoll), why, nil
}

// CheckReplica reads r's lag once, before a purge begins, so that a
// --replica that is no replica, or cannot be read, stops the run before
// its first batch; a dry run reports what it read.
func (r *ReplicaLag) CheckReplica(ctx context.Context) (ReplicaState, error) {
	lag, err := r.read(ctx)
	if err != nil {
		return ReplicaState{}, fmt.Errorf("replica %s: %w", r.Name, err)
	}
	wait, _, _ := r.wait(lag)
	return ReplicaState{Name: r.Name, LagMS: lag.Behind.Milliseconds(), Stopped: lag.Stopped, Why: lag.Why, WouldWait: wait > 0}, nil
}

// read reads the replica's lag on a session of the pool, each step
// bounded: opening a session by the connect timeout, the query (and
// taking a session the pool has open) by the read timeout. A session the server dropped (a restart, a kill) is
// replaced once, as database/sql does for a statement on the pool.
func (r *ReplicaLag) read(ctx context.Context) (dialects.Lag, error) {
	for tries := 0; ; tries++ {
		lag, err := r.readOnce(ctx)
		if tries == 0 && errors.Is(err, driver.ErrBadConn) && ctx.Err() == nil {
			continue
		}
		return lag, err
	}
}

func (r *ReplicaLag) readOnce(ctx context.Context) (dialects.Lag, error) {
	read := cmp.Or(r.ReadTimeout, ReplicaReadTimeout)
	// Taking the pool's open session may cost a round trip too (pgx pings
	// one idle for over a second): the read's bound, not a connect's.
	connect := read
	if r.DB.Stats().OpenConnections == 0 {
		connect = cmp.Or(r.ConnectTimeout, dialects.DefaultConnectTimeout)
	}
	cctx, cancel := context.WithTimeoutCause(ctx, connect, errReplicaUnanswered)
	conn, err := r.DB.Conn(cctx)
	unanswered := context.Cause(cctx) == errReplicaUnanswered
	cancel()
	switch {
	case err != nil && ctx.Err() == nil && unanswered:
		return dialects.Lag{}, fmt.Errorf("%w within %s", errReplicaUnanswered, connect)
	case err != nil:
		return dialects.Lag{}, err
	}
	defer conn.Close()
	rctx, cancel := context.WithTimeoutCause(ctx, read, errReplicaUnanswered)
	defer cancel()
	lag, err := r.Reader.ReplicaLag(rctx, conn)
	if err != nil && ctx.Err() == nil && context.Cause(rctx) == errReplicaUnanswered {
		// The driver's words are its context's: say what happened.
		return dialects.Lag{}, fmt.Errorf("%w: reading its lag took over %s", errReplicaUnanswered, read)
	}
	return lag, err
}

func (r *ReplicaLag) mask(s string) string {
	if r.Mask == nil {
		return s
	}
	return r.Mask(s)
}

// oneLine is a driver's message on one line (pgx lists each host it tried
// on a line of its own), for the progress line and the report's reason.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
