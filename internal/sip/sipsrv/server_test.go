package sipsrv

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// The server over real loopback sockets, driven by a peer built from sipgo
// (the library the server stands on, used as a Media Server or SBC would):
// its client sends, its server answers what the recorder sends.

// eventHandler is a recorder fake that reports every call on channels.
type eventHandler struct {
	invites   chan *Invite
	reinvites chan *Invite
	acks      chan string
	byes      chan [2]string // Call-ID, reason
	available error
	// hold makes Invite wait for its context to end (CANCEL, Close).
	hold atomic.Bool
}

func newEventHandler() *eventHandler {
	return &eventHandler{invites: make(chan *Invite, 16), reinvites: make(chan *Invite, 16),
		acks: make(chan string, 16), byes: make(chan [2]string, 16)}
}

func (h *eventHandler) Invite(ctx context.Context, inv *Invite) ([]byte, error) {
	h.invites <- inv
	if h.hold.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []byte(reviewSDP), nil
}

func (h *eventHandler) Reinvite(_ context.Context, inv *Invite) ([]byte, error) {
	h.reinvites <- inv
	return []byte(reviewSDP), nil
}

func (h *eventHandler) Ack(id string, _ *sdpoa.Session) error { h.acks <- id; return nil }
func (h *eventHandler) Bye(id, reason string)                 { h.byes <- [2]string{id, reason} }
func (h *eventHandler) Available() error                      { return h.available }

// recv returns the next value of ch, failing the test after a bound.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second): // a bound, not a synchronisation
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// startServer starts a server on loopback with h; closed at the end of
// the test.
func startServer(t *testing.T, h Handler, cfg Config) *Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.AdvertiseIP = mustAddr("127.0.0.1")
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sipgoPeer is the peer: a sipgo user agent listening on loopback (UDP or
// TCP), with a client for its requests and a server that answers the
// recorder's BYEs and UPDATEs with 200 and hands them to the test.
type sipgoPeer struct {
	transport string
	ua        *sipgo.UserAgent
	cli       *sipgo.Client
	dua       *sipgo.DialogUA
	target    sip.Uri // the server under test
	received  chan *sip.Request
}

func newSipgoPeer(t *testing.T, s *Server, transport string) *sipgoPeer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipgo-peer"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	p := &sipgoPeer{transport: transport, ua: ua, received: make(chan *sip.Request, 16)}
	answer := func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		p.received <- req
	}
	srv.OnBye(answer)
	srv.OnUpdate(answer)
	done := make(chan struct{})
	var port int
	var sock io.Closer // ua.Close does not close what it was given to serve
	switch transport {
	case "UDP":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port, sock = c.LocalAddr().(*net.UDPAddr).Port, c
		go func() { defer close(done); _ = srv.ServeUDP(c) }()
	case "TCP":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port, sock = l.Addr().(*net.TCPAddr).Port, l
		go func() { defer close(done); _ = srv.ServeTCP(l) }()
	}
	p.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port),
		sipgo.WithClientLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "ms", Host: "127.0.0.1", Port: port,
		UriParams: sip.NewParams()}}
	contact.Address.UriParams.Add("transport", strings.ToLower(transport))
	p.dua = &sipgo.DialogUA{Client: p.cli, ContactHDR: contact}
	p.target = sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: int(s.Addr().Port()), UriParams: sip.NewParams()}
	p.target.UriParams.Add("transport", strings.ToLower(transport))
	t.Cleanup(func() {
		_ = p.cli.Close()
		_ = ua.Close()
		_ = sock.Close() // ends the serve loop
		<-done
	})
	return p
}

// uri is the server's Request-URI for a Genesys MSR leg of record id.
func (p *sipgoPeer) uri(id string) sip.Uri {
	u := p.target
	u.User = "record=" + id
	u.UriParams = p.target.UriParams.Clone()
	u.UriParams.Add("calluuid", "UUID-"+id)
	u.UriParams.Add("recordDN", "5001")
	return u
}

