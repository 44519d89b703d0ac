package dialecttest

import (
	"testing"

	"github.com/sessctl/sessctl/dialects"
)

// loadReader: the load reads on one of the pool's sessions, as purge reads
// it on its own between batches, without an error, and is never negative;
// the signal has a name. (That the load counts the app's sessions is
// cmd's purge load tests', which raise it.)
func (c *conformance) loadReader(t *testing.T) {
	r := c.s.Dialect.(dialects.LoadReader)
	conn := c.conn(t)
	if n, err := r.Load(t.Context(), conn); err != nil || n < 0 {
		t.Errorf("Load = %d, %v", n, err)
	}
	if r.LoadSignal() == "" {
		t.Error("LoadSignal() is empty")
	}
}
