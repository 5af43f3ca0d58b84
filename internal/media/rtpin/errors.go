package rtpin

import "errors"

// Errors returned by the allocator and Listen.
var (
	// ErrNoPorts means every port pair of the range is in use or quarantined.
	ErrNoPorts = errors.New("rtpin: no free RTP port pair")
	// ErrPortRange means the configured range holds no (even, odd) port pair.
	ErrPortRange = errors.New("rtpin: port range holds no RTP/RTCP pair")
	// ErrConfig means a required Config field is missing.
	ErrConfig = errors.New("rtpin: invalid config")
)

// Reasons a datagram is not a valid RTP packet (RFC 3550 §5.1). They never
// leave the package; the receiver counts them as Stats.Invalid.
var (
	errRTPShort     = errors.New("rtp: shorter than the fixed header")
	errRTPVersion   = errors.New("rtp: version is not 2")
	errRTPCSRC      = errors.New("rtp: CSRC list beyond the datagram")
	errRTPExtension = errors.New("rtp: header extension beyond the datagram")
	errRTPPadding   = errors.New("rtp: invalid padding")
)
