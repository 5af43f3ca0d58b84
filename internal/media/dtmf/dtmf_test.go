package dtmf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// keyFreqs returns the Q.23 row and column frequency of a digit.
func keyFreqs(t testing.TB, d byte) (float64, float64) {
	t.Helper()
	i := strings.IndexByte(Digits, d)
	if i < 0 {
		t.Fatalf("no key %q", d)
	}
	return rowFreqs[i/4], colFreqs[i%4]
}

// tone is a dual tone of amplitude amp per component (int16 units), the
// column tone twistDB louder than the row tone.
func tone(t testing.TB, d byte, amp, twistDB float64, ms int) []int16 {
	r, c := keyFreqs(t, d)
	return pair(r, c, amp, amp*math.Pow(10, twistDB/20), ms)
}

func pair(f1, f2, a1, a2 float64, ms int) []int16 {
	n := ms * SampleRate / 1000
	out := make([]int16, n)
	for i := range out {
		x := a1*math.Sin(2*math.Pi*f1*float64(i)/SampleRate) + a2*math.Sin(2*math.Pi*f2*float64(i)/SampleRate+1)
		out[i] = int16(max(-32768, min(32767, math.Round(x))))
	}
	return out
}

func silence(ms int) []int16 { return make([]int16, ms*SampleRate/1000) }

func noise(r *rand.Rand, amp float64, pcm []int16) {
	for i := range pcm {
		pcm[i] = int16(max(-32768, min(32767, float64(pcm[i])+r.NormFloat64()*amp)))
	}
}

// digitsStream is digits of toneMS each, separated by gapMS of silence
// (and starting after an odd 37 ms, so tones start inside a block); it
// returns the samples and each tone's true [start, end).
func digitsStream(t testing.TB, digits string, amp float64, toneMS, gapMS int) ([]int16, [][2]int64) {
	pcm := silence(37)
	var truth [][2]int64
	for i := range len(digits) {
		s := int64(len(pcm))
		pcm = append(pcm, tone(t, digits[i], amp, 0, toneMS)...)
		truth = append(truth, [2]int64{s, int64(len(pcm))})
		pcm = append(pcm, silence(gapMS)...)
	}
	return pcm, truth
}

func detect(pcm []int16, chunk int) []Span {
	d := NewDetector(Config{}, nil)
	for len(pcm) > 0 {
		n := min(chunk, len(pcm))
		d.Write(pcm[:n])
		pcm = pcm[n:]
	}
	return d.Close()
}

func TestDetectsEveryDigitWithItsSpan(t *testing.T) {
	for _, tc := range []struct {
		name          string
		amp           float64
		toneMS, gapMS int
		chunk         int
		noiseAmp      float64
	}{
		{"keypad level", 6000, 70, 70, 160, 0},
		{"20 dB quieter", 600, 70, 70, 160, 0},
		{"40 ms tones and pauses (Q.24 minimum)", 6000, 45, 45, 80, 0},
		{"one sample at a time", 6000, 60, 60, 1, 0},
		{"quiet, 15 dB over white noise", 600, 80, 80, 160, 600 / math.Sqrt2 / 5.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm, truth := digitsStream(t, Digits, tc.amp, tc.toneMS, tc.gapMS)
			if tc.noiseAmp > 0 {
				noise(rand.New(rand.NewPCG(1, 2)), tc.noiseAmp, pcm)
			}
			spans := detect(pcm, tc.chunk)
			var got strings.Builder
			for _, s := range spans {
				got.WriteByte(s.Digit)
			}
			if got.String() != Digits {
				t.Fatalf("digits %q, want %q", got.String(), Digits)
			}
			for i, s := range spans {
				// A span runs from the first to the last block that
				// holds the tone, whole or in part: within one block of
				// the truth (the guard covers the difference).
				if s.Start <= truth[i][0]-BlockSize || s.Start >= truth[i][0]+BlockSize ||
					s.End <= truth[i][1]-BlockSize || s.End >= truth[i][1]+BlockSize {
					t.Errorf("digit %c: span [%d,%d), tone [%d,%d)", s.Digit, s.Start, s.End, truth[i][0], truth[i][1])
				}
			}
		})
	}
}

