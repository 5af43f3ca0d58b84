package rtpin

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A re-INVITE or UPDATE that moves the offered m= port (transfer, hold,
// call waiting, park, re-anchoring) calls SetRemote. The stream already
// locked keeps being recorded while it goes on arriving from the same
// source; another source takes the lock only when it is the new SDP
// address, comes from the new SDP IP, or the locked source has gone quiet.
func TestReceiverSetRemoteKeepsSendingSource(t *testing.T) {
	other := netip.MustParseAddr("127.0.0.2")
	// Steps: a, b = senders on 127.0.0.1 (two ports), c = a sender on
	// 127.0.0.2; "R:x" = SetRemote to x, where x is a sender or "n" (a
	// port nobody sends from on 127.0.0.1) or "m" (a port nobody sends
	// from on 127.0.0.2); "I" = the clock advances past RelockIdle.
	tests := []struct {
		name     string
		steps    string
		wantFrom string // senders whose packets are delivered, in order
	}{
		{name: "same source keeps sending after the offer moved", steps: "a a R:n a a a", wantFrom: "aaaaa"},
		{name: "same source after two moves", steps: "a R:n a R:b a a", wantFrom: "aaaa"},
		{name: "source follows the new port", steps: "a R:b a b a b", wantFrom: "aabb"},
		{name: "new SDP IP takes over at once", steps: "a R:m c a c", wantFrom: "acc"},
		{name: "another port waits for the old source to go quiet", steps: "a R:n b a I b a b", wantFrom: "aabb"},
		// SIPp and some SBCs send from the port they last offered: after a
		// hold offer (c=0.0.0.0, new port) and a resume offer (another
		// port) the source moves twice; the quiet-source takeover must not
		// use up the move to the offered address.
		{name: "quiet takeover, then the offered address", steps: "a R:b I d b d b", wantFrom: "adbb"},
		{name: "hold offer on a new port keeps the IP", steps: "a R:h e a", wantFrom: "ae"},
		{name: "without a new offer a second source never locks", steps: "a I b a", wantFrom: "aa"},
		{name: "relock before any packet: first source locks", steps: "R:n b a", wantFrom: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leg := startLeg(t, Config{})
			senders := map[byte]*sender{'a': newSender(t, loopback), 'b': newSender(t, loopback), 'c': newSender(t, other), 'd': newSender(t, loopback)}
			nobody := map[byte]netip.AddrPort{'n': netip.AddrPortFrom(loopback, 9), 'm': netip.AddrPortFrom(other, 9)}
			// 'h': an old-style hold offer (c=0.0.0.0) on the port of sender 'e'.
			e := newSender(t, loopback)
			senders['e'] = e
			nobody['h'] = netip.AddrPortFrom(netip.IPv4Unspecified(), e.addr().Port())
			seen := uint64(0)
			for _, step := range strings.Fields(tt.steps) {
				switch {
				case step == "I":
					leg.clk.Advance(RelockIdle + time.Millisecond)
				case strings.HasPrefix(step, "R:"):
					to, ok := nobody[step[2]]
					if !ok {
						to = senders[step[2]].addr()
					}
					leg.r.SetRemote(to)
				default:
					senders[step[0]].sendRTP(leg.r.Port(), uint32(step[0]), []byte{step[0]})
					seen++
					eventually(t, "packet "+step, func() bool {
						st := leg.r.Stats()
						return st.Packets+st.ForeignSource == seen
					})
				}
			}
			var got strings.Builder
			for _, p := range leg.h.packets() {
				got.WriteByte(byte(p.SSRC))
			}
			if got.String() != tt.wantFrom {
				t.Fatalf("delivered from %q, want %q (stats %+v)", got.String(), tt.wantFrom, leg.r.Stats())
			}
		})
	}
}
