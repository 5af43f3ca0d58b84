package mixer

import (
	"encoding/binary"
	"strconv"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/g711"
)

// Format is the storage sample format. The numbering is the WAV format tag.
type Format uint16

// Storage formats.
const (
	FormatPCM16 Format = 1 // 16-bit linear PCM, little-endian
	FormatALaw  Format = 6 // G.711 A-law
	FormatULaw  Format = 7 // G.711 µ-law
)

// String returns "pcm16", "alaw", "ulaw" or "format(N)".
func (f Format) String() string {
	switch f {
	case FormatPCM16:
		return "pcm16"
	case FormatALaw:
		return "alaw"
	case FormatULaw:
		return "ulaw"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

func (f Format) valid() bool { return f == FormatPCM16 || f == FormatALaw || f == FormatULaw }

// bytesPerSample is the size of one sample of one channel.
func (f Format) bytesPerSample() int {
	if f == FormatPCM16 {
		return 2
	}
	return 1
}

// silence returns the storage format's silence as one sample's bytes.
func (f Format) silence() [2]byte {
	switch f {
	case FormatALaw:
		return [2]byte{g711.ALawSilence}
	case FormatULaw:
		return [2]byte{g711.ULawSilence}
	}
	return [2]byte{}
}

// payloadKind says what the mixer does with a payload type.
type payloadKind uint8

const (
	kindUnknown payloadKind = iota // not decodable: raw sidecar
	kindPCMU
	kindPCMA
	kindEvent // RFC 4733 telephone-event
	kindCN    // RFC 3389 comfort noise
	kindCodec // decoded by the track's Decoder for that payload type
)

// ptEntry is one payload type of a track's map.
type ptEntry struct {
	set   bool
	kind  payloadKind
	clock int // RTP clock rate
	name  string
}

// staticPT returns the RFC 3551 static assignment for pt, used when pt is
// not in the negotiated map.
func staticPT(pt uint8) ptEntry {
	switch pt {
	case 0:
		return ptEntry{set: true, kind: kindPCMU, clock: 8000, name: media.PCMU}
	case 8:
		return ptEntry{set: true, kind: kindPCMA, clock: 8000, name: media.PCMA}
	case 13:
		return ptEntry{set: true, kind: kindCN, clock: 8000, name: media.CN}
	case 3:
		return ptEntry{set: true, clock: 8000, name: "GSM"}
	case 4:
		return ptEntry{set: true, clock: 8000, name: "G723"}
	case 9:
		return ptEntry{set: true, clock: 8000, name: "G722"}
	case 18:
		return ptEntry{set: true, clock: 8000, name: "G729"}
	}
	return ptEntry{set: true, clock: 8000, name: ptNames[pt&0x7F]}
}

// ptNames holds "PT<n>" for unnamed payload types, built once so the packet
// path never formats.
var ptNames = func() (n [128]string) {
	for i := range n {
		n[i] = "PT" + strconv.Itoa(i)
	}
	return n
}()

// entryFor builds the map entry of one negotiated codec.
func entryFor(c media.Codec, kind payloadKind) ptEntry {
	clock := c.ClockRate
	if clock <= 0 {
		clock = 8000
	}
	if kind == kindPCMU || kind == kindPCMA {
		// G.711 is 8 kHz mono by definition; anything else is not ours.
		if clock != 8000 || c.Channels > 1 {
			kind = kindUnknown
		}
	}
	name := c.Name
	if name == "" {
		name = ptNames[c.PT&0x7F]
	}
	return ptEntry{set: true, kind: kind, clock: clock, name: name}
}

func kindOfName(name string) payloadKind {
	switch name {
	case media.PCMU:
		return kindPCMU
	case media.PCMA:
		return kindPCMA
	case media.TelephoneEvent:
		return kindEvent
	case media.CN:
		return kindCN
	}
	return kindUnknown
}

// samples is the audio of one packet: G.711 bytes of law kind, or PCM a
// Decoder produced.
type samples struct {
	g711 []byte
	kind payloadKind
	pcm  []int16
}

func (s samples) n() int64 {
	if s.pcm != nil {
		return int64(len(s.pcm))
	}
	return int64(len(s.g711))
}

// skip drops the first k samples.
func (s samples) skip(k int64) samples {
	if s.pcm != nil {
		s.pcm = s.pcm[k:]
	} else {
		s.g711 = s.g711[k:]
	}
	return s
}

// slice returns samples [a, b).
func (s samples) slice(a, b int64) samples {
	if s.pcm != nil {
		s.pcm = s.pcm[a:b]
	} else {
		s.g711 = s.g711[a:b]
	}
	return s
}

// into writes s into dst in storage format f (len(dst) = n*bytes per
// sample).
func (s samples) into(dst []byte, f Format) {
	if s.pcm == nil {
		decodeInto(dst, s.g711, s.kind, f)
		return
	}
	switch f {
	case FormatULaw:
		for i, v := range s.pcm {
			dst[i] = g711.EncodeULaw(v)
		}
	case FormatALaw:
		for i, v := range s.pcm {
			dst[i] = g711.EncodeALaw(v)
		}
	default:
		for i, v := range s.pcm {
			binary.LittleEndian.PutUint16(dst[2*i:], uint16(v))
		}
	}
}

// decodeInto converts a G.711 payload of law kind into dst in storage
// format f. len(dst) must be len(src)*f.bytesPerSample().
func decodeInto(dst []byte, src []byte, kind payloadKind, f Format) {
	switch f {
	case FormatULaw:
		if kind == kindPCMU {
			copy(dst, src)
			return
		}
		for i, b := range src {
			dst[i] = g711.ALawToULaw(b)
		}
	case FormatALaw:
		if kind == kindPCMA {
			copy(dst, src)
			return
		}
		for i, b := range src {
			dst[i] = g711.ULawToALaw(b)
		}
	default:
		if kind == kindPCMU {
			for i, b := range src {
				binary.LittleEndian.PutUint16(dst[2*i:], uint16(g711.DecodeULaw(b)))
			}
			return
		}
		for i, b := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], uint16(g711.DecodeALaw(b)))
		}
	}
}

// attenuate returns one storage sample (b, bytesPerSample long) at half
// amplitude, written to dst.
func attenuate(dst, b []byte, f Format) {
	switch f {
	case FormatULaw:
		dst[0] = g711.EncodeULaw(g711.DecodeULaw(b[0]) / 2)
	case FormatALaw:
		dst[0] = g711.EncodeALaw(g711.DecodeALaw(b[0]) / 2)
	default:
		v := int16(binary.LittleEndian.Uint16(b))
		binary.LittleEndian.PutUint16(dst, uint16(v/2))
	}
}
