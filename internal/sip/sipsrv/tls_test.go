package sipsrv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool/testpki"
)

// leaf issues a certificate for 127.0.0.1 named cn (server and client use).
func leaf(t *testing.T, ca *testpki.CA, cn string) tls.Certificate {
	t.Helper()
	_, _, pair := ca.Issue(t, cn)
	return pair
}

// startTLSServer starts a server with a TLS listener whose certificate
// the CA issued; mut adjusts the configuration first.
func startTLSServer(t *testing.T, ca *testpki.CA, mut func(*Config)) (*Server, *cancelHandler) {
	t.Helper()
	cert := leaf(t, ca, "recorder")
	cfg := Config{
		TLSListen: "127.0.0.1:0",
		TLS:       &tls.Config{Certificates: []tls.Certificate{cert}},
		TLSClient: &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{cert}},
	}
	if mut != nil {
		mut(&cfg)
	}
	return startTCPServer(t, cfg)
}

// tlsPeer connects to the TLS port; conf nil trusts ca without a client
// certificate.
func tlsPeer(t *testing.T, s *Server, ca *testpki.CA, conf *tls.Config) (*peer, error) {
	t.Helper()
	if conf == nil {
		conf = &tls.Config{RootCAs: ca.Pool}
	}
	c, err := tls.Dial("tcp", s.TLSAddr().String(), conf)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, transport: "TLS", tcp: c, port: c.LocalAddr().(*net.TCPAddr).Port}
	p.rd = newReader(c)
	return p, nil
}

func contactLine(msg string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), "contact:") {
			return l
		}
	}
	return ""
}

// An INVITE over TLS is answered over it with a Contact on the TLS port
// (sips: for a sips: Request-URI, else transport=tls), and the recorder's
// BYE reaches the peer over the same connection.
func TestTLSDialogContactAndBye(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	s, h := startTLSServer(t, ca, nil)
	for _, tc := range []struct {
		name, scheme, want string
	}{
		{"sip", "sip", fmt.Sprintf("<sip:openrec@127.0.0.1:%d;transport=tls>", s.TLSAddr().Port())},
		{"sips", "sips", fmt.Sprintf("<sips:openrec@127.0.0.1:%d>", s.TLSAddr().Port())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tlsPeer(t, s, ca, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := "tls-" + tc.name
			inv := hostileRequest("INVITE", "TLS", id, p.port)
			inv = strings.Replace(inv, "INVITE sip:", "INVITE "+tc.scheme+":", 1)
			p.send(inv)
			res := p.read(2 * time.Second)
			if got := status(res); got != "SIP/2.0 200 OK" {
				t.Fatalf("INVITE over TLS answered %q", got)
			}
			if c := contactLine(res); !strings.Contains(c, tc.want) {
				t.Errorf("Contact = %q, want %s", c, tc.want)
			}
			p.send(hostileRequest("ACK", "TLS", id, p.port))
			h.mu.Lock() // Invite ran before the 200 left
			invited := h.invited[id]
			h.mu.Unlock()
			if !invited {
				t.Fatal("invite not handled")
			}
			done := make(chan error, 1)
			go func() { done <- s.Hangup(context.Background(), id, "media timeout") }()
			bye := p.read(3 * time.Second)
			if !strings.HasPrefix(bye, "BYE ") || !strings.Contains(bye, "SIP/2.0/TLS") {
				t.Fatalf("got %q on the TLS connection, want the BYE (Via TLS)", bye)
			}
			if !strings.Contains(bye, "\r\nContent-Length: 0\r\n") {
				t.Errorf("BYE without Content-Length (a stream peer cannot frame it):\n%s", bye)
			}
			if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
				p.send(string(res))
			}
			if err := <-done; err != nil {
				t.Errorf("Hangup: %v", err)
			}
		})
	}
}

