package sipsrv

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// repairListener gives TCP what guardConn gives UDP for headers a recorder
// does not need (repair.go): each accepted connection is read message by
// message (headers up to the empty line, then Content-Length bytes of
// body), and a request sipgo would not parse only because of a broken
// Route, Record-Route or Contact is handed on repaired. Everything else
// passes through unchanged; a stream that cannot be framed (no
// Content-Length, a head over the size limit) is passed through raw from
// there on, as before.
type repairListener struct {
	net.Listener
	parser *sip.Parser
	max    int
	log    *slog.Logger
}

func (l *repairListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &repairConn{Conn: c, r: newReader(c), l: l}, nil
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }

type repairConn struct {
	net.Conn
	r       *bufio.Reader
	l       *repairListener
	pending []byte
	raw     bool // framing gave up: pass bytes through
}

func (c *repairConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		if c.raw {
			return c.r.Read(p)
		}
		msg, err := c.next()
		if len(msg) == 0 && err != nil {
			return 0, err
		}
		c.pending = msg
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// next reads one message (or keep-alive CRLFs) and repairs it if needed.
func (c *repairConn) next() ([]byte, error) {
	var head bytes.Buffer
	for {
		line, err := c.r.ReadSlice('\n')
		head.Write(line)
		if err != nil {
			if err == bufio.ErrBufferFull {
				continue
			}
			return head.Bytes(), err
		}
		if head.Len() > c.l.max {
			c.raw = true
			return head.Bytes(), nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			if head.Len() == len(line) { // CRLF keep-alive between messages (RFC 5626)
				return head.Bytes(), nil
			}
			break
		}
	}
	n, ok := contentLength(head.Bytes())
	if !ok || n > c.l.max {
		c.raw = true
		return head.Bytes(), nil
	}
	msg := make([]byte, head.Len()+n)
	copy(msg, head.Bytes())
	if _, err := readFull(c.r, msg[head.Len():]); err != nil {
		return msg, err
	}
	if bytes.HasPrefix(msg, []byte("SIP/2.0")) {
		return msg, nil
	}
	if _, perr := c.l.parser.ParseSIP(msg); perr != nil {
		if fixed, notes, ok := repairRequest(msg); ok {
			if _, err := c.l.parser.ParseSIP(fixed); err == nil {
				c.l.log.Info("sip request repaired", "transport", "tcp", "source", c.RemoteAddr().String(),
					"repairs", strings.Join(notes, "; "), "error", reasonOf(perr))
				return fixed, nil
			}
		}
	}
	return msg, nil
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

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
