package sim

// Synthetic speech for the simulated Media Server: not words, but audio
// with the shape of a conversation, so that a recording's waveform and its
// player look like a call and not like a solid bar of tone.
//
// A voice is a glottal pulse train at a pitch that drifts down over each
// phrase (declination) with a little jitter, shaped by two formant
// resonators whose targets change per syllable (a vowel table), with short
// noise bursts for consonants. Syllables (90-260 ms) form words, words form
// phrases, phrases form a turn (1.5-6 s); the two parties of a call take
// turns: both sides of a conversation derive the same turn schedule from a
// shared seed, one speaks in the even turns, the other in the odd ones, and
// each leaves a short gap (and sometimes a backchannel "mm") while the
// other talks. Everything is deterministic for a seed and costs a few
// multiplications per sample.

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/openrec/openrec/internal/sip/dial"
)

// vowels are (F1, F2) formant targets in Hz of a few vowels.
var vowels = [][2]float64{
	{730, 1090}, {270, 2290}, {530, 1840}, {570, 840}, {300, 870}, {660, 1720}, {440, 1020}, {490, 1350},
}

// VoiceFor returns a synthetic speaker whose pitch and timbre are derived
// from who (e.g. a DN or a phone number), taking part in the conversation
// identified by conv: the party with first = true speaks first. Each call
// returns an independent Source.
func VoiceFor(who, conv string, first bool) dial.Source {
	h := fnv.New64a()
	_, _ = h.Write([]byte(who))
	ph := h.Sum64()
	h.Reset()
	_, _ = h.Write([]byte(conv))
	ch := h.Sum64()
	// Pitch 95-230 Hz (low and high voices), timbre scale 0.9-1.15.
	pitch := 95 + float64(ph%136)
	timbre := 0.9 + float64((ph>>8)%26)/100
	return newVoice(pitch, timbre, ph|1, ch|1, first)
}

type voice struct {
	pitch, timbre float64
	rng           *rand.Rand // syllables, jitter
	turns         *rand.Rand // the conversation's turn schedule (shared seed)
	first         bool

	// turn state
	turn      int // index of the current turn
	turnLeft  int // samples left in the current turn
	speaking  bool
	backLeft  int // samples of a planned backchannel while listening
	backStart int

	// syllable state
	sylLen, sylPos int
	gapLeft        int // silence after the current syllable
	f1, f2         float64
	noise          int // samples of consonant noise at the syllable start
	amp            float64

	// synthesis state
	phase          float64
	r1, r2         resonator
	lp             float64
	phraseSyllable int
}

func newVoice(pitch, timbre float64, seed, convSeed uint64, first bool) *voice {
	v := &voice{pitch: pitch, timbre: timbre, first: first,
		rng:   rand.New(rand.NewPCG(seed, seed>>3|1)),
		turns: rand.New(rand.NewPCG(convSeed, convSeed>>5|1))}
	v.nextTurn()
	return v
}

// nextTurn draws the next turn from the shared schedule: both parties draw
// the same lengths, so they agree on whose turn it is.
func (v *voice) nextTurn() {
	// 1.5-6 s of speech, then a short pause before the other answers.
	n := int((1.5 + 4.5*v.turns.Float64()) * dial.SampleRate)
	if v.turn == 0 {
		n = int(0.6 * dial.SampleRate) // a beat of silence as the call connects
	}
	v.turnLeft = n
	mine := v.turn > 0 && (v.turn%2 == 1) == v.first
	v.speaking = mine
	v.sylLen, v.sylPos, v.gapLeft, v.phraseSyllable = 0, 0, 0, 0
	v.backLeft, v.backStart = 0, 0
	if !mine && v.turn > 0 && v.rng.IntN(3) == 0 {
		// a backchannel ("mm", "yes") somewhere in the other's turn
		v.backStart = n/3 + v.rng.IntN(n/3+1)
		v.backLeft = int(0.25 * dial.SampleRate)
	}
	v.turn++
}

