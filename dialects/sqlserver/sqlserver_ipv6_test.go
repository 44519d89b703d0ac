package sqlserver

import (
	"testing"

	"github.com/microsoft/go-mssqldb/msdsn"
)

// TestSQLServerBracketedIPv6: an ADO.NET Server that is an IPv6 address in
// brackets, with a port or an instance, reaches that address, as with
// SqlClient; go-mssqldb would look the brackets up as a host name.
func TestSQLServerBracketedIPv6(t *testing.T) {
	for _, tc := range []struct {
		server, host, instance string
		port                   uint64
	}{
		{"[::1],1499", "::1", "", 1499},
		{"tcp:[::1],1499", "::1", "", 1499},
		{"[::1]", "::1", "", 0},
		{"[2001:db8::5],1433", "2001:db8::5", "", 1433},
		{`[::1]\SQLEXPRESS`, "::1", "SQLEXPRESS", 0},
		{"127.0.0.1,1499", "127.0.0.1", "", 1499},
	} {
		c, err := Dialect{}.ParseConn("Server=" + tc.server + ";Database=d;User Id=sa;Password=pw;Encrypt=False")
		if err != nil {
			t.Errorf("Server=%s: %v", tc.server, err)
			continue
		}
		cfg, err := msdsn.Parse(c.DSN)
		if err != nil || cfg.Host != tc.host || cfg.Port != tc.port || cfg.Instance != tc.instance {
			t.Errorf("Server=%s: host %q port %d instance %q (%v), want %q %d %q", tc.server, cfg.Host, cfg.Port, cfg.Instance, err, tc.host, tc.port, tc.instance)
		}
	}
}
