package mixer

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/dtmf"
)

// wideDecoder is a stand-in wideband codec: a 16 kHz RTP clock and PCM16
// big-endian payloads at 16 kHz.
type wideDecoder struct{}

func (wideDecoder) Decode(p []byte, dst []int16) ([]int16, error) {
	dst = dst[:0]
	for i := 0; i+1 < len(p); i += 2 {
		dst = append(dst, int16(binary.BigEndian.Uint16(p[i:])))
	}
	return dst, nil
}

// wideTone is n samples at 16 kHz of a sine of freq from sample s, as
// PCM16 big-endian.
func wideTone(freq float64, s int64, n int) []byte {
	out := make([]byte, 2*n)
	for i := range n {
		v := 8000 * math.Sin(2*math.Pi*freq*float64(s+int64(i))/16000)
		binary.BigEndian.PutUint16(out[2*i:], uint16(int16(v)))
	}
	return out
}

// pcmChannel extracts channel ch of interleaved PCM16 LE frames.
func pcmChannel(data []byte, chans, ch int) []int16 {
	var out []int16
	for i := 2 * ch; i+1 < len(data); i += 2 * chans {
		out = append(out, int16(binary.LittleEndian.Uint16(data[i:])))
	}
	return out
}

// TestWideband: a 16 kHz timeline holds a G.711 leg (doubled, no image)
// and a wideband leg (a 6 kHz tone only it can carry), aligned, at the
// right length; DTMF in the G.711 leg is masked at 16 kHz and the tap
// gets 8 kHz audio.
func TestWideband(t *testing.T) {
	for _, mode := range []DTMFMode{DTMFKeep, DTMFMask} {
		t.Run(mode.String(), func(t *testing.T) {
			const on, off = 8000 + 37, 8000 + 37 + 640 // an in-band '5' (8 kHz samples), 80 ms from 1.005 s
			narrow := leg{ch: 0, ssrc: 1, content: keyTone('5', on, off)}
			// The hum of keyTone is 200 Hz; the wide leg: 6 kHz.
			wide := leg{ch: 1, ssrc: 2, pt: 96, frame: 320, content: func(s int64, n int) []byte { return wideTone(6000, s, n) }}
			var steps []step
			steps = append(steps, narrow.packets(0, 100)...)
			steps = append(steps, wide.packets(0, 100)...)
			tap := &fakeTap{}
			tap.on.Store(true)
			m, w := newTestMixer(t, Config{Channels: 2, Format: FormatPCM16, SampleRate: WideRate, DTMF: mode, Tap: tap,
				Decoders: func(c media.Codec) (Decoder, error) {
					if c.Name == "X-W16" {
						return wideDecoder{}, nil
					}
					return nil, errors.New("unsupported")
				}})
			m.Track(1).SetCodecs([]media.Codec{{PT: 96, Name: "X-W16", ClockRate: 16000}}, nil, nil)
			drive(t, m, steps, ms(2000))
			if m.SampleRate() != WideRate {
				t.Fatalf("SampleRate %d", m.SampleRate())
			}
			data := w.bytes()
			if got := len(data) / 4; got != 2*16000 {
				t.Fatalf("%d frames, want 32000 (2 s at 16 kHz)", got)
			}
			a, b := pcmChannel(data, 2, 0), pcmChannel(data, 2, 1)
			// Channel 0: the hum (200 Hz), and not its image at 7.8 kHz.
			seg := a[1600:14000]
			if !audiotest.HasTone(seg, WideRate, 200, []float64{7800, 1000, 6000}) {
				t.Error("channel 0: no 200 Hz")
			}
			if img := audiotest.Goertzel(seg, WideRate, 7800) / audiotest.Goertzel(seg, WideRate, 200); img > 1e-5 {
				t.Errorf("channel 0: image at 7.8 kHz only %.1f dB down", -10*math.Log10(img))
			}
			// Channel 1: 6 kHz kept as is.
			if !audiotest.HasTone(b[1600:30000], WideRate, 6000, []float64{2000, 200}) {
				t.Error("channel 1: no 6 kHz")
			}
			// Alignment: both start at the recording's start (the filter
			// delays channel 0 by 23 samples, 1.4 ms).
			first := func(x []int16) int {
				return slices.IndexFunc(x, func(v int16) bool { return v > 200 || v < -200 })
			}
			if fa, fb := first(a), first(b); fa < 0 || fb < 0 || abs(fa-fb) > 16*20 {
				t.Errorf("channels start at samples %d and %d: more than 20 ms apart", fa, fb)
			}
			// DTMF: at 16 kHz positions 2*on .. 2*off.
			nd := dtmf.NewDetector(dtmf.Config{}, nil)
			var h8 []int16
			for i := 0; i < len(a); i += 2 {
				h8 = append(h8, a[i]) // the tones are far below 4 kHz: every other sample will do for the check
			}
			nd.Write(h8)
			found := len(nd.Close())
			masked := 0
			for _, e := range m.Events() {
				if e.Type == EventDTMFMasked {
					masked++
					if e.AtMS < 960 || e.AtMS > 1010 {
						t.Errorf("masked at %d ms, want ~1005 ms less the guard", e.AtMS)
					}
				}
			}
			if mode == DTMFKeep && found != 1 || mode != DTMFKeep && (found != 0 || masked != 1) {
				t.Errorf("mode %s: %d tones left in the file, %d masked events", mode, found, masked)
			}
			if mode != DTMFKeep {
				for p := 2 * on; p < 2*off; p++ {
					if a[p] != 0 {
						t.Fatalf("sample %d = %d inside the masked tone", p, a[p])
					}
				}
				if v := a[2*off+2000]; v == 0 && a[2*off+2001] == 0 {
					t.Error("audio well after the tone is silent too")
				}
			}
			// The tap: 8 kHz, 1 s of the wideband channel is 8000 samples
			// (6 kHz filtered out), the narrow channel's hum intact.
			var tapped [2][]int16
			for _, f := range tap.frames {
				tapped[f.ch] = append(tapped[f.ch], f.pcm...)
			}
			for ch := range 2 {
				if n := len(tapped[ch]); n < 15000 || n > 16100 {
					t.Errorf("tap channel %d: %d samples for 2 s, want ~16000 (8 kHz)", ch, n)
				}
			}
			if !audiotest.HasTone(tapped[0][800:7000], 8000, 200, []float64{1000, 2000}) {
				t.Error("tap channel 0: no 200 Hz at 8 kHz")
			}
			if r := audiotest.RMS(tapped[1][800:7000]); r > 100 {
				t.Errorf("tap channel 1: 6 kHz came through at 8 kHz (rms %.0f): aliased", r)
			}
		})
	}
}

func abs(x int) int { return max(x, -x) }

func TestWidebandConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Channels: 1, Format: FormatULaw, SampleRate: WideRate, Start: t0},
		{Channels: 1, Format: FormatPCM16, SampleRate: 48000, Start: t0},
	} {
		if _, err := New(cfg, &fakeWriter{}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	// Concealment works on a 16 kHz timeline too: one lost G.711 packet
	// is filled with the previous one at half amplitude.
	l := leg{ssrc: 9, content: func(s int64, n int) []byte { return tone(500, s, n) }}
	steps := append(l.packets(0, 10), l.packets(11, 20)...)
	m, w := newTestMixer(t, Config{Format: FormatPCM16, SampleRate: WideRate})
	drive(t, m, steps, ms(1000))
	if c := m.Stats(0).ConcealedSamples; c != 320 {
		t.Errorf("concealed %d samples, want 320 (one 20 ms packet at 16 kHz)", c)
	}
	pcm := pcmChannel(w.bytes(), 1, 0)
	if r := audiotest.RMS(pcm[10*320+40 : 11*320-40]); r < 1000 {
		t.Errorf("the lost packet's span has rms %.0f: not concealed", r)
	}
}
