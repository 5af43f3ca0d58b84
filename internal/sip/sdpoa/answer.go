package sdpoa

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/openrec/openrec/internal/media"
)

// AnswerMedia is the answer to one offered m-line.
type AnswerMedia struct {
	Port int // local RTP port; 0 rejects the m-line (RFC 3264 §6), e.g. an unrecorded m=video
	// Codec is the payload type to answer with; it must be one the offer
	// listed. The zero Codec (no name, no clock rate) answers with the first
	// offered format.
	Codec          media.Codec
	TelephoneEvent *media.Codec // added when non-nil; must be offered
	ComfortNoise   *media.Codec // added when non-nil; must be offered
	Direction      Direction    // empty: AnswerDirection of the offered direction and hold
	RTCPMux        bool         // answer a=rtcp-mux; written only when the offer had it (RFC 5761 §5.1.1)
	// Crypto is the answerer's SDES key line (see AnswerCrypto), written as
	// a=crypto on an accepted m-line; nil writes none.
	Crypto *Crypto
}

// AnswerParams describes the answerer.
type AnswerParams struct {
	Addr               netip.Addr    // local media address, written in o= and the session c=
	SessionID, Version uint64        // o= session id and version (RFC 8866 §5.2)
	Username           string        // o= username; empty means "openrec"
	Media              []AnswerMedia // one per offered m-line, same order
}

// DefaultUsername is the o= username used when AnswerParams.Username is empty.
const DefaultUsername = "openrec"

// BuildAnswer writes the RFC 3264 answer to offer: valid SDP with CRLF line
// ends, one m-line per offered m-line in the same order, each with the
// offered media type and proto.
//
// A rejected m-line (AnswerMedia.Port 0, or port 0 in the offer, which must
// stay 0 per RFC 3264 §6) gets port 0, the first offered format and the
// offered a=label. An accepted one gets the chosen codec, telephone-event
// and CN with their a=rtpmap, a=ptime when the offer had it, a=rtcp-mux,
// the offered a=label (RFC 4574, which SIPREC clients use to match streams)
// and the direction.
//
// Errors wrap ErrMismatch when p does not fit the offer and ErrInvalidParams
// when p cannot be written as SDP.
func BuildAnswer(offer *Session, p AnswerParams) ([]byte, error) {
	if offer == nil {
		return nil, fmt.Errorf("%w: no offer", ErrMismatch)
	}
	if len(p.Media) != len(offer.Media) {
		return nil, fmt.Errorf("%w: %d answer media for %d offered m-lines", ErrMismatch, len(p.Media), len(offer.Media))
	}
	addr := p.Addr.Unmap().WithZone("")
	if !addr.IsValid() || addr.IsUnspecified() {
		return nil, fmt.Errorf("%w: no usable address", ErrInvalidParams)
	}
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	user := p.Username
	if user == "" {
		user = DefaultUsername
	}
	if !isToken(user) {
		return nil, fmt.Errorf("%w: username is not a token", ErrInvalidParams)
	}

	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       user,
			SessionID:      p.SessionID,
			SessionVersion: p.Version,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr.String(),
		},
		SessionName: "-",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: addr.String()},
		},
		TimeDescriptions:  []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: make([]*sdp.MediaDescription, len(offer.Media)),
	}
	for i := range offer.Media {
		md, err := answerMedia(&offer.Media[i], &p.Media[i])
		if err != nil {
			return nil, fmt.Errorf("m-line %d: %w", i, err)
		}
		sd.MediaDescriptions[i] = md
	}
	return sd.Marshal()
}

