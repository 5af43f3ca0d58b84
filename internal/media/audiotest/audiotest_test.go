package audiotest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openrec/openrec/internal/media/g711"
)

const rate = 8000

func mix(parts ...[]int16) []int16 {
	out := make([]int16, len(parts[0]))
	for _, p := range parts {
		for i := range out {
			out[i] = int16(max(-32768, min(32767, int(out[i])+int(p[i]))))
		}
	}
	return out
}

func noise(n int, amplitude float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16((r.Float64()*2 - 1) * amplitude * 32767)
	}
	return out
}

func concat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func ulawRoundTrip(s []int16) []int16 {
	out := make([]int16, len(s))
	for i, v := range s {
		out[i] = g711.DecodeULaw(g711.EncodeULaw(v))
	}
	return out
}

func TestTone(t *testing.T) {
	tests := []struct {
		freq, amp float64
		n         int
		peak      int
	}{
		{1000, 0.5, 8000, 16384},
		{440, 1, 8000, 32767},
		{440, 3, 800, 32767}, // clamped
		{300, 0, 100, 0},
		{1000, 0.5, 0, 0},
	}
	for _, tt := range tests {
		s := Tone(tt.freq, tt.amp, rate, tt.n)
		if len(s) != tt.n {
			t.Fatalf("Tone(%v, %v, n=%d) has %d samples", tt.freq, tt.amp, tt.n, len(s))
		}
		peak, crossings := 0, 0
		for i, v := range s {
			peak = max(peak, int(v), -int(v))
			if i > 0 && (s[i-1] < 0) != (v < 0) {
				crossings++
			}
		}
		if math.Abs(float64(peak-tt.peak)) > 1 {
			t.Errorf("Tone(%v, %v) peak = %d, want %d", tt.freq, tt.amp, peak, tt.peak)
		}
		if tt.amp > 0 && tt.n == rate {
			// Two sign changes per period, one second of samples.
			if want := 2 * int(tt.freq); crossings < want-2 || crossings > want+2 {
				t.Errorf("Tone(%v) has %d sign changes in 1 s, want about %d", tt.freq, crossings, want)
			}
		}
	}
}

func TestGoertzel(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
		freq    float64
		want    float64
		tol     float64
	}{
		{"on bin", Tone(1000, 0.5, rate, 8000), 1000, 0.25, 0.01},
		{"off bin", Tone(440, 0.5, rate, 8000), 440, 0.25, 0.01},
		{"short 20 ms", Tone(1000, 0.8, rate, 160), 1000, 0.64, 0.02},
		{"other frequency", Tone(1000, 0.5, rate, 8000), 2000, 0, 1e-6},
		{"near frequency", Tone(1000, 0.5, rate, 8000), 1010, 0, 1e-6},
		{"mixed, first", mix(Tone(440, 0.3, rate, 8000), Tone(1000, 0.6, rate, 8000)), 440, 0.09, 0.005},
		{"mixed, second", mix(Tone(440, 0.3, rate, 8000), Tone(1000, 0.6, rate, 8000)), 1000, 0.36, 0.01},
		{"silence", make([]int16, 8000), 1000, 0, 0},
		{"empty", nil, 1000, 0, 0},
		{"µ-law coded", ulawRoundTrip(Tone(1000, 0.5, rate, 8000)), 1000, 0.25, 0.01},
	}
	for _, tt := range tests {
		if got := Goertzel(tt.samples, rate, tt.freq); math.Abs(got-tt.want) > tt.tol {
			t.Errorf("%s: Goertzel = %.5f, want %.5f ± %g", tt.name, got, tt.want, tt.tol)
		}
	}
}

func TestDominant(t *testing.T) {
	cands := []float64{440, 1000, 1400}
	tests := []struct {
		name     string
		samples  []int16
		cands    []float64
		freq     float64
		minRatio float64
		maxRatio float64
	}{
		{"single tone", Tone(1000, 0.5, rate, 8000), cands, 1000, 1e3, math.Inf(1)},
		{"mixed 5:1 amplitude", mix(Tone(440, 0.5, rate, 8000), Tone(1400, 0.1, rate, 8000)), cands, 440, 20, 30},
		{"equal mix", mix(Tone(440, 0.3, rate, 8000), Tone(1000, 0.3, rate, 8000)), cands, 0, 0.9, 1.1},
		{"one candidate", Tone(440, 0.5, rate, 800), []float64{440}, 440, math.Inf(1), math.Inf(1)},
		{"silence", make([]int16, 800), cands, 0, 0, 0},
		{"no candidates", Tone(440, 0.5, rate, 800), nil, 0, 0, 0},
	}
	for _, tt := range tests {
		freq, ratio := Dominant(tt.samples, rate, tt.cands)
		if tt.freq != 0 && freq != tt.freq {
			t.Errorf("%s: Dominant freq = %v, want %v", tt.name, freq, tt.freq)
		}
		if ratio < tt.minRatio || ratio > tt.maxRatio {
			t.Errorf("%s: Dominant ratio = %v, want %v..%v", tt.name, ratio, tt.minRatio, tt.maxRatio)
		}
	}
}

