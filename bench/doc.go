// Package bench measures `sessctl purge` against what the .NET cache
// providers do themselves, one unbounded DELETE, on every database server
// the integration tests know (SQLite always). It holds only a test-only
// harness, skipped unless SESSCTL_BENCH=1; BENCHMARKS.md says how to run it
// and what it found:
//
//	SESSCTL_BENCH=1 SESSCTL_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//	    go test ./bench -run TestPurgeBenchmark -v -timeout 60m
//
// Besides the comparison under the app's load, the nothing-to-do purge and
// the purge's memory, it has issue 14's phases, each with a section of the
// report and a line of the summary that ends it:
//
//   - idle throughput (every full run): with no client running, sessctl
//     purge (its defaults, and SESSCTL_BENCH_ARGS) and purge --pace off
//     against the single DELETE, each on a fresh identical copy;
//   - a hand-tuned purge under the clients' load, when SESSCTL_BENCH_TUNED
//     holds its flags (SESSCTL_BENCH_TUNED_SQLITE, _POSTGRES, _MYSQL for
//     one engine), beside the default purge and the DELETE;
//   - replica lag, with SESSCTL_BENCH_REPLICA=1: on a private PostgreSQL
//     primary and streaming standby, and a private MariaDB primary and
//     replica, purge --replica --max-lag 1s and a purge without --replica,
//     on identical copies, while the replica's lag is sampled.
//
// SESSCTL_BENCH_ONLY=idle,tuned,replica (any of them) runs only those
// phases, and what they are measured against: tuned runs the idle clients'
// baseline, the default purge and the DELETE under load with it.
package bench
