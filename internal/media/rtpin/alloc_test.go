package rtpin

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/media"
)

// countingHandler counts packets and signals when a target count is
// reached, without allocating.
type countingHandler struct {
	n      atomic.Int64
	bytes  atomic.Int64
	target atomic.Int64
	done   chan struct{}
	timer  *time.Timer
}

func newCountingHandler() *countingHandler {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &countingHandler{done: make(chan struct{}, 1), timer: t}
}

func (h *countingHandler) HandleRTP(p *media.Packet) {
	h.bytes.Add(int64(len(p.Payload)))
	if h.n.Add(1) == h.target.Load() {
		h.done <- struct{}{}
	}
}

func (h *countingHandler) HandleSenderReport(*media.SenderReport) {}

// expect arms the signal for count more packets and returns the target.
func (h *countingHandler) expect(count int64) int64 {
	t := h.n.Load() + count
	h.target.Store(t)
	return t
}

// wait blocks until the armed target is reached (false after 5 s). The
// reused timer keeps it allocation-free.
func (h *countingHandler) wait() bool {
	h.timer.Reset(5 * time.Second)
	defer h.timer.Stop()
	select {
	case <-h.done:
		return true
	case <-h.timer.C:
		return false
	}
}

// steadyLeg starts a receiver with h, connects a sender to it and locks the
// source, so that what follows is the steady state.
func steadyLeg(tb testing.TB, h *countingHandler, ports *PortAllocator) (*Receiver, *net.UDPConn, []byte) {
	tb.Helper()
	r, err := Listen(Config{IP: loopback, Ports: ports, Handler: h})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	r.Start()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(r.Port()))))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 0x5eed},
		Payload: make([]byte, 160)}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	h.expect(32)
	for range 32 {
		if _, err := conn.Write(pkt); err != nil {
			tb.Fatal(err)
		}
	}
	if !h.wait() {
		tb.Fatal("warm-up packets not received")
	}
	return r, conn, pkt
}

// BenchmarkReceive sends batches of 16 packets over loopback and waits for
// the handler to see them; ns/op is per packet.
func BenchmarkReceive(b *testing.B) {
	h := newCountingHandler()
	clk := newFakeClock()
	ports, err := NewPortAllocator(20000, 59999, 0, clk.Now)
	if err != nil {
		b.Fatal(err)
	}
	_, conn, pkt := steadyLeg(b, h, ports)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	const batch = 16
	for b.Loop() {
		h.expect(batch)
		for range batch {
			if _, err := conn.Write(pkt); err != nil {
				b.Fatal(err)
			}
		}
		if !h.wait() {
			b.Fatal("packets lost")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
}

// BenchmarkSharedReceive is BenchmarkReceive through the shared sockets:
// loopback send, recvmmsg on the shared socket, demultiplexing by source
// among other legs of the same IP, validation and hand-off; ns/op is
// per packet.
func BenchmarkSharedReceive(b *testing.B) {
	for _, legs := range []int{1, 1000} {
		b.Run(fmt.Sprintf("legs=%d", legs), func(b *testing.B) {
			var s *Shared
			for port := 20000; port < 30000 && s == nil; port += 2 {
				s, _ = NewShared(SharedConfig{IP: loopback, Port: port, Pairs: 1})
			}
			if s == nil {
				b.Fatal("no free port pair")
			}
			s.Start()
			defer s.Close()
			h := newCountingHandler()
			conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(s.Ports()[0]))))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			var rs []*Receiver
			for i := range legs - 1 { // other legs, latched onto other sources of the IP
				r, err := s.Listen(Config{Handler: newCountingHandler(), Remote: netip.AddrPortFrom(loopback, uint16(1000+i)), StrictSource: true})
				if err != nil {
					b.Fatal(err)
				}
				r.Start()
				rs = append(rs, r)
			}
			r, err := s.Listen(Config{Handler: h, Remote: conn.LocalAddr().(*net.UDPAddr).AddrPort(), StrictSource: true})
			if err != nil {
				b.Fatal(err)
			}
			r.Start()
			rs = append(rs, r)
			defer func() {
				for _, r := range rs {
					r.Close()
				}
			}()
			pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 0x5eed},
				Payload: make([]byte, 160)}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			const batch = 16
			for b.Loop() {
				h.expect(batch)
				for range batch {
					if _, err := conn.Write(pkt); err != nil {
						b.Fatal(err)
					}
				}
				if !h.wait() {
					b.Fatal("packets lost")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
		})
	}
}
