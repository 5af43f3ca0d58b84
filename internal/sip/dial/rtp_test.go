package dial

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

// The per-packet path (read the source, encode, marshal, impair, send)
// must not allocate: the load tool runs thousands of streams.
func TestSendPathDoesNotAllocate(t *testing.T) {
	sinkConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sinkConn.Close()
	var a portAllocator
	pair, err := a.listen(netip.MustParseAddr("127.0.0.1"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pair.close()
	p, err := newPlan(Spec{Target: "127.0.0.1:5060", Loss: 0.1, Reorder: 0.1, Jitter: 0, DTMF: "1"}, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(0, Tone(440, 0.3), "PCMU", pair, p, slog.New(slog.DiscardHandler))
	s.configure(answerStream{send: true, rtp: sinkConn.LocalAddr().(*net.UDPAddr).AddrPort(), codec: "PCMU", dtmfPT: 101}, p.dtmf)
	start := time.Now()
	k := 0
	allocs := testing.AllocsPerRun(200, func() {
		now := start.Add(time.Duration(k) * packetInterval)
		s.generate(k, now)
		s.sendDue(now, start, time.Now)
		k++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
	if s.sent == 0 || s.dropped == 0 {
		t.Errorf("sent %d dropped %d", s.sent, s.dropped)
	}
}
