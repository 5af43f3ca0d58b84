package sdpoa

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/openrec/openrec/internal/media"
)

// mline is an m= line as read by the pre-pass (RFC 8866 §5.14):
//
//	m=<media> <port>[/<number of ports>] <proto> <fmt> ...
type mline struct {
	media   string
	port    int
	proto   string
	formats []string
}

// canonical is an offer after the pre-pass: the text pion parses and what
// the pre-pass read itself.
type canonical struct {
	text   string
	origin string
	name   string
	mlines []mline
	// skipped lists lines after v=0 that were not <type>=<value> (a stray
	// multipart boundary, junk): dropped, each noted.
	skipped []string
}

// ParseOffer parses an SDP offer. The errors it returns wrap ErrMalformed.
// See the package documentation for what is tolerated.
func ParseOffer(b []byte) (*Session, error) {
	c, err := canonicalize(b)
	if err != nil {
		return nil, err
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(c.text); err != nil {
		// The pre-pass only hands pion lines it accepts; keep the
		// reason printable in case that ever stops being true.
		return nil, fmt.Errorf("%w: %s", ErrMalformed, printable(err.Error()))
	}
	if len(sd.MediaDescriptions) != len(c.mlines) {
		return nil, fmt.Errorf("%w: media descriptions lost in parsing", ErrMalformed)
	}

	s := &Session{
		Origin: c.origin,
		Name:   c.name,
		Media:  make([]Media, len(c.mlines)),
		Raw:    append([]byte(nil), b...),
		// Problems: what was tolerated (the recorder flags it).
		Problems: c.skipped,
	}
	sessAddr := connAddr(sd.ConnectionInformation)
	sessDir, _ := direction(sd.Attributes)
	sessPtime := ptime(sd.Attributes)
	for i, ml := range c.mlines {
		md := sd.MediaDescriptions[i]
		m := Media{
			Index:   i,
			Type:    ml.media,
			Port:    ml.port,
			Proto:   ml.proto,
			Addr:    sessAddr,
			Ptime:   sessPtime,
			formats: ml.formats,
		}
		if md.ConnectionInformation != nil {
			m.Addr = connAddr(md.ConnectionInformation)
		}
		m.Hold = m.Addr.IsValid() && m.Addr.IsUnspecified()
		var ok bool
		if m.Direction, ok = direction(md.Attributes); !ok {
			m.Direction = sessDir
		}
		if p := ptime(md.Attributes); p > 0 {
			m.Ptime = p
		}
		readAttributes(&m, md.Attributes)
		if isRTP(ml.proto) {
			readCodecs(&m, ml.formats, md.Attributes)
		}
		s.Media[i] = m
	}
	return s, nil
}

// canonicalize checks the line structure of b and writes the canonical text
// pion parses: v=, a placeholder o=, s=, the session c=, t=0 0, session a=
// lines, then each media description as m=, c=, a= lines.
func canonicalize(b []byte) (*canonical, error) {
	var (
		c         canonical
		out       strings.Builder
		sessConn  string          // canonical session c= line
		sessAttrs strings.Builder // session a= lines
		seenV     bool
		seenO     bool
		seenS     bool
		seenC     bool // session c=
		mediaC    bool // c= seen in the current media description
		inMedia   bool
		lineNo    int
		nonEmpty  int
	)
	out.Grow(len(b) + 64)

	for rest := b; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		lineNo++
		l := strings.Trim(string(line), " \t")
		if l == "" {
			continue
		}
		nonEmpty++
		if nonEmpty > 1 && (len(l) < 2 || l[1] != '=') {
			// A stray line inside an SDP that started well (a multipart
			// boundary an SBC left in the part, junk): nothing a recorder
			// needs is lost by skipping it, so it is noted, not refused.
			c.skipped = append(c.skipped, fmt.Sprintf("SDP line %d skipped: not a <type>=<value> line", lineNo))
			continue
		}
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return nil, malformed(lineNo, "not a <type>=<value> line")
		}
		typ, val := l[0], l[2:]
		if nonEmpty == 1 {
			if typ != 'v' || strings.TrimSpace(val) != "0" {
				return nil, fmt.Errorf("%w: does not start with v=0", ErrMalformed)
			}
			seenV = true
			continue
		}
		if typ == 'v' {
			return nil, malformed(lineNo, "second session description (v=)")
		}
		if typ == 'm' {
			ml, err := parseMLine(val)
			if err != nil {
				return nil, malformed(lineNo, err.Error())
			}
			if !inMedia {
				inMedia = true
				writeSessionHead(&out, sessConn, sessAttrs.String())
			}
			c.mlines = append(c.mlines, ml)
			// The canonical m= line is fixed: the pre-pass keeps the real
			// media, port, proto and formats, which pion would reject for
			// media types and protos it does not know.
			out.WriteString("m=audio 9 RTP/AVP 0\r\n")
			mediaC = false
			continue
		}
		if inMedia {
			switch typ {
			case 'c':
				if mediaC {
					continue // several c= (layered multicast): the first one wins
				}
				cl, err := canonicalConn(val)
				if err != nil {
					return nil, malformed(lineNo, err.Error())
				}
				mediaC = true
				out.WriteString(cl)
			case 'a':
				out.WriteString(l)
				out.WriteString("\r\n")
			}
			// i=, b=, k= and lines that belong elsewhere are dropped.
			continue
		}
		switch typ {
		case 'o':
			if seenO {
				return nil, malformed(lineNo, "second o= line")
			}
			seenO = true
			c.origin = val
		case 's':
			if seenS {
				return nil, malformed(lineNo, "second s= line")
			}
			seenS = true
			c.name = val
		case 'c':
			if seenC {
				return nil, malformed(lineNo, "second session c= line")
			}
			cl, err := canonicalConn(val)
			if err != nil {
				return nil, malformed(lineNo, err.Error())
			}
			seenC = true
			sessConn = cl
		case 'a':
			sessAttrs.WriteString(l)
			sessAttrs.WriteString("\r\n")
		}
		// t=, r=, z=, i=, u=, e=, p=, b=, k= and unknown letters are dropped.
	}
	if !seenV {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if !inMedia {
		writeSessionHead(&out, sessConn, sessAttrs.String())
	}
	c.text = out.String()
	return &c, nil
}

