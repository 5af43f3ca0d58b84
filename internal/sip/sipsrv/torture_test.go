package sipsrv

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tapConn records the first line of every datagram the server sends: the
// RFC messages name hosts of their own in Via, so responses go to the
// source address and the Via port (RFC 3261 §18.2.2), not to the test's
// socket.
type tapConn struct {
	net.PacketConn
	mu   sync.Mutex
	sent []string
	wake chan struct{} // closed at the next datagram sent
}

func (c *tapConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, status(string(p)))
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
	c.mu.Unlock()
	return c.PacketConn.WriteTo(p, addr)
}

// next returns a channel closed when the server sends its next datagram.
func (c *tapConn) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	return c.wake
}

func (c *tapConn) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

// tortureCase is the outcome RFC 4475 / RFC 5118 describe for a UAS, per
// transport: the status code the message gets ("" = silence: dropped, or
// over TCP an incomplete message the stream waits for). note says where
// and why openrec's outcome differs from the RFC's description.
type tortureCase struct {
	file     string
	section  string
	udp, tcp string
	note     string
}

var tortureCases = []tortureCase{
	// RFC 4475 §3.1.1: valid messages are parsed and answered. REGISTER,
	// MESSAGE and unknown methods get 405 from a recorder (RFC 3261 §8.2.1).
	{"rfc4475/wsinv", "4475 §3.1.1", "400", "400", "deviation: sipgo cannot key the RFC 2543 transaction (no z9hG4bK branch) on a From tag written \"tag = 98asjd8\"; refused, never a crash"},
	{"rfc4475/intmeth", "4475 §3.1.1", "405", "405", ""},
	{"rfc4475/esc01", "4475 §3.1.1", "200", "200", ""},
	{"rfc4475/escnull", "4475 §3.1.1", "405", "405", ""},
	{"rfc4475/esc02", "4475 §3.1.1", "405", "405", ""},
	{"rfc4475/lwsdisp", "4475 §3.1.1", "200", "200", ""},
	{"rfc4475/longreq", "4475 §3.1.1", "200", "200", ""},
	{"rfc4475/dblreq", "4475 §3.1.1", "405", "405", "over TCP the bytes after the REGISTER are a second (broken) message: answered 400, then the connection closes"},
	{"rfc4475/semiuri", "4475 §3.1.1", "200", "200", ""},
	{"rfc4475/transports", "4475 §3.1.1", "200", "200", ""},
	{"rfc4475/mpart01", "4475 §3.1.1", "405", "405", ""},
	{"rfc4475/unreason", "4475 §3.1.1", "", "", "a response matching no transaction"},
	{"rfc4475/noreason", "4475 §3.1.1", "", "", "a response matching no transaction"},
	// §3.1.2: invalid messages are refused.
	{"rfc4475/badinv01", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/clerr", "4475 §3.1.2", "400", "", "over TCP the stream waits for the rest of the body"},
	{"rfc4475/ncl", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/scalar02", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/scalarlg", "4475 §3.1.2", "", "", "a response"},
	{"rfc4475/quotbal", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/ltgtruri", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/lwsruri", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/lwsstart", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/trws", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/escruri", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/baddate", "4475 §3.1.2", "200", "200", "the RFC allows processing it when the Date does not matter"},
	{"rfc4475/regbadct", "4475 §3.1.2", "405", "405", "not a registrar: the REGISTER is refused before its Contact matters"},
	{"rfc4475/badaspec", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/baddn", "4475 §3.1.2", "400", "", "the file has no empty line after the headers: over TCP the stream waits"},
	{"rfc4475/badvers", "4475 §3.1.2", "505", "505", ""},
	{"rfc4475/mismatch01", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/mismatch02", "4475 §3.1.2", "400", "400", ""},
	{"rfc4475/bigcode", "4475 §3.1.2", "", "", "a response"},
	// §3.2 transaction layer.
	{"rfc4475/badbranch", "4475 §3.2", "200", "200", ""},
	// §3.3 application layer.
	{"rfc4475/insuf", "4475 §3.3", "400", "400", ""},
	{"rfc4475/unkscm", "4475 §3.3", "416", "416", ""},
	{"rfc4475/novelsc", "4475 §3.3", "400", "400", "the RFC expects 416; sipgo cannot parse the URI at all, so it is a 400"},
	{"rfc4475/unksm2", "4475 §3.3", "405", "405", "not a registrar"},
	{"rfc4475/bext01", "4475 §3.3", "200", "200", "deviation: the RFC expects 420 Bad Extension for Require: newfeature1; Require is handled with the SIPREC work (issue 12)"},
	{"rfc4475/invut", "4475 §3.3", "415", "415", ""},
	{"rfc4475/regaut01", "4475 §3.3", "405", "405", "not a registrar"},
	{"rfc4475/multi01", "4475 §3.3", "400", "400", ""},
	{"rfc4475/mcl01", "4475 §3.3", "400", "400", ""},
	{"rfc4475/bcast", "4475 §3.3", "", "", "a response"},
	{"rfc4475/zeromf", "4475 §3.3", "200", "200", "an endpoint processes Max-Forwards: 0"},
	{"rfc4475/cparam01", "4475 §3.3", "405", "405", "not a registrar"},
	{"rfc4475/cparam02", "4475 §3.3", "405", "405", "not a registrar"},
	{"rfc4475/regescrt", "4475 §3.3", "405", "405", "not a registrar"},
	{"rfc4475/sdp01", "4475 §3.3", "406", "406", ""},
	// §3.4 backward compatibility.
	{"rfc4475/inv2543", "4475 §3.4", "400", "400", "deviation: the RFC asks to accept this RFC 2543 INVITE; a recorder requires Max-Forwards (RFC 3261 §8.1.1), and over TCP Content-Length (§18.3)"},
	// RFC 5118 §4 (IPv6).
	{"rfc5118/ipv6-good", "5118 §4.1", "405", "405", "REGISTER: parsed, then 405"},
	{"rfc5118/ipv6-bad", "5118 §4.2", "400", "400", ""},
	{"rfc5118/port-ambiguous", "5118 §4.3", "405", "405", ""},
	{"rfc5118/port-unambiguous", "5118 §4.4", "405", "405", ""},
	{"rfc5118/via-received-param-with-delim", "5118 §4.5", "481", "481", "a BYE outside any dialog"},
	{"rfc5118/via-received-param-no-delim", "5118 §4.5", "200", "200", ""},
	{"rfc5118/ipv6-in-sdp", "5118 §4.6", "200", "200", ""},
	{"rfc5118/mult-ip-in-header", "5118 §4.7", "481", "481", "a BYE outside any dialog"},
	{"rfc5118/mult-ip-in-sdp", "5118 §4.8", "200", "200", ""},
	{"rfc5118/ipv4-mapped-ipv6", "5118 §4.9", "200", "200", ""},
	{"rfc5118/ipv6-bug-abnf-3-colons", "5118 §4.10", "400", "400", ""},
	{"rfc5118/ipv6-correct-abnf-2-colons", "5118 §4.10", "200", "200", ""},
}

// Every RFC 4475 and RFC 5118 message, over UDP and TCP, gets the outcome
// the table gives (the RFC's, or a documented deviation); no panic; and the
// server records a good call afterwards.
func TestTortureMessages(t *testing.T) {
	files, _ := filepath.Glob("testdata/torture/*/*.dat")
	if len(files) != len(tortureCases) {
		t.Errorf("%d torture files, %d cases: every file needs its expected outcome", len(files), len(tortureCases))
	}
	for _, tc := range tortureCases {
		data, err := os.ReadFile("testdata/torture/" + tc.file + ".dat")
		if err != nil {
			t.Fatal(err)
		}
		for _, transport := range []string{"UDP", "TCP"} {
			want := tc.udp
			if transport == "TCP" {
				want = tc.tcp
			}
			t.Run(tc.file+"/"+transport, func(t *testing.T) {
				// A server per message: several RFC messages share a Via branch.
				h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
				s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), Logger: discardLogger()}, h)
				if err != nil {
					t.Fatal(err)
				}
				tap := &tapConn{PacketConn: s.udp.(*guardConn).PacketConn}
				s.udp.(*guardConn).PacketConn = tap
				s.Start()
				t.Cleanup(func() { _ = s.Close() })
				p := newPeer(t, s, transport)
				p.send(string(data))
				wait := time.Second
				if want == "" {
					wait = 200 * time.Millisecond
				}
				var got []string
				if transport == "UDP" {
					bound := time.After(wait) // silence is awaited for wait
				await:
					for {
						sent := tap.next()
						if hasCode(tap.lines(), want) {
							break
						}
						select {
						case <-sent:
						case <-bound:
							break await
						}
					}
					got = tap.lines()
				} else {
					for end := time.Now().Add(wait); time.Now().Before(end) && !hasCode(got, want); {
						line := status(p.read(time.Until(end)))
						if line == "" || line == "closed" {
							break
						}
						got = append(got, line)
					}
				}
				switch {
				case want == "" && len(got) > 0:
					t.Errorf("%s (RFC %s) answered %q, want silence", tc.file, tc.section, got)
				case want != "" && !hasCode(got, want):
					t.Errorf("%s (RFC %s) answered %q, want %s (%s)", tc.file, tc.section, got, want, tc.note)
				}
				if hasCode(got, "500") || s.Stats().Panics != 0 {
					t.Errorf("%s: a panic was recovered (%q)", tc.file, got)
				}
				goodCall(t, newPeer(t, s, transport), h, "good-after")
			})
		}
	}
}

func hasCode(lines []string, code string) bool {
	for _, l := range lines {
		if code != "" && strings.HasPrefix(l, "SIP/2.0 "+code+" ") || code != "" && l == "SIP/2.0 "+code {
			return true
		}
	}
	return false
}
