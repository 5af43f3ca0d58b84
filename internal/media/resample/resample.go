// Package resample converts 16-bit PCM between the recorder's two
// timeline rates, 8 and 16 kHz, by a factor of two. Both directions use
// one linear-phase windowed-sinc low-pass FIR (47 taps, Blackman window,
// cutoff 3.7 kHz at 16 kHz, about -75 dB above 4.3 kHz), applied as a
// polyphase filter: the Halver filters 16 kHz audio and keeps every other
// sample (no aliasing of what lies above 4 kHz), the Doubler inserts a zero
// after every 8 kHz sample and filters (no images above 4 kHz) without
// computing the zero products. Each keeps its filter history between calls,
// so a stream fed packet by packet comes out as if fed at once; neither
// allocates once its buffers have grown. The group delay is 23 samples at
// 16 kHz (1.4 ms) and is not compensated.
//
// Decoders that render 48 kHz audio themselves (Opus) are not resampled
// here: pion/opus renders at 8, 12, 16, 24 or 48 kHz through libopus's own
// polyphase FIR resampler.
package resample

import "math"

// Taps is the length of the low-pass filter (at 16 kHz).
const Taps = 47

// coef is the low-pass filter at 16 kHz with unity gain at 0 Hz.
var coef = func() (h [Taps]float64) {
	const fc = 3700.0 / 16000
	mid := float64(Taps-1) / 2
	var sum float64
	for i := range h {
		x := float64(i) - mid
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(Taps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(Taps-1))
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}()

// phases split coef for the Doubler: output sample 2k+p of the
// zero-stuffed stream uses the taps of parity p (times 2 for the energy
// the zeros take away).
var phases = func() (p [2][]float64) {
	for i, c := range coef {
		p[i%2] = append(p[i%2], 2*c)
	}
	return p
}()

func clamp(v float64) int16 { return int16(max(-32768, min(32767, math.Round(v)))) }

// Halver turns 16 kHz audio into 8 kHz. The zero value is ready to use.
type Halver struct {
	hist [Taps - 1]float64
	buf  []float64
	odd  bool // the next input sample is an odd one (dropped after filtering)
}

// Halve appends the 8 kHz output for in (16 kHz) to dst and returns it.
// One output sample is produced per two input samples; an odd-length in
// carries its parity over to the next call.
func (f *Halver) Halve(in []int16, dst []int16) []int16 {
	n := len(f.hist)
	f.buf = append(f.buf[:0], f.hist[:]...)
	for _, v := range in {
		f.buf = append(f.buf, float64(v))
	}
	for i := range in {
		if !f.odd {
			var acc float64
			win := f.buf[i : i+Taps]
			for k, c := range coef {
				acc += win[k] * c
			}
			dst = append(dst, clamp(acc))
		}
		f.odd = !f.odd
	}
	copy(f.hist[:], f.buf[len(f.buf)-n:])
	return dst
}

// Reset forgets the history (a new stream).
func (f *Halver) Reset() { *f = Halver{buf: f.buf[:0]} }

// Doubler turns 8 kHz audio into 16 kHz. The zero value is ready to use.
type Doubler struct {
	// hist holds the last input samples: the zero-stuffed stream's
	// non-zero samples under the filter.
	hist [Taps/2 + 1]float64
	buf  []float64
}

// Double appends the 16 kHz output for in (8 kHz): two samples per input
// sample.
func (f *Doubler) Double(in []int16, dst []int16) []int16 {
	n := len(f.hist)
	f.buf = append(f.buf[:0], f.hist[:]...)
	for _, v := range in {
		f.buf = append(f.buf, float64(v))
	}
	// The zero-stuffed stream z has z[2j] = x[j], z[2j+1] = 0. Output
	// y[m] = sum_k coef[k] z[m-k]. For m = 2j (even), only even k hit
	// non-zero samples: y[2j] = sum_i coef[2i] x[j-i]; for m = 2j+1, odd
	// k: y[2j+1] = sum_i coef[2i+1] x[j-i].
	for i := range in {
		j := n + i // index of x[j] in buf
		var even, odd float64
		for q, c := range phases[0] {
			even += c * f.buf[j-q]
		}
		for q, c := range phases[1] {
			odd += c * f.buf[j-q]
		}
		dst = append(dst, clamp(even), clamp(odd))
	}
	copy(f.hist[:], f.buf[len(f.buf)-n:])
	return dst
}

// Reset forgets the history (a new stream).
func (f *Doubler) Reset() { *f = Doubler{buf: f.buf[:0]} }
