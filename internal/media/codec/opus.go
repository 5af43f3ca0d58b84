package codec

import (
	"fmt"

	"github.com/pion/opus"
)

// opusDecoder decodes Opus at 8 or 16 kHz mono: pion/opus decodes SILK,
// CELT and hybrid frames and renders them at the requested output rate
// (CELT's 48 kHz and SILK's internal rates through libopus's polyphase FIR
// resampler, ported with the decoder), mixing a stereo stream down to one
// channel.
type opusDecoder struct {
	d   opus.Decoder
	max int // 120 ms (the longest Opus packet) at the output rate
}

func newOpus(rate int) (*opusDecoder, error) {
	d, err := opus.NewDecoderWithOutput(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &opusDecoder{d: d, max: 120 * rate / 1000}, nil
}

func (d *opusDecoder) String() string { return "opus (pion/opus, pure Go)" }

func (d *opusDecoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	if cap(dst) < d.max {
		dst = make([]int16, d.max)
	}
	dst = dst[:d.max]
	n, err := d.d.DecodeToInt16(payload, dst)
	if err != nil {
		return dst[:0], fmt.Errorf("%w: opus: %w", ErrPayload, err)
	}
	return dst[:n], nil
}
