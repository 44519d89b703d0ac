package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/sessctl/sessctl/dialects"
)

func (s Dialect) ParseConn(raw string) (*dialects.Conn, error) {
	rc := dialects.NewRawConn(raw)
	var dsn string
	var warnings []string
	switch {
	case rc.Scheme == "sqlserver":
		dsn = rc.Raw
	case strings.Contains(rc.Raw, "=") && !rc.Libpq && !strings.Contains(rc.Raw, "://"):
		pairs, err := dialects.ParseADO(rc.Raw)
		if err != nil {
			return nil, err
		}
		if dsn, warnings, err = sqlClientToMSDSN(pairs); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: not a SQL Server connection string: use sqlserver://user:password@host:1433?database=app "+
			"or Server=host,1433;Database=app;User Id=…;Password=…", dialects.ErrConnString)
	}
	cfg, err := msdsn.Parse(dsn)
	secrets := secretsIn(raw, cfg.Parameters)
	if err != nil {
		return nil, fmt.Errorf("%w: SQL Server: %s", dialects.ErrConnString, dialects.Scrub(err.Error(), secrets))
	}
	fedauth := cfg.Parameters["fedauth"]
	c := &dialects.Conn{
		Dialect:  s,
		Driver:   "sqlserver",
		DSN:      dsn,
		Display:  displayURL(cfg, fedauth),
		Secrets:  secrets,
		Warnings: warnings,

		ConnectTimeout: cfg.ConnTimeout,
		TimeoutSetting: "connection timeout",
	}
	if rc.Scheme != "sqlserver" {
		c.TimeoutSetting = "Connect Timeout"
	}
	if fedauth != "" {
		c.Driver = azuread.DriverName
		if _, err := azuread.NewConnector(dsn); err != nil {
			return nil, fmt.Errorf("%w: SQL Server Authentication=%s: %s", dialects.ErrConnString, fedauth, dialects.Scrub(err.Error(), secrets))
		}
	}
	return c, nil
}

// Open opens a pool on a connector, go-mssqldb's or, for Azure AD, its
// azuread one, wrapped so that a certificate the client refuses is
// explained.
func (Dialect) Open(conn *dialects.Conn, _ bool) (*sql.DB, error) {
	var c driver.Connector
	var err error
	if conn.Driver == azuread.DriverName {
		c, err = azuread.NewConnector(conn.DSN)
	} else {
		c, err = mssql.NewConnector(conn.DSN)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: SQL Server: %s", dialects.ErrConnString, dialects.Scrub(err.Error(), conn.Secrets))
	}
	if mc, ok := c.(*mssql.Connector); ok && mc.Dialer == nil {
		keepAlive := 30 * time.Second // go-mssqldb's default dialer's
		if cfg, err := msdsn.Parse(conn.DSN); err == nil && cfg.KeepAlive != 0 {
			keepAlive = cfg.KeepAlive
		}
		mc.Dialer = watchedDialer{&net.Dialer{KeepAlive: keepAlive}}
	}
	return sql.OpenDB(explainingConnector{c}), nil
}

// explainingConnector adds to a failed connection what to change when the
// failure is TLS's, and ends a connection attempt when its context ends
// (see watchedDialer).
type explainingConnector struct{ driver.Connector }

func (c explainingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	w := &connectWatch{ctx: ctx}
	conn, err := c.Connector.Connect(context.WithValue(ctx, connectWatchKey{}, w))
	if !w.done() && err == nil {
		conn.Close()
		err = ctx.Err()
	}
	if err != nil {
		return nil, explainConnectError(err)
	}
	return conn, nil
}

// watchedDialer dials as go-mssqldb's own dialer does, and closes a
// connection whose login outlives the context of the Connect it is for:
// go-mssqldb reads the server's answers during login without regard to
// the context, forever when the string sets no connection timeout (a port
// that accepts connections and never answers).
type watchedDialer struct{ nd *net.Dialer }

// connectWatchKey holds, in the context go-mssqldb passes to the dialer,
// the *connectWatch of the Connect the dial is for.
type connectWatchKey struct{}

func (d watchedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.nd.DialContext(ctx, network, addr)
	if err == nil {
		if w, ok := ctx.Value(connectWatchKey{}).(*connectWatch); ok {
			w.watch(c)
		}
	}
	return c, err
}

// connectWatch closes the connections dialed for one Connect if its
// context ends before Connect returns.
type connectWatch struct {
	ctx   context.Context
	mu    sync.Mutex
	stops []func() bool
}

func (w *connectWatch) watch(c net.Conn) {
	stop := context.AfterFunc(w.ctx, func() { c.Close() })
	w.mu.Lock()
	w.stops = append(w.stops, stop)
	w.mu.Unlock()
}

// done stops watching; false when the context ended first and closed a
// connection.
func (w *connectWatch) done() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ok := true
	for _, stop := range w.stops {
		ok = stop() && ok
	}
	return ok
}

var _ dialects.ADOForm = Dialect{}

func (Dialect) Client() string { return "SqlClient" }

func (Dialect) KnowsSetting(key string) bool {
	_, ok := sqlClientKeys[key]
	return ok || sqlClientSpecial[key]
}
