package recorder

import (
	"testing"

	"go.uber.org/goleak"
)

// Close ends every goroutine of the recorder: its flush loop, each leg's
// receivers, the BYEs it sends and the retries of final row writes.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
