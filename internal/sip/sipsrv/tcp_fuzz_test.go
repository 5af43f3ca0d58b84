package sipsrv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// sinkConn is the socket under a tcpConn in framing tests: it keeps what
// the guard answers itself.
type sinkConn struct {
	net.Conn
	written bytes.Buffer
}

func (c *sinkConn) Write(p []byte) (int, error) { return c.written.Write(p) }
func (c *sinkConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}
}

// FuzzTCPFraming cuts a byte stream into chunks of any size and feeds it to
// the TCP guard's framing. Whatever comes in, what the guard hands sipgo is
// a sequence of whole, valid messages that sipgo's own stream parser reads
// back one for one: no request smuggled past the validation, no stream
// that desynchronises sipgo, and no panic.
func FuzzTCPFraming(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(0))
		f.Add(append(append([]byte{}, s...), s...), uint8(7))
	}
	parser := sip.NewParser()
	parser.MaxMessageLength = 8 << 10
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		l := &tcpListener{parser: parser, log: discardLogger(), counters: &counters{}}
		sink := &sinkConn{}
		c := &tcpConn{Conn: sink, l: l, stream: parser.NewSIPStream()}
		size := int(chunk) + 1
		if chunk == 0 {
			size = len(data) + 1
		}
		var err error
		for off := 0; off < len(data) && err == nil; off += size {
			c.passed = 0
			err = c.frame(data[off:min(off+size, len(data))])
		}
		if l.counters.panics.Load() != 0 {
			t.Fatalf("framing panicked on %q", data)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("frame error %v", err)
		}
		// sipgo reads exactly the messages the guard passed on.
		st := parser.NewSIPStream()
		_, _ = st.Write(c.out)
		for st.Buffer().Len() > 0 {
			msg, _, perr := st.ParseNext()
			if perr != nil {
				if errors.Is(perr, io.ErrUnexpectedEOF) && len(bytes.Trim(st.Buffer().Bytes(), "\r\n")) == 0 {
					break // keep-alive CRLFs
				}
				t.Fatalf("sipgo cannot read what the guard passed on (%v): %q", perr, c.out)
			}
			if req, ok := msg.(*sip.Request); ok {
				if code, reason := invalidRequest(req); code != 0 {
					t.Fatalf("an invalid request passed the guard (%d %s): %q", code, reason, c.out)
				}
			}
		}
	})
}
