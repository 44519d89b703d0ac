package cmd

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/sessctl/sessctl/schema"
)

const (
	flagReplica = "replica"
	flagMaxLag  = "max-lag"
)

// replicaOptions are purge's --replica and --max-lag.
type replicaOptions struct {
	conns  []string
	maxLag time.Duration
	lagSet bool // --max-lag was given
}

func addReplicaFlags(fs *pflag.FlagSet, o *replicaOptions) {
	fs.StringArrayVar(&o.conns, flagReplica, nil, "a read replica's connection string (repeatable): between batches, wait while it lags over --"+flagMaxLag)
	addFlagDuration(fs, &o.maxLag, flagMaxLag, schema.DefaultMaxLag, "with --"+flagReplica+": the most a replica may lag before purge waits for it")
}

// check refuses --max-lag without a replica, and a lag that is no duration.
func (o *replicaOptions) check(script bool) error {
	switch {
	case len(o.conns) == 0 && o.lagSet:
		return usagef("--%s needs --%s: it is how far a replica may lag", flagMaxLag, flagReplica)
	case len(o.conns) > 0 && script:
		return usagef("--%s and --%s cannot be used together: a script is printed, not run, and waits for no replica", flagReplica, flagScript)
	case o.maxLag <= 0:
		return usagef("--%s takes a positive duration, such as 1s", flagMaxLag)
	}
	return nil
}

// replicas opens every --replica, of the engine of the purged table, and
// reads its lag once (states, what was read, for a dry run's report): a
// string that is no replica's, or one that cannot be read, stops the
// purge before its first batch. close closes them all, whatever failed.
func (a *app) replicas(ctx context.Context, tg *target, o *replicaOptions) (ys []schema.Yielder, states []schema.ReplicaState, close func(), err error) {
	var dbs []*sql.DB
	close = func() {
		for _, db := range dbs {
			db.Close()
		}
	}
	d := tg.table.Dialect
	reader, ok := d.(dialects.LagReader)
	if len(o.conns) > 0 && !ok {
		return nil, nil, close, usagef("--%s does not apply to %s: it has no replicas sessctl can read the lag of", flagReplica, d.Name())
	}
	for _, raw := range o.conns {
		r, db, err := a.openReplica(ctx, d, raw)
		if db != nil {
			dbs = append(dbs, db)
		}
		if err != nil {
			return nil, nil, close, err
		}
		y := schema.NewReplicaLag(r, db, reader, o.maxLag, a.redact.redact)
		st, err := y.CheckReplica(ctx)
		if errors.Is(err, dialects.ErrNotReplica) {
			return nil, nil, close, usageError{err}
		} else if err != nil {
			return nil, nil, close, err
		}
		ys, states = append(ys, y), append(states, st)
	}
	return ys, states, close, nil
}

// openReplica reads raw as CONN is read, its secrets masked from then on,
// and opens it: it must be of engine d.
func (a *app) openReplica(ctx context.Context, d dialects.Dialect, raw string) (*dialects.Conn, *sql.DB, error) {
	a.redact.add(dialects.SecretsOf(raw)...)
	conn, err := registry.Parse(raw, d.Name())
	if err != nil {
		a.redact.add(raw)
		return nil, nil, usageError{fmt.Errorf("--%s: %w", flagReplica, err)}
	}
	a.redact.add(conn.Secrets...)
	if conn.Dialect.Name() != d.Name() {
		return nil, nil, usagef("--%s %s is a %s database, and the table is on %s: a replica is of the same engine", flagReplica, conn.Display, conn.Dialect.Name(), d.Name())
	}
	db, err := conn.Dialect.Open(conn, false)
	if err != nil {
		return nil, nil, fmt.Errorf("opening replica %s: %w", conn.Display, err)
	}
	db.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, cmp.Or(conn.ConnectTimeout, dialects.DefaultConnectTimeout))
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return nil, db, fmt.Errorf("connecting to replica %s: %w", conn.Display, err)
	}
	return conn, db, nil
}

// purgeReport is purge's JSON report: the run's, and, for a dry run, each
// replica's lag as read once.
type purgeReport struct {
	*schema.PurgeResult
	Replicas []schema.ReplicaState `json:"replicas,omitempty"`
}

// replicasText says, for a dry run, how far each replica lags, and whether
// a purge would wait for it.
func (a *app) replicasText(states []schema.ReplicaState, maxLag time.Duration) {
	for _, st := range states {
		lag := time.Duration(st.LagMS) * time.Millisecond
		switch {
		case st.Stopped:
			a.resultf("replica %s: %s: purge would wait until it replicates again", st.Name, st.Why)
		case st.WouldWait:
			a.resultf("replica %s lags %s, over --%s %s: purge would wait", st.Name, lag, flagMaxLag, maxLag)
		default:
			a.resultf("replica %s lags %s, within --%s %s: purge would go on", st.Name, lag, flagMaxLag, maxLag)
		}
	}
}
