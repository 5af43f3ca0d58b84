package sipsrv

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// hostileRequest is a complete request from a peer at port; drop names the
// mandatory headers (RFC 3261 §8.1.1) to leave out.
func hostileRequest(method, transport, callID string, port int, drop ...string) string {
	body := ""
	if method == "INVITE" {
		body = reviewSDP
	}
	headers := []struct{ name, line string }{
		{"Via", fmt.Sprintf("Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK%s-%s;rport", transport, port, callID, strings.ToLower(method))},
		{"From", "From: <sip:ms@127.0.0.1>;tag=ms1"},
		{"To", fmt.Sprintf("To: <sip:record=%s@127.0.0.1>", callID)},
		{"Call-ID", "Call-ID: " + callID},
		{"CSeq", "CSeq: 1 " + method},
		{"Max-Forwards", "Max-Forwards: 70"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:record=%s@127.0.0.1 SIP/2.0\r\n", method, callID)
	for _, h := range headers {
		skip := false
		for _, d := range drop {
			skip = skip || d == h.name
		}
		if !skip {
			b.WriteString(h.line + "\r\n")
		}
	}
	fmt.Fprintf(&b, "Contact: <sip:ms@127.0.0.1:%d;transport=%s>\r\n", port, strings.ToLower(transport))
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// peer is one side of a SIP conversation with the server under test, over
// UDP or TCP on loopback.
type peer struct {
	t         *testing.T
	transport string
	udp       *net.UDPConn
	to        *net.UDPAddr
	tcp       net.Conn
	rd        *bufio.Reader
	port      int
}

func newPeer(t *testing.T, s *Server, transport string) *peer {
	t.Helper()
	p := &peer{t: t, transport: transport}
	if transport == "UDP" {
		p.udp, p.port = udpPeer(t)
		p.to = net.UDPAddrFromAddrPort(s.Addr())
		return p
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p.tcp, p.rd, p.port = c, newReader(c), c.LocalAddr().(*net.TCPAddr).Port
	return p
}

func (p *peer) send(msg string) {
	p.t.Helper()
	var err error
	if p.udp != nil {
		_, err = p.udp.WriteToUDP([]byte(msg), p.to)
	} else {
		_, err = p.tcp.Write([]byte(msg))
	}
	if err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// read returns the next message within wait, or "" on silence. A TCP
// connection the server closed reads as "closed".
func (p *peer) read(wait time.Duration) string {
	p.t.Helper()
	if p.udp != nil {
		buf := make([]byte, 65535)
		_ = p.udp.SetReadDeadline(time.Now().Add(wait))
		n, _, err := p.udp.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	_ = p.tcp.SetReadDeadline(time.Now().Add(wait))
	var b strings.Builder
	length := 0
	for {
		line, err := p.rd.ReadString('\n')
		if err != nil {
			if b.Len() == 0 && (err == io.EOF || strings.Contains(err.Error(), "reset")) {
				return "closed"
			}
			return b.String()
		}
		b.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			fmt.Sscanf(strings.TrimSpace(line[len("content-length:"):]), "%d", &length)
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

// status is the status line of a response ("" for silence).
func status(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
