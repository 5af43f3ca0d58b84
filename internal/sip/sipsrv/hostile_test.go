package sipsrv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The reported crashes: an INVITE without To panicked at once; one without
// Call-ID or From was answered 200 and the process panicked when the
// recorder sent its BYE (Hangup). Over UDP and TCP each is refused with a
// 400 naming the header, no dialog is kept, and Hangup is harmless.
func TestInviteMissingHeaderIsRefusedNotCrashing(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP"} {
		for _, missing := range []string{"To", "From", "Call-ID"} {
			t.Run(transport+"/"+missing, func(t *testing.T) {
				s, h := startReviewServer(t)
				p := newPeer(t, s, transport)
				id := "crash-" + strings.ToLower(missing)
				p.send(hostileRequest("INVITE", transport, id, p.port, missing))
				res := p.read(2 * time.Second)
				if want := "SIP/2.0 400 Missing " + missing + " header"; status(res) != want {
					t.Errorf("INVITE without %s answered %q, want %q", missing, status(res), want)
				}
				for _, cid := range []string{id, ""} {
					if err := s.Hangup(context.Background(), cid, "media timeout"); !errors.Is(err, ErrUnknownDialog) {
						t.Errorf("Hangup(%q) = %v, want ErrUnknownDialog", cid, err)
					}
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if len(h.invited) != 0 {
					t.Errorf("handler saw %v", h.invited)
				}
			})
		}
	}
}

// goodCall runs INVITE / 200 / ACK / BYE / 200 from p and checks the handler
// saw the leg start and end.
func goodCall(t *testing.T, p *peer, h *cancelHandler, id string) {
	t.Helper()
	p.send(hostileRequest("INVITE", p.transport, id, p.port))
	res := p.read(3 * time.Second)
	if !strings.HasPrefix(status(res), "SIP/2.0 200") {
		t.Fatalf("good INVITE %s answered %q", id, status(res))
	}
	tag := ""
	for _, l := range strings.Split(res, "\r\n") {
		if strings.HasPrefix(l, "To:") {
			_, tag, _ = strings.Cut(l, ";tag=")
		}
	}
	withTag := func(msg string) string {
		return strings.Replace(msg, "@127.0.0.1>\r\nCall-ID", "@127.0.0.1>;tag="+tag+"\r\nCall-ID", 1)
	}
	p.send(withTag(hostileRequest("ACK", p.transport, id, p.port)))
	bye := withTag(strings.Replace(hostileRequest("BYE", p.transport, id, p.port), "CSeq: 1 BYE", "CSeq: 2 BYE", 1))
	p.send(bye)
	if res := p.read(3 * time.Second); !strings.HasPrefix(status(res), "SIP/2.0 200") {
		t.Fatalf("good BYE %s answered %q", id, status(res))
	}
	// The handler hears of the BYE just after the 200 leaves.
	h.waitEnded(t, id)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.invited[id] {
		t.Fatalf("good call %s: not invited", id)
	}
}

// Acceptance of issue 11: every header of RFC 3261 §8.1.1 missing from
// every method, over UDP and TCP: a 400 naming the header, or silence when
// no response can be matched (no Via or CSeq, or an ACK); the server lives
// on and records a good call afterwards.
func TestEveryMandatoryHeaderMissingFromEveryMethod(t *testing.T) {
	methods := []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "INFO", "REGISTER"}
	s, h := startReviewServer(t)
	for _, transport := range []string{"UDP", "TCP"} {
		for _, m := range mandatory {
			for _, method := range methods {
				t.Run(transport+"/"+method+"/no-"+m.name, func(t *testing.T) {
					p := newPeer(t, s, transport)
					id := strings.ToLower(transport + "-" + method + "-" + m.name)
					p.send(hostileRequest(method, transport, id, p.port, m.name))
					silent := method == "ACK" || m.name == "Via" || m.name == "CSeq"
					wait := 2 * time.Second
					if silent {
						wait = 150 * time.Millisecond
					}
					got := status(p.read(wait))
					want := "SIP/2.0 400 Missing " + m.name + " header"
					switch {
					case silent && got != "" && got != "closed":
						t.Errorf("%s without %s answered %q, want silence", method, m.name, got)
					case !silent && got != want:
						t.Errorf("%s without %s answered %q, want %q", method, m.name, got, want)
					}
					if got == "closed" {
						p = newPeer(t, s, transport)
					}
					goodCall(t, p, h, id+"-good")
				})
			}
		}
	}
	if st := s.Stats(); st.Refused == 0 || st.Dropped == 0 || st.Panics != 0 {
		t.Errorf("stats %+v: want refusals and drops counted, no panics", st)
	}
}