// writeSessionHead writes the canonical session part in the order pion
// requires. The o=, s= and t= lines are placeholders: the pre-pass keeps the
// offered o= and s= values, and t= means nothing to a recorder.
func writeSessionHead(out *strings.Builder, conn, attrs string) {
	out.WriteString("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\n")
	out.WriteString(conn)
	out.WriteString("t=0 0\r\n")
	out.WriteString(attrs)
}

// nextLine splits b at the first CRLF, LF or CR.
func nextLine(b []byte) (line, rest []byte) {
	for i, ch := range b {
		switch ch {
		case '\n':
			return b[:i], b[i+1:]
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return b[:i], b[i+2:]
			}
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// parseMLine reads the value of an m= line.
func parseMLine(v string) (mline, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
		return mline{}, fmt.Errorf("m= line needs media, port, proto and a format")
	}
	for _, x := range f {
		if !isToken(x) {
			return mline{}, fmt.Errorf("m= line contains control characters")
		}
	}
	p := f[1]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i] // <port>/<number of ports>: the first port is the one used
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 || p[0] == '+' || p[0] == '-' {
		return mline{}, fmt.Errorf("m= port is not a number from 0 to 65535")
	}
	return mline{media: f[0], port: port, proto: f[2], formats: f[3:]}, nil
}

// canonicalConn checks the value of a c= line (RFC 8866 §5.7) and returns it
// as a canonical line:
//
//	c=<nettype> <addrtype> <connection-address>
func canonicalConn(v string) (string, error) {
	f := strings.Fields(v)
	if len(f) < 2 || !strings.EqualFold(f[0], "IN") {
		return "", fmt.Errorf("c= line is not IN IP4|IP6 <address>")
	}
	at := strings.ToUpper(f[1])
	if at != "IP4" && at != "IP6" {
		return "", fmt.Errorf("c= address type is not IP4 or IP6")
	}
	if len(f) == 2 {
		return "c=IN " + at + "\r\n", nil
	}
	return "c=IN " + at + " " + f[2] + "\r\n", nil
}

