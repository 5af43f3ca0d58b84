// Package dtmf finds DTMF key tones in 8 kHz audio so the recorder can
// mask them (PCI DSS: card numbers typed on a keypad must not be readable
// from a stored recording).
//
// # Detection
//
// The Detector runs the Goertzel algorithm (the DFT at one frequency) over
// blocks of 102 samples (12.75 ms) at the eight frequencies of ITU-T Q.23:
//
//	         1209 Hz  1336 Hz  1477 Hz  1633 Hz
//	697 Hz     1        2        3        A
//	770 Hz     4        5        6        B
//	852 Hz     7        8        9        C
//	941 Hz     *        0        #        D
//
// A block holds a digit when, following the receiver rules of ITU-T Q.24:
//   - the strongest row and the strongest column tone are each above
//     MinPower (about -52 dBFS per tone, so tones 20 dB below a normal
//     keypad's level are found);
//   - the twist is within bounds: the column tone at most MaxTwist dB
//     louder than the row tone, the row tone at most MaxReverseTwist dB
//     louder than the column tone (speech vowels put far more energy low);
//   - every other row (column) frequency is at least MinPeakRatio dB below
//     the strongest row (column);
//   - the two tones carry at least MinEnergyFraction of the block's
//     energy: speech, whose energy spreads over many harmonics, rarely
//     does (talk-off).
//
// A tone is confirmed after MinBlocks consecutive blocks with the same
// digit (25.5 ms: Q.24 wants tones of 40 ms found and tones shorter than
// 23 ms rejected; a block only partly inside a tone carries too little of
// the block's energy, so a 40 ms tone may fill only two), survives up to
// two blocks that miss (a dropout of one lost packet touches two) and ends
// at the third (Q.24's shortest pause, 40 ms, spans at least three). Spans are reported in samples of the
// stream given to Write, from the first to the last block that held the
// digit; a tone that starts or ends inside a block is covered by the guard
// interval the caller adds.
//
// # Masking
//
// The Masker puts a Detector in front of a delay line: audio leaves it
// Lookahead samples after it entered, so a tone confirmed after MinBlocks
// can still be silenced from its first sample, minus the guard. Spans
// known from elsewhere (RFC 4733 telephone events) are masked with Mask.
package dtmf

import "math"

// maxMisses is how many blocks without the digit a confirmed tone
// survives.
const maxMisses = 2

// SampleRate is the only rate the detector works at.
const SampleRate = 8000

// BlockSize is the Goertzel block: 102 samples, 12.75 ms at 8 kHz (the
// block length that separates the Q.23 frequencies by about one DFT bin).
const BlockSize = 102

// Digits in row-major order of the Q.23 keypad.
const Digits = "123A456B789C*0#D"

var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
)

// Config holds the detection thresholds; the zero value means the
// defaults documented on each field.
type Config struct {
	// MinPower is the smallest power of each tone, as the mean square
	// (int16 units²) of that tone alone: default 25, a sine of amplitude
	// ~7 (-52 dBFS).
	MinPower float64
	// MaxTwist is how much louder the column tone may be than the row
	// tone, in dB (default 8).
	MaxTwist float64
	// MaxReverseTwist is how much louder the row tone may be than the
	// column tone, in dB (default 4).
	MaxReverseTwist float64
	// MinPeakRatio: every other frequency of the group must be this many
	// dB below the group's strongest (default 8).
	MinPeakRatio float64
	// MinEnergyFraction of the block's energy must be in the two tones
	// (default 0.85: a tone 15 dB above noise carries 0.97, the speech
	// that came closest in the talk-off test 0.82).
	MinEnergyFraction float64
	// MinBlocks consecutive blocks confirm a tone (default 2, 25.5 ms).
	MinBlocks int
}

func (c Config) withDefaults() Config {
	if c.MinPower <= 0 {
		c.MinPower = 25
	}
	if c.MaxTwist <= 0 {
		c.MaxTwist = 8
	}
	if c.MaxReverseTwist <= 0 {
		c.MaxReverseTwist = 4
	}
	if c.MinPeakRatio <= 0 {
		c.MinPeakRatio = 8
	}
	if c.MinEnergyFraction <= 0 {
		c.MinEnergyFraction = 0.85
	}
	if c.MinBlocks <= 0 {
		c.MinBlocks = 2
	}
	return c
}

// Span is a detected tone: samples [Start, End) of the stream, and its
// digit. Open spans (the tone still sounds) have End at the end of the
// last block that held it.
type Span struct {
	Start, End int64
	Digit      byte
}

// Detector finds DTMF tones in a stream of 8 kHz PCM16 samples. It is not
// safe for concurrent use.
type Detector struct {
	cfg                       Config
	coef                      [8]float64
	twist, reverse, peak      float64
	block                     [BlockSize]float64
	fill                      int
	pos                       int64 // samples written
	cand                      byte  // digit of the current run, 0 = none
	candStart, candEnd        int64
	candBlocks, candMisses    int
	open                      bool // the current run is confirmed
	done                      []Span
	onSpan                    func(Span)
	blocksWithTone, blocksAll int64
}

