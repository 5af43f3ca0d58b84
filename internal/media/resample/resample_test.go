package resample

import (
	"math"
	"slices"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
)

// rms of pcm[from:].
func rms(pcm []int16, from int) float64 {
	var s float64
	for _, v := range pcm[from:] {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(pcm)-from))
}

func TestHalver(t *testing.T) {
	for _, tc := range []struct {
		name string
		freq float64
		pass bool    // in the passband: kept at its level; else attenuated
		min  float64 // the smallest level ratio in the passband
	}{
		{"300 Hz", 300, true, 0.97},
		{"1 kHz", 1000, true, 0.97},
		{"3 kHz", 3000, true, 0.95},
		{"3.4 kHz (band edge, -1.7 dB)", 3400, true, 0.79},
		{"5 kHz (would alias to 3 kHz)", 5000, false, 0},
		{"6 kHz (would alias to 2 kHz)", 6000, false, 0},
		{"7.5 kHz (would alias to 500 Hz)", 7500, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := audiotest.Tone(tc.freq, 0.5, 16000, 16000)
			var h Halver
			var out []int16
			for p := range slices.Chunk(in, 320) { // 20 ms packets
				out = h.Halve(p, out)
			}
			if len(out) != 8000 {
				t.Fatalf("%d samples out, want 8000", len(out))
			}
			inLevel, outLevel := rms(in, 0), rms(out, 100)
			if tc.pass {
				if r := outLevel / inLevel; r < tc.min || r > 1.03 {
					t.Errorf("passband level ratio %.3f, want %.2f-1.03", r, tc.min)
				}
				if f, _ := audiotest.Dominant(out[100:], 8000, []float64{tc.freq, 8000 - tc.freq, 1000, 2000}); f != tc.freq {
					t.Errorf("dominant %g Hz, want %g", f, tc.freq)
				}
				return
			}
			// Stop band: at least 60 dB down (an aliased tone would keep
			// its level at 8000 - f).
			if db := 20 * math.Log10(outLevel/inLevel+1e-12); db > -60 {
				t.Errorf("stop band at %.1f dB, want < -60 dB", db)
			}
		})
	}
}

func TestDoubler(t *testing.T) {
	for _, tc := range []struct{ freq, min float64 }{{300, 0.97}, {1000, 0.97}, {3000, 0.95}, {3400, 0.79}} {
		freq := tc.freq
		in := audiotest.Tone(freq, 0.5, 8000, 8000)
		var d Doubler
		var out []int16
		for p := range slices.Chunk(in, 160) {
			out = d.Double(p, out)
		}
		if len(out) != 16000 {
			t.Fatalf("%g Hz: %d samples out, want 16000", freq, len(out))
		}
		if r := rms(out, 200) / rms(in, 0); r < tc.min || r > 1.03 {
			t.Errorf("%g Hz: level ratio %.3f, want %.2f-1.03", freq, r, tc.min)
		}
		// The image at 8000 - f is what sample repetition or linear
		// interpolation would leave; the filter takes it 60 dB down.
		tone := audiotest.Goertzel(out[200:], 16000, freq)
		image := audiotest.Goertzel(out[200:], 16000, 8000-freq)
		if db := 10 * math.Log10(image/tone+1e-18); db > -60 {
			t.Errorf("%g Hz: image at %g Hz is %.1f dB below the tone, want < -60 dB", freq, 8000-freq, -db)
		}
	}
}

// TestPacketwise: a stream fed packet by packet (odd sizes too) gives the
// samples it gives when fed at once.
func TestPacketwise(t *testing.T) {
	in := audiotest.Tone(1234, 0.7, 16000, 4000)
	var h1, h2 Halver
	whole := h1.Halve(in, nil)
	var parts []int16
	for p := range slices.Chunk(in, 37) {
		parts = h2.Halve(p, parts)
	}
	if !slices.Equal(whole, parts) {
		t.Error("Halver: packetwise output differs")
	}
	var d1, d2 Doubler
	whole = d1.Double(in, nil)
	parts = nil
	for p := range slices.Chunk(in, 41) {
		parts = d2.Double(p, parts)
	}
	if !slices.Equal(whole, parts) {
		t.Error("Doubler: packetwise output differs")
	}
	d2.Reset()
	if again := d2.Double(in, nil); !slices.Equal(whole, again) {
		t.Error("Doubler: Reset did not forget the history")
	}
	h2.Halve(in[:3], nil) // odd length: the next call would start on an odd sample
	h2.Reset()
	var h3 Halver
	if again := h2.Halve(in, nil); !slices.Equal(again, h3.Halve(in, nil)) {
		t.Error("Halver: Reset did not forget the history and parity")
	}
}

// TestClipping: full-scale square waves overshoot through the filter and
// are clamped, never wrapped.
func TestClipping(t *testing.T) {
	in := make([]int16, 1600)
	for i := range in {
		in[i] = 32767
		if i/40%2 == 1 {
			in[i] = -32768
		}
	}
	var d Doubler
	out := d.Double(in, nil)
	for i := 1; i < len(out); i++ {
		if diff := int(out[i]) - int(out[i-1]); diff > 40000 || diff < -40000 {
			t.Fatalf("sample %d jumps by %d: wrapped around", i, diff)
		}
	}
}

// BenchmarkHalve and BenchmarkDouble: the cost of one 20 ms packet.
func BenchmarkHalve(b *testing.B) {
	in := audiotest.Tone(1000, 0.5, 16000, 320)
	var h Halver
	out := make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		out = h.Halve(in, out[:0])
	}
}

func BenchmarkDouble(b *testing.B) {
	in := audiotest.Tone(1000, 0.5, 8000, 160)
	var d Doubler
	out := make([]int16, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		out = d.Double(in, out[:0])
	}
}