func TestRejectsWhatIsNotAKeyTone(t *testing.T) {
	r, c := keyFreqs(t, '5')
	for _, tc := range []struct {
		name string
		pcm  []int16
	}{
		{"silence", silence(500)},
		{"20 ms tone (Q.24: shorter than 23 ms is rejected)", tone(t, '5', 6000, 0, 20)},
		{"row tone alone", pair(r, c, 6000, 0, 200)},
		{"column tone alone", pair(r, c, 0, 6000, 200)},
		{"twist 12 dB (column louder)", tone(t, '5', 1500, 12, 200)},
		{"reverse twist 6 dB (row louder)", tone(t, '5', 6000, -6, 200)},
		{"two row tones", pair(697, 852, 6000, 6000, 200)},
		{"too quiet (-60 dBFS)", tone(t, '5', 3, 0, 200)},
		{"a pair midway between the keypad's rows and columns", pair((697+770)/2, (1209+1336)/2, 6000, 6000, 200)},
		{"white noise", func() []int16 { p := silence(2000); noise(rand.New(rand.NewPCG(3, 4)), 3000, p); return p }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if spans := detect(tc.pcm, 160); len(spans) != 0 {
				t.Errorf("found %v", spans)
			}
		})
	}
}

func TestOneMissedBlockDoesNotSplitATone(t *testing.T) {
	// A 13 ms dropout (one lost packet of silence) inside a 200 ms tone.
	pcm := append(tone(t, '7', 6000, 0, 100), silence(13)...)
	pcm = append(pcm, tone(t, '7', 6000, 0, 100)...)
	spans := detect(pcm, 160)
	if len(spans) != 1 || spans[0].Digit != '7' {
		t.Fatalf("spans %v, want one 7", spans)
	}
	// Two 60 ms presses 40 ms apart are two digits.
	pcm = append(tone(t, '7', 6000, 0, 60), silence(40)...)
	pcm = append(pcm, tone(t, '7', 6000, 0, 60)...)
	if spans := detect(pcm, 160); len(spans) != 2 {
		t.Fatalf("spans %v, want two", spans)
	}
}

// streamMask runs a masker as the mixer does: feed chunk by chunk, release
// audio Lookahead behind, silence what Masked says.
func streamMask(pcm []int16, chunk int, events [][2]int64) ([]int16, *Masker) {
	m := NewMasker(MaskConfig{})
	out := make([]int16, 0, len(pcm))
	release := func(upto int64) {
		from := int64(len(out))
		if upto <= from {
			return
		}
		seg := append([]int16(nil), pcm[from:upto]...)
		m.Masked(from, upto, func(a, b int64) { clear(seg[a-from : b-from]) })
		out = append(out, seg...)
	}
	for pos := 0; pos < len(pcm); pos += chunk {
		end := min(pos+chunk, len(pcm))
		m.Write(pcm[pos:end])
		for _, e := range events {
			if e[0] >= int64(pos) && e[0] < int64(end) { // the event's first packet arrives
				m.Mask(e[0], e[1], true)
			}
		}
		release(m.Pos() - m.Lookahead())
	}
	m.Close()
	release(int64(len(pcm)))
	return out, m
}

