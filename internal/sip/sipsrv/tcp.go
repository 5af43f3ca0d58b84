package sipsrv

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SIP over TCP is guarded the way guard.go guards UDP, one layer below
// sipgo (which owns the TCP transport and has no hooks for this):
//
//   - tcpListener counts connections, in total and per source address, and
//     refuses (accept + reset) those over the limits; a temporary accept
//     error (EMFILE) is retried with a back-off instead of ending sipgo's
//     accept loop for good.
//   - tcpConn frames the byte stream into messages with sipgo's own stream
//     parser, so its boundaries are the ones sipgo will see, and passes on
//     only well-formed messages: a request missing a mandatory header gets
//     its 400 here (validate.go), an unparseable one a 400 and the
//     connection closes (no boundary to resynchronise on), a message over
//     the size limit a 513 and the connection closes. A connection that
//     carries nothing in either direction for the idle timeout is closed.
//
// sipgo then reads from tcpConn as from the socket.

// TCP limits when the Config leaves them zero.
const (
	DefaultTCPIdleTimeout       = 2 * time.Minute
	DefaultTCPMaxConns          = 2048
	DefaultTCPMaxConnsPerSource = 128
)

type tcpListener struct {
	net.Listener
	parser              *sip.Parser
	log                 *slog.Logger
	counters            *counters
	idle                time.Duration // <= 0: never
	maxConns, maxPerSrc int
	transport           string        // "TCP" or "TLS" (tls.go), for logs
	handshake           time.Duration // TLS: handshake timeout
	done                chan struct{}
	closeOnce           sync.Once

	mu   sync.Mutex
	open int
	per  map[netip.Addr]int
}

func newTCPListener(l net.Listener, cfg Config, parser *sip.Parser, c *counters) *tcpListener {
	return &tcpListener{
		Listener: l, parser: parser, log: cfg.Logger, counters: c,
		idle: cfg.TCPIdleTimeout, maxConns: cfg.TCPMaxConns, maxPerSrc: cfg.TCPMaxConnsPerSource,
		transport: "TCP", done: make(chan struct{}), per: map[netip.Addr]int{},
	}
}

// Close stops accepting. It is idempotent.
func (l *tcpListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// Accept returns the next connection within the limits.
func (l *tcpListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// Out of file descriptors or a connection reset before accept:
			// wait and go on, sipgo would stop serving TCP for good.
			l.log.Warn("sip tcp accept failed, retrying", "transport", l.transport, "error", err, "retry_in", backoff)
			select {
			case <-l.done:
				return nil, net.ErrClosed
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		src := remoteAddr(c)
		if reason := l.admit(src); reason != "" {
			l.counters.tcpRefused.Add(1)
			l.counters.connChanged()
			l.log.Warn("sip tcp connection refused", "transport", l.transport, "source", c.RemoteAddr().String(), "reason", reason)
			raw := c
			if tc, ok := c.(*tls.Conn); ok {
				raw = tc.NetConn()
			}
			if tc, ok := raw.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // reset: no TIME_WAIT kept for a refused peer
			}
			_ = c.Close()
			continue
		}
		l.counters.tcpAccepted.Add(1)
		l.counters.tcpOpen.Add(1)
		l.counters.connChanged()
		tc := &tcpConn{Conn: c, l: l, src: src, stream: l.parser.NewSIPStream(), buf: make([]byte, 32<<10)}
		tc.touch()
		return tc, nil
	}
}

// admit counts a new connection from src, or says why it is refused.
func (l *tcpListener) admit(src netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxConns > 0 && l.open >= l.maxConns {
		return "too many connections"
	}
	if l.maxPerSrc > 0 && l.per[src] >= l.maxPerSrc {
		return "too many connections from this address"
	}
	l.open++
	l.per[src]++
	return ""
}

func (l *tcpListener) release(src netip.Addr) {
	l.mu.Lock()
	l.open--
	if l.per[src]--; l.per[src] <= 0 {
		delete(l.per, src)
	}
	l.mu.Unlock()
	l.counters.tcpOpen.Add(-1)
	l.counters.connChanged()
}