// panicHandler is a recorder with a bug: every INVITE panics.
type panicHandler struct{ cancelHandler }

func (h *panicHandler) Invite(context.Context, *Invite) ([]byte, error) { panic("recorder bug") }

// A bug in a handler costs the request it handles (500), never the
// process: the panic is logged, counted, and the next request is served.
func TestHandlerPanicCostsOneRequest(t *testing.T) {
	h := &panicHandler{cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}}
	s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), Logger: discardLogger()}, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	for _, transport := range []string{"UDP", "TCP"} {
		p := newPeer(t, s, transport)
		p.send(hostileRequest("INVITE", transport, "boom-"+transport, p.port))
		if got := status(p.read(2 * time.Second)); got != "SIP/2.0 500 Server Internal Error" {
			t.Errorf("%s: panicking INVITE answered %q, want 500", transport, got)
		}
		p.send(hostileRequest("OPTIONS", transport, "after-"+transport, p.port))
		if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
			t.Errorf("%s: OPTIONS after the panic answered %q", transport, got)
		}
	}
	if got := s.Stats().Panics; got != 2 {
		t.Errorf("panics counted = %d, want 2", got)
	}
}

// A BYE (or re-INVITE) must carry the dialog's tags (RFC 3261 §12.2.2):
// knowing the Call-ID alone ends no recording.
func TestInDialogRequestNeedsTheDialogTags(t *testing.T) {
	s, h := startReviewServer(t)
	p := newPeer(t, s, "TCP")
	p.send(hostileRequest("INVITE", "TCP", "tags", p.port))
	res := p.read(2 * time.Second)
	if status(res) != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE answered %q", status(res))
	}
	tag := ""
	for _, l := range strings.Split(res, "\r\n") {
		if strings.HasPrefix(l, "To:") {
			_, tag, _ = strings.Cut(l, ";tag=")
		}
	}
	p.send(hostileRequest("ACK", "TCP", "tags", p.port))
	bye := func(toTag, fromTag string, cseq int) string {
		m := strings.Replace(hostileRequest("BYE", "TCP", "tags", p.port), "CSeq: 1 BYE", fmt.Sprintf("CSeq: %d BYE", cseq), 1)
		// A new transaction each time: with one branch, sipgo takes a BYE
		// for a retransmission of the one before and repeats its answer.
		m = strings.Replace(m, "branch=z9hG4bKtags-bye", fmt.Sprintf("branch=z9hG4bKtags-bye%d", cseq), 1)
		m = strings.Replace(m, "From: <sip:ms@127.0.0.1>;tag=ms1", "From: <sip:ms@127.0.0.1>;tag="+fromTag, 1)
		if toTag != "" {
			m = strings.Replace(m, "@127.0.0.1>\r\nCall-ID", "@127.0.0.1>;tag="+toTag+"\r\nCall-ID", 1)
		}
		return m
	}
	for i, tt := range []struct{ to, from, want string }{
		{"", "ms1", "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{"guess", "ms1", "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{tag, "other", "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{tag, "ms1", "SIP/2.0 200 OK"},
	} {
		p.send(bye(tt.to, tt.from, 2+i))
		if got := status(p.read(2 * time.Second)); got != tt.want {
			t.Errorf("BYE to-tag %q from-tag %q answered %q, want %q", tt.to, tt.from, got, tt.want)
		}
		h.mu.Lock()
		ended := h.ended["tags"]
		h.mu.Unlock()
		if ended && tt.want != "SIP/2.0 200 OK" {
			t.Fatalf("a BYE with to-tag %q from-tag %q ended the recording", tt.to, tt.from)
		}
	}
}

// A SIPREC INVITE captured from a real SBC (Intrado VIPER: Accept lists
// only metadata types, "Call-Info: (null)", a To without user) passes the
// validation and reaches the recorder.
func TestCapturedSIPRECInvitePassesValidation(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "siprec", "testdata", "vendors", "intrado-siprec-invite.txt"))
	if err != nil {
		t.Fatal(err)
	}
	msg := string(raw)
	if !strings.Contains(msg, "\r\n") {
		msg = strings.ReplaceAll(msg, "\n", "\r\n")
	}
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	msg = regexp.MustCompile(`(?m)^Content-Length: \d+`).ReplaceAllString(head, fmt.Sprintf("Content-Length: %d", len(body))) + "\r\n\r\n" + body
	s, h := startReviewServer(t)
	p := newPeer(t, s, "TCP")
	p.send(msg)
	if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Errorf("captured SIPREC INVITE answered %q", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.invited) != 1 {
		t.Errorf("recorder saw %d INVITEs, want 1", len(h.invited))
	}
}