func TestHasTone(t *testing.T) {
	others := []float64{440, 1400}
	tests := []struct {
		name    string
		samples []int16
		want    bool
	}{
		{"pure tone", Tone(1000, 0.5, rate, 8000), true},
		{"quiet tone -30 dBFS", Tone(1000, 0.03, rate, 8000), true},
		{"too quiet -50 dBFS", Tone(1000, 0.003, rate, 8000), false},
		{"20 ms", Tone(1000, 0.5, rate, 160), true},
		{"µ-law coded", ulawRoundTrip(Tone(1000, 0.5, rate, 8000)), true},
		{"with weak other tone", mix(Tone(1000, 0.5, rate, 8000), Tone(440, 0.1, rate, 8000)), true},
		{"other tone too strong", mix(Tone(1000, 0.5, rate, 8000), Tone(440, 0.2, rate, 8000)), false},
		{"only other tone", Tone(440, 0.5, rate, 8000), false},
		{"tone in noise 20 dB SNR", mix(Tone(1000, 0.5, rate, 8000), noise(8000, 0.08, 1)), true},
		{"tone buried in noise", mix(Tone(1000, 0.05, rate, 8000), noise(8000, 0.8, 2)), false},
		{"noise", noise(8000, 0.5, 3), false},
		{"short noise", noise(160, 0.5, 4), false},
		{"silence", make([]int16, 8000), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := HasTone(tt.samples, rate, 1000, others); got != tt.want {
			t.Errorf("%s: HasTone(1000 Hz) = %v, want %v (power %.4g, rms %.1f)",
				tt.name, got, tt.want, Goertzel(tt.samples, rate, 1000), RMS(tt.samples))
		}
	}
}

func TestRMSAndSilent(t *testing.T) {
	alawIdle := make([]int16, 800)
	for i := range alawIdle {
		alawIdle[i] = g711.DecodeALaw(g711.ALawSilence)
	}
	square := make([]int16, 100)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32767
		}
	}
	tests := []struct {
		name    string
		samples []int16
		rms     float64
		tol     float64
		silent  bool
	}{
		{"empty", nil, 0, 0, true},
		{"zeros", make([]int16, 800), 0, 0, true},
		{"A-law idle", alawIdle, 8, 0, true},
		{"µ-law idle", ulawRoundTrip(make([]int16, 800)), 0, 0, true},
		{"full-scale square", square, 32767, 0, false},
		{"sine 0.5", Tone(1000, 0.5, rate, 8000), 0.5 * 32767 / math.Sqrt2, 2, false},
		{"sine -60 dBFS", Tone(1000, 0.001, rate, 8000), 0.001 * 32767 / math.Sqrt2, 1, true},
		{"noise", noise(8000, 0.1, 5), 0.1 * 32767 / math.Sqrt(3), 60, false},
	}
	for _, tt := range tests {
		if got := RMS(tt.samples); math.Abs(got-tt.rms) > tt.tol {
			t.Errorf("%s: RMS = %.2f, want %.2f ± %g", tt.name, got, tt.rms, tt.tol)
		}
		if got := Silent(tt.samples); got != tt.silent {
			t.Errorf("%s: Silent = %v, want %v", tt.name, got, tt.silent)
		}
	}
}

func TestToneSpan(t *testing.T) {
	silence := func(n int) []int16 { return make([]int16, n) }
	tests := []struct {
		name       string
		samples    []int16
		window     int
		start, end int
		tol        int
	}{
		{"aligned", concat(silence(1600), Tone(1000, 0.5, rate, 4000), silence(2400)), 160, 1600, 5600, 0},
		{"default window", concat(silence(1600), Tone(1000, 0.5, rate, 4000), silence(2400)), 0, 1600, 5600, 0},
		{"unaligned", concat(silence(1650), Tone(1000, 0.5, rate, 4000), silence(2350)), 160, 1650, 5650, 160},
		{"between other tones", concat(Tone(440, 0.5, rate, 800), Tone(1000, 0.5, rate, 800), Tone(1400, 0.5, rate, 800)), 80, 800, 1600, 80},
		{"in noise", concat(noise(800, 0.05, 6), mix(Tone(1000, 0.5, rate, 1600), noise(1600, 0.05, 7)), noise(800, 0.05, 8)), 160, 800, 2400, 0},
		{"whole input, short tail dropped", Tone(1000, 0.5, rate, 1000), 160, 0, 960, 0},
		{"whole input, long tail kept", Tone(1000, 0.5, rate, 1050), 160, 0, 1050, 0},
		{"absent", Tone(440, 0.5, rate, 1600), 160, -1, -1, 0},
		{"silence", silence(1600), 160, -1, -1, 0},
	}
	for _, tt := range tests {
		start, end := ToneSpan(tt.samples, rate, 1000, tt.window)
		if abs(start-tt.start) > tt.tol || abs(end-tt.end) > tt.tol {
			t.Errorf("%s: ToneSpan = %d, %d; want %d, %d ± %d", tt.name, start, end, tt.start, tt.end, tt.tol)
		}
	}
}

func abs(x int) int { return max(x, -x) }
