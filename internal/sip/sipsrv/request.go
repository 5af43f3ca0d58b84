package sipsrv

import (
	"context"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
)

// Kind says which recording protocol an INVITE speaks.
type Kind string

// Kinds of recording sessions.
const (
	KindMSR    Kind = "msr"    // Genesys Media Stream Replication: Request-URI record=<id>
	KindSIPREC Kind = "siprec" // RFC 7866
)

// MSRParams are the Genesys Media Server Request-URI parameters:
// sip:record=<id>@host;calluuid=<CallUUID>;dn=<DN>;recordDN=<DN>[;otherDN=<DN>].
type MSRParams struct {
	RecordID string
	CallUUID string
	DN       string
	RecordDN string
	OtherDN  string
}

// Invite is what the server hands the recorder for an INVITE, re-INVITE or
// UPDATE, already parsed.
type Invite struct {
	CallID    string
	Method    string // INVITE or UPDATE
	Kind      Kind
	MSR       MSRParams
	SDP       *sdpoa.Session // nil: delayed offer (the SDP comes in the ACK)
	Metadata  []byte         // raw rs-metadata, SIPREC only
	From, To  string
	UserAgent string
	Source    string
	Transport string
	LocalIP   netip.Addr // the address the peer reached us on, for SDP answers
	// GenesysCallUUID is the X-Genesys-CallUUID header when present.
	GenesysCallUUID string
	// Cisco is set for KindCiscoFork and KindCiscoBiB (cisco.go).
	Cisco CiscoParams
	// Hangup ends this dialog from our side (a BYE to the client): how
	// the handler ends a leg it ends itself (media timeout, full disk,
	// shutdown). Set by the Server on an initial INVITE; nil where there
	// is no dialog to end.
	Hangup func(ctx context.Context, reason string) error
}

// ParseMSR extracts MSR parameters from a Request-URI. ok is false when the
// URI's user part does not start with "record=".
func ParseMSR(u sip.Uri) (MSRParams, bool) {
	user := u.User
	if !strings.HasPrefix(strings.ToLower(user), "record=") {
		return MSRParams{}, false
	}
	p := MSRParams{RecordID: user[len("record="):]}
	for _, kv := range u.UriParams {
		switch strings.ToLower(kv.K) {
		case "calluuid":
			p.CallUUID = kv.V
		case "dn":
			p.DN = kv.V
		case "recorddn":
			p.RecordDN = kv.V
		case "otherdn":
			p.OtherDN = kv.V
		}
	}
	return p, true
}

func headerValues(req *sip.Request, name string) []string {
	var out []string
	for _, h := range req.GetHeaders(name) {
		for _, v := range strings.Split(h.Value(), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func headerValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// classify decides MSR vs SIPREC and parses the body. It returns a
// StatusError for requests that must be refused.
func (s *Server) classify(req *sip.Request) (*Invite, error) {
	inv := &Invite{
		Method:    req.Method.String(),
		Source:    req.Source(),
		Transport: req.Transport(),
	}
	if h := req.CallID(); h != nil {
		inv.CallID = h.Value()
	}
	id := inv.CallID
	inv.Hangup = func(ctx context.Context, reason string) error { return s.Hangup(ctx, id, reason) }
	if h := req.From(); h != nil {
		inv.From = h.Address.String()
	}
	if h := req.To(); h != nil {
		inv.To = h.Address.String()
	}
	inv.UserAgent = headerValue(req, "User-Agent")
	inv.GenesysCallUUID = headerValue(req, "X-Genesys-CallUUID")
	inv.LocalIP = s.localIPFor(req.Source())

	body := req.Body()
	if len(body) > s.cfg.MaxBody {
		return nil, Errorf(413, "Request Entity Too Large", nil)
	}
	var parts *siprec.Body
	if len(body) > 0 {
		ct := headerValue(req, "Content-Type")
		b, err := siprec.SplitBody(ct, body)
		switch {
		case err == nil:
			parts = b
		case errorsIs(err, siprec.ErrNoSDP) && len(b.Metadata) > 0:
			parts = b // metadata only (UPDATE); SDP absent
		default:
			return nil, Errorf(400, "Bad Request: unreadable body", err)
		}
		if len(parts.SDP) > 0 {
			sess, err := sdpoa.ParseOffer(parts.SDP)
			if err != nil {
				return nil, Errorf(400, "Bad Request: malformed SDP", err)
			}
			inv.SDP = sess
			if err := s.checkMediaLines(sess); err != nil {
				return nil, err
			}
		}
		inv.Metadata = parts.Metadata
	}
	contactParams := ""
	if c := req.Contact(); c != nil {
		contactParams = c.Params.String()
	}
	msr, isMSR := ParseMSR(req.Recipient)
	cisco, ciscoKind, isCisco := parseCisco(req)
	switch {
	case isMSR && (msr.RecordDN != "" || msr.DN != ""):
		// Genesys Media Server: only its Request-URI form (record=<id> with
		// recordDN/dn) is an MSR leg that waits for its partner.
		inv.Kind = KindMSR
		inv.MSR = msr
	case siprec.IsSIPREC(headerValues(req, "Require"), headerValues(req, "Supported"), contactParams, headerValue(req, "Content-Type"), parts):
		inv.Kind = KindSIPREC
	case isCisco:
		inv.Kind = ciscoKind
		inv.Cisco = cisco
	default:
		// A plain INVITE (no record= form, no SIPREC or Cisco marks) is
		// recorded as offered, one channel per audio m-line, keyed on its
		// Call-ID: audio offered to a recorder is never refused for its form.
		inv.Kind = KindPlain
		inv.MSR = MSRParams{RecordID: inv.CallID, DN: req.Recipient.User, RecordDN: req.Recipient.User}
	}
	if inv.SDP != nil && inv.SDP.AudioCount() == 0 {
		return nil, Errorf(488, "Not Acceptable Here: no audio stream offered", nil)
	}
	if inv.SDP != nil {
		if err := checkSRTP(inv.SDP, s.cfg.SRTP); err != nil {
			return nil, err
		}
	}
	return inv, nil
}
