package follow

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// message is what the follower needs of one SIP message (RFC 3261 §7):
// the start line, the dialog identifiers, and the body.
type message struct {
	request    bool
	method     string // request method, or the CSeq method of a response
	status     int    // response status code
	callID     string
	cseq       uint32
	fromTag    string
	toTag      string
	fromUser   string
	toUser     string
	callUUID   string // X-Genesys-CallUUID (a Call-ID/UUID header the switch copies)
	contentTyp string
	body       []byte
}

// Errors of the SIP message reader.
var (
	errNotSIP     = errors.New("not a SIP message")
	errIncomplete = errors.New("incomplete SIP message")
	errMalformed  = errors.New("malformed SIP message")
)

// maxMessage bounds one SIP message (headers + body) on a TCP stream: a
// stream that holds more without a complete message is resynchronised.
const maxMessage = 64 << 10

var sipMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "UPDATE", "PRACK",
	"INFO", "REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE", "PUBLISH"}

// looksSIP reports whether b starts like a SIP message: a response line
// or a request line of a known method.
func looksSIP(b []byte) bool {
	if bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		return true
	}
	for _, m := range sipMethods {
		if len(b) > len(m) && b[len(m)] == ' ' && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// messageStart returns the index of the first line of b that starts like
// a SIP message, or -1 (resynchronising a TCP stream after a gap).
func messageStart(b []byte) int {
	for i := 0; i < len(b); {
		if looksSIP(b[i:]) {
			return i
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
	}
	return -1
}

// parseMessage reads one message from the start of b. stream says b is a
// TCP stream: Content-Length is then mandatory (RFC 3261 §18.3) and the
// message may be incomplete; on UDP the datagram is the message and a
// missing Content-Length means the rest of it. n is the number of bytes
// the message occupies.
func parseMessage(b []byte, stream bool) (m message, n int, err error) {
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') { // keep-alive CRLFs (RFC 5626 §3.5.1)
		b = b[1:]
		n++
	}
	if len(b) == 0 {
		return m, n, errIncomplete
	}
	if !looksSIP(b) {
		return m, n, errNotSIP
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	sepLen := 4
	if e2 := bytes.Index(b, []byte("\n\n")); e2 >= 0 && (end < 0 || e2 < end) {
		end, sepLen = e2, 2
	}
	if end < 0 {
		if len(b) > maxMessage {
			return m, n, errMalformed
		}
		if stream {
			return m, n, errIncomplete
		}
		end, sepLen = len(b), 0
	}
	head := string(b[:end])
	lines := unfold(head)
	if len(lines) == 0 {
		return m, n, errMalformed
	}
	if err := m.startLine(lines[0]); err != nil {
		return m, n, err
	}
	clen := -1
	var cseqMethod string
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			m.callID = value
		case "cseq":
			num, meth, _ := strings.Cut(value, " ")
			v, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
			if err != nil {
				return m, n, errMalformed
			}
			m.cseq, cseqMethod = uint32(v), strings.ToUpper(strings.TrimSpace(meth))
		case "from", "f":
			m.fromUser, m.fromTag = nameAddr(value)
		case "to", "t":
			m.toUser, m.toTag = nameAddr(value)
		case "content-length", "l":
			v, err := strconv.Atoi(value)
			if err != nil || v < 0 || v > maxMessage {
				return m, n, errMalformed
			}
			clen = v
		case "content-type", "c":
			m.contentTyp = value
		case "x-genesys-calluuid":
			m.callUUID = value
		}
	}
	if m.callID == "" || cseqMethod == "" {
		return m, n, errMalformed
	}
	if !m.request {
		m.method = cseqMethod
	}
	bodyStart := end + sepLen
	rest := b[bodyStart:]
	switch {
	case clen < 0 && stream:
		return m, n, errMalformed
	case clen < 0:
		m.body = rest
		return m, n + len(b), nil
	case clen > len(rest):
		if stream {
			return m, n, errIncomplete
		}
		m.body = rest // a truncated datagram: keep what there is
		return m, n + len(b), nil
	}
	m.body = rest[:clen]
	return m, n + bodyStart + clen, nil
}

func (m *message) startLine(l string) error {
	if strings.HasPrefix(l, "SIP/2.0 ") {
		code, _, _ := strings.Cut(l[len("SIP/2.0 "):], " ")
		v, err := strconv.Atoi(code)
		if err != nil || v < 100 || v > 699 {
			return errMalformed
		}
		m.status = v
		return nil
	}
	method, rest, ok := strings.Cut(l, " ")
	if !ok || !strings.HasSuffix(rest, " SIP/2.0") {
		return errMalformed
	}
	m.request, m.method = true, method
	return nil
}

// unfold splits a header block into lines, joining continuation lines
// (RFC 3261 §7.3.1).
func unfold(head string) []string {
	raw := strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n")
	out := raw[:0]
	for _, l := range raw {
		if len(out) > 0 && l != "" && (l[0] == ' ' || l[0] == '\t') {
			out[len(out)-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// nameAddr returns the user part of a From/To value's URI and its tag
// parameter.
func nameAddr(v string) (user, tag string) {
	uri, params := v, ""
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			uri, params = v[i+1:i+j], v[i+j+1:]
		} else {
			uri = v[i+1:]
		}
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		uri, params = v[:i], v[i:]
	}
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "tag") {
			tag = val
		}
	}
	if _, after, ok := strings.Cut(uri, ":"); ok {
		uri = after
	}
	if at := strings.IndexByte(uri, '@'); at >= 0 {
		user = uri[:at]
	} else if i := strings.IndexAny(uri, ";?"); i >= 0 {
		user = uri[:i]
	} else {
		user = uri
	}
	return user, tag
}
