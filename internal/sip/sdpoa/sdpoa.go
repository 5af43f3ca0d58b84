// Package sdpoa parses the SDP offers a recording server receives and builds
// the RFC 3264 answers to them.
//
// Offers come from Genesys Media Server MSR sessions (one m=audio per party,
// or two in one session) and from SIPREC clients (RFC 7866: one a=sendonly
// m-line per recorded stream, tagged with a=label from RFC 4574). Real offers
// bend RFC 8866 (ex 4566) in small ways, and a recorder must not refuse a call
// over any of them, so ParseOffer first canonicalises the body and then lets
// github.com/pion/sdp/v3 parse it:
//
//   - line ends may be CRLF, LF or CR; blank lines, surrounding blanks and a
//     missing final newline are ignored;
//   - the o= line is kept verbatim in Session.Origin and never interpreted
//     (vendors put odd usernames, hex or huge ids and "X.X.X.X" there);
//   - t=, r=, z=, i=, u=, e=, p=, b= and k= lines, unknown type letters, and
//     stray o=/s=/t= lines inside a media description are dropped: nothing
//     a recorder does depends on them, and pion is strict about their form
//     and order;
//   - m= lines are read here (any media type and proto token, such as
//     "m=image 0 udptl t38") and handed to pion in a canonical form;
//   - c= lines may use lower case and carry a multicast TTL; an address that
//     is not a literal IP ("X.X.X.X", a host name) leaves Media.Addr invalid
//     rather than failing the offer;
//   - unknown attributes (a=direction:both, a=maxptime, ...) are ignored;
//   - after the v=0 line, a line that is not "<type>=<value>" at all (a
//     stray multipart boundary an SBC left inside the SDP part, junk) is
//     skipped and noted in Session.Problems.
//
// What remains an error (ErrMalformed) is a body that is not SDP at all: no
// v=0 first line, an upper-case type letter, a second session
// description, an m= line without port, proto or formats, or a c= line that
// is not "IN IP4|IP6 <address>". An absent body (delayed offer, RFC 3261
// §13.2.1) is also ErrMalformed here; callers that support delayed offers
// must check for an empty body before calling ParseOffer.
//
// SDES-SRTP (RFC 4568): ParseCrypto reads an a=crypto line, Media.SelectCrypto
// picks the first one openrec can decrypt, AnswerCrypto makes the answer's
// line (same tag and suite, a fresh key) and AnswerMedia.Crypto writes it.
//
// BuildAnswer writes the answer with pion's marshaller: one m-line per
// offered m-line in the same order (RFC 3264 §6), a port of 0 for the ones
// not recorded, CRLF line ends.
package sdpoa

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/openrec/openrec/internal/media"
)

// Direction is an SDP media direction attribute (RFC 3264 §5.1, RFC 8866 §6.7).
type Direction string

// The four media directions.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Media is one m-line of an offer with the attributes a recorder uses.
type Media struct {
	Index     int        // m-line index, 0-based
	Type      string     // "audio", "video", ... as offered
	Port      int        // 0 means the offerer rejected or disabled the stream
	Proto     string     // "RTP/AVP", "RTP/SAVP", ... as offered
	Addr      netip.Addr // effective connection address (media c= overrides session c=); invalid if none or not an IP literal
	Direction Direction  // media attribute, else session attribute, else sendrecv
	Hold      bool       // old-style hold (RFC 2543, RFC 3264 §8.4): connection address 0.0.0.0 (or ::)
	Label     string     // a=label (RFC 4574), any string
	// Codecs lists the offered payload types in offer order, without
	// telephone-event and CN. Static payload types without a=rtpmap are
	// filled from RFC 3551; dynamic ones without a=rtpmap are left out.
	// Names are upper case.
	Codecs         []media.Codec
	TelephoneEvent *media.Codec // first RFC 4733 telephone-event payload type, if offered
	ComfortNoise   *media.Codec // first CN payload type (static 13 or dynamic), if offered
	Ptime          int          // a=ptime in ms (media level, else session level); 0 if absent
	RTCPMux        bool         // a=rtcp-mux (RFC 5761)
	RTCPPort       int          // port of a=rtcp (RFC 3605); 0 if absent
	Crypto         []string     // values of a=crypto lines (RFC 4568), raw

	formats []string      // m-line format tokens as offered, for the answer
	events  []media.Codec // every telephone-event offered, in offer order
	noises  []media.Codec // every CN offered, in offer order
}

