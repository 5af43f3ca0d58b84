package sipsrv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func startTCPServer(t *testing.T, cfg Config) (*Server, *cancelHandler) {
	t.Helper()
	h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
	cfg.Listen, cfg.AdvertiseIP, cfg.Logger = "127.0.0.1:0", mustAddr("127.0.0.1"), discardLogger()
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

// dialFrom opens a TCP connection to s from a loopback address.
func dialFrom(t *testing.T, s *Server, from string) *peer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, transport: "TCP", tcp: c, port: c.LocalAddr().(*net.TCPAddr).Port}
	p.rd = newReader(c)
	return p
}

// refused reports whether a new connection from src is refused: reset
// during the handshake or closed at once.
func refused(t *testing.T, s *Server, src string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		return true
	}
	defer c.Close()
	return closedByServer(&peer{tcp: c, rd: newReader(c)}, 2*time.Second)
}

// closedByServer reports whether the server ends the connection within wait.
func closedByServer(p *peer, wait time.Duration) bool {
	_ = p.tcp.SetReadDeadline(time.Now().Add(wait))
	_, err := p.rd.ReadByte()
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// waitConns waits until cond holds, checking it at each change of the
// server's connection counters (5 s bound).
func waitConns(t *testing.T, s *Server, what string, cond func() bool) {
	t.Helper()
	bound := time.NewTimer(5 * time.Second)
	defer bound.Stop()
	for {
		changed := s.counters.connChange()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Idle connections are closed after the idle timeout (a flood of them
// cannot pin file descriptors for ever); one that talks stays; a good call
// works afterwards.
func TestTCPIdleConnectionsAreClosed(t *testing.T) {
	s, h := startTCPServer(t, Config{TCPIdleTimeout: 300 * time.Millisecond, TCPMaxConnsPerSource: -1})
	const n = 200
	idle := make([]*peer, n)
	for i := range idle {
		idle[i] = dialFrom(t, s, "127.0.0.1")
	}
	// Counted as accepted (on a loaded machine the first may already have
	// idled out before the last is accepted).
	waitConns(t, s, "connections counted", func() bool { return s.Stats().TCPAccepted == n })
	talker := dialFrom(t, s, "127.0.0.1")
	start := time.Now()
	for i := 0; time.Since(start) < 700*time.Millisecond; i++ {
		talker.send(hostileRequest("OPTIONS", "TCP", fmt.Sprintf("keep%d", i), talker.port))
		if got := status(talker.read(time.Second)); got != "SIP/2.0 200 OK" {
			t.Fatalf("OPTIONS on a busy connection: %q", got)
		}
		time.Sleep(100 * time.Millisecond) // models a peer talking every 100 ms across the idle timeout
	}
	for i, p := range idle {
		if !closedByServer(p, 2*time.Second) {
			t.Fatalf("idle connection %d still open after %v", i, time.Since(start))
		}
	}
	waitConns(t, s, "idle connections released", func() bool { return s.Stats().TCPOpen == 1 })
	if st := s.Stats(); st.TCPIdle < n {
		t.Errorf("idle closes counted %d, want %d", st.TCPIdle, n)
	}
	goodCall(t, talker, h, "after-idle")
}

// Over the per-source limit and over the total limit new connections are
// refused at once; closing one makes room again; a good call works.
func TestTCPConnectionLimits(t *testing.T) {
	s, h := startTCPServer(t, Config{TCPMaxConns: 6, TCPMaxConnsPerSource: 3})
	var open []*peer
	for _, src := range []string{"127.0.0.1", "127.0.0.2"} {
		for i := 0; i < 3; i++ {
			open = append(open, dialFrom(t, s, src))
		}
		if !refused(t, s, src) {
			t.Errorf("a 4th connection from %s was accepted (limit 3 per source)", src)
		}
	}
	if !refused(t, s, "127.0.0.3") {
		t.Errorf("a 7th connection was accepted (limit 6)")
	}
	for _, p := range open {
		if closedByServer(p, 50*time.Millisecond) {
			t.Fatalf("an admitted connection was closed")
		}
	}
	if st := s.Stats(); st.TCPRefused != 3 || st.TCPOpen != 6 {
		t.Errorf("stats %+v, want 3 refused and 6 open", st)
	}
	open[0].tcp.Close()
	waitConns(t, s, "a place freed", func() bool { return s.Stats().TCPOpen == 5 })
	p := dialFrom(t, s, "127.0.0.3")
	goodCall(t, p, h, "within-limits")
}

// A message over the size limit is answered 513 and its connection closed
// before the body is buffered; a header line that never ends is cut off at
// the same bound; a message that cannot be parsed gets a 400 (not only a
// closed connection) over TCP too.
func TestTCPBoundedAndBrokenMessages(t *testing.T) {
	s, h := startTCPServer(t, Config{MaxBody: 4 << 10})
	big := dialFrom(t, s, "127.0.0.1")
	inv := hostileRequest("INVITE", "TCP", "big", big.port)
	head, _, _ := strings.Cut(inv, "Content-Length:")
	big.send(head + "Content-Length: 10000000\r\n\r\n")
	if got := status(big.read(2 * time.Second)); got != "SIP/2.0 513 Message Too Large" {
		t.Errorf("oversized INVITE answered %q", got)
	}
	if !closedByServer(big, 2*time.Second) {
		t.Errorf("connection kept after an oversized message")
	}

	endless := dialFrom(t, s, "127.0.0.1")
	endless.send("INVITE sip:x@127.0.0.1 SIP/2.0\r\nSubject: ")
	chunk := strings.Repeat("a", 1024)
	sent := 0
	for ; sent < 1<<20; sent += len(chunk) {
		if _, err := endless.tcp.Write([]byte(chunk)); err != nil {
			break
		}
	}
	if !closedByServer(endless, 2*time.Second) {
		t.Errorf("an endless header line (%d bytes sent) did not close the connection", sent)
	}

	broken := dialFrom(t, s, "127.0.0.1")
	broken.send(strings.Replace(hostileRequest("OPTIONS", "TCP", "broken", broken.port), "CSeq: 1 OPTIONS", "CSeq: x OPTIONS", 1))
	if got := status(broken.read(2 * time.Second)); !strings.HasPrefix(got, "SIP/2.0 400 ") {
		t.Errorf("unparseable OPTIONS over TCP answered %q, want 400", got)
	}
	if st := s.Stats(); st.TCPTooLarge < 2 {
		t.Errorf("too-large closes counted %d, want 2", st.TCPTooLarge)
	}
	goodCall(t, dialFrom(t, s, "127.0.0.1"), h, "after-broken")
}

// RFC 5626 §3.5.1 keep-alive: a CRLFCRLF ping gets a CRLF pong through
// the guard.
func TestTCPKeepAlivePing(t *testing.T) {
	s, _ := startTCPServer(t, Config{})
	p := dialFrom(t, s, "127.0.0.1")
	p.send("\r\n\r\n")
	_ = p.tcp.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 2)
	if _, err := p.rd.Read(b); err != nil || string(b) != "\r\n" {
		t.Errorf("pong = %q, %v", b, err)
	}
}

// When the TCP connection an INVITE came on was closed (idle), the BYE
// the recorder sends later goes over a new connection to the Contact.
func TestHangupAfterIdleCloseUsesContact(t *testing.T) {
	s, _ := startTCPServer(t, Config{TCPIdleTimeout: 200 * time.Millisecond})
	contact, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer contact.Close()
	cport := contact.Addr().(*net.TCPAddr).Port
	p := dialFrom(t, s, "127.0.0.1")
	inv := hostileRequest("INVITE", "TCP", "idle-bye", p.port)
	inv = strings.Replace(inv, fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tcp>", p.port), fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tcp>", cport), 1)
	p.send(inv)
	if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE answered %q", got)
	}
	p.send(hostileRequest("ACK", "TCP", "idle-bye", p.port))
	if !closedByServer(p, 2*time.Second) {
		t.Fatal("idle connection not closed")
	}
	waitConns(t, s, "connection released", func() bool { return s.Stats().TCPOpen == 0 })
	done := make(chan error, 1)
	go func() { done <- s.Hangup(context.Background(), "idle-bye", "media timeout") }()
	_ = contact.(*net.TCPListener).SetDeadline(time.Now().Add(3 * time.Second))
	c, err := contact.Accept()
	if err != nil {
		t.Fatalf("no connection to the Contact for the BYE: %v", err)
	}
	defer c.Close()
	peer := &peer{t: t, tcp: c, rd: newReader(c)}
	bye := peer.read(2 * time.Second)
	if !strings.HasPrefix(bye, "BYE ") {
		t.Fatalf("got %q on the Contact connection, want the BYE", status(bye))
	}
	if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
		_, _ = c.Write(res)
	}
	if err := <-done; err != nil {
		t.Errorf("Hangup: %v", err)
	}
}

