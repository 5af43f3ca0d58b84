package sipsrv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestParseMSR(t *testing.T) {
	tests := []struct {
		uri  string
		want MSRParams
		ok   bool
	}{
		{"sip:record=0123@rec.example.com;calluuid=00A1B2C3D4E5F6G7H8I9JAKBLCMDNEOF;dn=5001;recordDN=5001",
			MSRParams{RecordID: "0123", CallUUID: "00A1B2C3D4E5F6G7H8I9JAKBLCMDNEOF", DN: "5001", RecordDN: "5001"}, true},
		{"sip:record=0123@10.0.0.5:5070;calluuid=U;dn=+15550100;recordDN=5001",
			MSRParams{RecordID: "0123", CallUUID: "U", DN: "+15550100", RecordDN: "5001"}, true},
		{"sip:record=X9@h;calluuid=U;dn=5001;otherDN=5002;recordDN=5001",
			MSRParams{RecordID: "X9", CallUUID: "U", DN: "5001", RecordDN: "5001", OtherDN: "5002"}, true},
		{"sip:RECORD=abc@h;CallUUID=u;DN=1;RecordDn=1", MSRParams{RecordID: "abc", CallUUID: "u", DN: "1", RecordDN: "1"}, true},
		{"sip:recorder@h", MSRParams{}, false},
		{"sip:5001@h;dn=5001", MSRParams{}, false},
	}
	for _, tt := range tests {
		var u sip.Uri
		if err := sip.ParseUri(tt.uri, &u); err != nil {
			t.Fatalf("%s: %v", tt.uri, err)
		}
		got, ok := ParseMSR(u)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseMSR(%s) = %+v, %v; want %+v, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

const brokenInvite = "INVITE sip:record=1@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n" +
	"From: <sip:ms@127.0.0.1>;tag=1\r\n" +
	"To: <sip:record=1@127.0.0.1>\r\n" +
	"Call-ID: abc\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Content-Length: banana\r\n\r\n"

func TestSalvageResponse(t *testing.T) {
	res := SalvageResponse([]byte(brokenInvite), 400, "Bad Request: bad Content-Length")
	if res == nil {
		t.Fatal("no response salvaged from a request with all the headers")
	}
	msg, err := sip.ParseMessage(res)
	if err != nil {
		t.Fatalf("salvaged response does not parse: %v\n%s", err, res)
	}
	r, ok := msg.(*sip.Response)
	if !ok || r.StatusCode != 400 || !strings.Contains(r.Reason, "Content-Length") || r.CallID().Value() != "abc" {
		t.Errorf("salvaged = %s", res)
	}
	for _, junk := range []string{"", "hello", "\x80\x01\x02junk", "INVITE sip:x SIP/2.0\r\nVia: a\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n"} {
		if got := SalvageResponse([]byte(junk), 400, "x"); got != nil {
			t.Errorf("SalvageResponse(%q) = %q, want nil (junk is dropped)", junk, got)
		}
	}
}

func FuzzSalvageResponse(f *testing.F) {
	f.Add([]byte(brokenInvite))
	f.Add([]byte("OPTIONS sip:a SIP/2.0\r\nv: x\r\nf: y\r\nt: z\r\ni: c\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := SalvageResponse(data, 400, "Bad Request")
		if res != nil && !bytes.HasPrefix(res, []byte("SIP/2.0 400 Bad Request\r\n")) {
			t.Fatalf("bad status line: %q", res)
		}
	})
}

// FuzzParseMSR: any Request-URI sipgo accepts yields MSR parameters or
// ok=false, never a panic, and a record id only when the user part says so.
func FuzzParseMSR(f *testing.F) {
	f.Add("sip:record=0123@rec;calluuid=U;dn=5001;recordDN=5001")
	f.Add("sip:record=@h;dn=;otherDN=x;recordDN")
	f.Add("sip:5001@h")
	f.Fuzz(func(t *testing.T, s string) {
		var u sip.Uri
		if sip.ParseUri(s, &u) != nil {
			return
		}
		p, ok := ParseMSR(u)
		if ok != strings.HasPrefix(strings.ToLower(u.User), "record=") || (!ok && p != (MSRParams{})) {
			t.Fatalf("ParseMSR(%q) = %+v, %v", s, p, ok)
		}
	})
}
