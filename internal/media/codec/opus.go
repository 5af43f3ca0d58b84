package codec

import (
	"fmt"

	"github.com/pion/opus"
)

// opusDecoder decodes Opus at 8 kHz mono: pion/opus decodes SILK, CELT and
// hybrid frames and renders them at the requested output rate, mixing a
// stereo stream down to one channel.
type opusDecoder struct {
	d opus.Decoder
}

// maxOpusSamples is 120 ms (the longest Opus packet) at 8 kHz.
const maxOpusSamples = 120 * Rate / 1000

func newOpus() (*opusDecoder, error) {
	d, err := opus.NewDecoderWithOutput(Rate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &opusDecoder{d: d}, nil
}

func (d *opusDecoder) String() string { return "opus (pion/opus, pure Go)" }

func (d *opusDecoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	if cap(dst) < maxOpusSamples {
		dst = make([]int16, maxOpusSamples)
	}
	dst = dst[:maxOpusSamples]
	n, err := d.d.DecodeToInt16(payload, dst)
	if err != nil {
		return dst[:0], fmt.Errorf("%w: opus: %w", ErrPayload, err)
	}
	return dst[:n], nil
}
