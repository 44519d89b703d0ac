package cmd

import (
	"time"

	"github.com/sessctl/sessctl/layouts"
	"github.com/spf13/pflag"
)

// Flag names, written once.
const (
	flagDialect      = "dialect"
	flagLayout       = "layout"
	flagOutput       = "output"
	flagWait         = "wait"
	flagTimeout      = "timeout"
	flagVerbose      = "verbose"
	flagQuiet        = "quiet"
	flagScript       = "script"
	flagIdempotent   = "idempotent"
	flagCreateSchema = "create-schema"
	flagWithKeys     = "with-keys"
	flagLogged       = "logged"
	flagYes          = "yes"
	flagForce        = "force"
	flagIfExists     = "if-exists"
	flagStrict       = "strict"
	flagBatchSize    = "batch-size"
	flagBatchTime    = "batch-time"
	flagGrace        = "grace"
	flagDryRun       = "dry-run"
	flagMaxRows      = "max-rows"
	flagMaxDuration  = "max-duration"
	flagPause        = "pause"
	flagPace         = "pace"
	flagOrder        = "order"
)

// envConnection is where CONN comes from when it is not an argument.
const envConnection = "SESSCTL_CONNECTION"

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

func addFlagScript(fs *pflag.FlagSet, p *bool) {
	fs.BoolVar(p, flagScript, false, "print the SQL instead of running it (with --dialect, no connection is needed)")
}

func addFlagDuration(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	fs.DurationVar(p, name, value, usage)
}

// layoutFlag is --layout: a layout by name, refused at parse time when
// there is none of that name.
type layoutFlag struct{ p **layouts.Layout }

func (f *layoutFlag) Set(name string) error {
	l, err := layouts.Lookup(name)
	if err != nil {
		return err
	}
	*f.p = l
	return nil
}

func (f *layoutFlag) String() string {
	if f.p == nil || *f.p == nil {
		return layouts.Cache.Name
	}
	return (*f.p).Name
}

func (f *layoutFlag) Type() string { return "name" }

// layoutOrCache is the --layout given, or the cache table's.
func (a *app) layoutOrCache() *layouts.Layout {
	if a.layout == nil {
		return layouts.Cache
	}
	return a.layout
}
