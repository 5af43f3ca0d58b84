package sipsrv

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// frameChunks feeds chunks to a tcpConn's framing, as successive socket
// reads, and returns how many messages sipgo reads from what the guard
// passed on, what the guard answered itself, and the framing's error.
func frameChunks(chunks []string, maxLen int) (msgs int, answered string, err error) {
	parser := sip.NewParser()
	parser.MaxMessageLength = maxLen
	l := &tcpListener{parser: parser, log: discardLogger(), counters: &counters{}}
	sink := &sinkConn{}
	c := &tcpConn{Conn: sink, l: l, stream: parser.NewSIPStream()}
	for _, ch := range chunks {
		if ch == "" {
			continue // a socket read never returns nothing without an error
		}
		c.passed = 0
		if err = c.frame([]byte(ch)); err != nil {
			break
		}
	}
	st := parser.NewSIPStream()
	_, _ = st.Write(c.out)
	for st.Buffer().Len() > 0 {
		if _, _, perr := st.ParseNext(); perr != nil {
			break
		}
		msgs++
	}
	return msgs, sink.written.String(), err
}

// clFirst moves a message's Content-Length to the top of its header.
func clFirst(msg string) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	cl := lines[len(lines)-1]
	lines = append([]string{lines[0], cl}, lines[1:len(lines)-1]...)
	return strings.Join(lines, "\r\n") + "\r\n\r\n" + body
}

func brokenRoute(callID string) string {
	return strings.Replace(hostileRequest("INVITE", "TCP", callID, 5070), "Max-Forwards: 70",
		"Route: <sip:sbc.example:remote_port;lr>\r\nMax-Forwards: 70", 1)
}

// A request repaired inside the TCP framing (repair.go) is repaired however
// the stream is cut into reads: the parser refuses a broken header line as
// soon as the line has arrived, while the rest of the header and the body
// may still be on their way (small TCP segments, TLS records). Every cut
// point of each stream, and the stream byte by byte, gives the same
// messages; keep-alive CRLFs before a broken message do not stop the
// repair; what cannot be repaired is still refused at once.
func TestTCPRepairAtEveryCut(t *testing.T) {
	options := func(id string) string { return hostileRequest("OPTIONS", "TCP", id, 5070) }
	cases := []struct {
		name   string
		stream string
		want   int    // messages passed on to sipgo
		answer string // status line the guard answers itself
	}{
		{"broken route then good", brokenRoute("r1") + options("o1"), 2, ""},
		{"good broken good", options("o1") + brokenRoute("r1") + options("o2"), 3, ""},
		{"broken after keep-alive", brokenRoute("r1") + "\r\n\r\n" + brokenRoute("r2"), 2, ""},
		{"unterminated contact", strings.Replace(hostileRequest("INVITE", "TCP", "c1", 5070),
			"Contact: <sip:ms@127.0.0.1:5070;transport=tcp>", "Contact: <sip:ms@127.0.0.1:5070;transport=tcp", 1) + options("o1"), 2, ""},
		{"content-length before the broken route", clFirst(brokenRoute("r3")) + options("o1"), 2, ""},
		{"unrepairable cseq", strings.Replace(options("x1"), "CSeq: 1", "CSeq: x", 1) + options("o1"), 0, "SIP/2.0 400 Bad Request: malformed message"},
		{"broken route and cseq", strings.Replace(brokenRoute("x2"), "CSeq: 1", "CSeq: x", 1) + options("o1"), 0, "SIP/2.0 400 Bad Request: malformed message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, chunks []string) {
				t.Helper()
				n, answered, _ := frameChunks(chunks, 64<<10)
				if n != tc.want || status(answered) != tc.answer {
					t.Fatalf("%s: %d messages passed on, answered %q; want %d and %q", how, n, status(answered), tc.want, tc.answer)
				}
			}
			s := tc.stream
			for i := 1; i < len(s); i++ {
				check("cut at "+itoa(i), []string{s[:i], s[i:]})
			}
			bytewise := make([]string, len(s))
			for i := range s {
				bytewise[i] = s[i : i+1]
			}
			check("byte by byte", bytewise)
		})
	}
}

// A broken message held for its end is bounded: a header that never ends,
// or a Content-Length over the limit, gets 513 and the connection ends.
func TestTCPRepairHeldIsBounded(t *testing.T) {
	head := strings.SplitAfter(brokenRoute("big"), "Max-Forwards: 70\r\n")[0]
	endless := []string{head}
	for range 200 {
		endless = append(endless, "X-Filler: "+strings.Repeat("a", 80)+"\r\n")
	}
	huge := strings.Replace(brokenRoute("big2"), "Content-Length: ", "Content-Length: 9", 1)
	for name, chunks := range map[string][]string{"endless header": endless, "huge body": {huge}} {
		n, answered, err := frameChunks(chunks, 8<<10)
		if n != 0 || status(answered) != "SIP/2.0 513 Message Too Large" || err == nil {
			t.Errorf("%s: %d messages, answered %q, err %v; want 513 and the connection closed", name, n, status(answered), err)
		}
	}
}

// Over a real connection: an INVITE with a broken Route, followed by an
// OPTIONS, written one byte per segment, is answered 200 and 200.
func TestTCPRepairByteBySegment(t *testing.T) {
	p := newOptionsPeer(t)
	conn, err := net.Dial("tcp", p.s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetNoDelay(true)
	local := conn.LocalAddr().(*net.TCPAddr).Port
	stream := brokenRoute("seg1") + hostileRequest("OPTIONS", "TCP", "seg2", local)
	stream = strings.ReplaceAll(stream, ":5070", ":"+itoa(local))
	for i := range len(stream) {
		if _, err := conn.Write([]byte{stream[i]}); err != nil {
			t.Fatalf("write at byte %d: %v", i, err)
		}
		if i%8 == 0 {
			time.Sleep(200 * time.Microsecond) // models a peer's bytes arriving in separate segments
		}
	}
	got := finalStatuses(t, conn, 2)
	if got[0] != "SIP/2.0 200 OK" || got[1] != "SIP/2.0 200 OK" {
		t.Errorf("responses %q, want the INVITE and the OPTIONS answered 200", got)
	}
}

// finalStatuses reads the status lines of the next n final responses.
func finalStatuses(t *testing.T, conn net.Conn, n int) []string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := newReader(conn)
	var got []string
	for len(got) < n {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		if strings.HasPrefix(line, "SIP/2.0 ") && !strings.HasPrefix(line, "SIP/2.0 1") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	return got
}
