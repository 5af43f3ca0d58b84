package sipgoglobal

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestSetRaisesOnce(t *testing.T) {
	Set()
	Set()
	if sip.TransportBufferReadSize != MaxUDP || sip.UDPMTUSize != MaxUDP {
		t.Fatalf("read buffer %d, UDP size %d, want %d", sip.TransportBufferReadSize, sip.UDPMTUSize, MaxUDP)
	}
}
