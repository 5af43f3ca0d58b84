package rtpin

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/testtool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopback = netip.MustParseAddr("127.0.0.1")

// recorder is a media.PacketHandler that keeps copies of what it gets.
type recorder struct {
	mu  sync.Mutex
	rtp []media.Packet
	srs []media.SenderReport
}

func (h *recorder) HandleRTP(p *media.Packet) {
	c := *p
	c.Payload = bytes.Clone(p.Payload)
	h.mu.Lock()
	h.rtp = append(h.rtp, c)
	h.mu.Unlock()
}

func (h *recorder) HandleSenderReport(sr *media.SenderReport) {
	h.mu.Lock()
	h.srs = append(h.srs, *sr)
	h.mu.Unlock()
}

func (h *recorder) packets() []media.Packet {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rtp)
}

func (h *recorder) reports() []media.SenderReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.srs)
}

// freeAllocator returns an allocator over pairs ports that are bindable on
// 127.0.0.1 right now (other packages' tests share the machine).
func freeAllocator(t *testing.T, pairs int, quarantine time.Duration, now func() time.Time) *PortAllocator {
	t.Helper()
	for range 100 {
		base := 20000 + 2*rand.IntN(6000) // below the Linux ephemeral range
		if !bindable(base, base+2*pairs-1) {
			continue
		}
		a, err := NewPortAllocator(base, base+2*pairs-1, quarantine, now)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Fatal("no free port range found")
	return nil
}

func bindable(low, high int) bool {
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for p := low; p <= high; p++ {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
		if err != nil {
			return false
		}
		conns = append(conns, c)
	}
	return true
}

// sender is an unconnected UDP socket (so ICMP errors from a closed port
// never fail later writes) that sends to one receiver.
type sender struct {
	t    testing.TB
	conn *net.UDPConn
	seq  uint16
}

func newSender(t testing.TB, ip netip.Addr) *sender {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sender{t: t, conn: c}
}

func (s *sender) addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (s *sender) send(to int, b []byte) {
	s.t.Helper()
	if _, err := s.conn.WriteToUDPAddrPort(b, netip.AddrPortFrom(loopback, uint16(to))); err != nil {
		s.t.Fatal(err)
	}
}

// sendRTP sends one PCMA packet with the next sequence number.
func (s *sender) sendRTP(to int, ssrc uint32, payload []byte) {
	s.t.Helper()
	s.seq++
	b, err := (&rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: 8, SequenceNumber: s.seq, Timestamp: uint32(s.seq) * 160, SSRC: ssrc,
	}, Payload: payload}).Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(to, b)
}

func (s *sender) sendRTCP(to int, pkts ...rtcp.Packet) {
	s.t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(to, b)
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, 5*time.Second, cond, "waiting for %s", what)
}

