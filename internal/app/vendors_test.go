package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
)

// rawSIP is a minimal UDP SIP peer for sending exactly the bytes a vendor
// sent (or broken ones) and reading the answer.
type rawSIP struct {
	c    *net.UDPConn
	to   *net.UDPAddr
	port int
}

func newRawSIP(t *testing.T, a *app.App) *rawSIP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawSIP{c: c, to: net.UDPAddrFromAddrPort(a.SIPAddr()), port: c.LocalAddr().(*net.UDPAddr).Port}
}

func (r *rawSIP) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := r.c.WriteToUDP([]byte(msg), r.to); err != nil {
		t.Fatal(err)
	}
}

// final reads until a final response (>= 200) or the deadline.
func (r *rawSIP) final(t *testing.T) (int, string) {
	t.Helper()
	buf := make([]byte, 65535)
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, _, err := r.c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		msg := string(buf[:n])
		var code int
		if _, err := fmt.Sscanf(msg, "SIP/2.0 %d", &code); err != nil {
			continue // a request (e.g. BYE) or junk
		}
		if code >= 200 {
			return code, msg
		}
	}
}

func (r *rawSIP) invite(callID, ruri, contentType string, extra string, body []byte) string {
	return fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\nFrom: <sip:src@127.0.0.1>;tag=src1\r\n"+
		"To: <sip:srs@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:src@127.0.0.1:%d>;+sip.src\r\nMax-Forwards: 70\r\n%s"+
		"Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		ruri, r.port, callID, callID, r.port, extra, contentType, len(body), body)
}