// invite starts an INVITE with an SDP offer (extra headers appended).
func (p *sipgoPeer) invite(t *testing.T, ctx context.Context, id string, hdrs ...sip.Header) *sipgo.DialogClientSession {
	t.Helper()
	hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))
	d, err := p.dua.Invite(ctx, p.uri(id), []byte(reviewSDP), hdrs...)
	if err != nil {
		t.Fatalf("INVITE %s: %v", id, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// do sends a request outside any dialog and returns the final response.
func (p *sipgoPeer) do(t *testing.T, req *sip.Request) *sip.Response {
	t.Helper()
	req.SetTransport(p.transport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

var transports = []string{"UDP", "TCP"}

// A whole call: INVITE / 200 / ACK, the recorder told of each step, then
// the peer's BYE ends the dialog and the recording leg.
func TestServerCall(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newEventHandler()
			s := startServer(t, h, Config{})
			p := newSipgoPeer(t, s, tr)
			ctx := context.Background()
			d := p.invite(t, ctx, "call-"+tr, sip.NewHeader("X-Genesys-CallUUID", "UUID1"))
			inv := recv(t, h.invites, "Invite")
			want := MSRParams{RecordID: "call-" + tr, CallUUID: "UUID-call-" + tr, RecordDN: "5001"}
			if inv.Kind != KindMSR || inv.MSR != want || inv.Transport != tr || inv.SDP == nil ||
				inv.GenesysCallUUID != "UUID1" {
				t.Errorf("handler got %+v", inv)
			}
			if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			res := d.InviteResponse
			if res.StatusCode != 200 || string(res.Body()) != reviewSDP || res.Contact() == nil ||
				!strings.Contains(res.Contact().Value(), "+sip.srs") {
				t.Errorf("200 OK: %d %q contact %v", res.StatusCode, res.Body(), res.Contact())
			}
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, h.acks, "Ack"); got != inv.CallID {
				t.Errorf("ACK of %q, want %q", got, inv.CallID)
			}
			if n := s.Dialogs(); n != 1 {
				t.Errorf("%d dialogs, want 1", n)
			}
			if err := d.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, h.byes, "Bye"); got != [2]string{inv.CallID, "bye"} {
				t.Errorf("Bye %v", got)
			}
			if n := s.Dialogs(); n != 0 {
				t.Errorf("%d dialogs after BYE, want 0", n)
			}
		})
	}
}

// The recorder ends a call (media timeout): the peer gets a BYE in the
// dialog with the Reason, and Hangup returns once it was answered.
func TestServerHangup(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newEventHandler()
			s := startServer(t, h, Config{})
			p := newSipgoPeer(t, s, tr)
			ctx := context.Background()
			d := p.invite(t, ctx, "hangup-"+tr)
			inv := recv(t, h.invites, "Invite")
			if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			recv(t, h.acks, "Ack")
			if err := s.Hangup(ctx, inv.CallID, "media timeout"); err != nil {
				t.Fatal(err)
			}
			bye := recv(t, p.received, "BYE")
			if bye.Method != sip.BYE || bye.CallID().Value() != inv.CallID {
				t.Fatalf("got %s %s", bye.Method, bye.CallID().Value())
			}
			if tag, _ := bye.To().Params.Get("tag"); tag == "" {
				t.Error("BYE without the peer's tag")
			}
			if got := bye.GetHeader("Reason"); got == nil || !strings.Contains(got.Value(), `text="media timeout"`) {
				t.Errorf("Reason %v", got)
			}
			if err := s.Hangup(ctx, inv.CallID, "again"); !errors.Is(err, ErrUnknownDialog) {
				t.Errorf("second Hangup: %v, want ErrUnknownDialog", err)
			}
		})
	}
}

// RFC 3261 §9.2: a CANCEL of an INVITE in progress gets 200 and the INVITE
// 487; the handler's context ends, no dialog is left, the server lives on.
func TestServerCancel(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newEventHandler()
			h.hold.Store(true)
			s := startServer(t, h, Config{})
			p := newSipgoPeer(t, s, tr)
			ctx, cancel := context.WithCancel(context.Background())
			d := p.invite(t, context.Background(), "cancel-"+tr)
			recv(t, h.invites, "Invite")
			cancel() // sipgo sends the CANCEL once the 100 Trying came
			if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); !errors.Is(err, context.Canceled) {
				t.Fatalf("WaitAnswer: %v", err)
			}
			if d.InviteResponse == nil || d.InviteResponse.StatusCode != 487 {
				t.Fatalf("INVITE answered %v, want 487", d.InviteResponse)
			}
			if n := s.Dialogs(); n != 0 {
				t.Errorf("%d dialogs after CANCEL", n)
			}
			h.hold.Store(false) // the server goes on answering
			res := p.do(t, sip.NewRequest(sip.OPTIONS, p.target))
			if res.StatusCode != 200 {
				t.Errorf("OPTIONS after CANCEL: %d", res.StatusCode)
			}
		})
	}
}

