package rtpin

import "testing"

// Packets queued in the socket when Close is called (the last RTP sent
// just before the BYE) are still delivered: accepted audio is never lost.
func TestCloseDrainsQueuedPackets(t *testing.T) {
	readers(t, func(t *testing.T) {
		for round := 0; round < 5; round++ {
			leg := startLeg(t, Config{ReadBuffer: 1 << 20})
			s := newSender(t, loopback)
			const n = 200
			for i := range n {
				s.sendRTP(leg.r.Port(), 0xd1, []byte{byte(i)})
			}
			if err := leg.r.Close(); err != nil {
				t.Fatal(err)
			}
			if got := len(leg.h.packets()); got != n {
				t.Fatalf("round %d: %d of %d queued packets delivered before Close returned", round, got, n)
			}
		}
	})
}
