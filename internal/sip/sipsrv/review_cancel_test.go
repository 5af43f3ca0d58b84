package sipsrv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// cancelHandler records what the server asked of the recorder.
type cancelHandler struct {
	mu      sync.Mutex
	invited map[string]bool
	ended   map[string]bool
}

func (h *cancelHandler) Invite(ctx context.Context, inv *Invite) ([]byte, error) {
	h.mu.Lock()
	h.invited[inv.CallID] = true
	h.mu.Unlock()
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=recvonly\r\n"), nil
}
func (h *cancelHandler) Reinvite(context.Context, *Invite) ([]byte, error) { return nil, nil }
func (h *cancelHandler) Ack(string, *sdpoa.Session) error                  { return nil }
func (h *cancelHandler) Bye(id, reason string) {
	h.mu.Lock()
	h.ended[id] = true
	h.mu.Unlock()
}
func (h *cancelHandler) Available() error { return nil }

const reviewSDP = "v=0\r\no=MS 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"

func reviewRequest(method, callID, branch string, port int, body string) string {
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("%s sip:record=%s@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"+
		"From: <sip:ms@127.0.0.1>;tag=ms1\r\n"+
		"To: <sip:record=%s@127.0.0.1>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 %s\r\n"+
		"Contact: <sip:ms@127.0.0.1:%d>\r\n"+
		"Max-Forwards: 70\r\n%s"+
		"Content-Length: %d\r\n\r\n%s", method, callID, port, branch, callID, callID, method, port, ct, len(body), body)
}

// startReviewServer starts a server on loopback port 0 with a recording
// handler fake; it is closed at the end of the test.
func startReviewServer(t *testing.T) (*Server, *cancelHandler) {
	t.Helper()
	h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
	s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

// udpPeer is the peer's UDP socket on loopback and its port.
func udpPeer(t *testing.T) (*net.UDPConn, int) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).Port
}

// A CANCEL that wins the race with the 200 OK (the peer gets 487) must end
// the recording leg and leave no dialog behind, wherever in the INVITE
// handling it arrives.
func TestReviewCancelRacingThe200(t *testing.T) {
	s, h := startReviewServer(t)
	c, port := udpPeer(t)
	to := net.UDPAddrFromAddrPort(s.Addr())

	got487 := map[string]bool{}
	const n = 300
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("cx%d", i)
		br := fmt.Sprintf("z9hG4bKrv%d", i)
		_, _ = c.WriteToUDP([]byte(reviewRequest("INVITE", id, br, port, reviewSDP)), to)
		// Sweep the CANCEL across the INVITE handling (0-300 µs later).
		for start := time.Now(); time.Since(start) < time.Duration(i%60)*5*time.Microsecond; {
		}
		_, _ = c.WriteToUDP([]byte(reviewRequest("CANCEL", id, br, port, "")), to)
	}
	buf := make([]byte, 65535)
	for {
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		msg := string(buf[:k])
		if strings.HasPrefix(msg, "SIP/2.0 487") {
			for _, l := range strings.Split(msg, "\r\n") {
				if strings.HasPrefix(l, "Call-ID: ") {
					got487[strings.TrimPrefix(l, "Call-ID: ")] = true
				}
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	bad := 0
	for id := range got487 {
		if h.invited[id] && !h.ended[id] {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cancelled INVITEs (487) left the recording leg open", bad, len(got487))
	}
	// Every dialog left is one the peer got a 200 for and did not end.
	s.mu.Lock()
	left := 0
	for id := range s.dialogs {
		if got487[id] {
			left++
		}
	}
	s.mu.Unlock()
	if left > 0 {
		t.Errorf("%d dialogs kept for INVITEs answered 487", left)
	}
	t.Logf("%d INVITEs answered 487", len(got487))
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
