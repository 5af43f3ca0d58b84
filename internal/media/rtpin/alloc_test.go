package rtpin

import (
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

// TestReceiveLoopZeroAllocs measures the whole process (sender, kernel
// wake-ups, receive loop, validation, handler call) while packets flow
// through a locked receiver: in steady state nothing may allocate.
func TestReceiveLoopZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	readers(t, func(t *testing.T) {
		h := newCountingHandler()
		ports := freeAllocator(t, 1, 0, nil)
		r, conn, pkt := steadyLeg(t, h, ports)
		const perRun = 8
		ok := true
		allocs := testing.AllocsPerRun(100, func() {
			h.expect(perRun)
			for range perRun {
				if _, err := conn.Write(pkt); err != nil {
					ok = false
				}
			}
			if !h.wait() {
				ok = false
			}
		})
		if !ok {
			t.Fatal("packets lost or write failed")
		}
		if allocs != 0 {
			t.Fatalf("%v allocations per %d packets in steady state", allocs, perRun)
		}
		if st := r.Stats(); st.Invalid+st.ForeignSource+st.StaleSSRC != 0 || st.Packets < 800 {
			t.Fatalf("stats = %+v", st)
		}
	})
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
