package sipsrv

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// manualTimers is an injected Config.AfterFunc: timers fire only when the
// test says so.
type manualTimers struct {
	mu   sync.Mutex
	all  []*manualTimer
	next chan struct{} // closed at the next AfterFunc
}

type manualTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (m *manualTimers) AfterFunc(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{d: d, f: f}
	m.all = append(m.all, t)
	if m.next != nil {
		close(m.next)
		m.next = nil
	}
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// changed returns a channel closed when the next timer is armed.
func (m *manualTimers) changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == nil {
		m.next = make(chan struct{})
	}
	return m.next
}

// waitArmed waits until exactly one timer is armed and it is not old, and
// returns it. The server arms a dialog's timer before its 2xx leaves, but
// re-arms after the answer to its own refresh, which the test cannot see.
func (m *manualTimers) waitArmed(t *testing.T, old *manualTimer) *manualTimer {
	t.Helper()
	timeout := time.NewTimer(3 * time.Second)
	defer timeout.Stop()
	for {
		ch := m.changed()
		if a := m.armed(); len(a) == 1 && a[0] != old {
			return a[0]
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("armed timers %+v, want one new timer", m.armed())
		}
	}
}

// armed returns the timers not stopped.
func (m *manualTimers) armed() []*manualTimer {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*manualTimer
	for _, t := range m.all {
		if !t.stopped {
			out = append(out, t)
		}
	}
	return out
}

// optionsPeer is a server with a recording fake and manual timers, and a
// raw UDP peer talking to it.
type optionsPeer struct {
	t      *testing.T
	s      *Server
	h      *cancelHandler
	timers *manualTimers
	c      *net.UDPConn
	port   int
	to     *net.UDPAddr
}

func newOptionsPeer(t *testing.T) *optionsPeer {
	return newOptionsPeerWith(t, nil)
}

// newOptionsPeerWith is newOptionsPeer with the handler wrapped by wrap
// (nil: none) before the server starts.
func newOptionsPeerWith(t *testing.T, wrap func(*Server, *cancelHandler) Handler) *optionsPeer {
	t.Helper()
	h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
	mt := &manualTimers{}
	s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), AfterFunc: mt.AfterFunc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		s.h = wrap(s, h)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	c, port := udpPeer(t)
	return &optionsPeer{t: t, s: s, h: h, timers: mt, c: c, port: port, to: net.UDPAddrFromAddrPort(s.Addr())}
}

func (p *optionsPeer) send(msg string) {
	p.t.Helper()
	if _, err := p.c.WriteToUDP([]byte(msg), p.to); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next message that is not a provisional response.
func (p *optionsPeer) read() string {
	p.t.Helper()
	buf := make([]byte, 65535)
	for {
		_ = p.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := p.c.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("no message: %v", err)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "SIP/2.0 1") {
			continue
		}
		return msg
	}
}

// header returns the value of the first header called name in msg.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// withHeaders inserts extra header lines into a request.
func withHeaders(req, extra string) string {
	return strings.Replace(req, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\n"+extra, 1)
}

// inDialog makes an in-dialog request (re-INVITE, UPDATE) of an INVITE
// answered with toTag.
func inDialog(req, toTag string, cseq string) string {
	lines := strings.Split(req, "\r\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "To: "):
			lines[i] = l + ";tag=" + toTag
		case strings.HasPrefix(l, "CSeq: "):
			lines[i] = "CSeq: " + cseq
		}
	}
	return strings.Join(lines, "\r\n")
}

func statusOfMsg(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return strings.TrimPrefix(line, "SIP/2.0 ")
}

// RFC 3261 §8.2.2.3: a request requiring an extension the recorder does
// not support gets 420 with Unsupported listing exactly those tags; siprec,
// timer and 100rel are accepted.
func TestRequireOptionTags(t *testing.T) {
	tests := []struct {
		require     string
		status      string
		unsupported string
	}{
		{require: "siprec", status: "200 OK"},
		{require: "timer", status: "200 OK"},
		{require: "100rel", status: "200 OK"},
		{require: "siprec, 100rel, timer", status: "200 OK"},
		{require: "SIPREC", status: "200 OK"},
		{require: "foo", status: "420 Bad Extension", unsupported: "foo"},
		{require: "siprec, foo, Bar, foo", status: "420 Bad Extension", unsupported: "foo, bar"},
		{require: "replaces", status: "420 Bad Extension", unsupported: "replaces"},
		{require: "precondition", status: "420 Bad Extension", unsupported: "precondition"},
	}
	p := newOptionsPeer(t)
	for i, tt := range tests {
		id := "req" + itoa(i)
		p.send(withHeaders(reviewRequest("INVITE", id, "z9hG4bKreq"+itoa(i), p.port, reviewSDP), "Require: "+tt.require+"\r\n"))
		res := p.read()
		if got := statusOfMsg(res); got != tt.status {
			t.Errorf("Require: %s → %q, want %q", tt.require, got, tt.status)
		}
		if got := header(res, "Unsupported"); got != tt.unsupported {
			t.Errorf("Require: %s → Unsupported %q, want %q", tt.require, got, tt.unsupported)
		}
	}
	// In dialog too: an UPDATE requiring an unknown extension.
	p.send(reviewRequest("INVITE", "upd420", "z9hG4bKu1", p.port, reviewSDP))
	res := p.read()
	tag := toTag(res)
	p.send(withHeaders(inDialog(reviewRequest("UPDATE", "upd420", "z9hG4bKu2", p.port, ""), tag, "2 UPDATE"), "Require: gruu\r\n"))
	if res := p.read(); statusOfMsg(res) != "420 Bad Extension" || header(res, "Unsupported") != "gruu" {
		t.Errorf("UPDATE requiring gruu: %q", res)
	}
}

