package sipsrv

import (
	"fmt"
	"net/netip"
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

// singular are headers a request carries at most once (RFC 3261 §7.3.1:
// they are not comma-separated lists); two of them leave it unclear which
// is meant (RFC 4475 §3.3, "multi01", "mcl01").
var singular = []string{"To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length"}

// invalidRequest says what is wrong with req: the status and fixed reason
// phrase to refuse it with, or 0 when the request may reach a handler.
func invalidRequest(req *sip.Request) (int, string) {
	// RFC 3261 §21.5.6: another SIP version is refused with 505 (RFC 4475
	// §3.1.2, "badvers"); §7.1: the version string is case-insensitive.
	if !strings.EqualFold(req.SipVersion, "SIP/2.0") {
		return 505, "Version Not Supported"
	}
	for _, m := range mandatory {
		if !m.present(req) {
			return 400, "Missing " + m.name + " header"
		}
	}
	for _, name := range singular {
		if len(req.GetHeaders(name)) > 1 {
			return 400, "Multiple " + name + " headers"
		}
	}
	// RFC 3261 §8.1.1.5: the CSeq method matches the request's method
	// (RFC 4475 §3.1.2, "mismatch01"). sipgo upper-cases the method of the
	// request line only.
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return 400, "CSeq method does not match"
	}
	// RFC 3261 §8.2.2.1: a Request-URI scheme we do not understand gets 416
	// (RFC 4475 §3.3, "unkscm"); §19.1.5: headers in a Request-URI are not
	// allowed (RFC 4475 §3.1.2, "escruri").
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return 416, "Unsupported URI Scheme"
	}
	if req.Recipient.Headers.Length() > 0 {
		return 400, "Request-URI with headers"
	}
	// An IPv6 reference must be a valid address (RFC 5118 §4.10: the three
	// colons RFC 3261's ABNF let through are not).
	if host := req.Recipient.Host; strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err != nil {
			return 400, "Bad Request-URI host"
		}
	}
	return 0, ""
}

// answerable reports whether a response to req can reach the sender's
// client transaction: it is matched by the top Via's branch and the CSeq
// method (RFC 3261 §17.1.3), and ACK is never answered.
func answerable(req *sip.Request) bool {
	return !req.IsAck() && req.Via() != nil && req.CSeq() != nil
}

// refusal is the stateless response refusing an invalid request arriving
// from source, or nil when it cannot be answered.
func refusal(req *sip.Request, source string, code int, reason string) []byte {
	if !answerable(req) {
		return nil
	}
	req.SetSource(source)
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // also to a request of another version (505)
	return []byte(res.String())
}

// refusedInvite checks what an INVITE's body and Accept header ask of the
// answer before the recorder sees it: an offer in a format other than SDP
// gets 415 (RFC 3261 §8.2.3; RFC 4475 §3.3, "invut"), a peer that accepts
// no SDP in the answer 406 (§21.4.7; RFC 4475 §3.3, "sdp01").
func refusedInvite(req *sip.Request) (int, string) {
	if len(req.Body()) > 0 {
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = h.Value()
		}
		switch mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0])); {
		case mt == "", mt == "application/sdp", strings.HasPrefix(mt, "multipart/"),
			mt == "application/rs-metadata+xml", mt == "application/rs-metadata":
		default:
			return 415, "Unsupported Media Type"
		}
	}
	// SIPREC clients list only the metadata types they take (RFC 7866 §9.1;
	// Intrado VIPER sends "Accept: application/rs-metadata" and
	// "application/rs-metadata-request" alone) and still expect an SDP
	// answer: those lists are not a refusal of SDP.
	if accept := headerValues(req, "Accept"); len(accept) > 0 {
		for _, a := range accept {
			mt := strings.ToLower(strings.TrimSpace(strings.Split(a, ";")[0]))
			switch {
			case mt == "application/sdp", mt == "application/*", mt == "*/*", strings.HasPrefix(mt, "multipart/"),
				strings.HasPrefix(mt, "application/rs-metadata"):
				return 0, ""
			}
		}
		return 406, "Not Acceptable"
	}
	return 0, ""
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

// accepted lists the body types the server reads.
const accepted = "application/sdp, multipart/mixed, application/rs-metadata+xml"

// matches reports whether an in-dialog request belongs to d: RFC 3261
// §12.2.2 identifies the dialog by Call-ID (the map key), our tag in To and
// the peer's tag in From. Without the tags anybody who learnt a Call-ID
// could end or redirect a recording. d.invite and d.localTag never change
// once the dialog is registered.
func (d *dialog) matches(req *sip.Request) bool {
	toTag, _ := req.To().Params.Get("tag")
	fromTag, _ := req.From().Params.Get("tag")
	remote, _ := d.invite.From().Params.Get("tag")
	return toTag == d.localTag && fromTag == remote
}
