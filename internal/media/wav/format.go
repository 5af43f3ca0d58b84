package wav

import (
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/g711"
)

// Format is the sample format of a WAV file. Its value is the WAVE format
// tag written in the fmt chunk.
type Format uint16

// Supported sample formats.
const (
	FormatPCM16 Format = 1 // WAVE_FORMAT_PCM, 16-bit little-endian
	FormatALaw  Format = 6 // WAVE_FORMAT_ALAW, G.711 A-law, 8 bits
	FormatULaw  Format = 7 // WAVE_FORMAT_MULAW, G.711 µ-law, 8 bits
)

// ParseFormat parses a storage format name (case-insensitive): "pcm16" or
// "pcm"; "alaw" or "pcma"; "ulaw", "pcmu" or "mulaw".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pcm16", "pcm":
		return FormatPCM16, nil
	case "alaw", "pcma":
		return FormatALaw, nil
	case "ulaw", "pcmu", "mulaw":
		return FormatULaw, nil
	}
	return 0, fmt.Errorf("%w %q (valid: pcm16, pcm, alaw, pcma, ulaw, pcmu, mulaw)", ErrUnknownFormat, s)
}

// String returns "pcm16", "alaw" or "ulaw" (Format(n) for anything else).
func (f Format) String() string {
	switch f {
	case FormatPCM16:
		return "pcm16"
	case FormatALaw:
		return "alaw"
	case FormatULaw:
		return "ulaw"
	}
	return fmt.Sprintf("Format(%d)", uint16(f))
}

// BytesPerSample returns 2 for PCM16, 1 for A-law and µ-law, 0 otherwise.
func (f Format) BytesPerSample() int {
	switch f {
	case FormatPCM16:
		return 2
	case FormatALaw, FormatULaw:
		return 1
	}
	return 0
}

func (f Format) valid() bool { return f.BytesPerSample() != 0 }

// silenceByte is the byte that, repeated, encodes silence in f.
func (f Format) silenceByte() byte {
	switch f {
	case FormatALaw:
		return g711.ALawSilence
	case FormatULaw:
		return g711.ULawSilence
	}
	return 0
}

// AppendSilence appends samples samples of silence in f to dst: 0xFF for
// µ-law, 0xD5 for A-law, 0x00 0x00 for PCM16. For interleaved frames pass
// frames*channels. An unknown format appends nothing.
func (f Format) AppendSilence(dst []byte, samples int) []byte {
	n := samples * f.BytesPerSample()
	if n <= 0 {
		return dst
	}
	start := len(dst)
	if cap(dst)-start < n {
		grown := make([]byte, start, start+n)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+n]
	tail := dst[start:]
	b := f.silenceByte()
	for i := range tail {
		tail[i] = b
	}
	return dst
}

// duration converts a frame count at rate to a time.Duration without
// overflowing for long recordings.
func duration(frames int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	r := int64(rate)
	sec := frames / r
	rem := frames % r
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(r)
}
