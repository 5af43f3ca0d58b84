package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// App.Close ends every goroutine Start began (recorder, SIP server, CTI
// side, HTTP, sweepers). One of sipgo v1.7.2's own is exempt, as in the
// sipsrv and dial tests: it can leave one UDP read goroutine behind when a
// transaction creates a connection while the UserAgent is closing (seen
// once in a full CI run here: a client connection of a dialer or the
// simulator, in IO wait for the rest of the run).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"))
}
