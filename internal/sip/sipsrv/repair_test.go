package sipsrv

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// Headers a recorder does not need never refuse an INVITE (issue 12): a
// broken Route or Record-Route is ignored, an unterminated Contact closed,
// an unusable Contact dropped, and the BYE still reaches the peer (at its
// source address). What truly cannot be answered keeps its 400, with a
// short fixed reason phrase and no Go error text.
func TestLiberalHeaders(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string // in the INVITE
		status  string
		byeURI  string // Request-URI prefix of our BYE; "" = no call to end
	}{
		{name: "unterminated < in Contact", replace: [2]string{"Contact: <sip:ms@127.0.0.1:%d>", "Contact: <sip:ms@127.0.0.1:%d;transport=udp"},
			status: "200 OK", byeURI: "BYE sip:ms@127.0.0.1:"},
		{name: "unusable Contact", replace: [2]string{"Contact: <sip:ms@127.0.0.1:%d>", "Contact: sip:ms@127.0.0.1:remote_port"},
			status: "200 OK", byeURI: "BYE sip:127.0.0.1:"},
		{name: "non-numeric port in Route", replace: [2]string{"Max-Forwards: 70", "Route: <sip:sbc.example:remote_port;lr>\r\nMax-Forwards: 70"},
			status: "200 OK", byeURI: "BYE sip:ms@127.0.0.1:"},
		{name: "broken Record-Route", replace: [2]string{"Max-Forwards: 70", "Record-Route: <sip:sbc.example:x;lr>\r\nRecord-Route: <sip:ok.example;lr>\r\nMax-Forwards: 70"},
			status: "200 OK", byeURI: "BYE sip:ms@127.0.0.1:"},
		{name: "broken CSeq is still refused", replace: [2]string{"CSeq: 1 INVITE", "CSeq: one INVITE"},
			status: "400 Bad Request: malformed message"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newOptionsPeer(t)
			id := "lib" + itoa(i)
			inv := reviewRequest("INVITE", id, "z9hG4bKlib"+itoa(i), p.port, reviewSDP)
			from := strings.ReplaceAll(tt.replace[0], "%d", itoa(p.port))
			to := strings.ReplaceAll(tt.replace[1], "%d", itoa(p.port))
			if !strings.Contains(inv, from) {
				t.Fatalf("test request lacks %q", from)
			}
			inv = strings.Replace(inv, from, to, 1)
			p.send(inv)
			res := p.read()
			if got := statusOfMsg(res); got != tt.status {
				t.Fatalf("status %q, want %q\n%s", got, tt.status, res)
			}
			if strings.Contains(res, "strconv") || strings.Contains(res, "parsing") {
				t.Errorf("Go error text in the response:\n%s", res)
			}
			if tt.byeURI == "" {
				return
			}
			done := make(chan error, 1)
			go func() { done <- p.s.Hangup(context.Background(), id, "test") }()
			bye := p.read()
			if !strings.HasPrefix(bye, tt.byeURI) {
				t.Errorf("BYE %q, want Request-URI %q", strings.SplitN(bye, "\r\n", 2)[0], tt.byeURI)
			}
			if strings.Contains(bye, "remote_port") || strings.Contains(bye, "sbc.example:x") {
				t.Errorf("BYE carries a header that was malformed:\n%s", bye)
			}
			if out := SalvageResponse([]byte(bye), 200, "OK"); out != nil {
				_, _ = p.c.WriteToUDP(out, p.to)
			}
			if err := <-done; err != nil {
				t.Errorf("Hangup: %v", err)
			}
		})
	}
}

// FuzzRepairRequest: repairRequest never panics, and what it returns
// keeps the request line and body.
func FuzzRepairRequest(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContact: <sip:x@y\r\nRoute: <sip:p:q>\r\n\r\nv=0\r\n"))
	f.Add([]byte("INVITE sip:a@b SIP/2.0\nm: sip:x@y:zz\nRecord-Route: <>\n\nbody"))
	f.Add([]byte("BYE sip:a@b SIP/2.0\r\nContact: *\r\n\r\n"))
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContact: \"A>B\" <sip:x@y\r\nContact: 0><\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fixed, _, ok := repairRequest(data)
		if !ok {
			return
		}
		line, _, _ := strings.Cut(string(data), "\n")
		if !strings.HasPrefix(string(fixed), strings.TrimSuffix(line, "\r")) {
			t.Fatalf("request line changed: %q -> %q", data, fixed)
		}
	})
}

