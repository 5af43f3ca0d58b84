package mixer

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/openrec/openrec/internal/media/dtmf"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/resample"
)

// DTMFMode says what the mixer does with key tones (PCI DSS: card numbers
// typed on a keypad must not be readable from a recording).
type DTMFMode uint8

const (
	// DTMFKeep stores tones as they arrive and RFC 4733 events with their
	// digit.
	DTMFKeep DTMFMode = iota
	// DTMFMask silences in-band tones and the spans of RFC 4733 events
	// (plus a guard) in the file and the tap, and keeps "dtmf" events
	// without the digit.
	DTMFMask
	// DTMFMaskDropEvents masks as DTMFMask and keeps no "dtmf" events.
	DTMFMaskDropEvents
)

// String returns "keep", "mask" or "mask-and-drop-events".
func (d DTMFMode) String() string {
	switch d {
	case DTMFKeep:
		return "keep"
	case DTMFMask:
		return "mask"
	case DTMFMaskDropEvents:
		return "mask-and-drop-events"
	}
	return fmt.Sprintf("dtmf-mode(%d)", uint8(d))
}

// ParseDTMFMode parses a DTMFMode's String form ("" is keep).
func ParseDTMFMode(s string) (DTMFMode, error) {
	switch s {
	case "", "keep":
		return DTMFKeep, nil
	case "mask":
		return DTMFMask, nil
	case "mask-and-drop-events":
		return DTMFMaskDropEvents, nil
	}
	return DTMFKeep, fmt.Errorf("%w: dtmf %q (keep, mask or mask-and-drop-events)", ErrConfig, s)
}

// Masking is a "dtmf-masked" event: a span of a channel silenced because it
// held a key tone. Detail is "in-band" (found in the audio) or "rfc4733"
// (a telephone event); never the digit.
const EventDTMFMasked = "dtmf-masked"

// masking is the DTMF masking state of a track. The masker is used only
// under the mixer's flushMu; events are queued under the track's mu.
//
// The masker works at 8 kHz: on a 16 kHz timeline (div 2) the audio is
// halved through a low-pass filter before detection and every span is
// scaled between the two rates (the guard covers the filter's delay).
type masking struct {
	m       *dtmf.Masker
	pcm     []int16 // decoding buffer
	pending []eventSpan
	div     int64 // timeline samples per masker sample: 1 or 2
	half    resample.Halver
	narrow  []int16
	tapHalf resample.Halver // the tap's audio when masking (flushMu)
	tapPCM  []int16
}

// eventSpan is a telephone event's span as known so far.
type eventSpan struct {
	start, end int64
	first      bool
}

// DTMF returns the mixer's DTMF mode.
func (m *Mixer) DTMF() DTMFMode { return m.cfg.DTMF }

// masked reports whether the mixer masks DTMF.
func (m *Mixer) masked() bool { return m.cfg.DTMF != DTMFKeep }

// lookahead is how far writing lags the final samples: the masker's
// lookahead when masking, else 0.
func (m *Mixer) lookahead() int64 {
	if !m.masked() {
		return 0
	}
	return m.tracks[0].mask.m.Lookahead() * m.tracks[0].mask.div
}

// newMasking sets up the masker of a track.
func (t *Track) newMasking() {
	ch := t.ch
	div := t.m.rate / dtmf.SampleRate
	t.mask.div = div
	t.mask.m = dtmf.NewMasker(dtmf.MaskConfig{OnDetect: func(s dtmf.Span) {
		t.m.addEvent(Event{Type: EventDTMFMasked, Channel: ch, AtMS: t.m.posToMS(s.Start * div),
			DurationMS: t.m.posToMS((s.End - s.Start) * div), Detail: "in-band"})
	}})
}

// queueEventMask asks Flush to mask [start, end) of this channel, the
// span of a telephone event so far. t.mu must be held.
func (t *Track) queueEventMask(start, end int64, first bool) {
	t.mask.pending = append(t.mask.pending, eventSpan{start, end, first})
}

// detect feeds the samples [final, to) to the masker and makes them
// final. flushMu must be held.
func (t *Track) detect(to int64) {
	t.mu.Lock()
	from := t.final
	if to <= from {
		t.mu.Unlock()
		return
	}
	n := to - from
	if int64(cap(t.mask.pcm)) < n {
		t.mask.pcm = make([]int16, n)
	}
	pcm := t.mask.pcm[:n]
	bps := int64(t.m.bps)
	for i := range n {
		p := from + i
		if p >= t.written+t.size {
			pcm[i] = 0 // beyond the ring: silence
			continue
		}
		j := (p % t.size) * bps
		pcm[i] = sampleToPCM(t.ring[j:j+bps], t.m.cfg.Format)
	}
	t.final = to
	pending := t.mask.pending
	t.mask.pending = nil
	t.mu.Unlock()
	div := t.mask.div
	for _, e := range pending {
		t.mask.m.Mask(floorDiv(e.start, div), ceilDiv(e.end, div), e.first)
		if e.first {
			t.m.addEvent(Event{Type: EventDTMFMasked, Channel: t.ch, AtMS: t.m.posToMS(e.start), Detail: "rfc4733"})
		}
	}
	if div > 1 {
		t.mask.narrow = t.mask.half.Halve(pcm, t.mask.narrow[:0])
		pcm = t.mask.narrow
	}
	t.mask.m.Write(pcm)
}

// ceilDiv is a/b rounded up (b > 0).
func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// masked calls fn for the parts of timeline [from, to) the masker
// silences, scaled from its 8 kHz samples. flushMu must be held.
func (t *Track) masked(from, to int64, fn func(a, b int64)) {
	div := t.mask.div
	t.mask.m.Masked(floorDiv(from, div), ceilDiv(to, div), func(a, b int64) {
		if a, b = max(a*div, from), min(b*div, to); a < b {
			fn(a, b)
		}
	})
}

func sampleToPCM(b []byte, f Format) int16 {
	switch f {
	case FormatULaw:
		return g711.DecodeULaw(b[0])
	case FormatALaw:
		return g711.DecodeALaw(b[0])
	}
	return int16(binary.LittleEndian.Uint16(b))
}

// applyMasks silences the masked samples of every channel in buf
// (interleaved frames [from, to)) and, when masking, gives the tap the
// audio as written. flushMu must be held.
func (m *Mixer) applyMasks(buf []byte, from, to int64) {
	chans := len(m.tracks)
	for _, t := range m.tracks {
		off := t.ch * m.bps
		t.masked(from, to, func(a, b int64) {
			for f := a - from; f < b-from; f++ {
				o := int(f)*chans*m.bps + off
				copy(buf[o:o+m.bps], m.sil[:m.bps])
			}
		})
	}
	tap := m.cfg.Tap
	if tap == nil || !tap.Listening() || to <= from {
		return
	}
	for _, t := range m.tracks {
		pcm := t.mask.pcm[:0]
		for f := range to - from {
			o := int(f)*chans*m.bps + t.ch*m.bps
			pcm = append(pcm, sampleToPCM(buf[o:o+m.bps], m.cfg.Format))
		}
		t.mask.pcm = pcm
		if m.wide() {
			t.mask.tapPCM = t.mask.tapHalf.Halve(pcm, t.mask.tapPCM[:0])
			pcm = t.mask.tapPCM
		}
		tap.Publish(t.ch, m.cfg.Start.Add(time.Duration(m.posToNS(from))), pcm)
	}
}