func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// tcpConn is one accepted connection as sipgo sees it.
type tcpConn struct {
	net.Conn
	l      *tcpListener
	src    netip.Addr
	stream *sip.ParserStream
	buf    []byte
	raw    []byte // bytes given to stream and not yet part of a whole message
	out    []byte // whole, valid messages sipgo has not read yet
	err    error  // ends the connection once out is read
	passed int    // messages passed on in the current read
	mended bool   // the message at the head of raw is already a repaired one
	held   error  // the parse error of a broken message at the head of raw that waits for its end to be repaired
	scan   int    // how far raw was searched for the held message's header end
	need   int    // the held message's whole size, once its header has arrived (0: not known)
	linger int    // messages passed on just before err: their answers go out first
	shaken bool   // TLS handshake done (tls.go)
	writes atomic.Int64
	last   atomic.Int64
	closed atomic.Bool
}

// errClose ends the connection after an answer was sent or a limit hit;
// sipgo sees it as the peer closing.
var errClose = io.EOF

func (c *tcpConn) touch() { c.last.Store(time.Now().UnixNano()) }

// Read hands sipgo whole, valid messages (and keep-alive CRLFs).
func (c *tcpConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			c.awaitAnswers()
			return 0, c.err
		}
		if err := c.fill(); err != nil {
			c.err = err // messages framed before the error are read first
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	return n, nil
}

// Write counts as activity for the idle timeout.
func (c *tcpConn) Write(p []byte) (int, error) {
	c.touch()
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// awaitAnswers gives the requests passed on just before a framing error a
// moment to be answered before the connection closes (at most a second,
// spent in this connection's own read goroutine).
func (c *tcpConn) awaitAnswers() {
	if c.linger == 0 {
		return
	}
	want := c.writes.Load() + int64(c.linger)
	c.linger = 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		quiet := time.Since(time.Unix(0, c.last.Load())) > 50*time.Millisecond
		if c.writes.Load() >= want && quiet {
			return
		}
	}
}

// Close releases the connection's place in the limits, once.
func (c *tcpConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c.src)
	}
	return c.Conn.Close()
}

// fill reads once from the socket and frames what came.
func (c *tcpConn) fill() error {
	if err := c.handshake(); err != nil {
		return err
	}
	if c.l.idle > 0 {
		for {
			deadline := time.Unix(0, c.last.Load()).Add(c.l.idle)
			if time.Now().Before(deadline) {
				_ = c.Conn.SetReadDeadline(deadline)
				break
			}
			c.l.counters.tcpIdle.Add(1)
			c.l.log.Debug("sip tcp connection idle: closing", "source", c.RemoteAddr().String(), "idle", c.l.idle)
			return errClose
		}
	}
	n, err := c.Conn.Read(c.buf)
	if n > 0 {
		c.touch()
		c.passed = 0
		if ferr := c.frame(c.buf[:n]); ferr != nil {
			c.linger = c.passed
			return ferr
		}
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil // the idle check above decides (a write may have kept it alive)
		}
		return err
	}
	return nil
}

// frame feeds data to the stream parser and moves every whole message to
// out or answers it. A panic costs this connection, not the process.
func (c *tcpConn) frame(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			recovered(c.l.counters, c.l.log, "tcp stream", r, "source", c.RemoteAddr().String())
			err = errClose
		}
	}()
	if len(c.raw) == 0 && isKeepAlive(data) {
		// RFC 5626 §3.5.1: sipgo answers a double-CRLF ping with a CRLF
		// pong; any other run of CRs and LFs between messages needs no
		// answer and is not passed on (it is not a message either).
		if string(data) == "\r\n\r\n" {
			c.out = append(c.out, data...)
		}
		return nil
	}
	c.raw = append(c.raw, data...)
	if c.held != nil {
		// The stream parser already refused the message at the head of raw;
		// only its end is awaited, without parsing it again.
		switch c.repair(c.held) {
		case needMore:
			return nil
		case notRepaired:
			return c.refuseBroken(c.held)
		}
		c.held = nil
	} else {
		_, _ = c.stream.Write(data)
	}
	for c.stream.Buffer().Len() > 0 {
		msg, n, perr := c.stream.ParseNext()
		switch {
		case perr == nil:
			c.mended = false
			whole := c.raw[:n]
			c.raw = c.raw[n:]
			c.accept(msg, whole)
			if c.err != nil {
				return c.err
			}
		case errors.Is(perr, io.ErrUnexpectedEOF):
			return nil
		case errors.Is(perr, sip.ErrMessageTooLarge):
			c.l.counters.tcpLarge.Add(1)
			c.answerBroken(513, "Message Too Large", perr)
			return errClose
		default:
			switch c.repair(perr) {
			case repaired:
				continue
			case needMore:
				return nil
			}
			if c.held != nil {
				perr = c.held // too large while waiting
			}
			return c.refuseBroken(perr)
		}
	}
	c.raw = c.raw[:0]
	return nil
}

