package apptest

import (
	"net"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Refuser starts a SIP peer on loopback UDP that answers every INVITE with
// code/reason (e.g. 486 Busy Here, 503) and OPTIONS with 200, and returns
// its address. It stops when the test ends.
func Refuser(tb testing.TB, code int, reason string) string {
	tb.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		tb.Fatal(err)
	}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	tb.Cleanup(func() { _ = conn.Close(); _ = ua.Close(); <-done })
	return conn.LocalAddr().String()
}
