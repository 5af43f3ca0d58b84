package sipsrv

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the server starts ends with Close. Two of sipgo v1.7.2's
// own are exempt:
//   - for a TCP request whose connection closed before its server
//     transaction was made, its transaction layer dials the Via address
//     back with a context of its own (10 s) that UserAgent.Close does not
//     cancel (hostile and torture tests close connections mid-request);
//   - it can leave one UDP read goroutine behind when a transaction creates
//     a connection while the UserAgent is closing (as in dial's TestMain).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportLayer).serverRequestConnection"),
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"))
}
