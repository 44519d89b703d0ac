package cmd

import (
	"time"

	"github.com/spf13/pflag"
)

// Flag names, written once.
const (
	flagDialect      = "dialect"
	flagOutput       = "output"
	flagWait         = "wait"
	flagTimeout      = "timeout"
	flagVerbose      = "verbose"
	flagQuiet        = "quiet"
	flagScript       = "script"
	flagIdempotent   = "idempotent"
	flagCreateSchema = "create-schema"
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