// Over TCP too: an INVITE with an unterminated Contact and a broken Route
// is answered 200 on the same connection, and a message after it on the
// connection (keep-alive CRLFs, then OPTIONS) is still read.
func TestLiberalHeadersTCP(t *testing.T) {
	p := newOptionsPeer(t)
	conn, err := net.Dial("tcp", p.s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.TCPAddr).Port
	inv := reviewRequest("INVITE", "tcp1", "z9hG4bKtcp1", local, reviewSDP)
	inv = strings.Replace(inv, "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
	inv = strings.Replace(inv, "Contact: <sip:ms@127.0.0.1:"+itoa(local)+">", "Contact: <sip:ms@127.0.0.1:"+itoa(local)+";transport=tcp", 1)
	inv = strings.Replace(inv, "Max-Forwards: 70", "Route: <sip:sbc.example:remote_port;lr>\r\nMax-Forwards: 70", 1)
	opts := strings.Replace(strings.Replace(reviewRequest("OPTIONS", "tcp2", "z9hG4bKtcp2", local, ""), "SIP/2.0/UDP", "SIP/2.0/TCP", 1), "CSeq: 1 OPTIONS", "CSeq: 1 OPTIONS", 1)
	if _, err := conn.Write([]byte(inv + "\r\n\r\n" + opts)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	var got []string
	for len(got) < 2 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		if strings.HasPrefix(line, "SIP/2.0 ") && !strings.HasPrefix(line, "SIP/2.0 100") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	if got[0] != "SIP/2.0 200 OK" || got[1] != "SIP/2.0 200 OK" {
		t.Errorf("responses %q, want the INVITE and the OPTIONS answered 200", got)
	}
}

// repairContact reads the URI between the first "<" outside a quoted
// display name and the ">" after it: a ">" before the "<" (in a display
// name, or junk) is not the end of the URI and does not panic.
func TestRepairContact(t *testing.T) {
	tests := []struct{ in, want, note string }{
		{` <sip:a@b:5060>`, ` <sip:a@b:5060>`, ""},
		{` <sip:a@b:5060`, ` <sip:a@b:5060>`, "unterminated < in Contact closed"},
		{` "A>B" <sip:a@b:5060>`, ` "A>B" <sip:a@b:5060>`, ""},
		{` "A<B" <sip:a@b:5060>`, ` "A<B" <sip:a@b:5060>`, ""},
		{` "A>B" <sip:a@b:5060`, ` "A>B" <sip:a@b:5060>`, "unterminated < in Contact closed"},
		{`0><`, "", "unusable Contact ignored: in-dialog requests go to the source address"},
		{` > <sip:a@b>`, ` > <sip:a@b>`, ""},
		{` sip:a@b:x`, "", "unusable Contact ignored: in-dialog requests go to the source address"},
		{` *`, ` *`, ""},
	}
	for _, tt := range tests {
		got, note := repairContact(tt.in)
		if got != tt.want || note != tt.note {
			t.Errorf("repairContact(%q) = %q, %q; want %q, %q", tt.in, got, note, tt.want, tt.note)
		}
	}
}

// Over UDP: an INVITE that needs a repair (broken Route) and whose Contact
// has a ">" in its display name is answered 200, not lost to a panic.
func TestRepairContactDisplayNameUDP(t *testing.T) {
	p := newOptionsPeer(t)
	inv := reviewRequest("INVITE", "dn1", "z9hG4bKdn1", p.port, reviewSDP)
	contact := "Contact: <sip:ms@127.0.0.1:" + itoa(p.port) + ">"
	if !strings.Contains(inv, contact) {
		t.Fatalf("test request lacks %q", contact)
	}
	inv = strings.Replace(inv, contact, `Contact: "Queue >> 5" <sip:ms@127.0.0.1:`+itoa(p.port)+">", 1)
	inv = strings.Replace(inv, "Max-Forwards: 70", "Route: <sip:sbc.example:remote_port;lr>\r\nMax-Forwards: 70", 1)
	p.send(inv)
	if got := statusOfMsg(p.read()); got != "200 OK" {
		t.Fatalf("status %q, want 200 OK", got)
	}
	if n := p.s.counters.panics.Load(); n != 0 {
		t.Fatalf("%d panics recovered", n)
	}
}