func TestMaskerSilencesEachToneAndNothingElse(t *testing.T) {
	for _, chunk := range []int{1, 160, 1000} {
		pcm, truth := digitsStream(t, "4111111111111111", 6000, 70, 130)
		// Speech-like background between the tones: a harmonic buzz.
		for i := range pcm {
			pcm[i] += int16(400 * math.Sin(2*math.Pi*140*float64(i)/SampleRate) * math.Sin(2*math.Pi*3*float64(i)/SampleRate))
		}
		out, m := streamMask(pcm, chunk, nil)
		if len(out) != len(pcm) {
			t.Fatalf("chunk %d: %d samples out, want %d", chunk, len(out), len(pcm))
		}
		if m.Detected() != 16 {
			t.Errorf("chunk %d: %d tones detected, want 16", chunk, m.Detected())
		}
		guard := int64(DefaultGuard / 125000) // samples
		inGuard := func(i int64) bool {
			for _, tr := range truth {
				if i >= tr[0]-guard-BlockSize && i < tr[1]+guard+BlockSize {
					return true
				}
			}
			return false
		}
		for i := range pcm {
			pos := int64(i)
			switch {
			case inGuard(pos):
			case out[i] != pcm[i]:
				t.Fatalf("chunk %d: sample %d changed outside every tone", chunk, i)
			}
		}
		for _, tr := range truth {
			for i := tr[0]; i < tr[1]; i++ {
				if out[i] != 0 {
					t.Fatalf("chunk %d: tone sample %d (tone [%d,%d)) not silenced", chunk, i, tr[0], tr[1])
				}
			}
		}
		if spans := detect(out, 160); len(spans) != 0 {
			t.Errorf("chunk %d: masked audio still holds %v", chunk, spans)
		}
	}
}

func TestMaskSilencesEventSpans(t *testing.T) {
	// RFC 4733 events: the audio carries no tone (the sender removed
	// it), yet the span is silenced, and the guard with it.
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = 1000
	}
	out, m := streamMask(pcm, 160, [][2]int64{{2000, 2800}})
	guard := int64(DefaultGuard / 125000)
	for i, v := range out {
		in := int64(i) >= 2000-guard && int64(i) < 2800+guard
		if in != (v == 0) {
			t.Fatalf("sample %d = %d (in span %v)", i, v, in)
		}
	}
	if m.External() != 1 || m.Detected() != 0 {
		t.Errorf("external %d detected %d", m.External(), m.Detected())
	}
}

func TestMaskAll(t *testing.T) {
	pcm, _ := digitsStream(t, "0123456789", 3000, 60, 60)
	if n := MaskAll(pcm, MaskConfig{}); n != 10 {
		t.Fatalf("masked %d, want 10", n)
	}
	if spans := detect(pcm, 160); len(spans) != 0 {
		t.Errorf("left %v", spans)
	}
}

func FuzzDetector(f *testing.F) {
	pcm, _ := digitsStream(f, "159#", 6000, 50, 50)
	seed := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		seed[2*i], seed[2*i+1] = byte(v), byte(v>>8)
	}
	f.Add(seed, uint8(160))
	f.Add([]byte{1, 2, 3}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		out, m := streamMask(pcm, int(chunk)+1, [][2]int64{{int64(len(pcm) / 3), int64(len(pcm) / 2)}})
		if len(out) != len(pcm) {
			t.Fatalf("%d out, %d in", len(out), len(pcm))
		}
		last := int64(0)
		for _, s := range m.det.Spans() {
			if s.Start < last || s.End <= s.Start || s.End > int64(len(pcm)) || strings.IndexByte(Digits, s.Digit) < 0 {
				t.Fatalf("bad span %+v after %d", s, last)
			}
			last = s.End
		}
	})
}

// BenchmarkDetect: one second of one channel (8,000 samples); a stereo
// call needs two per second.
func BenchmarkDetect(b *testing.B) {
	pcm, _ := digitsStream(b, "4111", 3000, 70, 180)
	pcm = pcm[:SampleRate]
	m := NewMasker(MaskConfig{})
	b.SetBytes(int64(2 * len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < len(pcm); i += 160 {
			m.Write(pcm[i : i+160])
			m.Masked(m.Pos()-m.Lookahead()-160, m.Pos()-m.Lookahead(), func(int64, int64) {})
		}
	}
}
