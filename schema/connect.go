package schema

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// DB is an open database and the connection string it came from.
type DB struct {
	*sql.DB
	Source *dialects.Conn
}

// ConnectOptions say how Connect connects.
type ConnectOptions struct {
	// Create lets SQLite make a new database file (create only).
	Create bool
	// Wait retries until the database accepts a connection, up to this
	// long, for CI jobs that start before their database.
	Wait time.Duration
	// Retry is called before each retry with the error that caused it.
	Retry func(err error, left time.Duration)
}

// retryEvery is how often Connect retries while it waits.
const retryEvery = time.Second

// Connect opens conn and checks that the database answers.
func Connect(ctx context.Context, conn *dialects.Conn, opts ConnectOptions) (*DB, error) {
	db, err := conn.Dialect.Open(conn, opts.Create)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(opts.Wait)
	for {
		err = db.PingContext(ctx)
		if err == nil {
			return &DB{DB: db, Source: conn}, nil
		}
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil || conn.Dialect.Permanent(err) {
			db.Close()
			return nil, fmt.Errorf("connecting to %s: %w", conn.Display, err)
		}
		if opts.Retry != nil {
			opts.Retry(err, left)
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("connecting to %s: %w", conn.Display, ctx.Err())
		case <-time.After(min(retryEvery, left)):
		}
	}
}
