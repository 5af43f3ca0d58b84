package sipsrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The dialog's state is read under the lock it is written under: a
// re-INVITE answered, then the recorder hangs the dialog up. Nothing but
// the server's mutex orders the two handlings, so with -race an unguarded
// read in the re-INVITE is reported although it happened first.
func TestReinviteThenHangupRace(t *testing.T) {
	p := newOptionsPeer(t)
	for i := range 3 {
		id := fmt.Sprintf("race%d", i)
		p.send(reviewRequest("INVITE", id, "z9hG4bKri"+id, p.port, reviewSDP))
		res := p.read()
		if statusOfMsg(res) != "200 OK" {
			t.Fatalf("INVITE %s: %q", id, statusOfMsg(res))
		}
		tag := toTag(res)
		p.send(inDialog(reviewRequest("ACK", id, "z9hG4bKri"+id, p.port, ""), tag, "1 ACK"))
		p.send(inDialog(reviewRequest("INVITE", id, "z9hG4bKre"+id, p.port, reviewSDP), tag, "2 INVITE"))
		if res := p.read(); statusOfMsg(res) != "200 OK" {
			t.Fatalf("re-INVITE %s: %q", id, statusOfMsg(res))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the BYE need not be answered
		_ = p.s.Hangup(ctx, id, "test")
		if msg := p.read(); !isRequest(msg, "BYE") {
			t.Fatalf("%s: got %q, want the BYE", id, statusOfMsg(msg))
		}
	}
}

func isRequest(msg, method string) bool {
	return len(msg) > len(method) && msg[:len(method)+1] == method+" "
}

// hangupHandler hangs the dialog up while its re-INVITE is being handled
// (the recorder ended the leg meanwhile: media timeout, shutdown).
type hangupHandler struct {
	*cancelHandler
	s *Server
}

func (h *hangupHandler) Reinvite(_ context.Context, inv *Invite) ([]byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the BYE need not be answered
	_ = h.s.Hangup(ctx, inv.CallID, "test")
	return []byte(reviewSDP), nil
}

// A dialog that ended while its refresh was being handled gets no session
// timer: it would fire on a call gone and end it a second time.
func TestNoSessionTimerForDialogEndedDuringReinvite(t *testing.T) {
	p := newOptionsPeerWith(t, func(s *Server, h *cancelHandler) Handler { return &hangupHandler{cancelHandler: h, s: s} })
	const id = "ended-during-reinvite"
	p.send(reviewRequest("INVITE", id, "z9hG4bKedr1", p.port, reviewSDP))
	res := p.read()
	if statusOfMsg(res) != "200 OK" {
		t.Fatalf("INVITE: %q", statusOfMsg(res))
	}
	tag := toTag(res)
	p.send(inDialog(reviewRequest("ACK", id, "z9hG4bKedr1", p.port, ""), tag, "1 ACK"))
	p.send(withHeaders(inDialog(reviewRequest("INVITE", id, "z9hG4bKedr2", p.port, reviewSDP), tag, "2 INVITE"),
		"Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n"))
	for range 2 { // the BYE of the Hangup and the answer to the re-INVITE
		if msg := p.read(); isRequest(msg, "BYE") {
			continue
		}
	}
	// The timer is armed, or not, before the answer leaves.
	if armed := p.timers.armed(); len(armed) != 0 {
		t.Errorf("%d session timers armed for a dialog that ended", len(armed))
	}
}

// blockingHandler holds every INVITE until its context ends (or a bound
// passes: the test then fails) and says when it entered and left.
type blockingHandler struct {
	*cancelHandler
	entered chan string
	left    chan error
}

func (h *blockingHandler) Invite(ctx context.Context, inv *Invite) ([]byte, error) {
	h.entered <- inv.CallID
	select {
	case <-ctx.Done():
		h.left <- ctx.Err()
		return nil, ctx.Err()
	case <-time.After(10 * time.Second): // a bound, not a synchronisation
		h.left <- errors.New("context never cancelled")
		return []byte(reviewSDP), nil
	}
}

// Close abandons an INVITE in progress: the handler's context is
// cancelled, Close returns only once the handler has, and the peer is
// told 503 (it may try another recorder).
func TestCloseAbandonsInviteInProgress(t *testing.T) {
	var bh *blockingHandler
	p := newOptionsPeerWith(t, func(_ *Server, h *cancelHandler) Handler {
		bh = &blockingHandler{cancelHandler: h, entered: make(chan string, 1), left: make(chan error, 1)}
		return bh
	})
	p.send(reviewRequest("INVITE", "close-during-invite", "z9hG4bKcdi", p.port, reviewSDP))
	<-bh.entered
	if err := p.s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-bh.left:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler: %v, want its context cancelled", err)
		}
	default:
		t.Fatal("Close returned while the INVITE handler was still running")
	}
	if res := p.read(); statusOfMsg(res) != "503 Service Unavailable" {
		t.Errorf("INVITE abandoned by Close answered %q, want 503", statusOfMsg(res))
	}
	if err := p.s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// The BYE the server sends on its own (an ACK with unusable SDP) runs in