func (r *rawSIP) inDialog(method, callID, toTag string, cseq int) string {
	return fmt.Sprintf("%s sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\nFrom: <sip:src@127.0.0.1>;tag=src1\r\n"+
		"To: <sip:srs@127.0.0.1>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, r.port, callID, cseq, toTag, callID, cseq, method)
}

var toTagRE = regexp.MustCompile(`(?mi)^(?:To|t):.*;tag=([^;\r\n]+)`)

// Every SIPREC offer captured from real SBCs is accepted (200, one
// recording with one channel per audio stream), whatever its quirks.
func TestVendorSIPRECOffersAccepted(t *testing.T) {
	dir := filepath.Join("..", "sip", "siprec", "testdata", "vendors")
	cases := map[string]int{ // fixture → channels
		"acme-siprec-offer.txt": 2, "avaya-siprec-offer.txt": 2, "broadworks-offer.txt": 1, "cisco-siprec-offer.txt": 2,
		"connectel-offer.txt": 2, "inactive-sdp-offer.txt": 2, "intrado-siprec-invite.txt": 1, "non-siprec-payload.txt": 1,
		"procomm-siprec-offer.txt": 2, "sonus-siprec-offer.txt": 2,
	}
	a := startApp(t, nil)
	sip := newRawSIP(t, a)
	for name, channels := range cases {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		body, ct := raw, ""
		if bytes.HasPrefix(raw, []byte("INVITE ")) { // a whole message: keep its body and Content-Type
			head, b, _ := bytes.Cut(raw, []byte("\n\n"))
			body = b
			ct = regexp.MustCompile(`(?m)^Content-Type: (.*)$`).FindStringSubmatch(string(head))[1]
		} else if m := regexp.MustCompile(`(?m)^--(\S+)`).FindSubmatch(raw); m != nil {
			ct = "multipart/mixed;boundary=" + string(m[1])
		} else {
			ct = "application/sdp"
		}
		body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		callID := "vendor-" + strings.TrimSuffix(name, ".txt")
		sip.send(t, sip.invite(callID, fmt.Sprintf("sip:srs@%s", a.SIPAddr()), strings.TrimSpace(ct), "Require: siprec\r\n", body))
		code, resp := sip.final(t)
		if code != 200 {
			t.Errorf("%s: answered %d, want 200:\n%s", name, code, resp)
			continue
		}
		if !strings.Contains(resp, "+sip.srs") {
			t.Errorf("%s: Contact lacks +sip.srs:\n%s", name, resp)
		}
		if strings.Count(resp, "m=audio ") < channels || strings.Contains(resp, "a=sendonly") {
			t.Errorf("%s: answer:\n%s", name, resp)
		}
		tag := toTagRE.FindStringSubmatch(resp)[1]
		sip.send(t, sip.inDialog("ACK", callID, tag, 1))
		sip.send(t, sip.inDialog("BYE", callID, tag, 2))
		if code, _ := sip.final(t); code != 200 {
			t.Errorf("%s: BYE answered %d", name, code)
		}
	}
	recs := waitFinished(t, a, len(cases))
	byCall := map[string]store.Recording{}
	for _, r := range recs {
		for _, id := range r.SIPCallIDs {
			byCall[id] = r
		}
	}
	for name, channels := range cases {
		r, ok := byCall["vendor-"+strings.TrimSuffix(name, ".txt")]
		if !ok {
			t.Errorf("%s: no recording", name)
			continue
		}
		if r.Channels != channels {
			t.Errorf("%s: %d channels, want %d", name, r.Channels, channels)
		}
		if name != "non-siprec-payload.txt" && (r.Mode != store.ModeSIPREC || r.Metadata == "") {
			t.Errorf("%s: mode %s, metadata kept %v", name, r.Mode, r.Metadata != "")
		}
	}
	if r := byCall["vendor-broadworks-offer"]; r.MetadataProblem == "" {
		t.Errorf("broadworks' mangled metadata not flagged")
	}
	if r := byCall["vendor-acme-siprec-offer"]; len(r.Parties) != 2 || r.Parties[0].DN != "9000" || r.SIPRECSessionID == "" {
		t.Errorf("acme parties = %+v session %q", r.Parties, r.SIPRECSessionID)
	}
}

// Bad input over a real socket: a request sipgo cannot parse gets a 400
// with a reason, an oversized body 413, junk is ignored, and the server
// keeps working.
func TestMalformedUDPRequests(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.MaxBody = 4096 })
	sip := newRawSIP(t, a)
	sip.send(t, "INVITE sip:record=1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"+
		"To: <sip:c@d>\r\nCall-ID: broken-1\r\nCSeq: 1 INVITE\r\nContent-Length: banana\r\n\r\n")
	if code, resp := sip.final(t); code != 400 || !strings.Contains(resp, "Bad Request") {
		t.Errorf("unparseable INVITE: %d\n%s", code, resp)
	}
	sip.send(t, "\x80\x00\x12\x34garbage that is not SIP at all")
	big := bytes.Repeat([]byte("a=x-padding\r\n"), 400)
	sdp := append([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), big...)
	sip.send(t, sip.invite("big-1", "sip:record=big@127.0.0.1;dn=1;recordDN=1", "application/sdp", "", sdp))
	if code, _ := sip.final(t); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	sip.send(t, sip.invite("nosdp-audio", "sip:record=v@127.0.0.1;dn=1;recordDN=1", "application/sdp", "",
		[]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n")))
	if code, _ := sip.final(t); code != 488 {
		t.Errorf("no audio m-line: %d, want 488", code)
	}
	d := newDialer(t)
	if code, err := d.Options(context.Background(), a.SIPAddr().String()); err != nil || code != 200 {
		t.Errorf("server unhealthy after bad input: %d %v", code, err)
	}
}

// In-dialog requests over the wire: a re-INVITE putting the leg on hold
// keeps the same RTP port and answers inactive; UPDATE carrying SIPREC
// metadata is accepted; above capacity a new call gets 503 with Retry-After.
func TestInDialogAndCapacityOverTheWire(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.MaxCalls = 1; c.RetryAfter = 7 })
	sip := newRawSIP(t, a)
	offer := func(dir string) []byte {
		return []byte("v=0\r\no=SBC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			"m=audio 45000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=label:1\r\na=" + dir + "\r\n" +
			"m=audio 45002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=label:2\r\na=" + dir + "\r\n")
	}
	sip.send(t, sip.invite("dlg-1", fmt.Sprintf("sip:srs@%s", a.SIPAddr()), "application/sdp", "Require: siprec\r\n", offer("sendonly")))
	code, resp := sip.final(t)
	if code != 200 {
		t.Fatalf("INVITE: %d\n%s", code, resp)
	}
	ports := regexp.MustCompile(`m=audio (\d+)`).FindAllStringSubmatch(resp, -1)
	tag := toTagRE.FindStringSubmatch(resp)[1]
	sip.send(t, sip.inDialog("ACK", "dlg-1", tag, 1))

	reinv := strings.Replace(sip.invite("dlg-1", "sip:srs@127.0.0.1", "application/sdp", "", offer("inactive")),
		"To: <sip:srs@127.0.0.1>\r\n", "To: <sip:srs@127.0.0.1>;tag="+tag+"\r\n", 1)
	reinv = strings.Replace(reinv, "CSeq: 1 INVITE", "CSeq: 2 INVITE", 1)
	reinv = strings.Replace(reinv, "branch=z9hG4bK-dlg-1", "branch=z9hG4bK-dlg-1-re", 1)
	sip.send(t, reinv)
	code, resp = sip.final(t)
	if code != 200 || strings.Count(resp, "a=inactive") != 2 {
		t.Fatalf("re-INVITE inactive: %d\n%s", code, resp)
	}
	again := regexp.MustCompile(`m=audio (\d+)`).FindAllStringSubmatch(resp, -1)
	if len(again) != 2 || again[0][1] != ports[0][1] || again[1][1] != ports[1][1] {
		t.Errorf("re-INVITE moved the RTP ports: %v -> %v", ports, again)
	}
	sip.send(t, sip.inDialog("ACK", "dlg-1", tag, 2))

	md := `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>partial</datamode><participant participant_id="p"><nameID aor="sip:5001@x"/></participant></recording>`
	upd := fmt.Sprintf("UPDATE sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-upd\r\nFrom: <sip:src@127.0.0.1>;tag=src1\r\n"+
		"To: <sip:srs@127.0.0.1>;tag=%s\r\nCall-ID: dlg-1\r\nCSeq: 3 UPDATE\r\nMax-Forwards: 70\r\nContent-Type: application/rs-metadata+xml\r\n"+
		"Content-Length: %d\r\n\r\n%s", sip.port, tag, len(md), md)
	sip.send(t, upd)
	if code, resp := sip.final(t); code != 200 {
		t.Errorf("UPDATE with metadata: %d\n%s", code, resp)
	}

	sip.send(t, sip.invite("dlg-2", "sip:record=other@127.0.0.1;dn=1;recordDN=1", "application/sdp", "", offer("sendonly")))
	code, resp = sip.final(t)
	if code != 503 || !regexp.MustCompile(`(?m)^Retry-After: 7\r?$`).MatchString(resp) {
		t.Errorf("over capacity: %d\n%s", code, resp)
	}
	sip.send(t, sip.inDialog("BYE", "dlg-1", tag, 4))
	if code, _ := sip.final(t); code != 200 {
		t.Errorf("BYE: %d", code)
	}
	r := waitFinished(t, a, 1)[0]
	full, err := a.Store().GetRecording(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range full.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); !strings.Contains(got, "pause") || !strings.Contains(got, "metadata") {
		t.Errorf("events = %s, want the pause (all streams inactive) and the metadata update", got)
	}
}