// Session is a parsed offer.
type Session struct {
	Origin string  // value of the o= line, verbatim
	Name   string  // value of the s= line
	Media  []Media // one per m-line, in offer order
	Raw    []byte  // copy of the body ParseOffer was given
	// Problems lists what ParseOffer tolerated and skipped (stray lines),
	// in words for a person; empty for a clean offer.
	Problems []string
}

// AudioCount returns the number of recordable audio m-lines.
func (s *Session) AudioCount() int {
	n := 0
	for _, m := range s.Media {
		if m.Recordable() {
			n++
		}
	}
	return n
}

// Recordable reports whether m is an audio stream the offerer has not
// disabled (port 0). Its direction may still be inactive (paused).
func (m Media) Recordable() bool {
	return m.Type == "audio" && m.Port != 0
}

// Active reports whether the offerer will send media on m now: direction
// sendonly or sendrecv, and not on old-style hold.
func (m Media) Active() bool {
	return (m.Direction == SendOnly || m.Direction == SendRecv) && !m.Hold
}

// EventsFor returns the telephone-event and CN payload types offered on m
// at the clock rate of codec c, for an answer that uses c (RFC 4733 §2.1
// and RFC 3389 §5 tie them to the audio clock). If none is offered at that
// rate, TelephoneEvent and ComfortNoise are returned. Either may be nil.
func (m Media) EventsFor(c media.Codec) (te, cn *media.Codec) {
	te, cn = m.TelephoneEvent, m.ComfortNoise
	if c.ClockRate <= 0 {
		return te, cn
	}
	for i := range m.events {
		if m.events[i].ClockRate == c.ClockRate {
			te = &m.events[i]
			break
		}
	}
	for i := range m.noises {
		if m.noises[i].ClockRate == c.ClockRate {
			cn = &m.noises[i]
			break
		}
	}
	return te, cn
}

// AnswerDirection returns a recorder's answer to an offered direction
// (RFC 3264 §6.1): recvonly to sendonly and sendrecv (a recorder never
// sends), inactive to recvonly, inactive, and old-style hold. An empty
// direction counts as the default, sendrecv; an unknown one as inactive.
func AnswerDirection(offered Direction, hold bool) Direction {
	if hold {
		return Inactive
	}
	switch offered {
	case SendOnly, SendRecv, "":
		return RecvOnly
	default:
		return Inactive
	}
}

// PayloadTypes returns every RTP payload type the m-line offers, in offer
// order without repeats: codecs, telephone-event and CN, and dynamic types
// without a=rtpmap too. RTP of any other type is not this stream's audio.
// Media built by hand (not by ParseOffer) gives its codecs, events and
// comfort noise.
func (m Media) PayloadTypes() []uint8 {
	var seen [128]bool
	var out []uint8
	add := func(pt int) {
		if pt >= 0 && pt < 128 && !seen[pt] {
			seen[pt] = true
			out = append(out, uint8(pt))
		}
	}
	if m.formats != nil {
		for _, f := range m.formats {
			if pt, err := strconv.Atoi(f); err == nil && strconv.Itoa(pt) == f {
				add(pt)
			}
		}
		return out
	}
	for _, c := range m.Codecs {
		add(int(c.PT))
	}
	for _, c := range slices.Concat(m.events, m.noises) {
		add(int(c.PT))
	}
	for _, c := range []*media.Codec{m.TelephoneEvent, m.ComfortNoise} {
		if c != nil {
			add(int(c.PT))
		}
	}
	return out
}
