package rtpin

import (
	"testing"

	"github.com/pion/rtp"
)

// sendPT sends one packet of payload type pt with the next sequence number.
func (s *sender) sendPT(to int, ssrc uint32, pt uint8) {
	s.t.Helper()
	s.seq++
	b, err := (&rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: pt, SequenceNumber: s.seq, Timestamp: uint32(s.seq) * 160, SSRC: ssrc,
	}, Payload: []byte{0xd5, 0xd5}}).Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(to, b)
}

// A packet whose payload type the SDP did not offer is not audio of this
// stream: dropped and counted, never decoded, and it cannot lock the
// source. Without a list every payload type passes (no SDP known).
func TestReceiverDropsUnofferedPayloadTypes(t *testing.T) {
	readers(t, func(t *testing.T) {
		leg := startLeg(t, Config{PayloadTypes: []uint8{8, 101}})
		stray, good := newSender(t, loopback), newSender(t, loopback)
		stray.sendPT(leg.r.Port(), 1, 0)  // PCMU, not offered: must not lock
		stray.sendPT(leg.r.Port(), 1, 96) // dynamic, not offered
		good.sendPT(leg.r.Port(), 2, 8)   // locks
		good.sendPT(leg.r.Port(), 2, 101) // telephone-event, offered
		good.sendPT(leg.r.Port(), 2, 18)  // G.729 from the locked source, not offered
		good.sendPT(leg.r.Port(), 2, 8)
		eventually(t, "packets", func() bool {
			st := leg.r.Stats()
			return st.Packets == 3 && st.UnofferedPT == 3
		})
		st := leg.r.Stats()
		if st.Source != good.addr() || st.ForeignSource != 0 || st.Invalid != 0 || st.LastUnofferedPT != 18 {
			t.Fatalf("stats %+v: want the offered stream locked, nothing else counted", st)
		}
		for _, p := range leg.h.packets() {
			if p.PayloadType != 8 && p.PayloadType != 101 {
				t.Fatalf("delivered payload type %d", p.PayloadType)
			}
		}

		// A re-INVITE offers PCMU instead.
		leg.r.SetPayloadTypes([]uint8{0})
		good.sendPT(leg.r.Port(), 2, 8)
		good.sendPT(leg.r.Port(), 2, 0)
		eventually(t, "re-offer", func() bool {
			st := leg.r.Stats()
			return st.Packets == 4 && st.UnofferedPT == 4
		})

		// No list: anything goes.
		leg.r.SetPayloadTypes(nil)
		good.sendPT(leg.r.Port(), 2, 96)
		eventually(t, "no list", func() bool { return leg.r.Stats().Packets == 5 })
	})
}
