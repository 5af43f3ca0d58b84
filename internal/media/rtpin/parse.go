package rtpin

import (
	"encoding/binary"

	"github.com/openrec/openrec/internal/media"
)

// RTP fixed header, RFC 3550 §5.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           timestamp                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           synchronization source (SSRC) identifier            |
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|            contributing source (CSRC) identifiers             |
//	|                             ....                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Header extension, RFC 3550 §5.3.1 (present when X is set):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      defined by profile       |           length              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        header extension                       |
//	|                             ....                              |
//
// The length counts 32-bit words after the 4-byte extension header. When P
// is set, the last octet of the datagram counts the padding octets,
// itself included (so it is at least 1).
const (
	rtpHeaderLen = 12
	rtpVersion   = 2
)

// parseRTP validates b as one RTP packet and fills p's header fields and
// Payload (a subslice of b). It does not allocate; Arrival and Source are
// left to the caller.
func parseRTP(b []byte, p *media.Packet) error {
	if len(b) < rtpHeaderLen {
		return errRTPShort
	}
	if b[0]>>6 != rtpVersion {
		return errRTPVersion
	}
	padding := b[0]&0x20 != 0
	extension := b[0]&0x10 != 0
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	if len(b) < n {
		return errRTPCSRC
	}
	if extension {
		if len(b) < n+4 {
			return errRTPExtension
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
		if len(b) < n {
			return errRTPExtension
		}
	}
	end := len(b)
	if padding {
		if end <= n {
			return errRTPPadding
		}
		pad := int(b[end-1])
		if pad == 0 || end-pad < n {
			return errRTPPadding
		}
		end -= pad
	}
	p.Marker = b[1]&0x80 != 0
	p.PayloadType = b[1] & 0x7f
	p.Seq = binary.BigEndian.Uint16(b[2:])
	p.Timestamp = binary.BigEndian.Uint32(b[4:])
	p.SSRC = binary.BigEndian.Uint32(b[8:])
	p.Payload = b[n:end]
	return nil
}

// isRTCP reports whether a datagram that arrived on the RTP socket is RTCP
// (rtcp-mux, RFC 5761 §4): the second octet of an RTCP packet is its packet
// type, and RTCP types 192-223 fall on RTP payload types 64-95 with the
// marker bit set, which RFC 5761 forbids for RTP when multiplexing. The
// packet types a sender actually uses (SR 200, RR 201, SDES 202, BYE 203,
// APP 204, feedback 205-207) are all in that range.
func isRTCP(b []byte) bool {
	return len(b) >= 2 && b[0]>>6 == rtpVersion && b[1] >= 192 && b[1] <= 223
}
