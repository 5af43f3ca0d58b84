package dial

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// staticPT are the RFC 3551 static payload types of the codecs we send.
var staticPT = map[string]uint8{"PCMU": 0, "PCMA": 8, "G722": 9}

// dtmfOfferPT is the payload type offered for telephone-event.
const dtmfOfferPT = 101

// offerStream is one m=audio line of an offer.
type offerStream struct {
	port     int
	rtcpPort int // 0: port+1 (not advertised)
	codec    string
	label    string // SIPREC a=label; empty for MSR
	dir      string // media direction; "" is DirSendOnly
	crypto   string // a=crypto value (SDES-SRTP, proto RTP/SAVP); "" for RTP/AVP
}

// buildOffer writes an SDP offer (RFC 4566 / 3264) with one audio m-line
// per stream (sendonly unless the stream says otherwise). version is the
// o= line's session version: the initial offer uses sessID, each re-offer
// in the dialog one more (RFC 3264 §8).
func buildOffer(ip netip.Addr, sessID, version uint64, streams []offerStream) []byte {
	ipv := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		ipv = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=openrec-dial %d %d IN %s %s\r\ns=openrec-dial\r\nc=IN %s %s\r\nt=0 0\r\n",
		sessID, version, ipv, ip, ipv, ip)
	for _, s := range streams {
		pt := staticPT[s.codec]
		proto := "RTP/AVP"
		if s.crypto != "" {
			proto = "RTP/SAVP"
		}
		fmt.Fprintf(&b, "m=audio %d %s %d %d\r\n", s.port, proto, pt, dtmfOfferPT)
		if s.crypto != "" {
			fmt.Fprintf(&b, "a=crypto:%s\r\n", s.crypto)
		}
		if s.rtcpPort != 0 && s.rtcpPort != s.port+1 {
			fmt.Fprintf(&b, "a=rtcp:%d\r\n", s.rtcpPort)
		}
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", pt, s.codec)
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", dtmfOfferPT, dtmfOfferPT)
		dir := s.dir
		if dir == "" {
			dir = DirSendOnly
		}
		fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
		if s.label != "" {
			fmt.Fprintf(&b, "a=label:%s\r\n", s.label)
		}
	}
	return []byte(b.String())
}

// answerStream is what we need from one m-line of the answer.
type answerStream struct {
	send   bool // false: port 0, inactive or sendonly: nothing to send
	rtp    netip.AddrPort
	rtcp   netip.AddrPort
	pt     uint8
	codec  string   // PCMU, PCMA or G722
	dtmfPT int      // -1 when telephone-event was not accepted
	crypto []string // a=crypto values of the answer
}

// parseAnswer reads an SDP answer with at least n m-lines. fallback is used
// when the answer's connection address is missing or unspecified.
func parseAnswer(body []byte, n int, fallback netip.Addr) ([]answerStream, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadAnswer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	if len(sd.MediaDescriptions) < n {
		return nil, fmt.Errorf("%w: %d m-lines, offered %d", ErrBadAnswer, len(sd.MediaDescriptions), n)
	}
	out := make([]answerStream, n)
	for i := range out {
		md := sd.MediaDescriptions[i]
		as := &out[i]
		as.dtmfPT = -1
		if md.MediaName.Port.Value == 0 {
			continue // rejected stream
		}
		if dir := direction(md.Attributes, sd.Attributes); dir == "inactive" || dir == "sendonly" {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = sd.ConnectionInformation
		}
		addr := fallback
		if ci != nil && ci.Address != nil {
			if a, err := netip.ParseAddr(ci.Address.Address); err == nil && !a.IsUnspecified() {
				addr = a
			}
		}
		if !addr.IsValid() {
			return nil, fmt.Errorf("%w: m-line %d has no usable address", ErrBadAnswer, i)
		}
		port := md.MediaName.Port.Value
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: m-line %d port %d", ErrBadAnswer, i, port)
		}
		as.rtp = netip.AddrPortFrom(addr, uint16(port))
		as.rtcp = netip.AddrPortFrom(addr, uint16(port+1))
		rtpmaps := map[int]string{}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				ptStr, enc, ok := strings.Cut(a.Value, " ")
				pt, err := strconv.Atoi(ptStr)
				if ok && err == nil {
					name, _, _ := strings.Cut(enc, "/")
					rtpmaps[pt] = strings.ToUpper(name)
				}
			case "crypto":
				as.crypto = append(as.crypto, a.Value)
			case "rtcp":
				f := strings.Fields(a.Value)
				if len(f) == 0 {
					continue
				}
				p, err := strconv.Atoi(f[0])
				if err != nil || p < 1 || p > 65535 {
					continue
				}
				ra := addr
				if len(f) == 4 {
					if x, err := netip.ParseAddr(f[3]); err == nil && !x.IsUnspecified() {
						ra = x
					}
				}
				as.rtcp = netip.AddrPortFrom(ra, uint16(p))
			}
		}
		as.codec = ""
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt > 127 {
				continue
			}
			name, ok := rtpmaps[pt]
			if !ok {
				switch pt {
				case 0:
					name = "PCMU"
				case 8:
					name = "PCMA"
				case 9:
					name = "G722"
				}
			}
			switch {
			case (name == "PCMU" || name == "PCMA" || name == "G722") && as.codec == "":
				as.codec, as.pt = name, uint8(pt)
			case name == "TELEPHONE-EVENT" && as.dtmfPT < 0:
				as.dtmfPT = pt
			}
		}
		if as.codec == "" {
			return nil, fmt.Errorf("%w: m-line %d formats %v", ErrNoCodec, i, md.MediaName.Formats)
		}
		as.send = true
	}
	return out, nil
}

// direction returns the media direction attribute of an m-line (falling
// back to the session level), or "" when none is present (sendrecv).
func direction(media, session []sdp.Attribute) string {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				return a.Key
			}
		}
	}
	return ""
}