// answerMedia builds the answer to one offered m-line.
func answerMedia(om *Media, am *AnswerMedia) (*sdp.MediaDescription, error) {
	if am.Port < 0 || am.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrInvalidParams, am.Port)
	}
	if !isToken(om.Type) || !isToken(om.Proto) {
		return nil, fmt.Errorf("%w: offered media type or proto is not a token", ErrInvalidParams)
	}
	if strings.ContainsAny(om.Label, "\r\n") {
		return nil, fmt.Errorf("%w: offered label spans lines", ErrInvalidParams)
	}
	offered := offeredFormats(om)
	for _, f := range offered {
		if !isToken(f) {
			return nil, fmt.Errorf("%w: offered format is not a token", ErrInvalidParams)
		}
	}
	first := "0" // only for hand-built offers without formats
	if len(offered) > 0 {
		first = offered[0]
	}

	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  om.Type,
			Protos: strings.Split(om.Proto, "/"),
		},
	}
	label := func() {
		if om.Label != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("label", om.Label))
		}
	}
	if am.Port == 0 || om.Port == 0 {
		md.MediaName.Port.Value = 0
		md.MediaName.Formats = []string{first}
		label()
		return md, nil
	}
	md.MediaName.Port.Value = am.Port

	dir := am.Direction
	if dir == "" {
		dir = AnswerDirection(om.Direction, om.Hold)
	}
	switch dir {
	case SendRecv, SendOnly, RecvOnly, Inactive:
	default:
		return nil, fmt.Errorf("%w: direction %q", ErrInvalidParams, printable(string(dir)))
	}

	var maps []sdp.Attribute
	add := func(c media.Codec) error {
		f := strconv.Itoa(int(c.PT))
		if !contains(offered, f) {
			return fmt.Errorf("%w: payload type %d was not offered", ErrMismatch, c.PT)
		}
		if contains(md.MediaName.Formats, f) {
			return nil
		}
		md.MediaName.Formats = append(md.MediaName.Formats, f)
		if c.Name == "" || c.ClockRate <= 0 {
			return nil // no rtpmap known: the format stands alone
		}
		if !isToken(c.Name) {
			return fmt.Errorf("%w: codec name is not a token", ErrInvalidParams)
		}
		maps = append(maps, sdp.NewAttribute("rtpmap", rtpmap(c)))
		return nil
	}
	if am.Codec.Name == "" && am.Codec.ClockRate == 0 {
		if c, ok := offeredCodec(om, first); ok {
			if err := add(c); err != nil {
				return nil, err
			}
		} else {
			md.MediaName.Formats = append(md.MediaName.Formats, first)
		}
	} else if err := add(am.Codec); err != nil {
		return nil, err
	}
	for _, c := range []*media.Codec{am.TelephoneEvent, am.ComfortNoise} {
		if c == nil {
			continue
		}
		if err := add(*c); err != nil {
			return nil, err
		}
	}

	md.Attributes = append(md.Attributes, maps...)
	if om.Ptime > 0 {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("ptime", strconv.Itoa(om.Ptime)))
	}
	if am.RTCPMux && om.RTCPMux {
		md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	}
	if am.Crypto != nil {
		if !SuiteSupported(am.Crypto.Suite) {
			return nil, fmt.Errorf("%w: crypto suite", ErrInvalidParams)
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", am.Crypto.String()))
	}
	label()
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(string(dir)))
	return md, nil
}

// offeredFormats returns the m-line formats of om. Offers built by hand
// (not by ParseOffer) have none recorded; their payload types stand in.
func offeredFormats(om *Media) []string {
	if om.formats != nil {
		return om.formats
	}
	var f []string
	for _, c := range om.Codecs {
		f = append(f, strconv.Itoa(int(c.PT)))
	}
	for _, c := range []*media.Codec{om.TelephoneEvent, om.ComfortNoise} {
		if c != nil {
			f = append(f, strconv.Itoa(int(c.PT)))
		}
	}
	return f
}

// offeredCodec returns the codec the offer describes for format f.
func offeredCodec(om *Media, f string) (media.Codec, bool) {
	for _, c := range om.Codecs {
		if strconv.Itoa(int(c.PT)) == f {
			return c, true
		}
	}
	for _, c := range []*media.Codec{om.TelephoneEvent, om.ComfortNoise} {
		if c != nil && strconv.Itoa(int(c.PT)) == f {
			return *c, true
		}
	}
	return media.Codec{}, false
}

// rtpmap formats the value of an a=rtpmap line. Encoding names are case
// insensitive; telephone-event is written in the usual lower case.
func rtpmap(c media.Codec) string {
	name := c.Name
	if name == media.TelephoneEvent {
		name = "telephone-event"
	}
	s := strconv.Itoa(int(c.PT)) + " " + name + "/" + strconv.Itoa(c.ClockRate)
	if c.Channels > 1 {
		s += "/" + strconv.Itoa(c.Channels)
	}
	return s
}

// isToken reports whether s is non-empty and free of blanks and control
// characters, so that it stays one field of one line.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
