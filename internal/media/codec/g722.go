package codec

import "github.com/gotranspile/g722"

// g722Decoder decodes 64 kbit/s G.722: each payload byte is two 16 kHz
// samples, which the halver brings to one 8 kHz sample (the RTP clock).
type g722Decoder struct {
	d    *g722.Decoder
	wide []int16
	half halver
}

func newG722() *g722Decoder { return &g722Decoder{d: g722.NewDecoder(g722.Rate64000, 0)} }

func (d *g722Decoder) String() string { return "G722 (pure Go)" }

func (d *g722Decoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	if need := 2 * len(payload); cap(d.wide) < need {
		d.wide = make([]int16, need)
	}
	n := d.d.Decode(d.wide[:2*len(payload)], payload)
	return d.half.process(d.wide[:n], dst[:0]), nil
}
