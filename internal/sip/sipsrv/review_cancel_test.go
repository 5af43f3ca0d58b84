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
	wake    chan struct{} // closed at the next Bye
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
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
	h.mu.Unlock()
}

// waitEnded waits until the leg of id ended (5 s bound).
func (h *cancelHandler) waitEnded(t *testing.T, id string) {
	t.Helper()
	bound := time.NewTimer(5 * time.Second)
	defer bound.Stop()
	for {
		h.mu.Lock()
		ended := h.ended[id]
		if h.wake == nil {
			h.wake = make(chan struct{})
		}
		wake := h.wake
		h.mu.Unlock()
		if ended {
			return
		}
		select {
		case <-wake:
		case <-bound.C:
			t.Fatalf("leg %s not ended", id)
		}
	}
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
// handling it arrives; one that loses it (the peer got the 200) must leave
// the dialog alone. The CANCELs sweep the INVITE handling in rounds until
// both outcomes were seen: the test fails if the race never happened.
func TestReviewCancelRacingThe200(t *testing.T) {
	s, h := startReviewServer(t)
	c, port := udpPeer(t)
	to := net.UDPAddrFromAddrPort(s.Addr())

	final := map[string]string{} // Call-ID → status of the INVITE's final response
	const perRound, maxRounds = 100, 20
	got487, got200 := 0, 0
	for round := 0; round < maxRounds && (got487 == 0 || got200 == 0); round++ {
		for i := range perRound {
			id := fmt.Sprintf("cx%d-%d", round, i)
			br := fmt.Sprintf("z9hG4bKrv%d-%d", round, i)
			_, _ = c.WriteToUDP([]byte(reviewRequest("INVITE", id, br, port, reviewSDP)), to)
			// Sweep the CANCEL across the INVITE handling (0-300 µs later).
			for start := time.Now(); time.Since(start) < time.Duration(i%60)*5*time.Microsecond; {
			}
			_, _ = c.WriteToUDP([]byte(reviewRequest("CANCEL", id, br, port, "")), to)
		}
		readFinals(t, c, final, (round+1)*perRound)
		got487, got200 = 0, 0
		for _, st := range final {
			switch st {
			case "487":
				got487++
			case "200":
				got200++
			}
		}
	}
	if got487 == 0 || got200 == 0 {
		t.Fatalf("race not exercised: %d INVITEs answered 487, %d answered 200", got487, got200)
	}
	// Bye may come after the final response: every 487 leg the recorder
	// was told of must end.
	for id, st := range final {
		h.mu.Lock()
		invited := h.invited[id]
		h.mu.Unlock()
		if st == "487" && invited {
			h.waitEnded(t, id)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, st := range final {
		switch {
		case st == "487" && s.dialogs[id] != nil:
			t.Errorf("%s: dialog kept for an INVITE answered 487", id)
		case st == "200" && (s.dialogs[id] == nil || h.ended[id]):
			t.Errorf("%s: the peer got the 200 but the server ended the dialog (dialog kept %v, leg ended %v)", id, s.dialogs[id] != nil, h.ended[id])
		}
	}
}

// readFinals reads the peer's socket until want INVITEs have their final
// response, noting each; a retransmission must repeat it (CANCEL answers
// are skipped).
func readFinals(t *testing.T, c *net.UDPConn, final map[string]string, want int) {
	t.Helper()
	buf := make([]byte, 65535)
	for len(final) < want {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second)) // a bound
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("%d of %d INVITEs answered: %v", len(final), want, err)
		}
		msg := string(buf[:k])
		if !strings.HasPrefix(msg, "SIP/2.0 ") || !strings.Contains(header(msg, "CSeq"), "INVITE") {
			continue
		}
		code := msg[len("SIP/2.0 ") : len("SIP/2.0 ")+3]
		if code[0] != '1' {
			id := header(msg, "Call-ID")
			if old, ok := final[id]; !ok {
				final[id] = code
			} else if old != code {
				t.Errorf("%s: INVITE answered %s, then %s", id, old, code)
			}
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