func toTag(res string) string {
	to := header(res, "To")
	_, tag, _ := strings.Cut(to, ";tag=")
	tag, _, _ = strings.Cut(tag, ";")
	return tag
}

// RFC 4028 §9: Session-Expires below Min-SE gets 422 with Min-SE; else the
// 200 carries Session-Expires and the refresher, Supported: timer, and
// Require: timer when the peer refreshes.
func TestSessionTimerNegotiation(t *testing.T) {
	tests := []struct {
		name      string
		headers   string
		status    string
		se        string
		require   string
		minSE     string
		armedWait time.Duration
	}{
		{name: "no timer asked", headers: "", status: "200 OK"},
		{name: "peer refreshes", headers: "Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n", status: "200 OK",
			se: "1800;refresher=uac", require: "timer", armedWait: 1800*time.Second - 32*time.Second},
		{name: "peer supports timer, no refresher: the peer refreshes", headers: "Supported: timer\r\nSession-Expires: 600\r\nMin-SE: 90\r\n",
			status: "200 OK", se: "600;refresher=uac", require: "timer", armedWait: 600*time.Second - 32*time.Second},
		{name: "peer without timer support: we refresh", headers: "Session-Expires: 120\r\n", status: "200 OK",
			se: "120;refresher=uas", armedWait: 60 * time.Second},
		{name: "compact form", headers: "k: timer\r\nx: 300;refresher=uac\r\n", status: "200 OK", se: "300;refresher=uac", require: "timer",
			armedWait: 300*time.Second - 32*time.Second},
		{name: "too small", headers: "Supported: timer\r\nSession-Expires: 30\r\n", status: "422 Session Interval Too Small", minSE: "90"},
		{name: "unreadable", headers: "Session-Expires: soon\r\n", status: "400 Bad Request: invalid Session-Expires"},
		{name: "required and small interval", headers: "Require: timer\r\nSupported: timer\r\nSession-Expires: 89\r\n", status: "422 Session Interval Too Small", minSE: "90"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newOptionsPeer(t)
			p.send(withHeaders(reviewRequest("INVITE", "se"+itoa(i), "z9hG4bKse"+itoa(i), p.port, reviewSDP), tt.headers))
			res := p.read()
			if got := statusOfMsg(res); got != tt.status {
				t.Fatalf("status %q, want %q\n%s", got, tt.status, res)
			}
			if got := header(res, "Session-Expires"); got != tt.se {
				t.Errorf("Session-Expires %q, want %q", got, tt.se)
			}
			if got := header(res, "Require"); got != tt.require {
				t.Errorf("Require %q, want %q", got, tt.require)
			}
			if got := header(res, "Min-SE"); got != tt.minSE {
				t.Errorf("Min-SE %q, want %q", got, tt.minSE)
			}
			if tt.se != "" && !strings.Contains(header(res, "Supported"), "timer") {
				t.Errorf("200 with a session timer lacks Supported: timer\n%s", res)
			}
			if tt.armedWait == 0 { // armed before the 2xx leaves, or never
				if armed := p.timers.armed(); len(armed) != 0 {
					t.Errorf("%d timers armed, want none", len(armed))
				}
			} else if a := p.timers.waitArmed(t, nil); a.d != tt.armedWait {
				t.Errorf("armed %v, want %v", a.d, tt.armedWait)
			}
		})
	}
}