// readers runs f once with the recvmmsg reader (on Linux) and once with
// the portable one.
func readers(t *testing.T, f func(t *testing.T)) {
	t.Run("native", f)
	t.Run("portable", func(t *testing.T) {
		old := forcePortable
		forcePortable = true
		t.Cleanup(func() { forcePortable = old })
		f(t)
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type testLeg struct {
	r     *Receiver
	h     *recorder
	ports *PortAllocator
	clk   *fakeClock
	log   *syncBuffer
}

// startLeg listens with cfg completed by defaults, starts, and closes at
// the end of the test.
func startLeg(t *testing.T, cfg Config) *testLeg {
	t.Helper()
	l := &testLeg{h: &recorder{}, clk: newFakeClock(), log: &syncBuffer{}}
	if cfg.Ports == nil {
		cfg.Ports = freeAllocator(t, 2, 30*time.Second, l.clk.Now)
	}
	cfg.IP = loopback
	cfg.Handler = l.h
	cfg.Now = l.clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(l.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l.ports = cfg.Ports
	r, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.r = r
	t.Cleanup(func() { r.Close() })
	r.Start()
	return l
}

func TestReceiverDelivers(t *testing.T) {
	readers(t, func(t *testing.T) {
		leg := startLeg(t, Config{ReadBuffer: 1 << 20})
		s := newSender(t, loopback)
		payload := []byte{1, 2, 3, 4, 5, 6, 7, 8}
		const n = 40
		for i := range n {
			payload[0] = byte(i)
			s.sendRTP(leg.r.Port(), 0xabc, payload)
		}
		eventually(t, "all packets", func() bool { return len(leg.h.packets()) == n })
		for i, p := range leg.h.packets() {
			payload[0] = byte(i)
			want := media.Packet{SSRC: 0xabc, Seq: uint16(i + 1), Timestamp: uint32(i+1) * 160, PayloadType: 8,
				Payload: payload, Arrival: leg.clk.Now(), Source: s.addr()}
			if p.SSRC != want.SSRC || p.Seq != want.Seq || p.Timestamp != want.Timestamp ||
				p.PayloadType != want.PayloadType || p.Marker || !bytes.Equal(p.Payload, want.Payload) ||
				!p.Arrival.Equal(want.Arrival) || p.Source != want.Source {
				t.Fatalf("packet %d = %+v\nwant %+v", i, p, want)
			}
		}
		st := leg.r.Stats()
		if st.Packets != n || st.Bytes != n*(12+8) || st.SSRC != 0xabc || st.Source != s.addr() ||
			!st.LastActivity.Equal(leg.clk.Now()) || st.Invalid+st.ForeignSource+st.StaleSSRC+st.RTCP != 0 {
			t.Fatalf("stats = %+v", st)
		}
		if !leg.r.LastActivity().Equal(leg.clk.Now()) {
			t.Fatalf("LastActivity = %v", leg.r.LastActivity())
		}
		if got := leg.log.String(); !strings.Contains(got, `msg="rtp source locked"`) ||
			!strings.Contains(got, "source="+s.addr().String()) || !strings.Contains(got, "ssrc=2748") {
			t.Fatalf("log = %q", got)
		}
	})
}

func TestReceiverLastActivityZero(t *testing.T) {
	leg := startLeg(t, Config{})
	if !leg.r.LastActivity().IsZero() || !leg.r.Stats().LastActivity.IsZero() {
		t.Fatal("LastActivity is set before any packet")
	}
}

func TestReceiverSSRCChangePassesThrough(t *testing.T) {
	leg := startLeg(t, Config{})
	s := newSender(t, loopback)
	for _, ssrc := range []uint32{1, 1, 2, 2, 3} {
		s.sendRTP(leg.r.Port(), ssrc, []byte{0})
	}
	eventually(t, "packets", func() bool { return len(leg.h.packets()) == 5 })
	var got []uint32
	for _, p := range leg.h.packets() {
		got = append(got, p.SSRC)
	}
	if !slices.Equal(got, []uint32{1, 1, 2, 2, 3}) {
		t.Fatalf("ssrcs = %v", got)
	}
	if st := leg.r.Stats(); st.SSRC != 3 || st.Source != s.addr() {
		t.Fatalf("stats = %+v", st)
	}
	leg.r.Close()
	if prev := leg.ports.Previous(leg.r.Port()); prev.Source != s.addr() || !slices.Equal(prev.SSRCs, []uint32{1, 2, 3}) {
		t.Fatalf("occupant = %+v", prev)
	}
}

func TestReceiverRTCP(t *testing.T) {
	readers(t, func(t *testing.T) {
		leg := startLeg(t, Config{})
		s := newSender(t, loopback)
		ntp := media.TimeToNTP(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
		sr := func(ssrc uint32) *rtcp.SenderReport {
			return &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntp, RTPTime: 8000 + ssrc, PacketCount: 1, OctetCount: 160}
		}
		sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
			Source: 5, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}},
		}}}

		s.sendRTCP(leg.r.Port()+1, sr(5), sdes)                      // compound on the RTCP port
		s.sendRTCP(leg.r.Port()+1, &rtcp.ReceiverReport{SSRC: 5})    // not an SR: counted, not passed
		s.sendRTCP(leg.r.Port(), sr(6), sdes)                        // rtcp-mux on the RTP port
		s.send(leg.r.Port()+1, []byte{0x80, 200, 0, 6, 1, 2})        // truncated SR
		s.send(leg.r.Port()+1, []byte("definitely not rtcp at all")) // junk
		s.sendRTP(leg.r.Port(), 5, []byte{1})

		eventually(t, "rtcp", func() bool {
			st := leg.r.Stats()
			return st.RTCP == 3 && st.Invalid == 2 && st.Packets == 1 && len(leg.h.packets()) == 1 && len(leg.h.reports()) >= 2
		})
		got := leg.h.reports()
		slices.SortFunc(got, func(a, b media.SenderReport) int { return int(a.SSRC) - int(b.SSRC) })
		if len(got) != 2 {
			t.Fatalf("reports = %+v", got)
		}
		for i, ssrc := range []uint32{5, 6} {
			if got[i].SSRC != ssrc || got[i].NTPTime != ntp || got[i].RTPTime != 8000+ssrc || !got[i].Arrival.Equal(leg.clk.Now()) {
				t.Fatalf("report %d = %+v", i, got[i])
			}
		}
		if p := leg.h.packets(); len(p) != 1 || p[0].SSRC != 5 {
			t.Fatalf("rtp = %+v (rtcp-mux packets must not reach HandleRTP)", p)
		}
	})
}

