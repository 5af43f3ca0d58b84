package dial

import (
	"math"
)

// Source produces 8 kHz 16-bit linear audio for one party. Read fills the
// whole slice; a Source never ends (files loop). A Source is used by one
// sending goroutine at a time and must not be shared between legs.
type Source interface {
	Read(samples []int16)
}

// SampleRate is the audio rate every Source produces (G.711 narrowband).
const SampleRate = 8000

type tone struct {
	phase, step, amp float64
}

// Tone returns a phase-continuous sine of freq Hz. amplitude is a fraction
// of full scale (0..1); values outside are clamped.
func Tone(freq float64, amplitude float64) Source {
	amplitude = math.Max(0, math.Min(1, amplitude))
	return &tone{step: 2 * math.Pi * freq / SampleRate, amp: amplitude * 32767}
}

func (t *tone) Read(samples []int16) {
	for i := range samples {
		samples[i] = int16(math.Round(t.amp * math.Sin(t.phase)))
		t.phase += t.step
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
}

type silence struct{}

// Silence returns a Source of digital silence.
func Silence() Source { return silence{} }

func (silence) Read(samples []int16) { clear(samples) }

// loop plays a fixed buffer over and over.
type loop struct {
	pcm []int16
	pos int
}

func (l *loop) Read(samples []int16) {
	for i := range samples {
		samples[i] = l.pcm[l.pos]
		l.pos++
		if l.pos == len(l.pcm) {
			l.pos = 0
		}
	}
}
