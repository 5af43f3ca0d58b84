// Package codec decodes the RTP payloads of codecs other than G.711 into
// the recorder's 8 or 16 kHz timeline: G.722 (wideband, 16 kHz audio under an
// 8000 Hz RTP clock, RFC 3551 §4.5.2), Opus (RFC 7587: 48000/2 in SDP,
// any internal rate, mono or stereo), G.726 (16, 24, 32, 40 kbit/s,
// RFC 3551 §4.5.4 or AAL2 bit order) and GSM 06.10 (RFC 3551 §4.5.8,
// static payload type 3). They are pure Go, so the default build needs no
// C library:
//
//	codec  implementation                   licence   notes
//	G.722  github.com/gotranspile/g722      BSD       64 kbit/s mode (RFC 3551)
//	Opus   github.com/pion/opus             MIT       SILK, CELT, hybrid; no FEC/PLC API
//	G.726  this package (g726.go)           openrec   G726-nn, AAL2-G726-nn, G721; bit-exact with spandsp
//	GSM    this package (gsm.go)            openrec   06.10 full rate; bit-exact with libgsm and spandsp
//	G.729  Debian libbcg729 (cgo)           GPL-3     only with -tags bcg729 (G729Build)
//	AMR-WB Debian libopencore-amrwb (cgo)   Apache-2  only with -tags amrwb (AMRWBBuild); RFC 4867
//	                                                  octet-aligned and bandwidth-efficient payloads
//	                                                  (parsed here, pure Go); no crc/interleaving
//
// iLBC is not decoded (kept raw, needs_transcode): Debian 12 packages no
// iLBC library (no libilbc-dev) and its ffmpeg has no iLBC encoder, so
// neither a maintained implementation nor an independent oracle is at
// hand; the RFC 3951 reference code would have to be vendored.
//
// NewDecoder renders 8 kHz; NewDecoderRate renders 8 or 16 kHz. At 8 kHz,
// G.722 is halved by a windowed-sinc low-pass filter (internal/media/resample,
// not by dropping samples) and Opus is rendered at 8 kHz by pion/opus. At
// 16 kHz (a wideband recording), G.722 is kept as decoded, Opus rendered at
// 16 kHz (CELT's 48 kHz through libopus's polyphase FIR resampler, which
// pion/opus carries), and the narrowband codecs are doubled by the
// resample.Doubler (interpolating low-pass: no images above 4 kHz).
// Wideband reports which codecs carry audio above 4 kHz.
//
// The mixer asks NewDecoder once per payload type and stream; each Decoder
// keeps the codec's state between packets and is not safe for concurrent
// use.
package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/resample"
)

// ErrUnsupported: no decoder for that codec in this build.
var ErrUnsupported = errors.New("codec: not supported")

// ErrPayload wraps a payload the decoder could not decode.
var ErrPayload = errors.New("codec: bad payload")

// Rate is the output sample rate of NewDecoder; WideRate the other rate
// NewDecoderRate renders.
const (
	Rate     = 8000
	WideRate = 16000
)

// Decoder turns one RTP payload into mono PCM at the rate it was made for
// (8 kHz from NewDecoder).
type Decoder interface {
	// Decode appends the payload's audio to dst[:0] and returns it. On
	// error (wrapping ErrPayload) the caller treats the packet as lost.
	Decode(payload []byte, dst []int16) ([]int16, error)
	String() string
}

// NewDecoder returns a decoder for c rendering 8 kHz, or ErrUnsupported.
func NewDecoder(c media.Codec) (Decoder, error) { return NewDecoderRate(c, Rate) }

// NewDecoderRate returns a decoder for c rendering rate (Rate or
// WideRate), or an error wrapping ErrUnsupported.
func NewDecoderRate(c media.Codec, rate int) (Decoder, error) {
	if rate != Rate && rate != WideRate {
		return nil, fmt.Errorf("%w: output rate %d (%d or %d)", ErrUnsupported, rate, Rate, WideRate)
	}
	name := strings.ToUpper(c.Name)
	switch name {
	case "G722":
		if c.ClockRate != 0 && c.ClockRate != 8000 {
			return nil, fmt.Errorf("%w: G722/%d (RFC 3551: 8000)", ErrUnsupported, c.ClockRate)
		}
		return newG722(rate), nil
	case "OPUS":
		if c.ClockRate != 0 && c.ClockRate != 48000 {
			return nil, fmt.Errorf("%w: opus/%d (RFC 7587: 48000)", ErrUnsupported, c.ClockRate)
		}
		return newOpus(rate)
	case "AMR-WB":
		if c.ClockRate != 0 && c.ClockRate != 16000 || c.Channels > 1 {
			return nil, fmt.Errorf("%w: AMR-WB/%d/%d (RFC 4867: 16000, mono)", ErrUnsupported, c.ClockRate, c.Channels)
		}
		return newAMRWB(c, rate)
	}
	d, err := newNarrow(c, name)
	if err != nil || rate == Rate {
		return d, err
	}
	return &doubled{d: d}, nil
}

// Wideband reports whether the codec of that SDP encoding name carries
// audio above 4 kHz (a recording with such a leg is worth 16 kHz).
func Wideband(name string) bool {
	switch strings.ToUpper(name) {
	case "G722", "OPUS", "AMR-WB":
		return true
	}
	return false
}

// doubled renders a narrowband decoder at 16 kHz.
type doubled struct {
	d   Decoder
	buf []int16
	up  resample.Doubler
}

func (d *doubled) String() string { return d.d.String() + " at 16 kHz" }

func (d *doubled) Decode(payload []byte, dst []int16) ([]int16, error) {
	pcm, err := d.d.Decode(payload, d.buf)
	if err != nil {
		return dst[:0], err
	}
	d.buf = pcm[:0]
	return d.up.Double(pcm, dst[:0]), nil
}

// newNarrow returns the decoder of an 8 kHz codec.
func newNarrow(c media.Codec, name string) (Decoder, error) {
	switch name {
	case "G729", "G729A":
		if c.ClockRate != 0 && c.ClockRate != 8000 {
			return nil, fmt.Errorf("%w: G729/%d", ErrUnsupported, c.ClockRate)
		}
		return newG729()
	case "GSM":
		if c.ClockRate != 0 && c.ClockRate != 8000 {
			return nil, fmt.Errorf("%w: GSM/%d", ErrUnsupported, c.ClockRate)
		}
		return newGSM(), nil
	}
	if _, _, ok := g726For(name); ok {
		if c.ClockRate != 0 && c.ClockRate != 8000 {
			return nil, fmt.Errorf("%w: %s/%d (RFC 3551: 8000)", ErrUnsupported, c.Name, c.ClockRate)
		}
		return newG726(strings.ToUpper(c.Name))
	}
	return nil, fmt.Errorf("%w: %s/%d", ErrUnsupported, c.Name, c.ClockRate)
}

// DecodableName reports whether this build decodes the codec of that SDP
// encoding name at its standard clock rate (G722/8000, opus/48000,
// G726-nn and AAL2-G726-nn/8000, GSM/8000, G729/8000 with the bcg729
// build tag, AMR-WB/16000 with the amrwb build tag).
func DecodableName(name string) bool {
	switch strings.ToUpper(name) {
	case "G722", "OPUS", "GSM":
		return true
	case "G729", "G729A":
		return G729Build != ""
	case "AMR-WB":
		return AMRWBBuild != ""
	}
	_, _, ok := g726For(strings.ToUpper(name))
	return ok
}
