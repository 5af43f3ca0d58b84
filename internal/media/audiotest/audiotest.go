// Package audiotest generates test tones and detects them in decoded audio,
// so tests can assert "channel 0 carries 440 Hz and channel 1 carries
// 1 kHz" instead of comparing bytes that codecs, gap filling and alignment
// legitimately change.
//
// Detection uses the Goertzel algorithm (the DFT at one frequency), with
// powers normalised to full scale: a sine of amplitude a (0..1 of full
// scale) has power about a*a at its own frequency.
package audiotest

import "math"

const fullScale = 32768.0

// Thresholds used by HasTone, Silent and ToneSpan.
const (
	// MinTonePower is the smallest normalised Goertzel power that counts as
	// a tone: amplitude 0.01 of full scale (-40 dBFS).
	MinTonePower = 1e-4
	// MinToneShare is the smallest share of the signal's energy a tone must
	// carry to count as present (rules out broadband noise).
	MinToneShare = 0.25
	// DominanceRatio is how much stronger than every other candidate a tone
	// must be for HasTone.
	DominanceRatio = 10.0
	// SilenceRMS is the RMS (in linear sample units) below which Silent
	// reports silence: about -60 dBFS, above the A-law idle level (±8).
	SilenceRMS = 32.0
)

// Tone returns n samples of a sine at freq Hz with the given amplitude
// (0..1 of full scale, clamped), sampled at sampleRate, starting at phase 0.
func Tone(freq, amplitude float64, sampleRate, n int) []int16 {
	amplitude = math.Max(0, math.Min(1, amplitude))
	out := make([]int16, max(n, 0))
	w := 2 * math.Pi * freq / float64(sampleRate)
	for i := range out {
		v := math.Round(amplitude * 32767 * math.Sin(w*float64(i)))
		out[i] = int16(v)
	}
	return out
}