// We refresh a session (refresher=uas) that came over TCP: the UPDATE
// carries Content-Length (without it a stream peer cannot frame it), and
// once the INVITE's connection was closed (idle), it goes over a new
// connection to the Contact like the BYE, instead of failing and ending a
// live call.
func TestSessionRefreshOverTCP(t *testing.T) {
	for _, idleClose := range []bool{false, true} {
		name := "same connection"
		if idleClose {
			name = "after idle close"
		}
		t.Run(name, func(t *testing.T) {
			mt := &manualTimers{}
			cfg := Config{AfterFunc: mt.AfterFunc}
			if idleClose {
				cfg.TCPIdleTimeout = 200 * time.Millisecond
			}
			s, _ := startTCPServer(t, cfg)
			contact, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer contact.Close()
			cport := contact.Addr().(*net.TCPAddr).Port
			p := dialFrom(t, s, "127.0.0.1")
			id := "refresh-tcp-" + strings.ReplaceAll(name, " ", "-")
			inv := hostileRequest("INVITE", "TCP", id, p.port)
			inv = strings.Replace(inv, fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tcp>", p.port), fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tcp>", cport), 1)
			inv = strings.Replace(inv, "Max-Forwards: 70", "Max-Forwards: 70\r\nSession-Expires: 200", 1)
			p.send(inv)
			if res := p.read(2 * time.Second); status(res) != "SIP/2.0 200 OK" || !strings.Contains(res, "refresher=uas") {
				t.Fatalf("INVITE answered %q", res)
			}
			p.send(hostileRequest("ACK", "TCP", id, p.port))
			from := p
			if idleClose {
				if !closedByServer(p, 2*time.Second) {
					t.Fatal("idle connection not closed")
				}
				waitConns(t, s, "connection released", func() bool { return s.Stats().TCPOpen == 0 })
			}
			armed := mt.waitArmed(t, nil)
			go armed.f()
			if idleClose {
				_ = contact.(*net.TCPListener).SetDeadline(time.Now().Add(3 * time.Second))
				c, err := contact.Accept()
				if err != nil {
					t.Fatalf("no connection to the Contact for the UPDATE: %v", err)
				}
				defer c.Close()
				from = &peer{t: t, tcp: c, rd: newReader(c)}
			}
			upd := from.read(3 * time.Second)
			if !strings.HasPrefix(upd, "UPDATE ") {
				t.Fatalf("got %q, want the UPDATE refresh", status(upd))
			}
			if !strings.Contains(strings.ToLower(upd), "content-length: 0") {
				t.Fatalf("UPDATE without Content-Length:\n%s", upd)
			}
			if res := SalvageResponse([]byte(upd), 200, "OK"); res != nil {
				_, _ = from.tcp.Write(res)
			}
			next := mt.waitArmed(t, armed)
			if next.d != 100*time.Second || s.Dialogs() != 1 {
				t.Fatalf("after the refresh: armed %+v, %d dialogs; want the next refresh and the call kept", next, s.Dialogs())
			}
		})
	}
}
