package sqlite_test

import (
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/sqlite"
)

// TestConformance holds the engine to the contract of package dialects.
func TestConformance(t *testing.T) { dialecttest.Run(t, sqlite.Dialect{}) }
