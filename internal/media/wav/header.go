package wav

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The header this package writes (all integers little-endian):
//
//	offset size  PCM16                   A-law / µ-law
//	     0    4  "RIFF"                  "RIFF"
//	     4    4  RIFF size (file - 8)    RIFF size (file - 8)
//	     8    4  "WAVE"                  "WAVE"
//	    12    4  "fmt "                  "fmt "
//	    16    4  16                      18
//	    20   16  tag, channels, rate, byte rate, block align, bits
//	    36    2  -                       cbSize = 0
//	    38   12  -                       "fact", 4, dwSampleLength (= frames)
//	 36|50    4  "data"                  "data"
//	 40|54    4  data size               data size
//	 44|58       samples ...
//
// A data chunk of odd size is followed by one pad byte (written by Close and
// Recover, counted in the RIFF size). Reference: Microsoft "Multimedia
// Programming Interface and Data Specifications 1.0" (RIFF, WAVE, fact) and
// mmreg.h (WAVE_FORMAT_ALAW = 6, WAVE_FORMAT_MULAW = 7).

const (
	pcmHeaderLen  = 44
	g711HeaderLen = 58
	maxHeaderLen  = g711HeaderLen
)

// headerLen returns the size of the header written for f.
func headerLen(f Format) int {
	if f == FormatPCM16 {
		return pcmHeaderLen
	}
	return g711HeaderLen
}

// maxDataLen is the largest data chunk for f: the data size and the RIFF
// size (which also counts the rest of the header and a pad byte) must fit
// in a uint32.
func maxDataLen(f Format) int64 {
	return math.MaxUint32 - int64(headerLen(f)) - 1
}

// layout describes a stream: format, channels and rate, validated.
type layout struct {
	format     Format
	channels   int
	sampleRate int
	blockAlign int
}

func newLayout(f Format, channels, sampleRate int) (layout, error) {
	if !f.valid() {
		return layout{}, fmt.Errorf("%w: format %v", ErrInvalidParams, f)
	}
	ba := channels * f.BytesPerSample()
	if channels < 1 || ba > math.MaxUint16 {
		return layout{}, fmt.Errorf("%w: %d channels", ErrInvalidParams, channels)
	}
	if sampleRate < 1 || int64(sampleRate)*int64(ba) > math.MaxUint32 {
		return layout{}, fmt.Errorf("%w: sample rate %d", ErrInvalidParams, sampleRate)
	}
	return layout{format: f, channels: channels, sampleRate: sampleRate, blockAlign: ba}, nil
}

// putHeader writes the header for l describing dataLen bytes of samples
// into b (len >= headerLen) and returns its length. padded says whether
// the pad byte of an odd data chunk is present and counted.
func putHeader(b []byte, l layout, dataLen int64, padded bool) int {
	n := headerLen(l.format)
	le := binary.LittleEndian
	riff := int64(n-8) + dataLen
	if padded && dataLen&1 == 1 {
		riff++
	}
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(riff))
	copy(b[8:], "WAVEfmt ")
	fmtLen := 16
	if l.format != FormatPCM16 {
		fmtLen = 18
	}
	le.PutUint32(b[16:], uint32(fmtLen))
	le.PutUint16(b[20:], uint16(l.format))
	le.PutUint16(b[22:], uint16(l.channels))
	le.PutUint32(b[24:], uint32(l.sampleRate))
	le.PutUint32(b[28:], uint32(l.sampleRate*l.blockAlign))
	le.PutUint16(b[32:], uint16(l.blockAlign))
	le.PutUint16(b[34:], uint16(8*l.format.BytesPerSample()))
	p := 36
	if l.format != FormatPCM16 {
		le.PutUint16(b[36:], 0) // cbSize
		copy(b[38:], "fact")
		le.PutUint32(b[42:], 4)
		le.PutUint32(b[46:], uint32(dataLen/int64(l.blockAlign)))
		p = 50
	}
	copy(b[p:], "data")
	le.PutUint32(b[p+4:], uint32(dataLen))
	return n
}
