package sipsrv

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Be liberal where it costs nothing (RFC 3261 §16.3, the robustness
// principle): a request sipgo cannot parse only because of a header the
// recorder does not need is repaired instead of refused.
//
//   - Route: a UAS is the end of the route, so Route headers mean nothing to
//     it; a malformed one (e.g. a port "remote_port" an SBC template left
//     unfilled) is removed.
//   - Record-Route: a malformed entry is removed; the recorder sends its
//     in-dialog requests (BYE, session refresh) to the request's source
//     address anyway.
//   - Contact: an unterminated "<" is closed; a Contact whose URI still
//     cannot be read is removed, and in-dialog requests go to the source
//     address (see dialogTarget).
//
// Anything else that fails to parse (Via, From, To, Call-ID, CSeq,
// Content-Length) is still refused with 400: a recorder cannot answer or
// follow such a request.

// repairRequest returns data with the headers above repaired or removed
// and what was done, or ok false when nothing could be repaired.
func repairRequest(data []byte) (fixed []byte, notes []string, ok bool) {
	sep := []byte("\r\n\r\n")
	head, body, found := bytes.Cut(data, sep)
	if !found {
		sep = []byte("\n\n")
		if head, body, found = bytes.Cut(data, sep); !found {
			return nil, nil, false
		}
	}
	eol := "\r\n"
	if !bytes.Contains(head, []byte("\r\n")) {
		eol = "\n"
	}
	lines := strings.Split(string(head), eol)
	out := make([]string, 0, len(lines))
	out = append(out, lines[0])
	for _, l := range lines[1:] {
		name, value, isHeader := strings.Cut(l, ":")
		if !isHeader {
			out = append(out, l)
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "route":
			if !routeValid(value) {
				notes = append(notes, "malformed Route header ignored")
				continue
			}
		case "record-route":
			if !routeValid(value) {
				notes = append(notes, "malformed Record-Route header ignored")
				continue
			}
		case "contact", "m":
			v, note := repairContact(value)
			if note != "" {
				notes = append(notes, note)
			}
			if v == "" {
				continue
			}
			l = name + ":" + v
		}
		out = append(out, l)
	}
	if len(notes) == 0 {
		return nil, nil, false
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(out, eol))
	b.Write(sep)
	b.Write(body)
	return b.Bytes(), notes, true
}

// routeValid reports whether every entry of a Route or Record-Route value
// is a name-addr whose URI parses.
func routeValid(value string) bool {
	for _, e := range strings.Split(value, ",") {
		e = strings.TrimSpace(e)
		i, j := strings.IndexByte(e, '<'), strings.IndexByte(e, '>')
		if i < 0 || j < i {
			return false
		}
		var u sip.Uri
		if sip.ParseUri(e[i+1:j], &u) != nil {
			return false
		}
	}
	return true
}

// repairContact closes an unterminated "<" of a Contact value. It returns
// the value to keep ("" to remove the header) and a note when it changed.
func repairContact(value string) (string, string) {
	v := strings.TrimSpace(value)
	if v == "*" {
		return value, ""
	}
	i := openingBracket(v)
	j := -1
	if i >= 0 {
		if k := strings.IndexByte(v[i:], '>'); k >= 0 {
			j = i + k
		}
	}
	note := ""
	if i >= 0 && j < 0 {
		v += ">"
		j = len(v) - 1
		note = "unterminated < in Contact closed"
	}
	uri := v
	if i >= 0 {
		uri = v[i+1 : j]
	} else if k := strings.IndexByte(v, ';'); k >= 0 {
		uri = v[:k] // addr-spec form: header params follow the URI
	}
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Host == "" {
		return "", "unusable Contact ignored: in-dialog requests go to the source address"
	}
	if note == "" {
		return value, ""
	}
	return " " + v, note
}

// openingBracket is the index of the first "<" outside a quoted display
// name, or -1.
func openingBracket(v string) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			return i
		}
	}
	return -1
}

// dialogTarget is the Request-URI of an in-dialog request we send: the
// peer's Contact, else (no usable Contact) its source address.
func dialogTarget(inv *sip.Request) sip.Uri {
	if c := inv.Contact(); c != nil && c.Address.Host != "" {
		return c.Address
	}
	var u sip.Uri
	if err := sip.ParseUri("sip:"+inv.Source(), &u); err == nil && u.Host != "" {
		return u
	}
	return inv.Recipient
}