// refuseBroken answers a message that can neither be parsed nor repaired
// and ends the connection: there is no boundary to resynchronise on.
func (c *tcpConn) refuseBroken(perr error) error {
	c.held, c.scan, c.need = nil, 0, 0
	if errors.Is(perr, sip.ErrMessageTooLarge) {
		c.l.counters.tcpLarge.Add(1)
		c.answerBroken(513, "Message Too Large", perr)
		return errClose
	}
	reason := "Bad Request: malformed message"
	if errors.Is(perr, sip.ErrParseReadBodyIncomplete) {
		reason = "Missing Content-Length header"
	}
	c.answerBroken(400, reason, perr)
	return errClose
}

// accept passes a whole message on, or answers an invalid request itself.
func (c *tcpConn) accept(msg sip.Message, whole []byte) {
	req, ok := msg.(*sip.Request)
	if !ok {
		c.out = append(c.out, whole...)
		return
	}
	code, reason := invalidRequest(req)
	if code == 0 {
		c.out = append(c.out, whole...)
		c.passed++
		return
	}
	if reason == "Multiple Content-Length headers" {
		c.err = errClose // the framing itself is in doubt
	}
	source := c.RemoteAddr().String()
	if res := refusal(req, source, code, reason); res != nil {
		c.l.counters.refused.Add(1)
		c.l.log.Info("sip request refused", "method", req.Method.String(), "code", code, "reason", reason, "source", source, "transport", c.l.transport)
		_, _ = c.Write(res)
		return
	}
	c.l.counters.dropped.Add(1)
	c.l.log.Debug("sip: dropped invalid request", "method", req.Method.String(), "reason", reason, "source", source, "transport", c.l.transport)
}

// answerBroken answers a message the stream cannot frame, when its headers
// allow a response, before the connection closes.
func (c *tcpConn) answerBroken(code int, reason string, err error) {
	source := c.RemoteAddr().String()
	c.l.log.Info("sip tcp message refused: closing connection", "code", code, "reason", reason, "source", source, "error", err)
	if res := SalvageResponse(c.raw, code, reason); res != nil {
		c.l.counters.refused.Add(1)
		_, _ = c.Write(res)
		return
	}
	c.l.counters.dropped.Add(1)
}

// firstAddress is the first name-addr of a header value that may list
// several ("<sip:a;lr>, <sip:b;lr>"): up to the first comma outside
// quotes and angle brackets.
func firstAddress(v string) string {
	quoted, angle := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			return strings.TrimSpace(v[:i])
		}
	}
	return strings.TrimSpace(v)
}

func isKeepAlive(data []byte) bool {
	if len(data) > 4 {
		return false
	}
	for _, b := range data {
		if b != '\r' && b != '\n' {
			return false
		}
	}
	return true
}

