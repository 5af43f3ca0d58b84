package codec

import (
	"github.com/gotranspile/g722"

	"github.com/openrec/openrec/internal/media/resample"
)

// g722Decoder decodes 64 kbit/s G.722: each payload byte is two 16 kHz
// samples, kept as they are for a 16 kHz timeline or halved to one 8 kHz
// sample (the RTP clock) by the low-pass Halver.
type g722Decoder struct {
	d    *g722.Decoder
	wide []int16
	half *resample.Halver // nil: 16 kHz out
}

func newG722(rate int) *g722Decoder {
	d := &g722Decoder{d: g722.NewDecoder(g722.Rate64000, 0)}
	if rate == Rate {
		d.half = new(resample.Halver)
	}
	return d
}

func (d *g722Decoder) String() string { return "G722 (pure Go)" }

func (d *g722Decoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	if need := 2 * len(payload); cap(d.wide) < need {
		d.wide = make([]int16, need)
	}
	if d.half == nil {
		if need := 2 * len(payload); cap(dst) < need {
			dst = make([]int16, need)
		}
		n := d.d.Decode(dst[:2*len(payload)], payload)
		return dst[:n], nil
	}
	n := d.d.Decode(d.wide[:2*len(payload)], payload)
	return d.half.Halve(d.wide[:n], dst[:0]), nil
}

// G722Encoder encodes 8 kHz PCM as 64 kbit/s G.722 (`openrec dial --codec
// G722`): each sample is doubled to 16 kHz by linear interpolation, so a
// 20 ms packet of 160 samples becomes 160 bytes, as RFC 3551's 8000 Hz
// clock says.
type G722Encoder struct {
	e    *g722.Encoder
	prev int16
	wide []int16
}

// NewG722Encoder returns an encoder.
func NewG722Encoder() *G722Encoder { return &G722Encoder{e: g722.NewEncoder(g722.Rate64000, 0)} }

// Encode writes the G.722 bytes of pcm (8 kHz) to dst (len(dst) >=
// len(pcm)) and returns how many it wrote.
func (e *G722Encoder) Encode(pcm []int16, dst []byte) int {
	e.wide = e.wide[:0]
	for _, v := range pcm {
		e.wide = append(e.wide, int16((int32(e.prev)+int32(v))/2), v)
		e.prev = v
	}
	return e.e.Encode(dst, e.wide)
}