// When the TLS connection of the INVITE was closed (idle), the recorder's
// BYE goes over a new TLS connection to the Contact, verified with
// TLSClient's roots and carrying the recorder's certificate.
func TestTLSHangupAfterIdleCloseDialsContact(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	s, _ := startTLSServer(t, ca, func(c *Config) { c.TCPIdleTimeout = 200 * time.Millisecond })
	peerCert := leaf(t, ca, "media-server")
	contact, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{peerCert}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer contact.Close()
	cport := contact.Addr().(*net.TCPAddr).Port
	p, err := tlsPeer(t, s, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := hostileRequest("INVITE", "TLS", "tls-idle", p.port)
	inv = strings.Replace(inv, fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tls>", p.port), fmt.Sprintf("Contact: <sip:ms@127.0.0.1:%d;transport=tls>", cport), 1)
	p.send(inv)
	if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE answered %q", got)
	}
	p.send(hostileRequest("ACK", "TLS", "tls-idle", p.port))
	if !closedByServer(p, 2*time.Second) {
		t.Fatal("idle TLS connection not closed")
	}
	waitConns(t, s, "connection released", func() bool { return s.Stats().TCPOpen == 0 })
	done := make(chan error, 1)
	go func() { done <- s.Hangup(context.Background(), "tls-idle", "media timeout") }()
	type accepted struct {
		c   net.Conn
		err error
	}
	got := make(chan accepted, 1)
	go func() {
		c, err := contact.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
		}
		got <- accepted{c, err}
	}()
	var a accepted
	select {
	case a = <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("no TLS connection to the Contact for the BYE")
	}
	if a.err != nil {
		t.Fatalf("TLS connection to the Contact: %v", a.err)
	}
	defer a.c.Close()
	if cn := a.c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "recorder" {
		t.Errorf("recorder presented %q, want its own certificate", cn)
	}
	bp := &peer{t: t, tcp: a.c, rd: newReader(a.c)}
	bye := bp.read(2 * time.Second)
	if !strings.HasPrefix(bye, "BYE sip:ms@127.0.0.1") {
		t.Fatalf("got %q on the Contact connection, want the BYE", status(bye))
	}
	if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
		_, _ = a.c.Write(res)
	}
	if err := <-done; err != nil {
		t.Errorf("Hangup: %v", err)
	}
}

// With a route set, the BYE after an idle close goes over a new TLS
// connection to the route set's first hop (the proxy that Record-Routed),
// with the Route headers, not to the peer's ephemeral source port.
func TestTLSHangupAfterIdleCloseFollowsRouteSet(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	s, _ := startTLSServer(t, ca, func(c *Config) { c.TCPIdleTimeout = 200 * time.Millisecond })
	proxy, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf(t, ca, "proxy")}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	pport := proxy.Addr().(*net.TCPAddr).Port
	p, err := tlsPeer(t, s, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := hostileRequest("INVITE", "TLS", "tls-rr", p.port)
	rr := fmt.Sprintf("Record-Route: <sip:127.0.0.1:%d;transport=tls;lr>, <sip:sbc2.example;lr>\r\n", pport)
	inv = strings.Replace(inv, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\n"+rr, 1)
	p.send(inv)
	if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE answered %q", got)
	}
	p.send(hostileRequest("ACK", "TLS", "tls-rr", p.port))
	if !closedByServer(p, 2*time.Second) {
		t.Fatal("idle TLS connection not closed")
	}
	waitConns(t, s, "connection released", func() bool { return s.Stats().TCPOpen == 0 })
	done := make(chan error, 1)
	go func() { done <- s.Hangup(context.Background(), "tls-rr", "media timeout") }()
	got := make(chan net.Conn, 1)
	go func() {
		if c, err := proxy.Accept(); err == nil {
			got <- c
		}
	}()
	var c net.Conn
	select {
	case c = <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("no TLS connection to the route set's first hop")
	}
	defer c.Close()
	bp := &peer{t: t, tcp: c, rd: newReader(c)}
	bye := bp.read(2 * time.Second)
	if !strings.HasPrefix(bye, "BYE ") || !strings.Contains(bye, fmt.Sprintf("Route: <sip:127.0.0.1:%d;transport=tls;lr>", pport)) {
		t.Fatalf("got %q at the proxy, want the BYE with its Route", bye)
	}
	if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
		_, _ = c.Write(res)
	}
	if err := <-done; err != nil {
		t.Errorf("Hangup: %v", err)
	}
}