// Goertzel returns the normalised power of samples at freq Hz: about a*a
// for a sine of amplitude a at freq (0 for no samples). freq need not fall
// on a DFT bin.
func Goertzel(samples []int16, sampleRate int, freq float64) float64 {
	n := len(samples)
	if n == 0 || sampleRate <= 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(sampleRate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	// |X(f)|^2 of the N-sample block; a sine of amplitude A gives A*N/2.
	power := s1*s1 + s2*s2 - coeff*s1*s2
	scale := float64(n) * fullScale / 2
	return math.Max(power, 0) / (scale * scale)
}

// Dominant returns the candidate frequency with the most power in samples
// and the ratio of its power to the second strongest candidate's (+Inf if
// that is zero or there is only one candidate). With no candidates, or no
// power at any, it returns 0, 0.
func Dominant(samples []int16, sampleRate int, candidates []float64) (freq float64, ratio float64) {
	best, second := -1.0, 0.0
	for _, c := range candidates {
		p := Goertzel(samples, sampleRate, c)
		switch {
		case p > best:
			second = math.Max(best, 0)
			best, freq = p, c
		case p > second:
			second = p
		}
	}
	if best <= 0 {
		return 0, 0
	}
	if second == 0 {
		return freq, math.Inf(1)
	}
	return freq, best / second
}

// HasTone reports whether freq is present in samples (power at least
// MinTonePower and at least MinToneShare of the signal energy) and at
// least DominanceRatio times stronger than each other frequency in others (freq itself, if listed, is skipped).
func HasTone(samples []int16, sampleRate int, freq float64, others []float64) bool {
	p := Goertzel(samples, sampleRate, freq)
	if !present(samples, p) {
		return false
	}
	for _, o := range others {
		if o == freq {
			continue // the candidate list may name the tone itself
		}
		if p < DominanceRatio*Goertzel(samples, sampleRate, o) {
			return false
		}
	}
	return true
}

// present reports whether a Goertzel power p is a tone in samples.
func present(samples []int16, p float64) bool {
	if p < MinTonePower {
		return false
	}
	rms := RMS(samples) / fullScale
	// A sine of power p (amplitude sqrt(p)) has mean energy p/2.
	return p/2 >= MinToneShare*rms*rms
}

// RMS returns the root mean square of samples in linear sample units.
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// Silent reports whether samples are silence (RMS below SilenceRMS). An
// empty slice is silent.
func Silent(samples []int16) bool { return RMS(samples) < SilenceRMS }

// ToneSpan cuts samples into consecutive windows of window samples
// (sampleRate/50, i.e. 20 ms, if window <= 0; a last window shorter than
// half a window is ignored) and returns the first sample of the first
// window where freq is present and the end (exclusive: one past the last
// sample) of the last such window. end-start is the tone's duration to
// within a window. It returns -1, -1 if freq is never present.
//
// A window counts when freq carries at least MinToneShare of its energy
// with power at least MinTonePower, the same test HasTone applies.
func ToneSpan(samples []int16, sampleRate int, freq float64, window int) (start, end int) {
	if window <= 0 {
		window = max(sampleRate/50, 1)
	}
	start, end = -1, -1
	for off := 0; off < len(samples); off += window {
		w := samples[off:min(off+window, len(samples))]
		if len(w)*2 < window {
			break
		}
		if present(w, Goertzel(w, sampleRate, freq)) {
			if start < 0 {
				start = off
			}
			end = off + len(w)
		}
	}
	return start, end
}

// Speech-likeness thresholds (SpeechLike).
const (
	// SpeechFrame is the analysis frame of SpeechLike: 20 ms at 8 kHz.
	SpeechFrame = 160
	// MinSpeechActivity and MaxSpeechActivity bound the share of frames
	// carrying sound: a conversation side talks part of the time, a tone or
	// noise bed all of it, a dead line none of it.
	MinSpeechActivity = 0.10
	MaxSpeechActivity = 0.90
	// MinSpeechBursts is the least number of separate bursts of sound
	// (syllables, words) per second of sound.
	MinSpeechBursts = 0.5
	// MinPitchSpread is the least coefficient of variation of the zero
	// crossing rate across sounding frames: changing vowels and consonants
	// move it, a steady tone does not.
	MinPitchSpread = 0.08
)

// SpeechLike reports why samples (8 kHz) do not look like one side of a
// conversation, or "" when they do: sound part of the time, in bursts,
// with a spectrum that moves. It tells speech from a tone, silence and
// steady noise; it does not recognise words.
func SpeechLike(samples []int16) string {
	frames := len(samples) / SpeechFrame
	if frames < 50 {
		return "shorter than one second"
	}
	var active, bursts int
	var zcrs []float64
	prev := false
	for f := range frames {
		fr := samples[f*SpeechFrame : (f+1)*SpeechFrame]
		on := RMS(fr) >= 4*SilenceRMS
		if on {
			active++
			if !prev {
				bursts++
			}
			z := 0
			for i := 1; i < len(fr); i++ {
				if (fr[i-1] < 0) != (fr[i] < 0) {
					z++
				}
			}
			zcrs = append(zcrs, float64(z))
		}
		prev = on
	}
	share := float64(active) / float64(frames)
	switch {
	case share < MinSpeechActivity:
		return "mostly silent"
	case share > MaxSpeechActivity:
		return "sound all the time (a tone or a noise bed, not a conversation)"
	}
	if rate := float64(bursts) / (float64(active) * SpeechFrame / 8000); rate < MinSpeechBursts {
		return "sound in too few bursts"
	}
	var mean, sq float64
	for _, z := range zcrs {
		mean += z
	}
	mean /= float64(len(zcrs))
	for _, z := range zcrs {
		sq += (z - mean) * (z - mean)
	}
	if mean == 0 || math.Sqrt(sq/float64(len(zcrs)))/mean < MinPitchSpread {
		return "a steady spectrum (a tone)"
	}
	return ""
}