func TestReceiverIgnoresJunk(t *testing.T) {
	readers(t, func(t *testing.T) {
		leg := startLeg(t, Config{})
		s := newSender(t, loopback)
		port := leg.r.Port()
		valid, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 9, CSRC: []uint32{1, 2}},
			Payload: []byte{1, 2, 3}}).Marshal()

		rng := rand.New(rand.NewPCG(1, 2))
		junk := [][]byte{
			{},                       // empty datagram
			valid[:5],                // truncated fixed header
			valid[:15],               // truncated CSRC list
			make([]byte, slotSize+1), // oversize
		}
		v1 := slices.Clone(valid)
		v1[0] = 0x40 | v1[0]&0x3f // version 1
		junk = append(junk, v1)
		for range 20 {
			b := make([]byte, 1+rng.IntN(300))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			b[0] = b[0] & 0x3f // random bytes that are neither RTP nor RTCP (version 0)
			junk = append(junk, b)
		}
		for _, b := range junk {
			s.send(port, b)
		}
		s.send(port, valid)
		eventually(t, "junk counted", func() bool {
			st := leg.r.Stats()
			return st.Invalid == uint64(len(junk)) && st.Packets == 1 && len(leg.h.packets()) == 1
		})
		if p := leg.h.packets(); len(p) != 1 || p[0].Seq != 7 || !bytes.Equal(p[0].Payload, []byte{1, 2, 3}) {
			t.Fatalf("delivered %+v", p)
		}
		// Junk never locks: the valid packet's sender is the source.
		if st := leg.r.Stats(); st.Source != s.addr() || st.SSRC != 9 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestReceiverForeignSource(t *testing.T) {
	other := netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		name   string
		strict bool
		remote netip.AddrPort
		// from: which sender sends each packet, in order: 'a' 127.0.0.1,
		// 'b' another port on 127.0.0.1, 'c' 127.0.0.2.
		from        string
		wantFrom    string // the senders whose packets are delivered, in order
		wantForeign uint64
	}{
		{name: "first source locks", from: "abcab", wantFrom: "aa", wantForeign: 3},
		{name: "remote is informational without strict", remote: netip.AddrPortFrom(other, 4000),
			from: "acb", wantFrom: "a", wantForeign: 2},
		{name: "strict drops other IPs", strict: true, remote: netip.AddrPortFrom(other, 4000),
			from: "abcac", wantFrom: "cc", wantForeign: 3},
		{name: "strict with unspecified remote accepts any", strict: true,
			remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 4000), from: "ca", wantFrom: "c", wantForeign: 1},
		{name: "strict with invalid remote accepts any", strict: true, from: "bc", wantFrom: "b", wantForeign: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leg := startLeg(t, Config{Remote: tt.remote, StrictSource: tt.strict})
			senders := map[rune]*sender{'a': newSender(t, loopback), 'b': newSender(t, loopback), 'c': newSender(t, other)}
			for i, c := range tt.from {
				senders[c].sendRTP(leg.r.Port(), uint32(c), []byte{byte(i)})
			}
			want := uint64(len(tt.wantFrom))
			eventually(t, "packets", func() bool {
				st := leg.r.Stats()
				return st.Packets == want && st.ForeignSource == tt.wantForeign && len(leg.h.packets()) == int(want)
			})
			var got strings.Builder
			for _, p := range leg.h.packets() {
				got.WriteRune(rune(p.SSRC))
				if p.Source != senders[rune(p.SSRC)].addr() {
					t.Errorf("packet from %v, SSRC says %c", p.Source, rune(p.SSRC))
				}
			}
			if got.String() != tt.wantFrom {
				t.Fatalf("delivered from %q, want %q", got.String(), tt.wantFrom)
			}
		})
	}
}

