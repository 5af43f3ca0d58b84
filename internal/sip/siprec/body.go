package siprec

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
)

// Part is one body part of a multipart SIP body (RFC 2046 §5.1), or the whole
// body when it is not multipart.
type Part struct {
	ContentType string // Content-Type value as found, trimmed ("" when absent)
	Disposition string // Content-Disposition value as found, trimmed
	Body        []byte // the part's content, without the line break that belongs to the next delimiter
}

// Body is a SIP message body split for a recording server.
type Body struct {
	SDP          []byte // the SDP offer, leading blank lines removed; nil when absent
	Metadata     []byte // the rs-metadata document, leading white space removed; nil when absent
	MetadataType string // Content-Type of the metadata part as found (may be broken, e.g. "application/ +xml")
	Parts        []Part // every part in order (one part for a non-multipart body)
}

// maxNesting bounds recursion into nested multipart parts.
const maxNesting = 3

// SplitBody splits a SIP body given the value of the message's Content-Type
// header (RFC 7866 §8: multipart/mixed with application/sdp and
// application/rs-metadata+xml parts).
//
//   - application/sdp (or any body that starts with "v=0"): SDP only;
//   - multipart/*: the boundary comes from the parameter, or is detected from
//     the first line starting with "--" when the parameter is missing or does
//     not occur in the body; nested multipart parts are flattened;
//   - application/rs-metadata(+xml) alone (a metadata-only UPDATE): Metadata
//     set and ErrNoSDP.
//
// With ErrNoSDP the returned Body is non-nil and holds whatever was found.
// ErrMalformedBody means the body could not be split (Body is nil). The
// returned slices do not alias body.
func SplitBody(contentType string, body []byte) (*Body, error) {
	buf := bytes.Clone(body)
	mt, params := parseContentType(contentType)
	lead := trimLeftSpace(buf)

	if len(lead) == 0 {
		return &Body{}, fmt.Errorf("%w: empty body", ErrNoSDP)
	}
	multipart := strings.HasPrefix(mt, "multipart/")
	// A body labelled as something else that is plainly multipart.
	if !multipart && bytes.HasPrefix(lead, []byte("--")) && !looksSDP(lead) {
		multipart = true
	}
	if !multipart {
		return classify([]Part{{ContentType: strings.TrimSpace(contentType), Body: buf}})
	}
	parts, err := splitMultipart(params["boundary"], buf, 0)
	if err != nil {
		if looksSDP(lead) { // labelled multipart but really a bare SDP
			return classify([]Part{{ContentType: strings.TrimSpace(contentType), Body: buf}})
		}
		return nil, err
	}
	return classify(parts)
}

// classify picks the SDP and metadata parts.
func classify(parts []Part) (*Body, error) {
	b := &Body{Parts: parts}
	sdp := -1
	// An application/sdp part with nothing in it is no SDP: the request is
	// refused (ErrNoSDP), never handed on with an empty offer.
	for i, p := range parts {
		if mediaType(p.ContentType) == "application/sdp" && len(trimLeftSpace(p.Body)) > 0 {
			sdp = i
			break
		}
	}
	if sdp < 0 {
		for i, p := range parts {
			if looksSDP(p.Body) {
				sdp = i
				break
			}
		}
	}
	meta := -1
	for _, pick := range []func(Part) bool{
		func(p Part) bool { return isMetadataType(p.ContentType) },
		func(p Part) bool { return dispositionType(p.Disposition) == "recording-session" },
		func(p Part) bool {
			return mediaType(p.ContentType) != "application/sdp" && bytes.HasPrefix(trimLeftSpace(p.Body), []byte("<"))
		},
	} {
		for i, p := range parts {
			if i != sdp && pick(p) {
				meta = i
				break
			}
		}
		if meta >= 0 {
			break
		}
	}
	if meta >= 0 {
		b.Metadata = trimLeftSpace(parts[meta].Body)
		b.MetadataType = parts[meta].ContentType
	}
	if sdp < 0 {
		return b, fmt.Errorf("%w: %d part(s), none is application/sdp", ErrNoSDP, len(parts))
	}
	b.SDP = trimLeftSpace(parts[sdp].Body)
	return b, nil
}

// IsMetadataType reports whether a Content-Type names rs-metadata.
func isMetadataType(ct string) bool {
	mt := mediaType(ct)
	return mt == "application/rs-metadata+xml" || mt == "application/rs-metadata"
}

