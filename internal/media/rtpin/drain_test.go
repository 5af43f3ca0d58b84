package rtpin

import (
	"net/netip"
	"testing"
	"time"
)

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

// OnLock tells the consumer the moment audio starts arriving.
func TestOnLockCalledOnFirstPacket(t *testing.T) {
	got := make(chan uint32, 4)
	leg := startLeg(t, Config{OnLock: func(_ netip.AddrPort, ssrc uint32, _ time.Time) { got <- ssrc }})
	s := newSender(t, loopback)
	for i := 0; i < 5; i++ {
		s.sendRTP(leg.r.Port(), 0x77, []byte{1})
	}
	select {
	case ssrc := <-got:
		if ssrc != 0x77 {
			t.Errorf("OnLock ssrc = %x", ssrc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnLock not called")
	}
	eventually(t, "all packets", func() bool { return len(leg.h.packets()) == 5 })
	if len(got) != 0 {
		t.Errorf("OnLock called %d more times for one source", len(got))
	}
}

// After a re-INVITE with new media (SetRemote), late packets from the old
// source must never shut the new source out: the new source takes the lock
// with its first packet, and from then on the old source is retired (its
// packets dropped). Packets from the old source before the new one arrives
// are the same stream and are kept (issue 12: SBCs keep sending from the
// same source when the offered port moves).
func TestSetRemoteRetiresOldSource(t *testing.T) {
	leg := startLeg(t, Config{})
	old, fresh := newSender(t, loopback), newSender(t, loopback)
	old.sendRTP(leg.r.Port(), 0xA1, []byte{1})
	eventually(t, "old source locked", func() bool { return leg.r.Stats().Source == old.addr() })
	leg.r.SetRemote(fresh.addr())
	old.sendRTP(leg.r.Port(), 0xA1, []byte{2}) // late, from the old port
	fresh.sendRTP(leg.r.Port(), 0xB2, []byte{3})
	eventually(t, "new source locked", func() bool { return leg.r.Stats().Source == fresh.addr() })
	old.sendRTP(leg.r.Port(), 0xA1, []byte{4}) // after the move: retired
	fresh.sendRTP(leg.r.Port(), 0xB2, []byte{5})
	eventually(t, "all judged", func() bool { st := leg.r.Stats(); return st.Packets+st.ForeignSource == 5 })
	var got []byte
	for _, p := range leg.h.packets() {
		got = append(got, p.Payload[0])
	}
	if string(got) != string([]byte{1, 2, 3, 5}) {
		t.Fatalf("delivered payloads %v, want [1 2 3 5]: the new source shut out or the retired one relocked", got)
	}
}
