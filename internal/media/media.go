// Package media holds the small value types that cross the RTP ingest and
// the mixer: one received RTP packet, one RTCP sender report, a codec, and
// the PacketHandler interface the mixer implements for the receiver.
//
// It exists so that internal/media/rtpin (sockets) and internal/media/mixer (timeline)
// do not import each other.
package media

import (
	"net/netip"
	"time"
)

// Packet is one received RTP packet. It is only valid during the
// HandleRTP call: the receiver reuses Payload's backing array, so a handler
// that keeps data must copy it.
type Packet struct {
	SSRC        uint32
	Seq         uint16
	Timestamp   uint32
	PayloadType uint8
	Marker      bool
	Payload     []byte
	Arrival     time.Time
	Source      netip.AddrPort
}

// SenderReport is the part of an RTCP SR (RFC 3550 §6.4.1) used to align
// channels: the sender's wall clock (NTP format) at RTP timestamp RTPTime.
type SenderReport struct {
	SSRC    uint32
	NTPTime uint64
	RTPTime uint32
	Arrival time.Time
}

// PacketHandler consumes what a receiver reads from one leg's sockets.
// Implementations must be safe for use by one receiving goroutine while
// other goroutines flush, and must not block.
type PacketHandler interface {
	HandleRTP(p *Packet)
	HandleSenderReport(sr *SenderReport)
}

// Codec is one payload type as negotiated in SDP.
type Codec struct {
	PT        uint8
	Name      string // upper case encoding name: PCMU, PCMA, G729, TELEPHONE-EVENT, CN ...
	ClockRate int
	Channels  int
	// Fmtp is the payload type's a=fmtp parameters as offered ("" without
	// one), e.g. "octet-align=1" for AMR-WB (RFC 4867).
	Fmtp string
}

// Well-known encoding names (upper case, as stored in Codec.Name).
const (
	PCMU           = "PCMU"
	PCMA           = "PCMA"
	TelephoneEvent = "TELEPHONE-EVENT"
	CN             = "CN"
)

// NTPToTime converts a 64-bit NTP timestamp (RFC 5905) to time.Time.
func NTPToTime(ntp uint64) time.Time {
	const ntpEpochOffset = 2208988800 // seconds from 1900-01-01 to 1970-01-01
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := ntp & 0xFFFFFFFF
	nanos := int64((frac * 1_000_000_000) >> 32)
	return time.Unix(secs, nanos)
}

// TimeToNTP converts a time to a 64-bit NTP timestamp.
func TimeToNTP(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / 1_000_000_000
	return secs<<32 | frac
}
