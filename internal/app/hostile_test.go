package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// rawPeer talks raw SIP to the recorder over UDP or TCP on loopback.
type rawPeer struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
	udp  bool
	port int
}

func newRawPeer(t *testing.T, a *app.App, transport string) *rawPeer {
	t.Helper()
	c, err := net.Dial(strings.ToLower(transport), a.SIPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	p := &rawPeer{t: t, conn: c, rd: bufio.NewReader(c), udp: transport == "UDP"}
	fmt.Sscan(port, &p.port)
	return p
}

func (p *rawPeer) send(msg string) {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(msg)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// read returns the next message within wait ("" on silence).
func (p *rawPeer) read(wait time.Duration) string {
	_ = p.conn.SetReadDeadline(time.Now().Add(wait))
	if p.udp {
		buf := make([]byte, 65535)
		n, err := p.conn.Read(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	var b strings.Builder
	length := 0
	for {
		line, err := p.rd.ReadString('\n')
		if err != nil {
			return b.String()
		}
		b.WriteString(line)
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			fmt.Sscan(strings.TrimSpace(v), &length)
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.rd, body); err == nil {
		b.Write(body)
	}
	return b.String()
}

func firstLine(msg string) string { l, _, _ := strings.Cut(msg, "\r\n"); return l }

const hostileSDP = "v=0\r\no=MS 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"

// rawRequest is a request from p; drop lists mandatory headers to leave
// out; sdp (may be empty) is the body.
func rawRequest(p *rawPeer, method, callID, sdp string, drop ...string) string {
	transport := "UDP"
	if !p.udp {
		transport = "TCP"
	}
	lines := []struct{ name, line string }{
		{"Via", fmt.Sprintf("Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s-%s;rport", transport, p.port, callID, method)},
		{"From", "From: <sip:ms@127.0.0.1>;tag=ms"},
		{"To", fmt.Sprintf("To: <sip:record=%s@127.0.0.1>", callID)},
		{"Call-ID", "Call-ID: " + callID},
		{"CSeq", "CSeq: 1 " + method},
		{"Max-Forwards", "Max-Forwards: 70"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:record=%s@127.0.0.1;calluuid=%s;dn=5001;recordDN=5001 SIP/2.0\r\n", method, callID, callID)
	for _, l := range lines {
		skip := false
		for _, d := range drop {
			skip = skip || d == l.name
		}
		if !skip {
			b.WriteString(l.line + "\r\n")
		}
	}
	fmt.Fprintf(&b, "Contact: <sip:ms@127.0.0.1:%d;transport=%s>\r\n", p.port, strings.ToLower(transport))
	if sdp != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	return b.String()
}

// Issue 11: one SIP packet killed the recorder. Every RFC 3261 §8.1.1
// header missing from every method, over UDP and TCP, gets a 400 naming it
// (or silence when no response can be matched: no Via or CSeq, an ACK);
// nothing reaches the recorder (an INVITE without From or Call-ID used to
// be answered 200, and the BYE at its media timeout panicked); the process
// lives on and records a good call afterwards.
func TestHostileRequestsThenAGoodCallIsRecorded(t *testing.T) {
	a := startApp(t, nil)
	headers := []string{"Via", "CSeq", "Call-ID", "From", "To", "Max-Forwards"}
	methods := []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "INFO", "PRACK"}
	for _, transport := range []string{"UDP", "TCP"} {
		for _, h := range headers {
			for _, m := range methods {
				p := newRawPeer(t, a, transport)
				id := strings.ToLower("h-" + transport + "-" + m + "-" + h)
				sdp := ""
				if m == "INVITE" {
					sdp = hostileSDP
				}
				p.send(rawRequest(p, m, id, sdp, h))
				silent := m == "ACK" || h == "Via" || h == "CSeq"
				wait := 2 * time.Second
				if silent {
					wait = 100 * time.Millisecond
				}
				got := firstLine(p.read(wait))
				if want := "SIP/2.0 400 Missing " + h + " header"; silent && got != "" || !silent && got != want {
					t.Errorf("%s %s without %s: answered %q", transport, m, h, got)
				}
			}
		}
	}
	if st := a.Recorder().Stats(); st.ActiveLegs != 0 || st.PortsInUse != 0 {
		t.Errorf("invalid requests reached the recorder: %d legs, %d ports", st.ActiveLegs, st.PortsInUse)
	}
	metrics, err := httpGet("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`openrec_panics_total\{where="sip"\} 0`, `openrec_panics_total\{where="rtp"\} 0`, `openrec_sip_invalid_requests_total\{action="refused"\} [1-9]`, `openrec_sip_invalid_requests_total\{action="dropped"\} [1-9]`, `openrec_sip_tcp_connections \d`} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	for _, transport := range []string{dial.TransportUDP, dial.TransportTCP} {
		spec := dialSpec(a, "5001")
		spec.Transport, spec.Duration = transport, time.Second
		if _, err := newDialer(t).Call(context.Background(), spec); err != nil {
			t.Fatalf("good call over %s after the hostile requests: %v", transport, err)
		}
	}
	for _, r := range waitFinished(t, a, 2) {
		if r.Status != store.StatusCompleted {
			t.Errorf("good call recorded %s (%s)", r.Status, r.StatusReason)
		}
	}
}

// Issue 11: INVITEs never ACKed held their RTP ports until the media
// timeout. After Timer H (sip_ack_timeout) the session ends, its ports are
// free at once and the peer gets a BYE.
func TestInviteNeverAckedFreesItsPorts(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.SIPAckTimeout = 500 * time.Millisecond; c.MediaTimeout = time.Minute })
	p := newRawPeer(t, a, "UDP")
	p.send(rawRequest(p, "INVITE", "never-acked", hostileSDP))
	if got := firstLine(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE answered %q", got)
	}
	if n := a.Recorder().Stats().PortsInUse; n == 0 {
		t.Fatalf("no port taken for the answered INVITE")
	}
	bye := p.read(3 * time.Second)
	for strings.HasPrefix(bye, "SIP/2.0 200") { // the 200 is repeated until Timer H
		bye = p.read(3 * time.Second)
	}
	if !strings.HasPrefix(bye, "BYE ") {
		t.Fatalf("got %q, want a BYE after the ACK timeout", firstLine(bye))
	}
	if n := a.Recorder().Stats().PortsInUse; n != 0 {
		t.Errorf("%d ports still in use after the ACK timeout", n)
	}
	r := waitFinished(t, a, 1)[0]
	if r.Status == store.StatusRecording {
		t.Errorf("recording still %s", r.Status)
	}
	metrics, _ := httpGet("http://" + a.HTTPAddr() + "/metrics")
	if !regexp.MustCompile(`openrec_sip_ack_timeouts_total 1`).MatchString(metrics) {
		t.Errorf("/metrics does not count the ACK timeout")
	}
}

// Issue 11: five INVITEs of 100 m-lines took every RTP port. An offer over
// sip_max_media_lines is refused with 488 before any port is taken.
func TestTooManyMediaLinesTakeNoPorts(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.SIPMaxMediaLines = 8 })
	var sdp strings.Builder
	sdp.WriteString("v=0\r\no=MS 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sdp, "m=audio %d RTP/AVP 0\r\na=sendonly\r\n", 40000+2*i)
	}
	for i := 0; i < 5; i++ {
		p := newRawPeer(t, a, "UDP")
		p.send(rawRequest(p, "INVITE", fmt.Sprintf("wide%d", i), sdp.String()))
		if got := firstLine(p.read(2 * time.Second)); got != "SIP/2.0 488 Not Acceptable Here: too many media streams" {
			t.Errorf("100 m-lines answered %q", got)
		}
	}
	if n := a.Recorder().Stats().PortsInUse; n != 0 {
		t.Errorf("%d ports taken by refused offers", n)
	}
	spec := dialSpec(a, "5001")
	if _, err := newDialer(t).Call(context.Background(), spec); err != nil {
		t.Fatalf("good call: %v", err)
	}
}

// Issue 11: 4,000 idle SIP TCP connections stayed open until the process
// ran out of file descriptors. They are closed after sip_tcp_idle_timeout,
// /metrics shows them come and go, and a good call over TCP is recorded.
func TestIdleSIPTCPConnectionsAreClosed(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.SIPTCPIdleTimeout = 2 * time.Second; c.SIPTCPMaxConnsPerSource = 0 })
	const n = 200
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", a.SIPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	gauge := regexp.MustCompile(`openrec_sip_tcp_connections (\d+)`)
	open := func() string {
		m, _ := httpGet("http://" + a.HTTPAddr() + "/metrics")
		if g := gauge.FindStringSubmatch(m); g != nil {
			return g[1]
		}
		return "?"
	}
	// the dials return before the server accepts
	testtool.Poll(t, 5*time.Second, func() (bool, string) { got := open(); return got == fmt.Sprint(n), got },
		"openrec_sip_tcp_connections = %d with %d idle connections", n, n)
	buf := make([]byte, 1)
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err == nil || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("idle connection %d not closed: %v", i, err)
		}
	}
	testtool.Poll(t, 5*time.Second, func() (bool, string) { got := open(); return got == "0", got },
		"openrec_sip_tcp_connections = 0 after the idle timeout")
	spec := dialSpec(a, "5001")
	spec.Transport = dial.TransportTCP
	if _, err := newDialer(t).Call(context.Background(), spec); err != nil {
		t.Fatalf("good call over TCP: %v", err)
	}
	if r := waitFinished(t, a, 1)[0]; r.Status != store.StatusCompleted {
		t.Errorf("good call recorded %s (%s)", r.Status, r.StatusReason)
	}
}

