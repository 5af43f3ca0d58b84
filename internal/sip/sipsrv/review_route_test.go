package sipsrv

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// A BYE the recorder sends (media timeout, shutdown) is an in-dialog
// request: it must carry the route set the INVITE's Record-Route built
// (RFC 3261 §12.2.1.1), which the 200 OK echoed to the peer.
func TestReviewHangupFollowsRouteSet(t *testing.T) {
	s, _ := startReviewServer(t)
	c, port := udpPeer(t)
	to := net.UDPAddrFromAddrPort(s.Addr())
	inv := reviewRequest("INVITE", "rr1", "z9hG4bKrr1", port, reviewSDP)
	inv = strings.Replace(inv, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nRecord-Route: <sip:sbc1.example;lr>\r\nRecord-Route: <sip:sbc2.example;lr>\r\n", 1)
	if _, err := c.WriteToUDP([]byte(inv), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	read := func() string {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if res := read(); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("INVITE answered %q", res)
	}
	done := make(chan error, 1)
	go func() { done <- s.Hangup(context.Background(), "rr1", "test") }()
	bye := read()
	if !strings.HasPrefix(bye, "BYE ") {
		t.Fatalf("got %q, want BYE", bye)
	}
	if res := SalvageResponse([]byte(bye), 200, "OK"); res != nil {
		_, _ = c.WriteToUDP(res, to)
	}
	var routes []string
	for _, l := range strings.Split(bye, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), "route:") {
			routes = append(routes, strings.TrimSpace(l[len("route:"):]))
		}
	}
	if strings.Join(routes, ",") != "<sip:sbc1.example;lr>,<sip:sbc2.example;lr>" {
		t.Errorf("BYE Route headers = %q, want the Record-Route set in order\n%s", routes, bye)
	}
	<-done
}
