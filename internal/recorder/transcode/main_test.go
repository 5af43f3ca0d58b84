package transcode_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind (the
// queue's workers end with Close).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
