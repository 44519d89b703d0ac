package cmd

import (
	"os"
	"os/exec"
	"testing"
)

// execEnv makes the test binary run sessctl's Main instead of the tests, so
// that tests can run sessctl as a separate process: to signal it, kill it,
// or run many at once.
const execEnv = "SESSCTL_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// command is sessctl as a separate process, with env added to the
// environment.
func command(env []string, args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(append(os.Environ(), execEnv+"=1"), env...)
	return c
}
