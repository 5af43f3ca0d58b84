package dial

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// siprecParty is one participant of the metadata document.
type siprecParty struct {
	aor   string // sip:<DN>@<host>
	name  string
	label string // SDP a=label of the stream this participant sends
}

// rsMetadata builds an RFC 7865 recording metadata document (datamode
// complete): one session carrying the Genesys CallUUID as extension data (none when it is empty),
// one participant per party with its nameID, one stream per label and the
// participant/stream associations (each party sends its own stream and
// receives the other's).
func rsMetadata(callUUID string, parties []siprecParty, now time.Time) []byte {
	sessionID := xmlID()
	ts := now.UTC().Format(time.RFC3339Nano)
	pids := make([]string, len(parties))
	sids := make([]string, len(parties))
	for i := range parties {
		pids[i], sids[i] = xmlID(), xmlID()
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\r\n")
	b.WriteString(`<recording xmlns="urn:ietf:params:xml:ns:recording:1">` + "\r\n")
	b.WriteString("  <datamode>complete</datamode>\r\n")
	fmt.Fprintf(&b, "  <session session_id=%q>\r\n", sessionID)
	fmt.Fprintf(&b, "    <start-time>%s</start-time>\r\n", ts)
	if callUUID != "" { // SIPREC from an SBC carries none
		fmt.Fprintf(&b, "    <extensiondata xmlns:gen=\"http://genesys.com/recording\">\r\n      <X-Genesys-CallUUID>%s</X-Genesys-CallUUID>\r\n    </extensiondata>\r\n", xmlEscape(callUUID))
	}
	b.WriteString("  </session>\r\n")
	for i, p := range parties {
		fmt.Fprintf(&b, "  <participant participant_id=%q>\r\n", pids[i])
		fmt.Fprintf(&b, "    <nameID aor=\"%s\">\r\n      <name xml:lang=\"en\">%s</name>\r\n    </nameID>\r\n", xmlEscape(p.aor), xmlEscape(p.name))
		b.WriteString("  </participant>\r\n")
	}
	for i, p := range parties {
		fmt.Fprintf(&b, "  <stream stream_id=%q session_id=%q>\r\n    <label>%s</label>\r\n  </stream>\r\n", sids[i], sessionID, xmlEscape(p.label))
	}
	fmt.Fprintf(&b, "  <sessionrecordingassoc session_id=%q>\r\n    <associate-time>%s</associate-time>\r\n  </sessionrecordingassoc>\r\n", sessionID, ts)
	for i := range parties {
		fmt.Fprintf(&b, "  <participantsessionassoc participant_id=%q session_id=%q>\r\n    <associate-time>%s</associate-time>\r\n  </participantsessionassoc>\r\n", pids[i], sessionID, ts)
	}
	for i := range parties {
		fmt.Fprintf(&b, "  <participantstreamassoc participant_id=%q>\r\n    <send>%s</send>\r\n", pids[i], sids[i])
		for j := range parties {
			if j != i {
				fmt.Fprintf(&b, "    <recv>%s</recv>\r\n", sids[j])
			}
		}
		b.WriteString("  </participantstreamassoc>\r\n")
	}
	b.WriteString("</recording>\r\n")
	return []byte(b.String())
}

// multipartBody joins the SDP offer and the metadata into a multipart/mixed
// body (RFC 2046 §5.1, RFC 7866 §9.1) and returns it with its Content-Type.
func multipartBody(sdpBody, metadata []byte) (body []byte, contentType string) {
	boundary := "openrec-" + randHex(8)
	var b strings.Builder
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/sdp\r\n\r\n")
	b.Write(sdpBody)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/rs-metadata+xml\r\nContent-Disposition: recording-session\r\n\r\n")
	b.Write(metadata)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return []byte(b.String()), "multipart/mixed;boundary=" + boundary
}

// xmlID is an RFC 7865 §6.9 identifier: a base64 encoded 128-bit UUID.
func xmlID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant
	return base64.StdEncoding.EncodeToString(u[:])
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlReplacer.Replace(s) }