// What is not a good TLS client gets no SIP at all: plain TCP spoken to
// the TLS port, a client without the required certificate, one that never
// finishes its handshake. Each is counted and its connection closed; the
// guard's connection count comes back to zero.
func TestTLSRefusedClients(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	s, h := startTLSServer(t, ca, func(c *Config) {
		c.TLS.ClientCAs, c.TLS.ClientAuth = ca.Pool, tls.RequireAndVerifyClientCert
		c.TLSHandshakeTimeout = 300 * time.Millisecond
	})

	// Plain TCP: the INVITE never reaches SIP, nothing SIP comes back.
	c, err := net.Dial("tcp", s.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte(hostileRequest("INVITE", "TCP", "plain", c.LocalAddr().(*net.TCPAddr).Port)))
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if isTimeout(err) {
				t.Fatal("plain TCP connection to the TLS port left open")
			}
			break
		}
	}
	if strings.Contains(string(got), "SIP/2.0") {
		t.Errorf("plain TCP client got SIP: %q", got)
	}

	// No client certificate: the handshake fails (TLS 1.3 reports it on
	// the first read), no SIP is answered.
	p, err := tlsPeer(t, s, ca, nil)
	if err == nil {
		p.send(hostileRequest("INVITE", "TLS", "nocert", p.port))
		if res := p.read(2 * time.Second); strings.HasPrefix(res, "SIP/2.0") {
			t.Errorf("client without certificate answered %q", status(res))
		}
	}

	// Silent client: closed after the handshake timeout.
	silent, err := net.Dial("tcp", s.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !closedByServer(&peer{tcp: silent, rd: newReader(silent)}, 3*time.Second) {
		t.Error("client that never handshakes not closed")
	}

	waitConns(t, s, "three handshake failures counted", func() bool { return s.Stats().TLSFailed >= 3 })
	waitConns(t, s, "connections released", func() bool { return s.Stats().TCPOpen == 0 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.invited) != 0 {
		t.Errorf("refused clients reached the handler: %v", h.invited)
	}

	// A client with a certificate of the CA is served.
	cert := leaf(t, ca, "sbc")
	good, err := tlsPeer(t, s, ca, &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	good.send(hostileRequest("OPTIONS", "TLS", "good", good.port))
	if got := status(good.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS from a client with a certificate answered %q", got)
	}
}

// A TLS listener without a certificate configuration is an error at New.
func TestTLSNeedsConfig(t *testing.T) {
	_, err := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", Logger: discardLogger()}, &cancelHandler{})
	if err == nil || !strings.Contains(err.Error(), "no TLS configuration") {
		t.Fatalf("New without TLS config: %v", err)
	}
}

// The TCP guard's connection limits hold on the TLS listener: over the
// per-source limit a connection is refused before any handshake.
func TestTLSConnectionLimits(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	s, _ := startTLSServer(t, ca, func(c *Config) { c.TCPMaxConnsPerSource = 1 })
	p, err := tlsPeer(t, s, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.send(hostileRequest("OPTIONS", "TLS", "first", p.port))
	if got := status(p.read(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("first connection: OPTIONS answered %q", got)
	}
	c, err := net.Dial("tcp", s.TLSAddr().String())
	if err == nil {
		defer c.Close()
		tc := tls.Client(c, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
		_ = tc.SetDeadline(time.Now().Add(2 * time.Second))
		if err = tc.Handshake(); err == nil {
			_, err = tc.Read(make([]byte, 1))
		}
	}
	if err == nil || isTimeout(err) {
		t.Fatalf("second connection from the same address not refused: %v", err)
	}
	if st := s.Stats(); st.TCPRefused != 1 || st.TCPOpen != 1 {
		t.Errorf("stats %+v, want one refused and one open (second connection: %v)", st, err)
	}
}

func TestFirstAddress(t *testing.T) {
	for in, want := range map[string]string{
		"<sip:p1.example;lr>":                       "<sip:p1.example;lr>",
		" <sip:p1.example;lr>, <sip:p2.example;lr>": "<sip:p1.example;lr>",
		"sip:p1.example;lr, sip:p2.example":         "sip:p1.example;lr",
		`"Proxy, One" <sip:p1.example>`:             `"Proxy, One" <sip:p1.example>`,
		"":                                          "",
	} {
		if got := firstAddress(in); got != want {
			t.Errorf("firstAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFirstAddress: any header value gives a piece of itself, and a value
// without a comma gives itself (trimmed).
func FuzzFirstAddress(f *testing.F) {
	for _, s := range []string{"<sip:a;lr>, <sip:b>", `"a,\"b" <sip:c>`, "sip:x, sip:y", "<<,>>", `"`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := firstAddress(v)
		if !strings.Contains(v, got) {
			t.Fatalf("firstAddress(%q) = %q: not part of the value", v, got)
		}
		if !strings.Contains(v, ",") && got != strings.TrimSpace(v) {
			t.Fatalf("firstAddress(%q) = %q, want the whole value", v, got)
		}
	})
}
