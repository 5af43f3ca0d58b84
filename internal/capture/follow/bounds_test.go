package follow

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/capture/decode"
)

// TestTCPBuffersBounded: thousands of TCP connections each stalled inside
// a large SIP message (Content-Length near the limit, the body never
// completed) hold no more than maxTCPHeld together; a connection that
// then sends a whole message is still followed.
func TestTCPBuffersBounded(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	body := strings.Repeat("x", 60000)
	head := "INVITE sip:7001@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKx\r\nCall-ID: stall\r\nCSeq: 1 INVITE\r\nContent-Length: 65000\r\n\r\n"
	const conns = 3000 // 180 MB of stalled messages
	for i := range conns {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)}), 40000)
		for _, p := range []string{head, body[:30000], body[30000:]} {
			f.Handle(&decode.Datagram{Time: t0, Src: src, Dst: bSIP, Proto: decode.TCP, Payload: []byte(p)})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if f.tcpHeld > maxTCPHeld || int64(m1.HeapInuse)-int64(m0.HeapInuse) > 2*maxTCPHeld {
		t.Fatalf("%d stalled connections hold %d MB (accounted %d MB)", conns, (int64(m1.HeapInuse)-int64(m0.HeapInuse))>>20, f.tcpHeld>>20)
	}
	if f.Stats().TCPOverflows == 0 {
		t.Errorf("stats %+v", f.Stats())
	}
	// a fresh connection with a whole INVITE is still followed
	inv := msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "after-flood", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv"))
	before := f.Stats().Calls
	f.Handle(&decode.Datagram{Time: t0, Src: netip.MustParseAddrPort("10.8.0.1:40000"), Dst: bSIP, Proto: decode.TCP, Payload: inv})
	if f.Stats().Calls != before+1 {
		t.Fatalf("the INVITE after the flood was not followed: %+v", f.Stats())
	}
	// the connections ending give their room back
	for i := range conns {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)}), 40000)
		f.Handle(&decode.Datagram{Time: t0, Src: src, Dst: bSIP, Proto: decode.TCP, End: true})
	}
	if f.tcpHeld < 0 || f.tcpHeld > 1<<20 {
		t.Errorf("after every stalled connection ended: %d bytes accounted", f.tcpHeld)
	}
}
