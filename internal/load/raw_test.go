package load

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/testtool"
)

// TestRunRaw streams 3 raw calls to plain sockets on the ports the
// reference reader would read and checks what arrived on each.
func TestRunRaw(t *testing.T) {
	const calls = 3
	type port struct {
		packets int
		ssrcs   map[uint32]bool
		bad     int
	}
	low, high, conns := bindRawPorts(t, calls)
	var mu sync.Mutex
	got := map[int]*port{}
	var wg sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	for p, c := range conns {
		st := &port{ssrcs: map[uint32]bool{}}
		got[p] = st
		wg.Go(func() {
			buf := make([]byte, 2048)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				mu.Lock()
				if n != rawHeader+rawSamples || buf[0] != 0x80 || buf[1]&0x7f != pcmuPT {
					st.bad++
				} else {
					st.packets++
					st.ssrcs[binary.BigEndian.Uint32(buf[8:])] = true
				}
				mu.Unlock()
			}
		})
	}
	rep, err := Run(context.Background(), Config{
		Target: "127.0.0.1", Mode: ModeRaw, Calls: calls, Rate: 50, Duration: 200 * time.Millisecond,
		RawLow: low, RawHigh: high,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Let the last datagrams be read, then stop the readers.
	testtool.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		sum := 0
		for _, st := range got {
			sum += st.packets + st.bad
		}
		return uint64(sum) >= rep.PacketsSent
	}, "the %d datagrams sent read", rep.PacketsSent)
	if rep.CallsAnswered != calls || rep.CallsFailed != 0 || rep.PacketsSent != calls*2*10 {
		t.Errorf("report %+v", rep)
	}
	if rep.PacketsReceived != nil || rep.ZeroLoss || rep.SetupMSP50 != nil || rep.SetupRateCPS != nil {
		t.Errorf("figures without a metrics URL or SIP: %+v", rep)
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[uint32]bool{}
	for p, st := range got {
		if st.packets != 10 || st.bad != 0 || len(st.ssrcs) != 1 {
			t.Errorf("port %d: %d packets, %d malformed, ssrcs %v", p, st.packets, st.bad, st.ssrcs)
		}
		for s := range st.ssrcs {
			if seen[s] {
				t.Errorf("SSRC %d on two legs", s)
			}
			seen[s] = true
		}
	}
}

// bindRawPorts binds the RTP ports of calls raw calls on the first test
// range where all of them are free (other tests' recorders may hold
// thousands of ports).
func bindRawPorts(t *testing.T, calls int) (low, high int, conns map[int]*net.UDPConn) {
	t.Helper()
	for range 250 {
		low, high, err := ParsePortRange(apptest.RTPRange())
		if err != nil {
			t.Fatal(err)
		}
		low += low % 2
		conns = map[int]*net.UDPConn{}
		for i := range calls {
			for _, p := range RawPorts(low, i) {
				c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p))))
				if err != nil {
					break
				}
				conns[p] = c
			}
		}
		if len(conns) == 2*calls {
			return low, high, conns
		}
		for _, c := range conns {
			c.Close()
		}
	}
	t.Fatal("no free port range")
	return 0, 0, nil
}
