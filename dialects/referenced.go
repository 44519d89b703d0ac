package dialects

import (
	"context"
	"time"
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