// splitMultipart splits body on boundary (RFC 2046 §5.1.1), detecting the
// boundary when it is empty or absent from the body.
func splitMultipart(boundary string, body []byte, depth int) ([]Part, error) {
	delims := findDelimiters(body, boundary)
	if len(delims) == 0 {
		detected := detectBoundary(body)
		if detected == "" {
			return nil, fmt.Errorf("%w: multipart body without delimiter line (boundary %q)", ErrMalformedBody, boundary)
		}
		delims = findDelimiters(body, detected)
	}
	if len(delims) == 0 {
		return nil, fmt.Errorf("%w: multipart body without delimiter line", ErrMalformedBody)
	}
	var parts []Part
	for i, d := range delims {
		if d.close {
			break // epilogue follows
		}
		end := len(body)
		if i+1 < len(delims) {
			end = delims[i+1].start
			// The line break before a delimiter belongs to the delimiter.
			if end > d.end && body[end-1] == '\n' {
				end--
				if end > d.end && body[end-1] == '\r' {
					end--
				}
			}
		}
		if end < d.end {
			end = d.end
		}
		raw := body[d.end:end]
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		p := parsePart(raw)
		if depth < maxNesting && strings.HasPrefix(mediaType(p.ContentType), "multipart/") {
			_, params := parseContentType(p.ContentType)
			if sub, err := splitMultipart(params["boundary"], p.Body, depth+1); err == nil {
				parts = append(parts, sub...)
				continue
			}
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: multipart body without parts", ErrMalformedBody)
	}
	return parts, nil
}

type delimiter struct {
	start, end int // line start, index after the line's '\n' (or len)
	close      bool
}

// findDelimiters returns the delimiter lines "--boundary" and the close
// delimiter "--boundary--", allowing trailing white space on them.
func findDelimiters(body []byte, boundary string) []delimiter {
	if boundary == "" {
		return nil
	}
	open := "--" + boundary
	closing := open + "--"
	var out []delimiter
	for start := 0; start < len(body); {
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start + 1
		}
		line := string(bytes.TrimRight(body[start:end], " \t\r\n"))
		switch line {
		case open:
			out = append(out, delimiter{start: start, end: end})
		case closing:
			out = append(out, delimiter{start: start, end: end, close: true})
		}
		start = end
	}
	return out
}

// detectBoundary takes the boundary from the first line that starts with "--".
func detectBoundary(body []byte) string {
	for start := 0; start < len(body); {
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start + 1
		}
		line := bytes.TrimRight(body[start:end], " \t\r\n")
		if len(line) > 2 && line[0] == '-' && line[1] == '-' {
			return strings.TrimSuffix(string(line[2:]), "--")
		}
		start = end
	}
	return ""
}

// parsePart separates a part's headers from its content. A part whose first
// line is not a header line has no headers.
func parsePart(raw []byte) Part {
	var p Part
	var last *string
	pos := 0
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		next := len(raw)
		if end >= 0 {
			next = pos + end + 1
		}
		line := strings.TrimRight(string(raw[pos:next]), "\r\n")
		if strings.TrimSpace(line) == "" {
			pos = next // blank line: content follows
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != nil { // folded header
			*last = strings.TrimSpace(*last + " " + strings.TrimSpace(line))
			pos = next
			continue
		}
		name, value, ok := headerLine(line)
		if !ok {
			break // no (more) headers: content starts here
		}
		switch strings.ToLower(name) {
		case "content-type", "c":
			p.ContentType = value
			last = &p.ContentType
		case "content-disposition":
			p.Disposition = value
			last = &p.Disposition
		default:
			last = nil
		}
		pos = next
	}
	p.Body = raw[pos:]
	return p
}

// headerLine splits "Name: value" when Name is a header token.
func headerLine(line string) (name, value string, ok bool) {
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return "", "", false
	}
	name = strings.TrimRight(line[:i], " \t")
	if name == "" {
		return "", "", false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", false
		}
	}
	return name, strings.TrimSpace(line[i+1:]), true
}

// parseContentType returns the lower-cased media type and the parameters,
// tolerating values mime.ParseMediaType rejects.
func parseContentType(ct string) (string, map[string]string) {
	if mt, params, err := mime.ParseMediaType(ct); err == nil {
		return mt, params
	}
	params := map[string]string{}
	fields := strings.Split(ct, ";")
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		params[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return mediaType(ct), params
}

// mediaType is the lower-cased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	t, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// dispositionType is the lower-cased disposition type of a Content-Disposition value.
func dispositionType(cd string) string {
	return mediaType(cd)
}

func looksSDP(b []byte) bool {
	return bytes.HasPrefix(trimLeftSpace(b), []byte("v=0"))
}

func trimLeftSpace(b []byte) []byte {
	return bytes.TrimLeft(b, " \t\r\n")
}
