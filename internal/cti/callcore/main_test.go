package callcore

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine Core starts ends with Run or Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
