package placement

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// Scheduler, the raft adapter's waiters and the raft test clusters must all
// stop. The ignore list is empty on purpose.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