// OPTIONS says what the recorder accepts (RFC 3261 §11.2), or 503 with
// Retry-After when it takes no new calls.
func TestServerOptions(t *testing.T) {
	h := newEventHandler()
	s := startServer(t, h, Config{})
	p := newSipgoPeer(t, s, "UDP")
	res := p.do(t, sip.NewRequest(sip.OPTIONS, p.target))
	if res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
	for name, want := range map[string]string{"Allow": allowed, "Accept": accepted, "Supported": supportedHeader} {
		if got := res.GetHeader(name); got == nil || got.Value() != want {
			t.Errorf("%s %v, want %q", name, got, want)
		}
	}

	h2 := newEventHandler()
	h2.available = &StatusError{Code: 503, Reason: "Service Unavailable: disk full", RetryAfter: 30}
	s2 := startServer(t, h2, Config{})
	p2 := newSipgoPeer(t, s2, "UDP")
	res = p2.do(t, sip.NewRequest(sip.OPTIONS, p2.target))
	if res.StatusCode != 503 || res.Reason != "Service Unavailable: disk full" {
		t.Errorf("OPTIONS when unavailable: %d %q", res.StatusCode, res.Reason)
	}
	if got := res.GetHeader("Retry-After"); got == nil || got.Value() != "30" {
		t.Errorf("Retry-After %v, want 30", got)
	}
}

// Requests the server refuses, each with its status code; the server
// records a good call afterwards.
func TestServerRefusals(t *testing.T) {
	h := newEventHandler()
	s := startServer(t, h, Config{})
	p := newSipgoPeer(t, s, "UDP")
	withHeaders := func(req *sip.Request, hdrs ...sip.Header) *sip.Request {
		for _, hd := range hdrs {
			req.AppendHeader(hd)
		}
		return req
	}
	invite := func(id, sdp string, hdrs ...sip.Header) *sip.Request {
		req := sip.NewRequest(sip.INVITE, p.uri(id))
		req.SetBody([]byte(sdp))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.AppendHeader(&p.dua.ContactHDR)
		return withHeaders(req, hdrs...)
	}
	inDialog := func(m sip.RequestMethod, id string) *sip.Request {
		req := sip.NewRequest(m, p.uri(id))
		params := sip.NewParams()
		params.Add("tag", "nosuchdialog")
		req.AppendHeader(&sip.ToHeader{Address: p.uri(id), Params: params})
		return req
	}
	tests := []struct {
		name string
		req  *sip.Request
		code int
	}{
		{"unknown method", sip.NewRequest(sip.INFO, p.target), 405},
		{"BYE outside a dialog", inDialog(sip.BYE, "nodialog"), 481},
		{"re-INVITE of no dialog", withHeaders(inDialog(sip.INVITE, "nodialog"), sip.NewHeader("Content-Type", "application/sdp")), 481},
		{"UPDATE of no dialog", inDialog(sip.UPDATE, "nodialog"), 481},
		{"unsupported extension", invite("r1", reviewSDP, sip.NewHeader("Require", "foo")), 420},
		{"session interval too small", invite("r2", reviewSDP, sip.NewHeader("Session-Expires", "30")), 422},
		{"unreadable Session-Expires", invite("r3", reviewSDP, sip.NewHeader("Session-Expires", "soon")), 400},
		{"too many media lines", invite("r4", sdpWithMedia(DefaultMaxMediaLines+1)), 488},
		{"body of an unknown type", textInvite(p.uri("r5")), 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := p.do(t, tt.req); res.StatusCode != tt.code {
				t.Errorf("%d %s, want %d", res.StatusCode, res.Reason, tt.code)
			}
		})
	}
	// A malformed request, which no sipgo client sends: no Call-ID.
	raw := newPeer(t, s, "UDP")
	raw.send(hostileRequest("INVITE", "UDP", "malformed", raw.port, "Call-ID"))
	if got := status(raw.read(3 * time.Second)); !strings.HasPrefix(got, "SIP/2.0 400") {
		t.Errorf("INVITE without Call-ID: %q, want 400", got)
	}
	if st := s.Stats(); st.Refused == 0 {
		t.Errorf("stats %+v: no refusal counted", st)
	}
	for range len(h.invites) {
		<-h.invites
	}
	d := p.invite(t, context.Background(), "after-refusals")
	recv(t, h.invites, "Invite")
	if err := d.WaitAnswer(context.Background(), sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("a good call after the refusals: %v", err)
	}
}

// Close while an INVITE is in progress: the handler's context ends, Close
// waits for it, and the peer is told 503.
func TestServerCloseDuringInvite(t *testing.T) {
	h := newEventHandler()
	h.hold.Store(true)
	s := startServer(t, h, Config{})
	p := newSipgoPeer(t, s, "TCP")
	d := p.invite(t, context.Background(), "closing")
	recv(t, h.invites, "Invite")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var de *sipgo.ErrDialogResponse
	if err := d.WaitAnswer(context.Background(), sipgo.AnswerOptions{}); !errors.As(err, &de) || de.Res.StatusCode != 503 {
		t.Fatalf("INVITE during Close: %v, want 503", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.Dial("tcp", s.Addr().String()); err == nil {
		c.Close()
		t.Error("closed server still accepts TCP connections")
	}
}

func textInvite(u sip.Uri) *sip.Request {
	req := sip.NewRequest(sip.INVITE, u)
	req.SetBody([]byte("hello"))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	return req
}
