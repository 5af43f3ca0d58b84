package sipsrv

import (
	"bytes"
	"log/slog"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// guardConn sits between the UDP socket and sipgo. sipgo silently drops a
// datagram it cannot parse; a recorder must tell the sender why instead
// (RFC 3261 §21.4.1: 400 with a reason phrase). So each datagram is parsed
// here first: a malformed request whose Via/From/To/Call-ID/CSeq lines can be
// salvaged gets a 400 (or 513 when it is too large), junk is dropped, and
// only well-formed messages reach sipgo.
//
// Cost: INVITE-rate parsing twice, not per RTP packet (RTP never comes here).
type guardConn struct {
	net.PacketConn
	parser   *sip.Parser
	log      *slog.Logger
	counters *counters
}

func (g *guardConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := g.PacketConn.ReadFrom(p)
		if err != nil || n <= 4 {
			return n, addr, err
		}
		if m, ok := g.pass(p, n, addr); ok {
			return m, addr, nil
		}
	}
}

// pass decides whether one datagram may reach sipgo, answering or dropping
// it otherwise. A panic here (in the parser) costs the datagram only: this
// runs in sipgo's only UDP read goroutine.
//
// The datagram is p[:n]; a request sipgo could not parse only because of a
// header the recorder does not need is repaired in p (repair.go), and m is
// the length of what sipgo gets.
func (g *guardConn) pass(p []byte, n int, addr net.Addr) (m int, ok bool) {
	data := p[:n]
	defer func() {
		if r := recover(); r != nil {
			recovered(g.counters, g.log, "udp datagram", r, "source", addr.String(), "bytes", len(data))
			m, ok = 0, false
		}
	}()
	if n >= len(p) {
		g.reject(data, addr, 513, "Message Too Large")
		return 0, false
	}
	msg, perr := g.parser.ParseSIP(data)
	if perr != nil && !bytes.HasPrefix(data, []byte("SIP/2.0")) {
		if fixed, notes, rok := repairRequest(data); rok && len(fixed) < len(p) {
			if fm, err := g.parser.ParseSIP(fixed); err == nil {
				g.log.Info("sip request repaired", "source", addr.String(), "repairs", strings.Join(notes, "; "), "error", reasonOf(perr))
				n = copy(p, fixed)
				data, msg, perr = p[:n], fm, nil
			}
		}
	}
	if perr != nil {
		if bytes.HasPrefix(data, []byte("SIP/2.0")) {
			g.counters.dropped.Add(1)
			g.log.Debug("sip: dropped malformed response", "source", addr.String(), "error", perr)
			return 0, false
		}
		// A short fixed reason phrase; the parser's words go to the log.
		g.log.Info("sip request unparseable", "source", addr.String(), "error", reasonOf(perr))
		code, reason := 400, "Bad Request: malformed message"
		if perr == sip.ErrMessageTooLarge {
			code, reason = 513, "Message Too Large"
		}
		g.reject(data, addr, code, reason)
		return 0, false
	}
	req, isReq := msg.(*sip.Request)
	if !isReq {
		return n, true
	}
	code, reason := invalidRequest(req)
	if code == 0 {
		return n, true
	}
	if res := refusal(req, addr.String(), code, reason); res != nil {
		g.counters.refused.Add(1)
		g.log.Info("sip request refused", "method", req.Method.String(), "code", code, "reason", reason, "source", addr.String())
		_, _ = g.PacketConn.WriteTo(res, addr)
	} else {
		g.counters.dropped.Add(1)
		g.log.Debug("sip: dropped invalid request", "method", req.Method.String(), "reason", reason, "source", addr.String())
	}
	return 0, false
}

// reject answers a request it could not parse, when it looks like a SIP
// request and has the headers a response needs; otherwise it is junk.
func (g *guardConn) reject(data []byte, addr net.Addr, code int, reason string) {
	res := SalvageResponse(data, code, reason)
	if res == nil {
		g.counters.dropped.Add(1)
		g.log.Debug("sip: dropped junk datagram", "source", addr.String(), "bytes", len(data))
		return
	}
	g.counters.refused.Add(1)
	g.log.Info("sip request refused", "code", code, "reason", reason, "source", addr.String())
	_, _ = g.PacketConn.WriteTo(res, addr)
}

// SalvageResponse builds a response to a request that failed to parse,
// copying Via, From, To, Call-ID and CSeq lines as they are. It returns nil
// when data does not look like a request or lacks those headers.
func SalvageResponse(data []byte, code int, reason string) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\n"))
	if len(lines) < 2 {
		return nil
	}
	first := bytes.TrimSpace(lines[0])
	if !bytes.HasSuffix(first, []byte("SIP/2.0")) || bytes.Count(first, []byte(" ")) < 2 {
		return nil
	}
	want := map[string]string{"via": "v", "from": "f", "to": "t", "call-id": "i", "cseq": ""}
	var out bytes.Buffer
	out.WriteString("SIP/2.0 ")
	out.WriteString(itoa(code))
	out.WriteByte(' ')
	out.WriteString(reason)
	out.WriteString("\r\n")
	found := map[string]bool{}
	for _, l := range lines[1:] {
		l = bytes.TrimRight(l, "\r")
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		key := string(bytes.ToLower(bytes.TrimSpace(name)))
		for full, short := range want {
			if key == full || (short != "" && key == short) {
				out.Write(l)
				out.WriteString("\r\n")
				found[full] = true
			}
		}
	}
	for full := range want {
		if !found[full] {
			return nil
		}
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
	return out.Bytes()
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// reasonOf is a parser error for the log: one line, at most 80 bytes.
func reasonOf(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return string(bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, []byte(s)))
}
