package dtmf

import (
	"slices"
	"time"
)

// DefaultGuard is the audio silenced before and after each tone: it covers
// the part of a block a tone shares with silence or speech, and the
// sender's ramp.
const DefaultGuard = 30 * time.Millisecond

// MaskReverseTwist and MaskMinBlocks are the masker's detection defaults
// where they differ from the Detector's (Q.24's receiver rules). A
// receiver reading a recording (multimon-ng, any DSP) is not bound by
// Q.24, and codecs bend key tones: GSM 06.10 takes 4-5 dB off the
// column tone and smears a 40 ms tone so that only one block of it is
// clean. A missed tone is a readable card digit; a false one costs 85 ms
// of audio, and none was found in 23 minutes of speech in four voices
// (also through GSM) nor in 218 s of synthetic music.
const (
	MaskReverseTwist = 8
	MaskMinBlocks    = 1
)

// MaskConfig configures a Masker.
type MaskConfig struct {
	// Detect: the detection thresholds; zero fields take the Detector's
	// defaults except MaxReverseTwist (MaskReverseTwist) and MinBlocks
	// (MaskMinBlocks).
	Detect Config
	// Guard is silenced before and after each span (default DefaultGuard,
	// at least one block).
	Guard time.Duration
	// OnDetect, when set, is called from Write or Close for each tone
	// found in the audio, when it ends.
	OnDetect func(Span)
}

// Masker decides which samples of one channel must be silenced. The
// caller feeds every sample of the channel, in order, to Write, and holds
// audio back Lookahead samples: audio before Pos()-Lookahead() is final,
// and Masked tells which parts of it to silence. A tone is confirmed
// MinBlocks blocks after it starts; the lookahead is that plus the guard,
// so its first sample (minus the guard) has not left yet.
type Masker struct {
	det       *Detector
	guard     int64
	lookahead int64
	spans     []Span // merged, sorted, guard included; Digit of detected spans
	detected  int    // tones found in the audio
	external  int    // spans given to Mask
	onDetect  func(Span)
}

// NewMasker returns a masker for one channel.
func NewMasker(cfg MaskConfig) *Masker {
	m := &Masker{onDetect: cfg.OnDetect}
	det := cfg.Detect
	if det.MaxReverseTwist <= 0 {
		det.MaxReverseTwist = MaskReverseTwist
	}
	if det.MinBlocks <= 0 {
		det.MinBlocks = MaskMinBlocks
	}
	m.det = NewDetector(det, m.addDetected)
	g := cfg.Guard
	if g <= 0 {
		g = DefaultGuard
	}
	m.guard = max(int64(g)*SampleRate/int64(time.Second), BlockSize)
	m.lookahead = int64(m.det.cfg.MinBlocks)*BlockSize + m.guard
	return m
}

// Lookahead is how many samples the caller must hold back behind Pos.
func (m *Masker) Lookahead() int64 { return m.lookahead }

// Pos is the number of samples written.
func (m *Masker) Pos() int64 { return m.det.Pos() }

// Write feeds the next samples of the channel.
func (m *Masker) Write(pcm []int16) { m.det.Write(pcm) }

func (m *Masker) addDetected(s Span) {
	m.detected++
	m.add(s.Start-m.guard, s.End+m.guard)
	if m.onDetect != nil {
		m.onDetect(s)
	}
}

// Mask silences [start, end) plus the guard, e.g. the span of an RFC 4733
// telephone event. Calls for the same event as it grows (every event
// packet carries the duration so far) merge into one span; count is
// whether this call starts a new event.
func (m *Masker) Mask(start, end int64, count bool) {
	if count {
		m.external++
	}
	m.add(start-m.guard, end+m.guard)
}

func (m *Masker) add(a, b int64) {
	a = max(a, 0)
	if b <= a {
		return
	}
	i, _ := slices.BinarySearchFunc(m.spans, a, func(s Span, a int64) int {
		switch {
		case s.Start < a:
			return -1
		case s.Start > a:
			return 1
		}
		return 0
	})
	m.spans = slices.Insert(m.spans, i, Span{Start: a, End: b})
	// Merge overlapping or touching spans.
	out := m.spans[:0]
	for _, s := range m.spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	m.spans = out
}

// Masked calls fn for every part of [from, to) that must be silenced, in
// order, and forgets spans that end before from (the caller never asks
// about released audio again).
func (m *Masker) Masked(from, to int64, fn func(a, b int64)) {
	drop := 0
	for drop < len(m.spans) && m.spans[drop].End <= from {
		drop++
	}
	m.spans = m.spans[drop:]
	for _, s := range m.spans {
		if s.Start >= to {
			break
		}
		fn(max(s.Start, from), min(s.End, to))
	}
	if a, ok := m.det.Active(); ok {
		if s := max(a.Start-m.guard, from); s < to {
			fn(s, to)
		}
	}
}

// Close ends detection (a tone still sounding counts).
func (m *Masker) Close() { m.det.Close() }

// Detected is the number of tones found in the audio; External the number
// of events given to Mask.
func (m *Masker) Detected() int { return m.detected }

// External is the number of events given to Mask with count set.
func (m *Masker) External() int { return m.external }

// MaskAll silences every DTMF tone of a whole channel in place (offline:
// no lookahead needed) and returns the number of tones found.
func MaskAll(pcm []int16, cfg MaskConfig) int {
	m := NewMasker(cfg)
	m.Write(pcm)
	m.Close()
	m.Masked(0, int64(len(pcm)), func(a, b int64) { clear(pcm[a:b]) })
	return m.Detected()
}
