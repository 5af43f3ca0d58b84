package dial

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// fakeRecorder is a minimal recording server for the tests: it answers
// INVITEs with one receiving socket pair per offered m-line, records what
// arrives, answers BYE and OPTIONS, and can reject, stall or hang up.
type fakeRecorder struct {
	t       *testing.T
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dialogs *sipgo.DialogServerCache
	udpAddr string
	tcpAddr string

	// Behaviour, set through newFakeRecorder's options.
	status      int           // reject INVITEs with this status (0: answer 200)
	stall       bool          // never answer INVITEs
	hold        chan struct{} // answer INVITEs only once it is closed
	hangupAfter time.Duration // >0: send BYE this long after the ACK
	noDTMF      bool          // answer without telephone-event
	answerCodec string        // answer with this codec instead of the offered one
	optStatus   atomic.Int32  // OPTIONS status (default 200)

	mu      sync.Mutex
	errs    []string // handler failures, reported at cleanup
	invites []*fakeInvite
	byes    map[string]bool // Call-IDs of BYEs received
	wg      sync.WaitGroup
	stallCh chan struct{}
}

type fakeInvite struct {
	req     *sip.Request
	at      time.Time
	callID  string
	sdp     []byte // offer (the SDP part for multipart bodies)
	meta    []byte // rs-metadata part (SIPREC)
	answer  []byte
	sinks   []*sink
	acked   chan struct{}
	ackOnce sync.Once
}

type sink struct {
	rtp, rtcp *net.UDPConn

	mu      sync.Mutex
	pkts    []rtp.Packet
	arrival []time.Time
	srcs    []net.Addr
	srs     []*rtcp.SenderReport
	srAt    []time.Time
}

// newFakeRecorder starts a recorder; opts set its behaviour before any
// goroutine reads it.
func newFakeRecorder(t *testing.T, opts ...func(*fakeRecorder)) *fakeRecorder {
	t.Helper()
	r := &fakeRecorder{t: t, byes: map[string]bool{}, stallCh: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	var err error
	r.ua, err = sipgo.NewUA(sipgo.WithUserAgent("fake-recorder"))
	if err != nil {
		t.Fatal(err)
	}
	r.srv, err = sipgo.NewServer(r.ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(r.ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.udpAddr, r.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	host, port, _ := sip.ParseAddr(r.udpAddr)
	r.dialogs = sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "rec", Host: host, Port: port}})
	r.srv.OnInvite(r.onInvite)
	r.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = r.dialogs.ReadAck(req, tx)
		if inv := r.find(req.CallID().Value()); inv != nil {
			inv.ackOnce.Do(func() { close(inv.acked) })
		}
	})
	r.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		r.mu.Lock()
		r.byes[req.CallID().Value()] = true
		r.mu.Unlock()
		if err := r.dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	r.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		st := int(r.optStatus.Load())
		if st == 0 {
			st = 200
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, st, "Status", nil))
	})
	r.wg.Add(2)
	go func() { defer r.wg.Done(); _ = r.srv.ServeUDP(udp) }()
	go func() { defer r.wg.Done(); _ = r.srv.ServeTCP(tcp) }()
	t.Cleanup(func() {
		r.mu.Lock()
		for _, e := range r.errs {
			t.Errorf("fake recorder: %s", e)
		}
		r.mu.Unlock()
		close(r.stallCh)
		_ = udp.Close()
		_ = tcp.Close()
		_ = r.ua.Close()
		r.mu.Lock()
		for _, inv := range r.invites {
			for _, s := range inv.sinks {
				_ = s.rtp.Close()
				_ = s.rtcp.Close()
			}
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *fakeRecorder) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *fakeRecorder) target(transport string) string {
	if transport == TransportTCP {
		return r.tcpAddr
	}
	return r.udpAddr
}

func (r *fakeRecorder) find(callID string) *fakeInvite {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inv := range r.invites {
		if inv.callID == callID {
			return inv
		}
	}
	return nil
}

// byCallID returns the INVITE with this Call-ID (failing the test if none).
func (r *fakeRecorder) byCallID(t *testing.T, callID string) *fakeInvite {
	t.Helper()
	inv := r.find(callID)
	if inv == nil {
		t.Fatalf("recorder saw no INVITE with Call-ID %s", callID)
	}
	return inv
}

func (r *fakeRecorder) snapshot() []*fakeInvite {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*fakeInvite(nil), r.invites...)
}

// sinksOf returns inv's receiving pairs as buildAnswer has opened them so
// far (it appends under r.mu while a test may poll).
func (r *fakeRecorder) sinksOf(inv *fakeInvite) []*sink {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sink(nil), inv.sinks...)
}

func (r *fakeRecorder) gotBye(callID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byes[callID]
}

