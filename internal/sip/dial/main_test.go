package dial

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// sipgo v1.7.2 can leave one UDP read goroutine behind when a
	// transaction creates a connection while the UserAgent is closing
	// (seen about once in ten loaded runs); our own goroutines stay checked.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"))
}
