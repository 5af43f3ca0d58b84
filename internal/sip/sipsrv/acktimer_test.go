package sipsrv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// reasonHandler is a recording fake that remembers why each leg ended.
type reasonHandler struct {
	mu      sync.Mutex
	invited map[string]int // m-lines offered
	ended   map[string]string
}

func newReasonHandler() *reasonHandler {
	return &reasonHandler{invited: map[string]int{}, ended: map[string]string{}}
}

func (h *reasonHandler) Invite(_ context.Context, inv *Invite) ([]byte, error) {
	h.mu.Lock()
	if inv.SDP != nil {
		h.invited[inv.CallID] = len(inv.SDP.Media)
	} else {
		h.invited[inv.CallID] = 0
	}
	h.mu.Unlock()
	return []byte(reviewSDP), nil
}
func (h *reasonHandler) Reinvite(context.Context, *Invite) ([]byte, error) { return nil, nil }
func (h *reasonHandler) Ack(string, *sdpoa.Session) error                  { return nil }
func (h *reasonHandler) Bye(id, reason string) {
	h.mu.Lock()
	h.ended[id] = reason
	h.mu.Unlock()
}
func (h *reasonHandler) Available() error { return nil }

func (h *reasonHandler) endedWith(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.ended[id]
	return r, ok
}

func startReasonServer(t *testing.T, cfg Config) (*Server, *reasonHandler) {
	t.Helper()
	h := newReasonHandler()
	cfg.Listen, cfg.AdvertiseIP, cfg.Logger = "127.0.0.1:0", mustAddr("127.0.0.1"), discardLogger()
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

// An INVITE answered 200 whose ACK never comes is ended after Timer H: the
// recorder is told (its ports are freed at once), the peer gets a BYE, the
// dialog is gone. An ACKed dialog is left alone.
func TestDialogWithoutAckEndsAfterTimerH(t *testing.T) {
	const timerH = 300 * time.Millisecond
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			s, h := startReasonServer(t, Config{AckTimeout: timerH})
			p := newPeer(t, s, transport)
			acked := newPeer(t, s, transport)
			acked.send(hostileRequest("INVITE", transport, "acked", acked.port))
			if got := status(acked.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
				t.Fatalf("INVITE answered %q", got)
			}
			acked.send(hostileRequest("ACK", transport, "acked", acked.port))

			start := time.Now()
			p.send(hostileRequest("INVITE", transport, "noack", p.port))
			if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
				t.Fatalf("INVITE answered %q", got)
			}
			bye := p.read(timerH + 3*time.Second)
			for strings.HasPrefix(bye, "SIP/2.0 200") { // 2xx retransmissions (UDP) until Timer H
				bye = p.read(timerH + 3*time.Second)
			}
			if !strings.HasPrefix(bye, "BYE ") || !strings.Contains(bye, "Call-ID: noack") {
				t.Fatalf("after Timer H got %q, want the BYE of the unacknowledged dialog", status(bye))
			}
			if took := time.Since(start); took < timerH {
				t.Errorf("BYE after %v, before Timer H (%v)", took, timerH)
			}
			if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
				p.send(string(res))
			}
			if r, ok := h.endedWith("noack"); !ok || r != "no ACK" {
				t.Errorf("recorder told %q (%v), want Bye(noack, \"no ACK\")", r, ok)
			}
			if _, ok := h.endedWith("acked"); ok {
				t.Errorf("the acknowledged dialog was ended")
			}
			if n := s.Dialogs(); n != 1 { // forgotten before the BYE left
				t.Errorf("%d dialogs, want the acknowledged one only", n)
			}
			if n := s.Stats().NoAck; n != 1 {
				t.Errorf("no-ACK endings counted %d, want 1", n)
			}
			for got := acked.read(100 * time.Millisecond); got != ""; got = acked.read(100 * time.Millisecond) {
				if strings.HasPrefix(got, "BYE ") { // copies of the 200 sent before the ACK arrived are fine
					t.Errorf("acknowledged dialog got %q", status(got))
				}
			}
		})
	}
}

// sdpWithMedia is an offer of n audio m-lines.
func sdpWithMedia(n int) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=MS 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\na=sendonly\r\n", 40000+2*i)
	}
	return b.String()
}

// More m-lines than the cap are refused with 488 before the recorder takes
// a port for any of them.
func TestMediaLinesAreCapped(t *testing.T) {
	s, h := startReasonServer(t, Config{MaxMediaLines: 4})
	p := newPeer(t, s, "UDP")
	for _, tt := range []struct {
		n    int
		want string
	}{
		{4, "SIP/2.0 200 OK"},
		{5, "SIP/2.0 488 Not Acceptable Here: too many media streams"},
		{100, "SIP/2.0 488 Not Acceptable Here: too many media streams"},
	} {
		id := fmt.Sprintf("mlines%d", tt.n)
		inv := reviewRequest("INVITE", id, "z9hG4bK"+id, p.port, sdpWithMedia(tt.n))
		p.send(inv)
		if got := status(p.read(2 * time.Second)); got != tt.want {
			t.Errorf("%d m-lines answered %q, want %q", tt.n, got, tt.want)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.invited) != 1 || h.invited["mlines4"] != 4 {
		t.Errorf("recorder saw %v, want only the 4-line offer", h.invited)
	}
}

// Over UDP the 200 is repeated (T1, 2*T1, ... capped at T2) until the ACK
// comes; then it stops.
func TestUDP2xxRetransmittedUntilAck(t *testing.T) {
	s, _ := startReasonServer(t, Config{AckTimeout: 64 * 20 * time.Millisecond}) // T1 = 20 ms
	p := newPeer(t, s, "UDP")
	p.send(hostileRequest("INVITE", "UDP", "retx", p.port))
	copies := 0
	for deadline := time.Now().Add(400 * time.Millisecond); time.Now().Before(deadline); {
		if status(p.read(time.Until(deadline))) == "SIP/2.0 200 OK" {
			copies++
		}
	}
	// 0, 20, 60, 140, 300 ms: five copies within 400 ms (at least three on a loaded machine).
	if copies < 3 {
		t.Fatalf("%d copies of the 200 in 400 ms, want the first and its retransmissions", copies)
	}
	p.send(hostileRequest("ACK", "UDP", "retx", p.port))
	for p.read(100*time.Millisecond) != "" { // a copy already on its way may still arrive
	}
	if got := p.read(400 * time.Millisecond); got != "" {
		t.Errorf("after the ACK the server still sends %q", status(got))
	}
}
