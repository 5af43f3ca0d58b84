package rawrecv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/testtool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback = netip.MustParseAddr("127.0.0.1")

// testRange returns a free-ish port range of this test process.
func testRange(t *testing.T) (int, int) {
	t.Helper()
	lo, hi, ok := strings.Cut(apptest.RTPRange(), "-")
	low, err1 := strconv.Atoi(lo)
	high, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("range %s-%s", lo, hi)
	}
	return low + low%2, high
}

// rtpPacket is a minimal PCMU RTP packet.
func rtpPacket(seq uint16, ssrc uint32) []byte {
	b := make([]byte, 12+160)
	b[0], b[1] = 0x80, 0
	b[2], b[3] = byte(seq>>8), byte(seq)
	b[8], b[9], b[10], b[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	return b
}

// openFree opens a Reader of pairs port pairs on the first test range
// whose ports are all free (tests of other packages share the machine).
func openFree(t *testing.T, pairs int) (*Reader, int) {
	t.Helper()
	var err error
	for range 10 {
		low, _ := testRange(t)
		var r *Reader
		if r, err = Open(Config{IP: loopback, Low: low, High: low + 2*pairs - 1}); err == nil {
			return r, low
		}
	}
	t.Fatalf("no free range: %v", err)
	return nil, 0
}

func TestReaderCountsAndServesMetrics(t *testing.T) {
	r, low := openFree(t, 4)
	defer r.Close()
	if r.Pairs() != 4 {
		t.Fatalf("%d pairs, want 4", r.Pairs())
	}
	r.Start()
	r.Start() // second call does nothing

	// Two senders, 10 packets each, to two of the four ports; each port
	// locks onto its own sender.
	var senders [2]*net.UDPConn
	for i := range senders {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		senders[i] = c
	}
	for i, c := range senders {
		dst := netip.AddrPortFrom(loopback, uint16(low+4*i))
		for k := range 10 {
			if _, err := c.WriteToUDPAddrPort(rtpPacket(uint16(k), uint32(100+i)), dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A datagram that is not RTP.
	if _, err := senders[0].WriteToUDPAddrPort([]byte{1, 2, 3}, netip.AddrPortFrom(loopback, uint16(low+2))); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 5*time.Second, func() bool { s := r.Stats(); return s.Packets+s.Invalid >= 21 }, "21 datagrams read")
	s := r.Stats()
	if s.Packets != 20 || s.Invalid != 1 || s.Bytes != 20*172 || s.Locked != 2 {
		t.Errorf("stats %+v", s)
	}

	srv := httptest.NewServer(r.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"openrec_rtp_packets_received_total 20\n", "openrec_rtp_invalid_packets_total 1\n", "openrec_rawrecv_port_pairs 4\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenFailsWhenAPortIsTaken(t *testing.T) {
	r, low := openFree(t, 3)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	busy, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(low+2))))
	if err != nil {
		t.Skipf("cannot take port %d: %v", low+2, err)
	}
	defer busy.Close()
	r, err = Open(Config{IP: loopback, Low: low, High: low + 5})
	if !errors.Is(err, ErrBind) {
		if err == nil {
			r.Close()
		}
		t.Fatalf("err %v, want ErrBind", err)
	}
	// Nothing was left bound: the whole range can be opened once the
	// port is free again.
	busy.Close()
	r, err = Open(Config{IP: loopback, Low: low, High: low + 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadRange(t *testing.T) {
	for _, rg := range [][2]int{{40000, 40000}, {40001, 40001}} {
		t.Run(fmt.Sprint(rg), func(t *testing.T) {
			if _, err := Open(Config{IP: loopback, Low: rg[0], High: rg[1]}); !errors.Is(err, ErrConfig) {
				t.Errorf("err %v, want ErrConfig", err)
			}
		})
	}
}