// NewDetector returns a detector with cfg's thresholds. onSpan, when not
// nil, is called once per confirmed tone when it ends (or at Close).
func NewDetector(cfg Config, onSpan func(Span)) *Detector {
	d := &Detector{cfg: cfg.withDefaults(), onSpan: onSpan}
	for i, f := range append(rowFreqs[:], colFreqs[:]...) {
		d.coef[i] = 2 * math.Cos(2*math.Pi*f/SampleRate)
	}
	d.twist = math.Pow(10, d.cfg.MaxTwist/10)
	d.reverse = math.Pow(10, d.cfg.MaxReverseTwist/10)
	d.peak = math.Pow(10, d.cfg.MinPeakRatio/10)
	return d
}

// Pos is the number of samples written so far.
func (d *Detector) Pos() int64 { return d.pos }

// Active returns the tone being confirmed or sounding now, if any: its
// Start is where masking must begin. A run is reported from its first
// block, before it is confirmed, so a caller can hold audio back until it
// is either confirmed or dropped (Pending).
func (d *Detector) Active() (Span, bool) {
	if d.open {
		return Span{Start: d.candStart, End: d.candEnd, Digit: d.cand}, true
	}
	return Span{}, false
}

// Pending reports the start of a run of digit blocks not yet confirmed
// (or -1): audio from there on must not leave a delay line until the run
// is confirmed or dropped.
func (d *Detector) Pending() int64 {
	if d.cand != 0 && !d.open {
		return d.candStart
	}
	return -1
}

// Write feeds samples.
func (d *Detector) Write(pcm []int16) {
	for len(pcm) > 0 {
		n := copy16(d.block[d.fill:], pcm)
		d.fill += n
		pcm = pcm[n:]
		d.pos += int64(n)
		if d.fill == BlockSize {
			d.fill = 0
			d.endBlock(d.classify())
		}
	}
}

func copy16(dst []float64, src []int16) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = float64(src[i])
	}
	return n
}

// classify returns the digit the full block holds, or 0.
func (d *Detector) classify() byte {
	d.blocksAll++
	var energy float64
	for _, x := range d.block {
		energy += x * x
	}
	var pw [8]float64
	for i, c := range d.coef {
		var s1, s2 float64
		for _, x := range d.block {
			s1, s2 = x+c*s1-s2, s1
		}
		// |X|² scaled to the tone's energy in the block: a sine of
		// amplitude A gives |X|² ≈ (A·N/2)² and energy A²·N/2.
		pw[i] = (s1*s1 + s2*s2 - c*s1*s2) * 2 / BlockSize
	}
	r, c := best(pw[:4]), best(pw[4:])
	rp, cp := pw[r], pw[4+c]
	minEnergy := d.cfg.MinPower * BlockSize
	if rp < minEnergy || cp < minEnergy {
		return 0
	}
	if cp > rp*d.twist || rp > cp*d.reverse {
		return 0
	}
	for i := range 4 {
		if i != r && pw[i]*d.peak > rp || i != c && pw[4+i]*d.peak > cp {
			return 0
		}
	}
	if rp+cp < d.cfg.MinEnergyFraction*energy {
		return 0
	}
	d.blocksWithTone++
	return Digits[r*4+c]
}

func best(p []float64) int {
	b := 0
	for i := range p {
		if p[i] > p[b] {
			b = i
		}
	}
	return b
}

// endBlock advances the run state with the digit of the block that ended
// at d.pos.
func (d *Detector) endBlock(digit byte) {
	start := d.pos - BlockSize
	switch {
	case digit != 0 && digit == d.cand:
		d.candBlocks++
		d.candMisses = 0
		d.candEnd = d.pos
		if d.candBlocks >= d.cfg.MinBlocks {
			d.open = true
		}
	case digit == 0 && d.cand != 0 && d.open && d.candMisses < maxMisses:
		d.candMisses++
	default:
		d.finish()
		if digit != 0 {
			d.cand, d.candStart, d.candEnd, d.candBlocks, d.candMisses = digit, start, d.pos, 1, 0
			if d.candBlocks >= d.cfg.MinBlocks {
				d.open = true
			}
		}
	}
}

// finish ends the current run: a confirmed one becomes a Span.
func (d *Detector) finish() {
	if d.open {
		s := Span{Start: d.candStart, End: d.candEnd, Digit: d.cand}
		d.done = append(d.done, s)
		if d.onSpan != nil {
			d.onSpan(s)
		}
	}
	d.cand, d.open, d.candBlocks, d.candMisses = 0, false, 0, 0
}

// Close ends a tone still sounding (reported through onSpan) and returns
// every span found.
func (d *Detector) Close() []Span {
	d.finish()
	return d.done
}

// Spans returns the tones that have ended so far.
func (d *Detector) Spans() []Span { return d.done }

// ToneFraction is the share of blocks that held a digit (for metrics and
// talk-off checks).
func (d *Detector) ToneFraction() float64 {
	if d.blocksAll == 0 {
		return 0
	}
	return float64(d.blocksWithTone) / float64(d.blocksAll)
}
