// Package cmd is sessctl's command line: it parses and validates, hands the
// work to package schema, and prints. Main maps every error to its exit code
// in one place and prints it once, with secrets masked.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/layouts"
	"github.com/sessctl/sessctl/schema"
)

// Exit codes, as the README and --help document them.
const (
	ExitOK           = 0
	ExitFailed       = 1
	ExitUsage        = 2
	ExitIncompatible = 3
	ExitCriticalLoad = 4
	ExitInterrupted  = 130
)

const exitCodesHelp = `Exit codes:
  0    done, or nothing to do (already up to date, nothing expired, another purge holds the lock)
  1    the operation failed: connection, permission, SQL error, lock timeout
  2    usage: bad arguments, invalid name, unrecognised or ambiguous connection string, drop without --yes,
       drop of a key ring that holds keys without --force, purge of a key ring (--layout keys),
       create of a table sessctl does not make (--layout aspstate, universal), drop of aspstate
  3    the table is missing or not compatible: verify found it so (or, with --layout keys, no usable default key),
       or purge refused it (deleting nothing)
  4    purge stopped at --critical-load, after the batch in flight (its report says the load it read)
  130  interrupted (Ctrl-C / SIGTERM), after finishing the batch in flight; a second signal aborts it`

// errSignal and errTimeout are why a command's context ended.
var (
	errSignal  = errors.New("interrupted by a signal")
	errTimeout = errors.New("timed out")
)

// usageError marks an error as the user's to fix by changing the command.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs sessctl with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(args, stdin, stdout, stderr, os.Getenv)
}

// abortExit is how long after a second signal the process ends by itself,
// whatever it is doing, if the command has not returned by then.
const abortExit = 3 * time.Second

// run is Main with the environment given, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	abort := make(chan struct{})
	app := &app{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		redact: &redactor{},
		getenv: getenv,
		abort:  abort,
	}
	if f, ok := stderr.(*os.File); ok {
		app.stderrTTY = isatty.IsTerminal(f.Fd())
	}

	// The first signal ends ctx: a command stops after what is in flight
	// (purge: the batch; one that waits for a lock is cut after a grace).
	// The second closes abort: purge cuts its statement at once, its batch
	// rolled back, and reports; whatever is still running abortExit later,
	// the process ends with exit 130.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-sigs:
			app.stopping()
			cancel(errSignal)
		case <-finished:
			return
		}
		select {
		case <-sigs:
			close(abort)
			time.AfterFunc(abortExit, func() { os.Exit(ExitInterrupted) })
		case <-finished:
		}
	}()
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(app.stdout)
	root.SetErr(app.stderr)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err, app.started)
	app.printError(err, code)
	return code
}

// exitCode maps an error to the exit code of the spec. started says whether
// a command got as far as running: errors before that are usage errors.
func exitCode(ctx context.Context, err error, started bool) int {
	var ue usageError
	switch {
	case errors.Is(context.Cause(ctx), errSignal), errors.Is(err, schema.ErrInterrupted):
		return ExitInterrupted
	case !started, errors.As(err, &ue),
		errors.Is(err, dialects.ErrInvalidName),
		errors.Is(err, dialects.ErrConnString),
		errors.Is(err, dialects.ErrUnknownDialect),
		errors.Is(err, schema.ErrHoldsRows),
		errors.Is(err, schema.ErrNotManaged),
		errors.Is(err, schema.ErrNoLoadSignal):
		return ExitUsage
	case errors.Is(err, schema.ErrIncompatible):
		return ExitIncompatible
	case errors.Is(err, schema.ErrCriticalLoad):
		return ExitCriticalLoad
	}
	return ExitFailed
}

func (a *app) printError(err error, code int) {
	msg := a.redact.errorText(err)
	// A command that printed its report (verify's findings, purge's summary
	// before a signal) has said it in JSON already.
	if a.output == outputJSON && !a.printedResult {
		a.printJSON(map[string]any{"status": "error", "error": msg, "exit_code": code})
	}
	if code == ExitIncompatible && a.printedResult {
		return // verify printed its report; that is the message
	}
	fmt.Fprintf(a.stderr, "sessctl: %s\n", msg)
	if code == ExitUsage {
		fmt.Fprintln(a.stderr, "Run 'sessctl --help' for usage.")
	}
}

// redactor masks the secrets of the connection string in what sessctl
// prints, where they can be: in text that came from a driver or from the
// database (an error, a plan), which may quote what it was given. What
// sessctl writes itself (its messages, the dialect, schema, table and the
// names it derives, statuses and counts) holds no secret and is never
// masked: a password "postgres" must not turn the dialect into "***", and
// a mask on a word of sessctl's own would itself say what the password is.
type redactor struct {
	secrets []string
}

// add registers secrets; the longest are masked first, so that a secret
// containing another is masked whole.
func (r *redactor) add(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// redact masks the secrets in s, a text from a driver or the database.
func (r *redactor) redact(s string) string { return dialects.Scrub(s, r.secrets) }

// errorText is err's message with the secrets masked in the parts that
// came from a driver or the database, and nowhere else. An error chain is
// sessctl's wrappers (fmt.Errorf's %w, its own types, its sentinels)
// around the errors its drivers returned: a wrapper's own words are
// sessctl's, and each error it wraps is said, word for word, inside them
// (where those words are said twice, both are masked). The first error
// down the chain that is not sessctl's is masked whole.
func (r *redactor) errorText(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if !ownError(err) {
		return r.redact(msg)
	}
	var wrapped []error
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		wrapped = u.Unwrap()
	case interface{ Unwrap() error }:
		if w := u.Unwrap(); w != nil {
			wrapped = []error{w}
		}
	}
	for _, w := range wrapped {
		if w == nil {
			continue
		}
		text, said := w.Error(), r.errorText(w)
		switch strings.Count(msg, text) {
		case 0: // said in the wrapper's own words (a masked parse error)
		case 1:
			msg = strings.Replace(msg, text, said, 1)
		default:
			// Which of them the wrapper wrapped, its format knows: mask
			// every one rather than miss it.
			msg = strings.ReplaceAll(msg, text, said)
		}
	}
	return msg
}

// ownSentinels are sessctl's errors.New values.
var ownSentinels = []error{
	dialects.ErrInvalidName, dialects.ErrUnknownDialect, dialects.ErrConnString, dialects.ErrSchemaMissing, dialects.ErrPermission,
	schema.ErrNotCacheTable, schema.ErrTableMissing, schema.ErrIncompatible, schema.ErrInterrupted, schema.ErrNameTaken,
	schema.ErrHoldsRows, schema.ErrNotManaged, schema.ErrCriticalLoad, schema.ErrNoLoadSignal, layouts.ErrUnknownLayout, layouts.ErrWrongEngine,
	errSignal, errTimeout,
}

// ownModule is the import path every package of sessctl's begins with.
const ownModule = "github.com/sessctl/sessctl/"

// ownError reports whether err's own words are sessctl's: one of its
// sentinels, an error of one of its types, or a wrapper made by
// fmt.Errorf or errors.Join (whose words, apart from what it wraps, are
// the format's: sessctl's, at the top of a chain).
func ownError(err error) bool {
	for _, s := range ownSentinels {
		if err == s {
			return true
		}
	}
	t := reflect.TypeOf(err)
	switch t.String() {
	case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath()+"/", ownModule)
}