// byeDestination is where a BYE in the dialog of inv goes: back to the
// INVITE's source (the same TCP or TLS connection, or the UDP address),
// unless it came over TCP or TLS and that connection is gone (closed idle,
// or by the peer): then a new connection to the first hop of the route
// set, or without one to the remote target (Contact), carries the BYE,
// since the source's port was the peer's ephemeral one.
func (s *Server) byeDestination(inv *sip.Request, target sip.Uri) string {
	network := strings.ToLower(inv.Transport())
	if network != "tcp" && network != "tls" {
		return inv.Source()
	}
	if c, err := s.ua.TransportLayer().GetConnection(network, inv.Source()); err == nil && c != nil {
		return inv.Source()
	}
	if rr := inv.GetHeaders("Record-Route"); len(rr) > 0 {
		// The route set decides: a new connection goes to its first hop
		// (the proxy nearest to us, RFC 3261 §12.1.1), not to the peer's
		// ephemeral source port.
		var u sip.Uri
		if _, err := sip.ParseAddressValue(firstAddress(rr[0].Value()), &u, nil); err != nil || u.Host == "" {
			return inv.Source()
		}
		target = u
	}
	port := target.Port
	if port == 0 {
		port = sip.DefaultPort(network)
	}
	return net.JoinHostPort(strings.Trim(target.Host, "[]"), strconv.Itoa(port))
}

// Outcomes of tcpConn.repair.
const (
	notRepaired = iota
	repaired
	needMore
)

// repair tries to mend the message at the head of c.raw that the stream
// parser refused (repair.go: a broken Route, Record-Route or Contact, which
// a recorder does not need). The message is framed by its Content-Length.
// The parser refuses a header line as soon as the line has arrived, so the
// rest of the header and the body may still be on their way: then the
// message is held (c.held) and frame only looks for its end as bytes come,
// without parsing it again, as long as what arrived so far is repairable
// and within the size limit. A repaired message replaces the broken one
// and the stream parser starts again on it.
func (c *tcpConn) repair(perr error) int {
	// Keep-alive CRLFs before the message (the stream parser skips them
	// too); raw is restreamed when repaired, and the stream ends when not.
	c.raw = bytes.TrimLeft(c.raw, "\r\n")
	if c.mended || bytes.HasPrefix(c.raw, []byte("SIP/2.0")) {
		return notRepaired
	}
	if c.held != nil && c.need > len(c.raw) {
		return needMore // the body is still on its way
	}
	limit := c.l.parser.MaxMessageLength
	from := max(0, c.scan-3)
	end := bytes.Index(c.raw[from:], []byte("\r\n\r\n"))
	if end < 0 {
		c.scan = len(c.raw)
		if len(c.raw) > limit {
			c.held = sip.ErrMessageTooLarge
			return notRepaired
		}
		if c.held == nil {
			// First refusal with the header still incomplete: wait only if
			// the lines so far are repairable.
			last := bytes.LastIndex(c.raw, []byte("\r\n"))
			if last < 0 || !repairable(c.l.parser, append(c.raw[:last+2:last+2], "Content-Length: 0\r\n\r\n"...)) {
				return notRepaired
			}
		}
		c.held = perr
		return needMore
	}
	end += from
	c.scan = end
	n, ok := contentLength(c.raw[:end])
	if !ok {
		return notRepaired
	}
	if n > limit {
		c.held = sip.ErrMessageTooLarge
		return notRepaired
	}
	size := end + 4 + n
	if size > len(c.raw) {
		c.held, c.need = perr, size
		return needMore
	}
	c.scan, c.need = 0, 0
	fixed, notes, ok := repairRequest(c.raw[:size])
	if !ok {
		return notRepaired
	}
	if _, err := c.l.parser.ParseSIP(fixed); err != nil {
		return notRepaired
	}
	c.l.log.Info("sip request repaired", "transport", c.l.transport, "source", c.RemoteAddr().String(),
		"repairs", strings.Join(notes, "; "), "error", reasonOf(perr))
	c.restream(append(fixed, c.raw[size:]...))
	c.mended = true
	return repaired
}

// repairable reports whether a message head repairs into one sipgo parses.
func repairable(p *sip.Parser, head []byte) bool {
	fixed, _, ok := repairRequest(head)
	if !ok {
		return false
	}
	_, err := p.ParseSIP(fixed)
	return err == nil
}

// restream makes data the whole of what the stream parser holds.
func (c *tcpConn) restream(data []byte) {
	c.raw = append(c.raw[:0:0], data...)
	c.stream = c.l.parser.NewSIPStream()
	_, _ = c.stream.Write(c.raw)
}

// contentLength reads Content-Length (or l) from a message head.
func contentLength(head []byte) (int, bool) {
	for _, line := range strings.Split(string(head), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "content-length" || k == "l" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}
