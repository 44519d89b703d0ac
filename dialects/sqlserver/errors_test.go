package sqlserver

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"
)

func TestSQLServerCertificateErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("TLS Handshake failed: %w", x509.UnknownAuthorityError{}), "TrustServerCertificate=True"},
		{errors.New("TLS Handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"), "TrustServerCertificate=True"},
		{fmt.Errorf("TLS Handshake failed: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "db"}), "HostNameInCertificate"},
		{errors.New("TLS Handshake failed: x509: certificate is valid for sql1, not db"), "HostNameInCertificate"},
		{fmt.Errorf("TLS Handshake failed: %w", x509.CertificateInvalidError{Reason: x509.Expired}), "renew"},
		{errors.New("TLS Handshake failed: remote error: tls: protocol version not supported"), "Encrypt"},
	} {
		err := explainConnectError(tc.err)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("%v explained as %q, want it to name %s", tc.err, err, tc.want)
		}
		if !(Dialect{}).Permanent(fmt.Errorf("connecting: %w", err)) {
			t.Errorf("%v is not permanent", err)
		}
	}
	plain := errors.New("dial tcp 10.0.0.1:1433: connect: connection refused")
	if explainConnectError(plain) != plain || (Dialect{}).Permanent(plain) {
		t.Errorf("a refused connection is explained or permanent")
	}
}

func TestSQLServerPermanent(t *testing.T) {
	for _, tc := range []struct {
		number int32
		want   bool
	}{
		{loginFailed, true},
		{cannotOpenDatabase, true},
		{firewallRefused, true},
		{40613, false}, // Azure SQL: database not currently available
		{18401, false}, // server in script upgrade mode, as when starting
		{1205, false},
	} {
		err := fmt.Errorf("connecting: %w", mssql.Error{Number: tc.number})
		if got := (Dialect{}).Permanent(err); got != tc.want {
			t.Errorf("error %d: permanent %v, want %v", tc.number, got, tc.want)
		}
	}
}

func TestSQLServerDisconnected(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{mssql.Error{Number: 596}, true},  // session killed
		{mssql.Error{Number: 6005}, true}, // shutting down
		{mssql.ServerError{}, true},       // fatal: the connection is severed
		{fmt.Errorf("batch: %w", mssql.StreamError{InnerError: io.EOF}), true},
		{mssql.Error{Number: 1205}, false}, // deadlock victim: the session lives on
		{errors.New("syntax"), false},
	} {
		if got := (Dialect{}).Disconnected(tc.err); got != tc.want {
			t.Errorf("Disconnected(%#v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}
