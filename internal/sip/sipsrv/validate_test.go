package sipsrv

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestInvalidRequest(t *testing.T) {
	base := hostileRequest("INVITE", "UDP", "v1", 5060)
	tests := []struct {
		name       string
		msg        string
		code       int
		reason     string
		answerable bool
	}{
		{"valid", base, 0, "", true},
		{"no Via", hostileRequest("INVITE", "UDP", "v1", 5060, "Via"), 400, "Missing Via header", false},
		{"no CSeq", hostileRequest("INVITE", "UDP", "v1", 5060, "CSeq"), 400, "Missing CSeq header", false},
		{"no To", hostileRequest("INVITE", "UDP", "v1", 5060, "To"), 400, "Missing To header", true},
		{"no Max-Forwards", hostileRequest("BYE", "UDP", "v1", 5060, "Max-Forwards"), 400, "Missing Max-Forwards header", true},
		{"ACK is never answered", hostileRequest("ACK", "UDP", "v1", 5060, "From"), 400, "Missing From header", false},
		{"two To", strings.Replace(base, "Call-ID:", "To: <sip:other@127.0.0.1>\r\nCall-ID:", 1), 400, "Multiple To headers", true},
		{"two Content-Length", strings.Replace(base, "Call-ID:", "Content-Length: 3\r\nCall-ID:", 1), 400, "Multiple Content-Length headers", true},
		{"CSeq method", strings.Replace(base, "CSeq: 1 INVITE", "CSeq: 1 BYE", 1), 400, "CSeq method does not match", true},
		{"CSeq method case", strings.Replace(base, "CSeq: 1 INVITE", "CSeq: 1 invite", 1), 0, "", true},
		{"version", strings.Replace(base, "@127.0.0.1 SIP/2.0", "@127.0.0.1 SIP/3.0", 1), 505, "Version Not Supported", true},
		{"version case", strings.Replace(base, "@127.0.0.1 SIP/2.0", "@127.0.0.1 sip/2.0", 1), 0, "", true},
		{"scheme", strings.Replace(base, "INVITE sip:record=v1@127.0.0.1", "INVITE http://example.com/x", 1), 416, "Unsupported URI Scheme", true},
		{"URI headers", strings.Replace(base, "INVITE sip:record=v1@127.0.0.1", "INVITE sip:record=v1@127.0.0.1?Route=x", 1), 400, "Request-URI with headers", true},
		{"IPv6 three colons", strings.Replace(base, "INVITE sip:record=v1@127.0.0.1", "INVITE sip:u@[2001:db8:::192.0.2.1]", 1), 400, "Bad Request-URI host", true},
		{"IPv6", strings.Replace(base, "INVITE sip:record=v1@127.0.0.1", "INVITE sip:u@[2001:db8::1]", 1), 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := sip.NewParser().ParseSIP([]byte(tt.msg))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			req := msg.(*sip.Request)
			code, reason := invalidRequest(req)
			if code != tt.code || reason != tt.reason {
				t.Errorf("invalidRequest = %d %q, want %d %q", code, reason, tt.code, tt.reason)
			}
			if got := answerable(req); got != tt.answerable {
				t.Errorf("answerable = %v, want %v", got, tt.answerable)
			}
		})
	}
}

func TestRefusedInvite(t *testing.T) {
	base := hostileRequest("INVITE", "UDP", "v2", 5060)
	tests := []struct {
		name string
		msg  string
		code int
	}{
		{"sdp", base, 0},
		{"multipart", strings.Replace(base, "Content-Type: application/sdp", "Content-Type: multipart/mixed;boundary=x", 1), 0},
		{"metadata only", strings.Replace(base, "Content-Type: application/sdp", "Content-Type: application/rs-metadata+xml", 1), 0},
		{"unknown body", strings.Replace(base, "Content-Type: application/sdp", "Content-Type: application/unknownformat", 1), 415},
		{"accepts sdp", strings.Replace(base, "Call-ID:", "Accept: application/sdp;level=1, text/plain\r\nCall-ID:", 1), 0},
		{"accepts multipart", strings.Replace(base, "Call-ID:", "Accept: multipart/mixed\r\nCall-ID:", 1), 0},
		{"SIPREC accepts metadata only (Intrado)", strings.Replace(base, "Call-ID:", "Accept: application/rs-metadata\r\nAccept: application/rs-metadata-request\r\nCall-ID:", 1), 0},
		{"accepts no sdp", strings.Replace(base, "Call-ID:", "Accept: text/nobodyKnowsThis\r\nCall-ID:", 1), 406},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := sip.NewParser().ParseSIP([]byte(tt.msg))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if code, reason := refusedInvite(msg.(*sip.Request)); code != tt.code {
				t.Errorf("refusedInvite = %d %q, want %d", code, reason, tt.code)
			}
		})
	}
}
