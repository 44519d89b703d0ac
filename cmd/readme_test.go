package cmd

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeTestCommand keeps the README true: CI runs, verbatim, the test
// command the README gives.
func TestReadmeTestCommand(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	var command string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.Contains(line, "go test") && strings.HasPrefix(line, "SESSCTL_TEST_") {
			command = line
		}
	}
	if command == "" {
		t.Fatal("README.md gives no test command (a line starting SESSCTL_TEST_… go test)")
	}
	if !strings.Contains(string(ci), "\n"+command+"\n") {
		t.Errorf(".ci/run does not run the README's test command %q", command)
	}
}
