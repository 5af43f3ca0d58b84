package mixer

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/dtmf"
	"github.com/openrec/openrec/internal/media/g711"
)

// keyTone is µ-law audio holding the DTMF tone of digit d for sender
// samples [on, off) and a 200 Hz hum elsewhere (speech stand-in: one tone
// never reads as a key).
func keyTone(d byte, on, off int64) func(s int64, n int) []byte {
	i := strings.IndexByte(dtmf.Digits, d)
	r := []float64{697, 770, 852, 941}[i/4]
	c := []float64{1209, 1336, 1477, 1633}[i%4]
	return func(s int64, n int) []byte {
		out := make([]byte, n)
		for k := range out {
			p := float64(s + int64(k))
			x := 800 * math.Sin(2*math.Pi*200*p/8000)
			if s+int64(k) >= on && s+int64(k) < off {
				x = 5000*math.Sin(2*math.Pi*r*p/8000) + 5000*math.Sin(2*math.Pi*c*p/8000)
			}
			out[k] = g711.EncodeULaw(int16(x))
		}
		return out
	}
}

func decodeU(b []byte) []int16 {
	pcm := make([]int16, len(b))
	for i, v := range b {
		pcm[i] = g711.DecodeULaw(v)
	}
	return pcm
}

func TestDTMFMaskingInBandAndEvents(t *testing.T) {
	const on, off = 8000 + 37, 8000 + 37 + 640 // an in-band '7', 80 ms from 1.005 s
	for _, mode := range []DTMFMode{DTMFKeep, DTMFMask, DTMFMaskDropEvents} {
		t.Run(mode.String(), func(t *testing.T) {
			l := leg{ssrc: 1, content: keyTone('7', on, off)}
			te := &media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 8000}
			var steps []step
			steps = append(steps, l.packets(0, 100)...) // 2 s of audio, the in-band tone inside
			// An RFC 4733 '9' at 2.2 s (120 ms) over the audio that follows.
			steps = append(steps, l.packets(100, 110)...)
			steps = append(steps, dtmfSteps(l, 101, 110, 110, 9, 5)...)
			l2 := l
			l2.seq0 += 10
			steps = append(steps, l2.packets(117, 150)...)
			tap := &fakeTap{}
			tap.on.Store(true)
			m, w := newTestMixer(t, Config{DTMF: mode, Tap: tap})
			m.Track(0).SetCodecs([]media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}, te, nil)
			drive(t, m, steps, ms(3500))

			out := decodeU(w.bytes())
			spans := dtmf.NewDetector(dtmf.Config{}, nil)
			spans.Write(out)
			found := spans.Close()
			var digits, events []string
			for _, s := range found {
				digits = append(digits, string(s.Digit))
			}
			for _, e := range m.Events() {
				events = append(events, e.Type+":"+e.Detail)
			}
			switch mode {
			case DTMFKeep:
				if !slices.Equal(digits, []string{"7"}) {
					t.Errorf("kept audio holds %v, want the in-band 7", digits)
				}
				if !slices.Equal(events, []string{"dtmf:9"}) {
					t.Errorf("events %v", events)
				}
			default:
				if len(digits) != 0 {
					t.Errorf("masked audio still holds %v", digits)
				}
				want := []string{"dtmf-masked:in-band", "dtmf:", "dtmf-masked:rfc4733"}
				if mode == DTMFMaskDropEvents {
					want = []string{"dtmf-masked:in-band", "dtmf-masked:rfc4733"}
				}
				slices.Sort(want)
				slices.Sort(events)
				if !slices.Equal(events, want) {
					t.Errorf("events %v, want %v", events, want)
				}
				// The tone's span and the event's span are silent; the hum
				// well outside them is unchanged.
				guard := int64(dtmf.DefaultGuard/(125*time.Microsecond)) + dtmf.BlockSize
				for i, v := range w.bytes() {
					p := int64(i)
					inTone := p >= on && p < off
					inEvent := p >= 110*160 && p < 110*160+6*160
					near := (p >= on-guard && p < off+guard) || (p >= 110*160-guard && p < 110*160+6*160+guard)
					want := keyTone('7', on, off)(p, 1)[0]
					switch {
					case (inTone || inEvent) && v != g711.ULawSilence:
						t.Fatalf("sample %d = %#x inside a masked span", p, v)
					case !near && p < 150*160 && v != want:
						t.Fatalf("sample %d = %#x, want %#x (outside every span)", p, v, want)
					}
				}
			}
			// The tap gets what the file gets: no tone either.
			var tapped []int16
			for _, f := range tap.frames {
				tapped = append(tapped, f.pcm...)
			}
			d := dtmf.NewDetector(dtmf.Config{}, nil)
			d.Write(tapped)
			if n := len(d.Close()); (mode == DTMFKeep) != (n == 1) {
				t.Errorf("tap holds %d tones in mode %s", n, mode)
			}
		})
	}
}

