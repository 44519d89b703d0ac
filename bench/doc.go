// Package bench measures `sessctl purge` against what the .NET cache
// providers do themselves, one unbounded DELETE, on every database server
// the integration tests know (SQLite always). It holds only a test-only
// harness, skipped unless SESSCTL_BENCH=1; BENCHMARKS.md says how to run it
// and what it found:
//
//	SESSCTL_BENCH=1 SESSCTL_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//	    go test ./bench -run TestPurgeBenchmark -v -timeout 60m
package bench