// a goroutine Close cancels and waits for: none is left behind, even when
// the peer never answers.
func TestCloseWaitsForServerBye(t *testing.T) {
	p := newOptionsPeer(t)
	const id = "bad-ack"
	p.send(reviewRequest("INVITE", id, "z9hG4bKba1", p.port, ""))
	res := p.read()
	if statusOfMsg(res) != "200 OK" {
		t.Fatalf("INVITE: %q", statusOfMsg(res))
	}
	p.send(inDialog(reviewRequest("ACK", id, "z9hG4bKba2", p.port, sdpWithMedia(DefaultMaxMediaLines+1)), toTag(res), "1 ACK"))
	if bye := p.read(); !isRequest(bye, "BYE") { // not answered
		t.Fatalf("got %q, want the BYE", statusOfMsg(bye))
	}
	if err := p.s.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "sipsrv.(*Server).Hangup") {
		t.Errorf("Close left the BYE goroutine running:\n%s", stacks)
	}
}

// A CANCEL that wins the race after the recorder answered, while the 200
// is being prepared: the peer got 487, and the retransmissions of the
// final response (Timer G, the peer did not ACK yet) repeat the 487. sipgo
// v1.7.2 keeps the last response handed to a transaction as the one to
// retransmit even when its state machine refused to send it, so a 200
// handed over after the 487 would be retransmitted after it.
func TestCancelWinningBefore200KeepsThe487(t *testing.T) {
	window := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
	s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), Logger: discardLogger(),
		AfterFunc: func(d time.Duration, f func()) func() bool {
			// The session timer is armed between the answer and the 200.
			once.Do(func() { close(window); <-release })
			return func() bool { return true }
		}}, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	c, port := udpPeer(t)
	to := net.UDPAddrFromAddrPort(s.Addr())
	const id = "cancel-wins-late"
	inv := withHeaders(reviewRequest("INVITE", id, "z9hG4bKcwl", port, reviewSDP), "Session-Expires: 1800\r\n")
	_, _ = c.WriteToUDP([]byte(inv), to)
	<-window
	_, _ = c.WriteToUDP([]byte(reviewRequest("CANCEL", id, "z9hG4bKcwl", port, "")), to)
	next := func() string { // the next final response to the INVITE
		buf := make([]byte, 65535)
		for {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second)) // a bound; Timer G fires at 500 ms
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("no final response: %v", err)
			}
			msg := string(buf[:n])
			if strings.Contains(header(msg, "CSeq"), "INVITE") && !strings.HasPrefix(msg, "SIP/2.0 1") {
				return statusOfMsg(msg)
			}
		}
	}
	if got := next(); got != "487 Request Terminated" {
		t.Fatalf("INVITE answered %q, want 487", got)
	}
	close(release)
	if got := next(); got != "487 Request Terminated" {
		t.Errorf("after the 487: %q, want the 487 retransmitted", got)
	}
	if n := s.Dialogs(); n != 0 {
		t.Errorf("%d dialogs after the CANCEL won", n)
	}
}