func TestDTMFModeParse(t *testing.T) {
	for _, s := range []string{"keep", "mask", "mask-and-drop-events"} {
		m, err := ParseDTMFMode(s)
		if err != nil || m.String() != s {
			t.Errorf("%q: %v %v", s, m, err)
		}
	}
	if _, err := ParseDTMFMode("hide"); err == nil {
		t.Error("hide accepted")
	}
	if _, err := New(Config{Channels: 1, Format: FormatULaw, Start: t0, DTMF: 9}, &fakeWriter{}); err == nil {
		t.Error("mode 9 accepted")
	}
}

// tonesAt is µ-law audio of a 200 Hz hum with the key tones of tones
// (digit, sender samples [on, off)) over it; alaw encodes A-law.
func tonesAt(alaw bool, tones ...[3]int64) func(s int64, n int) []byte {
	return func(s int64, n int) []byte {
		out := make([]byte, n)
		for k := range out {
			p := s + int64(k)
			x := 800 * math.Sin(2*math.Pi*200*float64(p)/8000)
			for _, tn := range tones {
				if p >= tn[1] && p < tn[2] {
					i := strings.IndexByte(dtmf.Digits, byte(tn[0]))
					r, c := []float64{697, 770, 852, 941}[i/4], []float64{1209, 1336, 1477, 1633}[i%4]
					x = 5000*math.Sin(2*math.Pi*r*float64(p)/8000) + 5000*math.Sin(2*math.Pi*c*float64(p)/8000)
				}
			}
			if alaw {
				out[k] = g711.EncodeALaw(int16(x))
			} else {
				out[k] = g711.EncodeULaw(int16(x))
			}
		}
		return out
	}
}

