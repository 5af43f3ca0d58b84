package codec

import "math"

// halver low-pass filters 16 kHz audio below 4 kHz and keeps every other
// sample: a 47-tap windowed-sinc FIR (Blackman window, cutoff 3.7 kHz;
// about -75 dB above 4.3 kHz), with its history kept between packets.
type halver struct {
	hist [halverTaps - 1]float64
	buf  []float64
	odd  bool // the next input sample is an odd one (dropped after filtering)
}

const halverTaps = 47

var halverCoef = func() (h [halverTaps]float64) {
	const fc = 3700.0 / 16000
	mid := float64(halverTaps-1) / 2
	var sum float64
	for i := range h {
		x := float64(i) - mid
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(halverTaps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(halverTaps-1))
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum // unity gain at 0 Hz
	}
	return h
}()

// process appends the 8 kHz output for in (16 kHz) to dst.
func (f *halver) process(in []int16, dst []int16) []int16 {
	n := len(f.hist)
	f.buf = append(f.buf[:0], f.hist[:]...)
	for _, v := range in {
		f.buf = append(f.buf, float64(v))
	}
	for i := range in {
		if !f.odd {
			var acc float64
			win := f.buf[i : i+halverTaps]
			for k, c := range halverCoef {
				acc += win[k] * c
			}
			dst = append(dst, int16(max(-32768, min(32767, math.Round(acc)))))
		}
		f.odd = !f.odd
	}
	copy(f.hist[:], f.buf[len(f.buf)-n:])
	return dst
}