// connAddr returns the IP literal of a connection line, without a multicast
// TTL or address count; invalid if there is none.
func connAddr(ci *sdp.ConnectionInformation) netip.Addr {
	if ci == nil || ci.Address == nil {
		return netip.Addr{}
	}
	a := ci.Address.Address
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// direction returns the last direction attribute among attrs.
func direction(attrs []sdp.Attribute) (Direction, bool) {
	d, ok := SendRecv, false
	for _, a := range attrs {
		for _, x := range [...]Direction{SendRecv, SendOnly, RecvOnly, Inactive} {
			if strings.EqualFold(a.Key, string(x)) {
				d, ok = x, true
			}
		}
	}
	return d, ok
}

// ptime returns the value of the first a=ptime in ms, rounded; 0 if absent
// or unreadable.
func ptime(attrs []sdp.Attribute) int {
	for _, a := range attrs {
		if !strings.EqualFold(a.Key, "ptime") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 60000 {
			return 0
		}
		return max(1, int(math.Round(f)))
	}
	return 0
}

// readAttributes fills the plain media attributes of m.
func readAttributes(m *Media, attrs []sdp.Attribute) {
	labelSeen := false
	for _, a := range attrs {
		switch strings.ToLower(a.Key) {
		case "label":
			if !labelSeen {
				m.Label, labelSeen = a.Value, true
			}
		case "rtcp-mux":
			m.RTCPMux = true
		case "rtcp":
			if m.RTCPPort != 0 {
				continue
			}
			f := strings.Fields(a.Value)
			if len(f) > 0 {
				if p, err := strconv.Atoi(f[0]); err == nil && p > 0 && p <= 65535 {
					m.RTCPPort = p
				}
			}
		case "crypto":
			m.Crypto = append(m.Crypto, a.Value)
		}
	}
}

// isRTP reports whether the formats of a proto are RTP payload types.
func isRTP(proto string) bool {
	for p := range strings.SplitSeq(proto, "/") {
		if strings.EqualFold(p, "RTP") {
			return true
		}
	}
	return false
}

// readCodecs fills Codecs, TelephoneEvent and ComfortNoise from the formats
// of an RTP m-line and its a=rtpmap lines.
func readCodecs(m *Media, formats []string, attrs []sdp.Attribute) {
	maps := make(map[uint8]media.Codec)
	fmtps := make(map[uint8]string)
	for _, a := range attrs {
		if strings.EqualFold(a.Key, "fmtp") {
			// a=fmtp:<payload type> <parameters> (RFC 8866 §6.15); the first one counts
			pt, params, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
			if n, err := strconv.Atoi(pt); err == nil && n >= 0 && n < 128 {
				if _, dup := fmtps[uint8(n)]; !dup {
					fmtps[uint8(n)] = strings.TrimSpace(params)
				}
			}
			continue
		}
		if !strings.EqualFold(a.Key, "rtpmap") {
			continue
		}
		if c, ok := parseRTPMap(a.Value, m.Type); ok {
			if _, dup := maps[c.PT]; !dup {
				maps[c.PT] = c
			}
		}
	}
	var seen [128]bool
	for _, f := range formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 || strconv.Itoa(pt) != f || seen[pt] {
			continue // not a payload type ("+8", "008" and "t38" included), or a repeat
		}
		seen[pt] = true
		c, ok := maps[uint8(pt)]
		if !ok {
			if c, ok = staticCodec(uint8(pt)); !ok {
				continue // dynamic without rtpmap: unusable
			}
		}
		c.Fmtp = fmtps[uint8(pt)]
		switch c.Name {
		case media.TelephoneEvent:
			m.events = append(m.events, c)
			if m.TelephoneEvent == nil {
				m.TelephoneEvent = &c
			}
		case media.CN:
			m.noises = append(m.noises, c)
			if m.ComfortNoise == nil {
				m.ComfortNoise = &c
			}
		default:
			m.Codecs = append(m.Codecs, c)
		}
	}
}

// parseRTPMap reads the value of an a=rtpmap line (RFC 8866 §6.6):
//
//	a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
//
// A missing or unreadable clock rate falls back to RFC 3551 for static
// payload types and to 8000 otherwise; missing channels to 1 for audio.
func parseRTPMap(v, mediaType string) (media.Codec, bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexAny(v, " \t")
	if i < 0 {
		return media.Codec{}, false
	}
	pt, err := strconv.Atoi(v[:i])
	if err != nil || pt < 0 || pt > 127 || strconv.Itoa(pt) != v[:i] {
		return media.Codec{}, false
	}
	parts := strings.Split(strings.TrimSpace(v[i+1:]), "/")
	name := strings.ToUpper(strings.TrimSpace(parts[0]))
	if !isToken(name) {
		return media.Codec{}, false // unreadable: as if there were no rtpmap
	}
	c := media.Codec{PT: uint8(pt), Name: name}
	if len(parts) > 1 {
		if r, err := strconv.Atoi(strings.TrimSpace(parts[1])); err == nil && r > 0 {
			c.ClockRate = r
		}
	}
	if c.ClockRate == 0 {
		c.ClockRate = 8000
		if s, ok := staticCodec(uint8(pt)); ok {
			c.ClockRate = s.ClockRate
		}
	}
	if len(parts) > 2 {
		if n, err := strconv.Atoi(strings.TrimSpace(parts[2])); err == nil && n > 0 && n <= 255 {
			c.Channels = n
		}
	}
	if c.Channels == 0 && mediaType == "audio" {
		c.Channels = 1
	}
	return c, true
}

func malformed(line int, reason string) error {
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, line, reason)
}

// printable keeps s to at most 100 printable ASCII characters.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 100 {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
