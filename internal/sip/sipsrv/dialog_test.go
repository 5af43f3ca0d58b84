package sipsrv

import (
	"context"
	"fmt"
	"testing"
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
