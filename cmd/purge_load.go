package cmd

import (
	"strconv"
	"strings"

	"github.com/sessctl/sessctl/dialects"
)

// Purge's load flags: gh-ost's --max-load and --critical-load.
const (
	flagMaxLoad      = "max-load"
	flagCriticalLoad = "critical-load"
)

// loadSignals is the load signal of each engine that has one, for help.
const loadSignals = "PostgreSQL: active_sessions, the database's other sessions running a statement; " +
	"MySQL/MariaDB: Threads_running, less purge's own; SQL Server: active_requests, the other user requests running"

// loadThreshold reads a --max-load or --critical-load value on d: N, or
// SIGNAL=N as gh-ost takes it (--max-load Threads_running=25), where SIGNAL
// must be d's one signal. "" is 0, none.
//
// One number reads best, as each engine has one signal; SIGNAL=N is taken
// as well so that a gh-ost user's habit works, and says which signal it is
// when it is not the engine's.
func loadThreshold(d dialects.Dialect, flag, value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	r, ok := d.(dialects.LoadReader)
	if !ok {
		return 0, usagef("--%s: %s has no load signal to compare with (no server, no sessions to count): "+
			"pace the purge with --batch-time and --pause instead", flag, d.Name())
	}
	num := value
	if name, n, found := strings.Cut(value, "="); found {
		if !strings.EqualFold(strings.TrimSpace(name), r.LoadSignal()) {
			return 0, usagef("--%s %q: the load signal on %s is %s; give --%s N or --%s %s=N", flag, value, d.Name(), r.LoadSignal(),
				flag, flag, r.LoadSignal())
		}
		num = n
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 1 {
		return 0, usagef("--%s %q: give a whole number of at least 1 (the %s on %s), or %s=N", flag, value, r.LoadSignal(), d.Name(), r.LoadSignal())
	}
	return n, nil
}

// checkLoad reads --max-load and --critical-load on d into maxLoad and
// criticalLoad.
func (o *purgeOptions) checkLoad(d dialects.Dialect) error {
	if o.maxLoadFlag == "" && o.criticalLoadFlag == "" {
		return nil
	}
	if o.script {
		return usagef("--%s and --%s do not apply to --%s: a script is printed, not run, and cannot read the load", flagMaxLoad, flagCriticalLoad, flagScript)
	}
	var err error
	if o.maxLoad, err = loadThreshold(d, flagMaxLoad, o.maxLoadFlag); err != nil {
		return err
	}
	if o.criticalLoad, err = loadThreshold(d, flagCriticalLoad, o.criticalLoadFlag); err != nil {
		return err
	}
	if o.maxLoad > 0 && o.criticalLoad > 0 && o.criticalLoad <= o.maxLoad {
		return usagef("--%s %d must be above --%s %d: purge waits above the one and stops at the other", flagCriticalLoad, o.criticalLoad,
			flagMaxLoad, o.maxLoad)
	}
	return nil
}
