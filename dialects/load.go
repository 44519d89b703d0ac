package dialects

import "context"

// LoadReader is a Dialect that can say, cheaply, how busy the database is
// for its other users: the signal purge's --max-load and --critical-load
// compare with (gh-ost's Threads_running). SQLite, whose app has no
// sessions on a server to count, has none.
type LoadReader interface {
	// Load reads the signal on q, the purge's own session between its
	// batches, leaving that session out of the count. It only reads.
	Load(ctx context.Context, q Querier) (int64, error)
	// LoadSignal names the signal, as reports and --max-load NAME=N
	// spell it: "active_sessions", "Threads_running", "active_requests".
	LoadSignal() string
}

// A CommitCounter is the pacing signal of an engine with no sessions to
// count (SQLite): a number that changes whenever another connection
// commits to the database, so that a purge can tell whether the app wrote
// between two of its batches, and so waited for them.
type CommitCounter interface {
	// Commits reads the number on q, the purge's own connection. Only its
	// changes mean anything: it is not a count.
	Commits(ctx context.Context, q Querier) (int64, error)
}