func TestReceiverSetRemoteRelocks(t *testing.T) {
	leg := startLeg(t, Config{})
	a, b := newSender(t, loopback), newSender(t, loopback)
	port := leg.r.Port()
	a.sendRTP(port, 0xa, []byte{1})
	eventually(t, "a locks", func() bool { return leg.r.Stats().Source == a.addr() })
	b.sendRTP(port, 0xb, []byte{2})
	eventually(t, "b dropped", func() bool { return leg.r.Stats().ForeignSource == 1 })

	leg.r.SetRemote(b.addr()) // re-INVITE moved the media to b
	b.sendRTP(port, 0xb, []byte{3})
	eventually(t, "b locks", func() bool { return leg.r.Stats().Source == b.addr() })
	a.sendRTP(port, 0xa, []byte{4})
	b.sendRTP(port, 0xb, []byte{5})
	eventually(t, "a dropped and b's packets handed on", func() bool {
		st := leg.r.Stats()
		// Packets counts a packet before the handler has it: wait for both.
		return st.ForeignSource == 2 && st.Packets == 3 && len(leg.h.packets()) == 3
	})
	var got []byte
	for _, p := range leg.h.packets() {
		got = append(got, p.Payload[0])
	}
	if !bytes.Equal(got, []byte{1, 3, 5}) {
		t.Fatalf("delivered payloads %v, want [1 3 5]", got)
	}
	if st := leg.r.Stats(); st.SSRC != 0xb {
		t.Fatalf("stats = %+v", st)
	}
}