// The RFC 4475 and RFC 5118 torture messages (their outcomes are checked
// one by one in internal/sip/sipsrv) sent to a real recorder over UDP and
// TCP: nothing panics, the sessions some of them open end (Timer H), and
// a good call is recorded afterwards.
func TestTortureMessagesThenAGoodCallIsRecorded(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.SIPAckTimeout = time.Second })
	files, err := filepath.Glob(filepath.Join("..", "sip", "sipsrv", "testdata", "torture", "*", "*.dat"))
	if err != nil || len(files) < 60 {
		t.Fatalf("torture messages: %d files, %v", len(files), err)
	}
	for _, transport := range []string{"UDP", "TCP"} {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := newRawPeer(t, a, transport)
			p.send(string(data))
			p.read(20 * time.Millisecond)
		}
	}
	spec := dialSpec(a, "5001")
	spec.Duration = time.Second
	if _, err := newDialer(t).Call(context.Background(), spec); err != nil {
		t.Fatalf("good call after the torture messages: %v", err)
	}
	waitFor(t, 10*time.Second, "no active call", func() bool { return a.Recorder().Active() == 0 })
	recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	good := 0
	for _, r := range recs {
		if r.Status == store.StatusRecording {
			t.Errorf("recording %s (DN %s) never ended", r.ID, r.RecordedDN)
		}
		if r.RecordedDN == "5001" && r.Status == store.StatusCompleted {
			good++
		}
	}
	if good != 1 {
		t.Errorf("good call recorded %d times completed, want 1 (%d recordings)", good, len(recs))
	}
	metrics, _ := httpGet("http://" + a.HTTPAddr() + "/metrics")
	if !strings.Contains(metrics, `openrec_panics_total{where="sip"} 0`) {
		t.Errorf("a panic was recovered")
	}
	t.Logf("%d torture messages x 2 transports; %d recordings (sessions the valid INVITEs opened, ended by Timer H)", len(files), len(recs))
}
