package cmd

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/schema"
)

// TestErrorText: an error's message is masked where it came from a driver
// or the database, and nowhere else: sessctl's wrappers, sentinels and own
// error types keep their words, and the names in them, whatever the
// password is.
func TestErrorText(t *testing.T) {
	r := &redactor{}
	r.add("postgres", "SessionData", "table", "public")
	driver := &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: `password "postgres" rejected for table SessionData`}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %s; `sessctl create` makes it", schema.ErrTableMissing, `"public"."SessionData"`),
			"table does not exist: \"public\".\"SessionData\"; `sessctl create` makes it"},
		{fmt.Errorf("connecting to %s: %w", "postgres://postgres@h:5432/public", driver),
			`connecting to postgres://postgres@h:5432/public: FATAL: password "***" rejected for *** *** (SQLSTATE 28P01)`},
		{usageError{fmt.Errorf("%w: %s is not an Npgsql setting", dialects.ErrConnString, `"table"`)},
			`connection string: "table" is not an Npgsql setting`},
		{fmt.Errorf("%w: role %s may not read %s (%w)", dialects.ErrPermission, `"postgres"`, `"public"."SessionData"`, driver),
			`permission denied: role "postgres" may not read "public"."SessionData" (FATAL: password "***" rejected for *** *** (SQLSTATE 28P01))`},
		{errors.Join(fmt.Errorf("purge of %s: %w", `"public"."SessionData"`, errSignal), &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("table postgres refused")}),
			"purge of \"public\".\"SessionData\": interrupted by a signal\ndial tcp: *** *** refused"},
		{errors.New("postgres: table SessionData"), "***: *** ***"}, // whose words these are is unknown: a driver's
	} {
		if got := r.errorText(tc.err); got != tc.want {
			t.Errorf("errorText(%q)\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}