func (v *voice) nextSyllable() {
	v.sylLen = int((0.09 + 0.17*v.rng.Float64()) * dial.SampleRate)
	v.sylPos = 0
	vw := vowels[v.rng.IntN(len(vowels))]
	v.f1, v.f2 = vw[0]*v.timbre, vw[1]*v.timbre
	v.noise = 0
	if v.rng.IntN(3) == 0 {
		v.noise = int(0.03 * dial.SampleRate)
	}
	v.amp = 0.55 + 0.45*v.rng.Float64()
	v.r1.set(v.f1, 90)
	v.r2.set(v.f2, 120)
	v.gapLeft = 0
	v.phraseSyllable++
	switch {
	case v.phraseSyllable >= 4+v.rng.IntN(9): // end of phrase: a breath
		v.gapLeft = int((0.2 + 0.3*v.rng.Float64()) * dial.SampleRate)
		v.phraseSyllable = 0
	case v.rng.IntN(3) == 0: // end of a word
		v.gapLeft = int((0.03 + 0.08*v.rng.Float64()) * dial.SampleRate)
	}
}

// Read implements dial.Source.
func (v *voice) Read(out []int16) {
	for i := range out {
		if v.turnLeft <= 0 {
			v.nextTurn()
		}
		v.turnLeft--
		var s float64
		switch {
		case v.speaking:
			s = v.speech()
		case v.backLeft > 0 && v.turnLeft <= v.backStart:
			v.backLeft--
			if v.sylLen == 0 || v.sylPos >= v.sylLen {
				v.nextSyllable()
				v.sylLen = v.backLeft + 1
				v.noise = 0
				v.gapLeft = 0
			}
			s = 0.6 * v.speech()
		default:
			s = v.comfortNoise()
		}
		out[i] = int16(math.Max(-32767, math.Min(32767, s*16000)))
	}
}

// speech returns the next sample of the current syllable (or its gap).
func (v *voice) speech() float64 {
	if v.sylLen == 0 || (v.sylPos >= v.sylLen && v.gapLeft <= 0) {
		v.nextSyllable()
	}
	if v.sylPos >= v.sylLen {
		v.gapLeft--
		return v.comfortNoise()
	}
	t := float64(v.sylPos) / float64(v.sylLen)
	env := math.Sin(math.Pi*t) * v.amp
	// pitch: declination over the phrase, a rise-fall per syllable, jitter
	f0 := v.pitch * (1.12 - 0.025*float64(v.phraseSyllable)) * (1 + 0.06*math.Sin(math.Pi*t)) * (1 + 0.01*(v.rng.Float64()-0.5))
	v.phase += f0 / dial.SampleRate
	var exc float64
	if v.phase >= 1 {
		v.phase -= 1
		exc = 1
	}
	// a smoothed pulse train (glottal flow derivative, roughly)
	v.lp += 0.35 * (exc - v.lp)
	x := v.lp
	if v.sylPos < v.noise {
		x = 0.5*(v.rng.Float64()-0.5) + 0.3*x
	}
	v.sylPos++
	y := v.r1.step(x) + 0.6*v.r2.step(x)
	return env * y
}

// comfortNoise is the low background of an open line.
func (v *voice) comfortNoise() float64 { return 0.004 * (v.rng.Float64() - 0.5) }

// resonator is a two-pole band-pass filter (a formant).
type resonator struct{ a1, a2, g, y1, y2 float64 }

func (r *resonator) set(freq, bw float64) {
	rad := math.Exp(-math.Pi * bw / dial.SampleRate)
	r.a1 = 2 * rad * math.Cos(2*math.Pi*freq/dial.SampleRate)
	r.a2 = -rad * rad
	r.g = 1 - rad
}

func (r *resonator) step(x float64) float64 {
	y := r.g*x*8 + r.a1*r.y1 + r.a2*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}
