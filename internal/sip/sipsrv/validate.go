package sipsrv

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// RFC 3261 §8.1.1: a valid request carries at minimum To, From, CSeq,
// Call-ID, Max-Forwards and Via. sipgo parses a request without them and
// hands it on; our dialog code (and sipgo's, when it builds our BYE) then
// dereferences the header that is not there. So every request is checked
// here before any handler (guard.go for UDP, tcp.go for TCP, and again in
// the handler wrapper), and refused with a 400 whose reason names the
// header, or dropped when no response can be matched to it.
var mandatory = []struct {
	name    string
	present func(*sip.Request) bool
}{
	{"Via", func(r *sip.Request) bool { return r.Via() != nil }},
	{"CSeq", func(r *sip.Request) bool { return r.CSeq() != nil }},
	{"Call-ID", func(r *sip.Request) bool { h := r.CallID(); return h != nil && strings.TrimSpace(h.Value()) != "" }},
	{"From", func(r *sip.Request) bool { return r.From() != nil }},
	{"To", func(r *sip.Request) bool { return r.To() != nil }},
	{"Max-Forwards", func(r *sip.Request) bool { return r.MaxForwards() != nil }},
}

// invalidRequest says what is wrong with req: a fixed reason phrase for the
// 400, or "" when the request may reach a handler.
func invalidRequest(req *sip.Request) string {
	for _, m := range mandatory {
		if !m.present(req) {
			return "Missing " + m.name + " header"
		}
	}
	// RFC 3261 §8.1.1.5: the CSeq method matches the request's method
	// (RFC 4475 §3.1.2.15 "mismatch01").
	if req.CSeq().MethodName != req.Method {
		return "CSeq method does not match"
	}
	return ""
}

// answerable reports whether a response to req can reach the sender's
// client transaction: it is matched by the top Via's branch and the CSeq
// method (RFC 3261 §17.1.3), and ACK is never answered.
func answerable(req *sip.Request) bool {
	return !req.IsAck() && req.Via() != nil && req.CSeq() != nil
}

// refusal is the stateless 400 for an invalid request arriving from source,
// or nil when it cannot be answered.
func refusal(req *sip.Request, source, reason string) []byte {
	if !answerable(req) {
		return nil
	}
	req.SetSource(source)
	return []byte(sip.NewResponseFromRequest(req, 400, reason, nil).String())
}

// allowed lists the methods the server handles.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"

// Defaults for Config fields left zero.
const (
	DefaultMaxMediaLines = 16
	DefaultAckTimeout    = 64 * 500 * time.Millisecond // 64*T1, RFC 3261 Timer H
)

// orDefault is v, or def when v is zero.
func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// checkMediaLines refuses an offer with more m-lines than MaxMediaLines:
// each would take an RTP port pair (five INVITEs of 100 m-lines took every
// port of a 500-pair range).
func (s *Server) checkMediaLines(sess *sdpoa.Session) error {
	if sess != nil && len(sess.Media) > s.cfg.MaxMediaLines {
		return Errorf(488, "Not Acceptable Here: too many media streams", fmt.Errorf("%d m-lines, limit %d", len(sess.Media), s.cfg.MaxMediaLines))
	}
	return nil
}