func (r *fakeRecorder) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	inv := &fakeInvite{req: req.Clone(), at: time.Now(), callID: req.CallID().Value(), acked: make(chan struct{})}
	inv.sdp = req.Body()
	if ct := req.ContentType(); ct != nil && strings.HasPrefix(ct.Value(), "multipart/") {
		var err error
		if inv.sdp, inv.meta, err = splitMultipart(ct.Value(), req.Body()); err != nil {
			r.fail("%v", err)
		}
	}
	r.mu.Lock()
	r.invites = append(r.invites, inv)
	r.mu.Unlock()

	if r.stall {
		select {
		case <-r.stallCh:
		case <-tx.Done():
		}
		return
	}
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-tx.Done():
			return
		}
	}
	dlg, err := r.dialogs.ReadInvite(req, tx)
	if err != nil {
		r.fail("ReadInvite: %v", err)
		return
	}
	if r.status != 0 {
		_ = dlg.Respond(r.status, "Rejected", nil)
		dlg.Close()
		return
	}
	inv.answer = r.buildAnswer(inv)
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, inv.answer)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "rec"}}
	addr := r.udpAddr
	if strings.EqualFold(req.Transport(), "tcp") {
		addr = r.tcpAddr
		contact.Address.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	contact.Address.Host, contact.Address.Port, _ = sip.ParseAddr(addr)
	res.AppendHeader(&contact)
	if err := dlg.WriteResponse(res); err != nil {
		r.fail("answer: %v", err)
		return
	}
	if r.hangupAfter > 0 {
		time.Sleep(r.hangupAfter) // models the peer's call length (not synchronisation)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := dlg.Bye(ctx); err != nil {
			r.fail("recorder BYE: %v", err)
		}
	}
}

func splitMultipart(contentType string, body []byte) (sdpPart, meta []byte, err error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, nil, fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return sdpPart, meta, nil
		}
		if err != nil {
			return sdpPart, meta, fmt.Errorf("multipart: %w", err)
		}
		b, _ := io.ReadAll(part)
		switch part.Header.Get("Content-Type") {
		case "application/sdp":
			sdpPart = b
		case "application/rs-metadata+xml":
			if d := part.Header.Get("Content-Disposition"); d != "recording-session" {
				return nil, nil, fmt.Errorf("metadata Content-Disposition %q", d)
			}
			meta = b
		}
	}
}

// buildAnswer opens a receiving pair per offered m-line and answers
// recvonly with the offered codec and (unless noDTMF) telephone-event.
func (r *fakeRecorder) buildAnswer(inv *fakeInvite) []byte {
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(string(inv.sdp)); err != nil {
		r.fail("offer: %v\n%s", err, inv.sdp)
		return nil
	}
	var b strings.Builder
	b.WriteString("v=0\r\no=rec 1 1 IN IP4 127.0.0.1\r\ns=rec\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for _, md := range offer.MediaDescriptions {
		s, err := newSink()
		if err != nil {
			r.fail("%v", err)
			return nil
		}
		r.mu.Lock()
		inv.sinks = append(inv.sinks, s)
		r.mu.Unlock()
		r.wg.Add(2)
		go func() { defer r.wg.Done(); s.readRTP() }()
		go func() { defer r.wg.Done(); s.readRTCP() }()
		pt := md.MediaName.Formats[0]
		codec := map[string]string{"0": "PCMU", "8": "PCMA"}[pt]
		if r.answerCodec != "" {
			codec = r.answerCodec
			pt = map[string]string{"PCMU": "0", "PCMA": "8"}[codec]
		}
		port := s.rtp.LocalAddr().(*net.UDPAddr).Port
		if r.noDTMF {
			b.WriteString("m=audio " + strconv.Itoa(port) + " RTP/AVP " + pt + "\r\n")
		} else {
			b.WriteString("m=audio " + strconv.Itoa(port) + " RTP/AVP " + pt + " 96\r\na=rtpmap:96 telephone-event/8000\r\n")
		}
		b.WriteString("a=rtpmap:" + pt + " " + codec + "/8000\r\n")
		b.WriteString("a=rtcp:" + strconv.Itoa(s.rtcp.LocalAddr().(*net.UDPAddr).Port) + "\r\na=recvonly\r\n")
		if l, ok := md.Attribute("label"); ok {
			b.WriteString("a=label:" + l + "\r\n")
		}
	}
	return []byte(b.String())
}

func newSink() (*sink, error) {
	a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	return &sink{rtp: a, rtcp: b}, nil
}

func (s *sink) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, src, err := s.rtp.ReadFrom(buf)
		if err != nil {
			return
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			continue
		}
		s.mu.Lock()
		s.pkts = append(s.pkts, p)
		s.arrival = append(s.arrival, time.Now())
		s.srcs = append(s.srcs, src)
		s.mu.Unlock()
	}
}

func (s *sink) readRTCP() {
	buf := make([]byte, 1500)
	for {
		n, err := s.rtcp.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				s.mu.Lock()
				s.srs = append(s.srs, sr)
				s.srAt = append(s.srAt, time.Now())
				s.mu.Unlock()
			}
		}
	}
}

func (s *sink) packets() []rtp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rtp.Packet(nil), s.pkts...)
}

func (s *sink) reports() []*rtcp.SenderReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*rtcp.SenderReport(nil), s.srs...)
}