// Key tones where the stream is awkward for the masker: at the first and
// the last sample of the call (Close right after), across flushes 20 ms
// apart, across one and two lost packets, a reordered packet, a codec
// change and an SSRC change, and across the start of a pause. No tone
// sample is left in the file, and no detector finds a tone in it.
func TestDTMFMaskingAtTheEdges(t *testing.T) {
	codecs := []media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}, {PT: 8, Name: media.PCMA, ClockRate: 8000}}
	without := func(steps []step, drop ...int) []step {
		var out []step
		for i, s := range steps {
			if !slices.Contains(drop, i) {
				out = append(out, s)
			}
		}
		return out
	}
	flushes := func(every time.Duration, until time.Duration) []step {
		var out []step
		for d := every; d < until; d += every {
			out = append(out, step{arr: d + ms(7), fn: func(m *Mixer, now time.Time) { _ = m.Flush(now) }})
		}
		return out
	}
	type tc struct {
		name  string
		tones [][3]int64
		steps func(tones [][3]int64) []step
		end   time.Duration
	}
	plain := func(tones [][3]int64) []step { return leg{ssrc: 1, content: tonesAt(false, tones...)}.packets(0, 100) }
	for _, c := range []tc{
		{"last 60 ms, closed at once", [][3]int64{{'5', 16000 - 480, 16000}}, plain, ms(2000)},
		{"first 60 ms", [][3]int64{{'1', 0, 480}}, plain, ms(2100)},
		{"flushes every 20 ms", [][3]int64{{'9', 7800, 8300}, {'#', 11983, 12320}}, func(tn [][3]int64) []step {
			return append(plain(tn), flushes(ms(20), ms(2100))...)
		}, ms(2200)},
		{"one lost packet", [][3]int64{{'7', 8000, 9600}}, func(tn [][3]int64) []step { return without(plain(tn), 53) }, ms(2100)},
		{"two lost packets", [][3]int64{{'7', 8000, 9600}}, func(tn [][3]int64) []step { return without(plain(tn), 53, 54) }, ms(2100)},
		{"reordered packet", [][3]int64{{'3', 8000, 8800}}, func(tn [][3]int64) []step {
			s := plain(tn)
			s[51].arr += ms(45)
			return s
		}, ms(2100)},
		{"PCMU to PCMA", [][3]int64{{'0', 8000, 8960}}, func(tn [][3]int64) []step {
			return append(leg{ssrc: 1, content: tonesAt(false, tn...)}.packets(0, 52),
				leg{ssrc: 1, pt: 8, content: tonesAt(true, tn...)}.packets(52, 100)...)
		}, ms(2100)},
		{"SSRC change", [][3]int64{{'8', 8000, 8960}}, func(tn [][3]int64) []step {
			return append(leg{ssrc: 1, content: tonesAt(false, tn...)}.packets(0, 52),
				leg{ssrc: 2, seq0: 5000, ts0: 123456, content: tonesAt(false, tn...)}.packets(52, 100)...)
		}, ms(2100)},
		{"pause ends mid-tone", [][3]int64{{'4', 8000, 9600}}, func(tn [][3]int64) []step {
			return append(plain(tn),
				step{arr: ms(900), fn: func(m *Mixer, now time.Time) { m.SetPaused(true, now) }},
				step{arr: ms(1100), fn: func(m *Mixer, now time.Time) { m.SetPaused(false, now) }})
		}, ms(2100)},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, w := newTestMixer(t, Config{DTMF: DTMFMask})
			m.Track(0).SetCodecs(codecs, nil, nil)
			drive(t, m, c.steps(c.tones), c.end)
			out := w.bytes()
			for _, tn := range c.tones {
				for p := tn[1]; p < tn[2] && p < int64(len(out)); p++ {
					if out[p] != g711.ULawSilence {
						t.Fatalf("sample %d of the %c tone [%d,%d) = %#x, not silence", p, tn[0], tn[1], tn[2], out[p])
					}
				}
			}
			d := dtmf.NewDetector(dtmf.Config{MaxReverseTwist: dtmf.MaskReverseTwist, MinBlocks: dtmf.MaskMinBlocks}, nil)
			d.Write(decodeU(out))
			if spans := d.Close(); len(spans) != 0 {
				t.Errorf("tones left in the file: %v", spans)
			}
		})
	}
}

// An RFC 4733 event masks the span its packets cover as they arrive, not
// whatever duration one packet claims: a single packet saying 65535
// samples (8 s) must not blank the seconds of audio that follow it (a
// hostile or broken endpoint could otherwise silence its own recording).
func TestDTMFEventMaskBoundedByArrival(t *testing.T) {
	l := leg{ssrc: 1, content: keyTone('7', -1, -1)} // hum only
	te := &media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 8000}
	steps := l.packets(0, 110)
	steps = append(steps, l.at1(110, 110*160, ms(110*20), 101, []byte{9, 10, 0xFF, 0xFF}))
	l2 := l
	l2.seq0++
	steps = append(steps, l2.packets(111, 200)...)
	m, w := newTestMixer(t, Config{DTMF: DTMFMask})
	m.Track(0).SetCodecs([]media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}, te, nil)
	drive(t, m, steps, ms(4500))
	out := w.bytes()
	masked := 0
	for p := 110 * 160; p < 200*160 && p < len(out); p++ {
		if out[p] != keyTone('7', -1, -1)(int64(p), 1)[0] {
			masked++
		}
	}
	if max := 8000 * 250 / 1000; masked > max {
		t.Errorf("%d samples (%d ms) after the event packet changed, want at most %d ms", masked, masked/8, max/8)
	}
}