// The peer refreshes (refresher=uac): each refresh re-arms the timer; when
// no refresh comes before expiry the recorder ends the leg and sends BYE.
func TestSessionTimerExpiryEndsSession(t *testing.T) {
	p := newOptionsPeer(t)
	inv := withHeaders(reviewRequest("INVITE", "exp", "z9hG4bKexp1", p.port, reviewSDP), "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n")
	p.send(inv)
	res := p.read()
	if statusOfMsg(res) != "200 OK" {
		t.Fatalf("INVITE: %s", res)
	}
	tag := toTag(res)
	first := p.timers.waitArmed(t, nil)
	if first.d != 120*time.Second-32*time.Second {
		t.Fatalf("armed %+v", first)
	}
	// A refresh (UPDATE with Session-Expires) restarts the timer.
	p.send(withHeaders(inDialog(reviewRequest("UPDATE", "exp", "z9hG4bKexp2", p.port, ""), tag, "2 UPDATE"), "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n"))
	if res := p.read(); statusOfMsg(res) != "200 OK" || header(res, "Session-Expires") != "90;refresher=uac" {
		t.Fatalf("refresh: %s", res)
	}
	now := p.timers.waitArmed(t, first)
	if now.d != 60*time.Second {
		t.Fatalf("after the refresh: armed %+v", now)
	}
	first.f()  // the stale timer must do nothing
	go now.f() // no refresh in time: expiry
	bye := p.read()
	if !strings.HasPrefix(bye, "BYE ") || !strings.Contains(header(bye, "Reason"), "session timer expired") {
		t.Fatalf("got %q, want a BYE with the expiry reason", bye)
	}
	if out := SalvageResponse([]byte(bye), 200, "OK"); out != nil {
		_, _ = p.c.WriteToUDP(out, p.to)
	}
	p.h.mu.Lock()
	ended := p.h.ended["exp"]
	p.h.mu.Unlock()
	if !ended {
		t.Error("the recorder was not told the session ended")
	}
	if n := p.s.Dialogs(); n != 0 { // forgotten before the BYE left
		t.Fatalf("%d dialogs kept after expiry", n)
	}
}

// We refresh (refresher=uas): at half the interval an UPDATE with
// Session-Expires goes out; a 2xx re-arms, a failure ends the session.
func TestSessionTimerWeRefresh(t *testing.T) {
	p := newOptionsPeer(t)
	p.send(withHeaders(reviewRequest("INVITE", "uas", "z9hG4bKuas1", p.port, reviewSDP), "Session-Expires: 200\r\n"))
	if res := p.read(); header(res, "Session-Expires") != "200;refresher=uas" {
		t.Fatalf("INVITE: %s", res)
	}
	var prev *manualTimer
	for round, answer := range []int{200, 481} {
		armed := p.timers.waitArmed(t, prev)
		prev = armed
		if armed.d != 100*time.Second {
			t.Fatalf("round %d: armed %+v, want one timer of 100s", round, armed)
		}
		go armed.f()
		upd := p.read()
		if !strings.HasPrefix(upd, "UPDATE ") || header(upd, "Session-Expires") != "200;refresher=uas" {
			t.Fatalf("round %d: got %q, want an UPDATE refresh", round, upd)
		}
		reason := "OK"
		if answer != 200 {
			reason = "Call/Transaction Does Not Exist"
		}
		_, _ = p.c.WriteToUDP(SalvageResponse([]byte(upd), answer, reason), p.to)
	}
	bye := p.read()
	if !strings.HasPrefix(bye, "BYE ") || !strings.Contains(header(bye, "Reason"), "session refresh failed") {
		t.Fatalf("got %q, want a BYE after the failed refresh", bye)
	}
	_, _ = p.c.WriteToUDP(SalvageResponse([]byte(bye), 200, "OK"), p.to)
}

// We refresh (refresher=uas) and the peer refuses the UPDATE for a reason
// other than a timeout, 408 or 481 (it does not do UPDATE: 405, 501; or
// a glare, 491): RFC 4028 §10 ends the session only on a timeout, 408 or
// 481, so the call goes on being recorded (no BYE, the dialog stays) and
// the next refresh is tried at the next half interval.
func TestSessionTimerRefreshRefusedKeepsCall(t *testing.T) {
	for _, code := range []int{405, 501, 491, 500} {
		t.Run(itoa(code), func(t *testing.T) {
			p := newOptionsPeer(t)
			p.send(withHeaders(reviewRequest("INVITE", "keep", "z9hG4bKkeep1", p.port, reviewSDP), "Session-Expires: 200\r\n"))
			if res := p.read(); header(res, "Session-Expires") != "200;refresher=uas" {
				t.Fatalf("INVITE: %s", res)
			}
			armed := p.timers.waitArmed(t, nil)
			go armed.f()
			upd := p.read()
			if !strings.HasPrefix(upd, "UPDATE ") {
				t.Fatalf("got %q, want an UPDATE refresh", upd)
			}
			_, _ = p.c.WriteToUDP(SalvageResponse([]byte(upd), code, "Refused"), p.to)
			next := p.timers.waitArmed(t, armed)
			if next.d != 100*time.Second {
				t.Fatalf("after %d: armed %+v, want the next refresh in 100s", code, next)
			}
			if n := p.s.Dialogs(); n != 1 {
				t.Fatalf("after %d: %d dialogs, want the call kept", code, n)
			}
			_ = p.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 65535)
			if n, _, err := p.c.ReadFromUDP(buf); err == nil && strings.HasPrefix(string(buf[:n]), "BYE ") {
				t.Fatalf("after %d: BYE sent on a live call: %q", code, buf[:n])
			}
		})
	}
}