// TestStaleSSRCRejected: session A on port P ends, session B gets P after
// the quarantine, A's sender keeps sending: nothing of it reaches B's
// handler, B's real sender's packets do.
func TestStaleSSRCRejected(t *testing.T) {
	clk := newFakeClock()
	ports := freeAllocator(t, 1, 30*time.Second, clk.Now)
	aSender, bSender := newSender(t, loopback), newSender(t, loopback)
	const aSSRC, bSSRC = 0xaaaa, 0xbbbb

	// Session A.
	hA := &recorder{}
	recvA, err := Listen(Config{IP: loopback, Ports: ports, Handler: hA, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	port := recvA.Port()
	recvA.Start()
	aSender.sendRTP(port, aSSRC, []byte{1})
	eventually(t, "A's packet", func() bool { return len(hA.packets()) == 1 })
	if err := recvA.Close(); err != nil {
		t.Fatal(err)
	}
	aSender.sendRTP(port, aSSRC, []byte{1}) // into a closed port

	// The pair is quarantined.
	if _, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, Now: clk.Now}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Listen during quarantine: %v, want ErrNoPorts", err)
	}
	clk.Advance(30 * time.Second)

	// Session B on the same port. A's sender is first to send.
	hB := &recorder{}
	recvB, err := Listen(Config{IP: loopback, Ports: ports, Handler: hB, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer recvB.Close()
	if recvB.Port() != port {
		t.Fatalf("B got port %d, want %d", recvB.Port(), port)
	}
	recvB.Start()
	for range 5 {
		aSender.sendRTP(port, aSSRC, []byte{0xa})
	}
	aSender.sendRTCP(port+1, &rtcp.SenderReport{SSRC: aSSRC, NTPTime: 1})
	eventually(t, "A's stale packets", func() bool { return recvB.Stats().StaleSSRC == 6 })
	for range 5 {
		bSender.sendRTP(port, bSSRC, []byte{0xb})
		aSender.sendRTP(port, aSSRC, []byte{0xa})
	}
	bSender.sendRTCP(port+1, &rtcp.SenderReport{SSRC: bSSRC, NTPTime: 2})
	eventually(t, "B's packets", func() bool {
		st := recvB.Stats()
		return st.Packets == 5 && st.StaleSSRC == 11 && st.RTCP == 2 && len(hB.packets()) == 5 && len(hB.reports()) == 1
	})
	for _, p := range hB.packets() {
		if p.SSRC != bSSRC || p.Source != bSender.addr() || p.Payload[0] != 0xb {
			t.Fatalf("B's handler got %+v", p)
		}
	}
	if srs := hB.reports(); len(srs) != 1 || srs[0].SSRC != bSSRC {
		t.Fatalf("B's reports = %+v", srs)
	}
	if st := recvB.Stats(); st.Source != bSender.addr() || st.SSRC != bSSRC {
		t.Fatalf("B locked %+v", st)
	}
	if len(hA.packets()) != 1 {
		t.Fatalf("A's handler got %d packets after Close", len(hA.packets()))
	}
}

func TestReceiverClose(t *testing.T) {
	clk := newFakeClock()
	ports := freeAllocator(t, 1, time.Second, clk.Now)
	log := &syncBuffer{}
	r, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	port := r.Port()
	if ports.InUse() != 1 || port%2 != 0 {
		t.Fatalf("port %d, InUse %d", port, ports.InUse())
	}
	r.Start()
	r.Start() // second Start does nothing
	s := newSender(t, loopback)
	s.sendRTP(port, 77, []byte{1})
	eventually(t, "packet", func() bool { return r.Stats().Packets == 1 })

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := r.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Start() // after Close: no goroutines
	if ports.InUse() != 0 {
		t.Fatalf("InUse after Close = %d", ports.InUse())
	}
	if prev := ports.Previous(port); prev.Source != s.addr() || !slices.Equal(prev.SSRCs, []uint32{77}) {
		t.Fatalf("occupant = %+v", prev)
	}
	if !bindable(port, port+1) {
		t.Fatal("sockets still bound after Close")
	}
	if n := strings.Count(log.String(), `msg="rtp receiver closed"`); n != 1 || !strings.Contains(log.String(), "packets=1") {
		t.Fatalf("close log = %q", log.String())
	}

	// Close without Start.
	clk.Advance(time.Second)
	r2, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	// A session without a lock keeps the earlier occupant.
	if prev := ports.Previous(port); prev.Source != s.addr() || ports.InUse() != 0 {
		t.Fatalf("occupant = %+v, InUse %d", prev, ports.InUse())
	}
}

func TestListenSkipsBusyPair(t *testing.T) {
	clk := newFakeClock()
	ports := freeAllocator(t, 2, time.Minute, clk.Now)
	first, err := ports.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	ports.Release(first, Occupant{}) // back in the queue, behind the second pair
	clk.Advance(time.Minute)
	second, _ := ports.Allocate()
	ports.Release(second, Occupant{})
	clk.Advance(time.Minute)
	// Order is now first, second. Another process holds first's RTCP port.
	busy, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(first+1))))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	r, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Port() != second || ports.InUse() != 1 {
		t.Fatalf("port %d (want %d), InUse %d", r.Port(), second, ports.InUse())
	}
	// The busy pair went back into quarantine.
	if _, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, Now: clk.Now}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("second Listen: %v, want ErrNoPorts", err)
	}
}

func TestListenConfigErrors(t *testing.T) {
	ports, err := NewPortAllocator(20000, 20001, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{{Handler: &recorder{}}, {Ports: ports}} {
		if _, err := Listen(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Listen(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	if ports.InUse() != 0 {
		t.Fatal("a failed Listen kept a port")
	}
}

// panicky is a packet handler with a bug: a payload starting 0xEE panics.
type panicky struct{ recorder }

func (h *panicky) HandleRTP(p *media.Packet) {
	if len(p.Payload) > 0 && p.Payload[0] == 0xEE {
		panic("mixer bug")
	}
	h.recorder.HandleRTP(p)
}

// A panic behind the receiver (parser, mixer) costs the packet, never the
// process; the receiver goes on, and the panic is counted.
func TestReceiverSurvivesHandlerPanic(t *testing.T) {
	h := &panicky{}
	clk := newFakeClock()
	log := &syncBuffer{}
	r, err := Listen(Config{IP: loopback, Ports: freeAllocator(t, 2, time.Second, clk.Now), Handler: h, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	r.Start()
	before := Panics()
	s := newSender(t, loopback)
	s.sendRTP(r.Port(), 0xabc, []byte{0xEE, 1})
	eventually(t, "panic counted", func() bool { return Panics() == before+1 })
	s.sendRTP(r.Port(), 0xabc, []byte{1, 2})
	eventually(t, "next packet delivered", func() bool { return len(h.packets()) == 1 })
	if !strings.Contains(log.String(), "recovered panic") {
		t.Errorf("panic not logged: %s", log.String())
	}
}
