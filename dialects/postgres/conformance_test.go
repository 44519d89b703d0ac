package postgres_test

import (
	"testing"

	"github.com/sessctl/sessctl/dialects/dialecttest"
	"github.com/sessctl/sessctl/dialects/postgres"
)

// TestConformance holds the engine to the contract of package dialects.
func TestConformance(t *testing.T) { dialecttest.Run(t, postgres.Dialect{}) }
