package rtpin

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// newTestShared binds one shared pair on free loopback ports.
func newTestShared(t *testing.T, now func() time.Time) *Shared {
	t.Helper()
	for range 100 {
		base := 20000 + 2*rand.IntN(6000)
		if !bindable(base, base+1) {
			continue
		}
		s, err := NewShared(SharedConfig{IP: loopback, Port: base, Pairs: 1, Now: now, Quarantine: 10 * time.Second})
		if err != nil {
			continue // taken meanwhile
		}
		s.Start()
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Fatal("no free port pair for the shared sockets")
	return nil
}

// sharedLeg listens on s for a leg expecting remote; closed at the end.
func sharedTestLeg(t *testing.T, s *Shared, remote netip.AddrPort, strict bool) (*Receiver, *recorder) {
	t.Helper()
	h := &recorder{}
	r, err := s.Listen(Config{Handler: h, Remote: remote, StrictSource: strict, PayloadTypes: []uint8{0, 8, 101}})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(func() { _ = r.Close() })
	return r, h
}

func ssrcsOf(h *recorder) []uint32 {
	var out []uint32
	for _, p := range h.packets() {
		out = append(out, p.SSRC)
	}
	return out
}

// Two legs of different calls from one IP, different ports: each gets its
// own source's packets (and RTCP), never the other's; an SSRC change of
// one source mid-call stays with its leg.
func TestSharedTwoLegsOneIP(t *testing.T) {
	readers(t, func(t *testing.T) {
		s := newTestShared(t, nil)
		a, b := newSender(t, loopback), newSender(t, loopback)
		ra, ha := sharedTestLeg(t, s, a.addr(), true)
		rb, hb := sharedTestLeg(t, s, b.addr(), true)
		if ra.Port() != rb.Port() || ra.Port() != s.Ports()[0] {
			t.Fatalf("ports %d, %d: want both on the shared port %d", ra.Port(), rb.Port(), s.Ports()[0])
		}
		for range 3 {
			a.sendRTP(ra.Port(), 111, []byte{1})
			b.sendRTP(rb.Port(), 222, []byte{2})
		}
		eventually(t, "3 packets each", func() bool { return len(ha.packets()) == 3 && len(hb.packets()) == 3 })
		a.sendRTP(ra.Port(), 112, []byte{1}) // SSRC change mid-call
		eventually(t, "the new SSRC on leg a", func() bool { return len(ha.packets()) == 4 })
		for _, ssrc := range ssrcsOf(hb) {
			if ssrc != 222 {
				t.Fatalf("leg b got SSRC %d", ssrc)
			}
		}
		if got := ssrcsOf(ha); got[3] != 112 {
			t.Fatalf("leg a SSRCs %v", got)
		}
		a.sendRTCP(ra.Port()+1, &rtcp.SenderReport{SSRC: 112, NTPTime: 1 << 32, RTPTime: 160})
		b.sendRTCP(rb.Port()+1, &rtcp.SenderReport{SSRC: 222, NTPTime: 2 << 32, RTPTime: 320})
		eventually(t, "one sender report each", func() bool { return len(ha.reports()) == 1 && len(hb.reports()) == 1 })
		if ha.reports()[0].SSRC != 112 || hb.reports()[0].SSRC != 222 {
			t.Fatalf("reports a %+v b %+v", ha.reports(), hb.reports())
		}
	})
}

// A new call from the previous call's source (same IP and port): late
// packets of the previous call (its SSRC) never enter the new leg, before
// or after it latched; the new call's SSRC does.
func TestSharedStaleSourceReused(t *testing.T) {
	readers(t, func(t *testing.T) {
		s := newTestShared(t, nil)
		src := newSender(t, loopback)
		old, hOld := sharedTestLeg(t, s, src.addr(), true)
		src.sendRTP(old.Port(), 7, []byte{1})
		eventually(t, "old leg latched", func() bool { return len(hOld.packets()) == 1 })
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		nl, hNew := sharedTestLeg(t, s, src.addr(), true)
		src.sendRTP(nl.Port(), 7, []byte{9}) // late packet of the previous call
		eventually(t, "stale counted", func() bool { return s.Stats().Stale == 1 })
		src.sendRTP(nl.Port(), 8, []byte{2}) // the new call
		eventually(t, "new leg latched", func() bool { return len(hNew.packets()) == 1 })
		src.sendRTP(nl.Port(), 7, []byte{9}) // late again, after the latch
		src.sendRTP(nl.Port(), 8, []byte{3})
		eventually(t, "second packet of the new call", func() bool { return len(hNew.packets()) == 2 })
		for _, ssrc := range ssrcsOf(hNew) {
			if ssrc != 8 {
				t.Fatalf("new leg got SSRC %d of the previous call", ssrc)
			}
		}
		eventually(t, "stale counted on the leg", func() bool { return nl.Stats().StaleSSRC == 1 })
	})
}

// Late packets of a closed leg from its own source never latch a leg
// waiting for another source of that IP (the quarantine), and after the
// quarantine a datagram no leg expects is counted, not delivered.
func TestSharedQuarantineExpires(t *testing.T) {
	clk := newFakeClock()
	s := newTestShared(t, clk.Now)
	src, other := newSender(t, loopback), newSender(t, loopback)
	old, hOld := sharedTestLeg(t, s, src.addr(), true)
	src.sendRTP(old.Port(), 5, []byte{1})
	eventually(t, "old leg latched", func() bool { return len(hOld.packets()) == 1 })
	_ = old.Close()
	// The only leg waiting on this IP expects another port: rule 2 would
	// give it any source of the IP, but not the stale one.
	_, h := sharedTestLeg(t, s, other.addr(), true)
	src.sendRTP(s.Ports()[0], 5, []byte{9})
	eventually(t, "stale", func() bool { return s.Stats().Stale == 1 })
	clk.Advance(11 * time.Second)
	src.sendRTP(s.Ports()[0], 5, []byte{9})
	eventually(t, "after the quarantine the only leg of the IP takes it", func() bool { return len(h.packets()) == 1 })
}

// Symmetric RTP / NAT: a sender whose source differs from its SDP. Strict
// (default): another IP never latches. Not strict: the only waiting leg
// latches; with two waiting legs the source is ambiguous and dropped. Same
// IP, another port: the only waiting leg of that IP latches.
func TestSharedLatching(t *testing.T) {
	elsewhere := netip.MustParseAddrPort("192.0.2.7:4000")
	t.Run("strict refuses another IP", func(t *testing.T) {
		s := newTestShared(t, nil)
		snd := newSender(t, loopback)
		_, h := sharedTestLeg(t, s, elsewhere, true)
		snd.sendRTP(s.Ports()[0], 1, []byte{1})
		eventually(t, "unmatched", func() bool { return s.Stats().Unmatched == 1 })
		if len(h.packets()) != 0 {
			t.Fatal("strict leg took a packet from another IP")
		}
	})
	t.Run("NAT, one waiting leg", func(t *testing.T) {
		s := newTestShared(t, nil)
		snd := newSender(t, loopback)
		r, h := sharedTestLeg(t, s, elsewhere, false)
		snd.sendRTP(s.Ports()[0], 1, []byte{1})
		snd.sendRTP(s.Ports()[0], 1, []byte{2})
		eventually(t, "latched", func() bool { return len(h.packets()) == 2 })
		if r.Stats().Source != snd.addr() {
			t.Fatalf("source %v, want %v", r.Stats().Source, snd.addr())
		}
	})
	t.Run("NAT, two waiting legs: ambiguous", func(t *testing.T) {
		s := newTestShared(t, nil)
		snd := newSender(t, loopback)
		_, h1 := sharedTestLeg(t, s, elsewhere, false)
		_, h2 := sharedTestLeg(t, s, netip.MustParseAddrPort("192.0.2.8:4000"), false)
		snd.sendRTP(s.Ports()[0], 1, []byte{1})
		eventually(t, "unmatched", func() bool { return s.Stats().Unmatched == 1 })
		if len(h1.packets())+len(h2.packets()) != 0 {
			t.Fatal("an ambiguous source latched a leg")
		}
	})
	t.Run("same IP, another port", func(t *testing.T) {
		s := newTestShared(t, nil)
		snd := newSender(t, loopback)
		_, h := sharedTestLeg(t, s, netip.AddrPortFrom(loopback, 9), true)
		snd.sendRTP(s.Ports()[0], 1, []byte{1})
		eventually(t, "latched", func() bool { return len(h.packets()) == 1 })
	})
}

// Close delivers every packet sent before it (the drain marker), and a
// re-INVITE's new address moves the lock as with per-leg ports.
func TestSharedDrainAndSetRemote(t *testing.T) {
	s := newTestShared(t, nil)
	a, b := newSender(t, loopback), newSender(t, loopback)
	r, h := sharedTestLeg(t, s, a.addr(), true)
	for range 50 {
		a.sendRTP(r.Port(), 3, []byte{1})
	}
	eventually(t, "first packets", func() bool { return len(h.packets()) > 0 })
	r.SetRemote(b.addr())
	b.sendRTP(r.Port(), 4, []byte{2})
	for range 50 {
		b.sendRTP(r.Port(), 4, []byte{2})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.packets()); n != 101 {
		t.Fatalf("%d packets delivered by Close, want 101", n)
	}
	if r.Stats().Source != b.addr() {
		t.Fatalf("lock at %v, want the new address %v", r.Stats().Source, b.addr())
	}
	if st := s.Stats(); st.Legs != 0 {
		t.Fatalf("legs after close: %+v", st)
	}
}

// Legs spread over the pairs (fewest legs first), and each pair delivers
// to its own legs.
func TestSharedSpreadsLegs(t *testing.T) {
	var s *Shared
	for range 100 {
		base := 20000 + 2*rand.IntN(6000)
		if !bindable(base, base+3) {
			continue
		}
		var err error
		if s, err = NewShared(SharedConfig{IP: loopback, Port: base, Pairs: 2}); err == nil {
			break
		}
	}
	if s == nil {
		t.Fatal("no free ports for two shared pairs")
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	a, b := newSender(t, loopback), newSender(t, loopback)
	ra, ha := sharedTestLeg(t, s, a.addr(), true)
	rb, hb := sharedTestLeg(t, s, b.addr(), true)
	if ra.Port() == rb.Port() {
		t.Fatalf("both legs on port %d of pairs %v", ra.Port(), s.Ports())
	}
	a.sendRTP(ra.Port(), 1, []byte{1})
	b.sendRTP(rb.Port(), 2, []byte{2})
	eventually(t, "one packet each", func() bool { return len(ha.packets()) == 1 && len(hb.packets()) == 1 })
	if st := s.Stats(); st.Pairs != 2 || st.Legs != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// FuzzSharedRoute: whatever arrives on the shared sockets (any bytes,
// from a latched, waiting or unknown source, on the RTP or RTCP socket)
// is routed or counted without a panic.
func FuzzSharedRoute(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 0xff}, uint8(0), false)
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, uint8(1), true)
	f.Add([]byte{0}, uint8(2), false)
	f.Fuzz(func(t *testing.T, b []byte, who uint8, rtcpSocket bool) {
		s := newTestShared(t, nil)
		p := s.pairs[0]
		srcs := []netip.AddrPort{
			netip.MustParseAddrPort("127.0.0.1:4000"), netip.MustParseAddrPort("127.0.0.1:4002"),
			netip.MustParseAddrPort("192.0.2.1:5000"),
		}
		for _, src := range srcs[:2] {
			r, err := s.Listen(Config{Handler: &recorder{}, Remote: src, StrictSource: true})
			if err != nil {
				t.Fatal(err)
			}
			r.Start()
			t.Cleanup(func() { _ = r.Close() })
		}
		before := Panics()
		ds := newDatagrams(1)
		n := copy(ds[0].buf, b)
		ds[0].n, ds[0].trunc, ds[0].src = n, len(b) > slotSize, srcs[int(who)%len(srcs)]
		for range 2 { // the second time the source may be latched
			p.batch(ds, rtcpSocket, time.Now())
		}
		if Panics() != before {
			t.Fatalf("panic routing %x", b)
		}
	})
}
