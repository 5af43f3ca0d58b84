//go:build !race

package rtpin

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The race detector allocates on every synchronised access, so this test
// is built without it only: `make test` runs the allocation tests in a
// second, non-race step (go test -run Alloc ./...), and the race run has
// no skipped test.

// TestReceiveLoopZeroAllocs measures the whole process (sender, kernel
// wake-ups, receive loop, validation, handler call) while packets flow
// through a locked receiver: in steady state nothing may allocate.
func TestReceiveLoopZeroAllocs(t *testing.T) {
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

// TestSRTPDecryptZeroAllocs: in steady state the SRTP path (decryption,
// validation, hand-off) allocates nothing per packet, like plain RTP.
func TestSRTPDecryptZeroAllocs(t *testing.T) {
	for _, suite := range []string{SuiteAES128CMSHA1_80, SuiteAEADAES256GCM} {
		t.Run(suite, func(t *testing.T) {
			k := testKeys(suite, 3, []byte{0, 1})
			enc, err := NewSRTPContext(k)
			if err != nil {
				t.Fatal(err)
			}
			h := newCountingHandler()
			r, err := Listen(Config{IP: loopback, Ports: freeAllocator(t, 1, 0, nil), Handler: h, SRTP: k})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			const runs = 200
			pkts := make([][]byte, runs+2)
			for i := range pkts {
				p, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i + 1), Timestamp: uint32(i) * 160, SSRC: 9},
					Payload: make([]byte, 160)}).Marshal()
				if pkts[i], err = enc.EncryptRTP(nil, p, nil); err != nil {
					t.Fatal(err)
				}
			}
			src, now := netip.AddrPortFrom(loopback, 40000), time.Now()
			r.onRTP(r.rtpLoop, pkts[0], src, now) // first packet: context and SSRC state are made
			i := 1
			allocs := testing.AllocsPerRun(runs, func() {
				r.onRTP(r.rtpLoop, pkts[i], src, now)
				i++
			})
			if allocs != 0 {
				t.Errorf("%v allocations per SRTP packet", allocs)
			}
			if st := r.Stats(); st.Packets != uint64(i) || st.AuthFailures != 0 {
				t.Fatalf("stats %+v after %d packets", st, i)
			}
		})
	}
}

// TestSharedReceiveZeroAllocs: the shared sockets' path (recvmmsg batch,
// demultiplexing by source, the leg's validation and handler call)
// allocates nothing per packet in steady state, with other legs attached.
func TestSharedReceiveZeroAllocs(t *testing.T) {
	readers(t, func(t *testing.T) {
		s := newTestShared(t, nil)
		h := newCountingHandler()
		conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(s.Ports()[0]))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		src := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		for i := range 20 { // other legs of the same IP
			sharedTestLeg(t, s, netip.AddrPortFrom(loopback, uint16(1000+2*i)), true)
		}
		r, err := s.Listen(Config{Handler: h, Remote: src, StrictSource: true})
		if err != nil {
			t.Fatal(err)
		}
		r.Start()
		defer r.Close()
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 0x5eed},
			Payload: make([]byte, 160)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send := func(n int) bool {
			h.expect(int64(n))
			for range n {
				if _, err := conn.Write(pkt); err != nil {
					return false
				}
			}
			return h.wait()
		}
		if !send(32) {
			t.Fatal("warm-up packets not received")
		}
		const perRun = 8
		ok := true
		allocs := testing.AllocsPerRun(100, func() { ok = send(perRun) && ok })
		if !ok {
			t.Fatal("packets lost or write failed")
		}
		if allocs != 0 {
			t.Fatalf("%v allocations per %d packets in steady state", allocs, perRun)
		}
	})
}
