package codec

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gotranspile/g722"
	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/testtool"
)

// ffmpegRTP has ffmpeg encode a tone (audiotest.FFmpegRTP) and returns
// the parsed packets in sequence order.
func ffmpegRTP(t testing.TB, freq, freq2 float64, dur time.Duration, codecArgs ...string) []*rtp.Packet {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	var pkts []*rtp.Packet
	for _, b := range audiotest.FFmpegRTP(t, ff, freq, freq2, dur, codecArgs...) {
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, &p)
	}
	return pkts
}

// decodeAll decodes pkts with a decoder for c, dropping those whose index
// drop says.
func decodeAll(t *testing.T, c media.Codec, pkts []*rtp.Packet, drop func(i int) bool) ([]int16, Decoder) {
	t.Helper()
	d, err := NewDecoder(c)
	if err != nil {
		t.Fatal(err)
	}
	var pcm, buf []int16
	for i, p := range pkts {
		if drop != nil && drop(i) {
			continue
		}
		buf, err = d.Decode(p.Payload, buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		pcm = append(pcm, buf...)
	}
	return pcm, d
}

// checkTone asserts pcm (8 kHz) holds freq and not the others, at about
// the given amplitude, for about dur.
func checkTone(t *testing.T, pcm []int16, freq float64, others []float64, amp float64, dur time.Duration) {
	t.Helper()
	mid := pcm[len(pcm)/4 : 3*len(pcm)/4]
	if !audiotest.HasTone(mid, Rate, freq, others) {
		f, r := audiotest.Dominant(mid, Rate, append([]float64{freq}, others...))
		t.Errorf("no %g Hz tone (dominant %g Hz, ratio %.1f)", freq, f, r)
	}
	if got := audiotest.RMS(mid) * math.Sqrt2 / 32768; math.Abs(got-amp)/amp > 0.25 {
		t.Errorf("amplitude %.3f, want about %.3f", got, amp)
	}
	if got := time.Duration(len(pcm)) * time.Second / Rate; got < dur-100*time.Millisecond || got > dur+100*time.Millisecond {
		t.Errorf("decoded %v of audio, want %v", got, dur)
	}
}

func TestG722FromFFmpeg(t *testing.T) {
	for _, freq := range []float64{440, 1000, 3000} {
		pkts := ffmpegRTP(t, freq, 0, 2*time.Second, "-ar", "16000", "-ac", "1", "-c:a", "g722")
		if pkts[0].PayloadType != 9 {
			t.Fatalf("payload type %d, want 9", pkts[0].PayloadType)
		}
		// RFC 3551: the RTP clock runs at 8000 although the audio is 16 kHz,
		// so the decoder's 8 kHz output has as many samples as clock ticks.
		pcm, _ := decodeAll(t, media.Codec{PT: 9, Name: "G722", ClockRate: 8000}, pkts, nil)
		ticks := int(pkts[len(pkts)-1].Timestamp-pkts[0].Timestamp) + len(pcm)/len(pkts)
		if d := len(pcm) - ticks; d < -160 || d > 160 {
			t.Errorf("%g Hz: %d samples for %d clock ticks", freq, len(pcm), ticks)
		}
		// lavfi's sine has amplitude 1/8 of full scale.
		checkTone(t, pcm, freq, []float64{440, 1000, 3000, 2000}, 0.125, 2*time.Second)
	}
}

func TestG722LowPassKeepsAliasesOut(t *testing.T) {
	// A 6 kHz tone at 16 kHz would fold to 2 kHz if samples were dropped.
	d := newG722(Rate)
	wide := audiotest.Tone(6000, 0.5, 16000, 16000)
	enc := encodeG722(wide)
	pcm, err := d.Decode(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := audiotest.Goertzel(pcm[800:], Rate, 2000); p > 1e-5 {
		t.Errorf("6 kHz folded to 2 kHz with power %.2g (a sine of 0.5 has 0.25)", p)
	}
}

func TestOpusFromFFmpeg(t *testing.T) {
	c := media.Codec{PT: 111, Name: "opus", ClockRate: 48000, Channels: 2}
	for _, tc := range []struct {
		name  string
		args  []string
		f, f2 float64
		amp   float64
		drop  func(int) bool
	}{
		{"mono 24 kbit/s", []string{"-ac", "1", "-c:a", "libopus", "-b:a", "24k"}, 440, 0, 0.125, nil},
		{"narrowband SILK 12 kbit/s", []string{"-ac", "1", "-c:a", "libopus", "-b:a", "12k", "-application", "voip"}, 600, 0, 0.125, nil},
		{"stereo (mixed down)", []string{"-ac", "2", "-c:a", "libopus", "-b:a", "32k"}, 440, 1000, 0.125 / math.Sqrt2, nil},
		{"FEC on, 5 % loss", []string{"-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-fec:a", "1", "-packet_loss", "5"}, 1000, 0, 0.125,
			func(i int) bool { return i%20 == 7 }},
		{"40 ms packets", []string{"-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-frame_duration", "40"}, 440, 0, 0.125, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts := ffmpegRTP(t, tc.f, tc.f2, 2*time.Second, tc.args...)
			pcm, _ := decodeAll(t, c, pkts, tc.drop)
			dur := 2 * time.Second
			if tc.drop != nil {
				dur = dur * 19 / 20
			}
			others := []float64{440, 600, 1000, 2000}
			checkTone(t, pcm, tc.f, slices.DeleteFunc(slices.Clone(others), func(f float64) bool { return f == tc.f || f == tc.f2 }), tc.amp, dur)
			if tc.f2 > 0 && !audiotest.HasTone(pcm[len(pcm)/4:3*len(pcm)/4], Rate, tc.f2, []float64{600, 2000}) {
				t.Errorf("no %g Hz from the right channel", tc.f2)
			}
		})
	}
}

func encodeG722(pcm16k []int16) []byte { return g722.Encode(pcm16k, g722.Rate64000, 0) }

func TestBadPayloadsFailCleanly(t *testing.T) {
	d, err := NewDecoder(media.Codec{Name: "opus", ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{nil, {0xff}, {0xfc, 0xff, 0xff, 0xff}, make([]byte, 1500)} {
		if _, err := d.Decode(p, nil); err != nil && !errors.Is(err, ErrPayload) {
			t.Errorf("%x: %v does not wrap ErrPayload", p, err)
		}
	}
	if _, err := NewDecoder(media.Codec{Name: "G729", ClockRate: 8000}); (G729Build == "") != errors.Is(err, ErrUnsupported) {
		t.Errorf("G729 in a build with %q: %v", G729Build, err)
	}
	for _, c := range []media.Codec{{Name: "G722", ClockRate: 16000}, {Name: "G726-32", ClockRate: 16000},
		{Name: "G726-64", ClockRate: 8000}, {Name: "AAL2-G726", ClockRate: 8000}, {Name: "GSM", ClockRate: 16000}} {
		if _, err := NewDecoder(c); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s/%d: %v", c.Name, c.ClockRate, err)
		}
	}
	gsm, _ := NewDecoder(media.Codec{Name: "GSM", ClockRate: 8000})
	for _, p := range [][]byte{nil, {0xd0}, make([]byte, 34)} {
		if _, err := gsm.Decode(p, nil); !errors.Is(err, ErrPayload) {
			t.Errorf("GSM payload of %d bytes: %v", len(p), err)
		}
	}
}

// fuzzCodecs are the decoders FuzzDecoders drives, picked by its first
// argument.
var fuzzCodecs = []media.Codec{
	{Name: "opus", ClockRate: 48000},
	{Name: "G722", ClockRate: 8000},
	{Name: "GSM", ClockRate: 8000},
	{Name: "G726-16", ClockRate: 8000},
	{Name: "G726-24", ClockRate: 8000},
	{Name: "G726-32", ClockRate: 8000},
	{Name: "AAL2-G726-40", ClockRate: 8000},
}

func FuzzDecoders(f *testing.F) {
	f.Add(uint8(0), []byte{0x78, 0x01, 0x02})
	f.Add(uint8(1), []byte{0x55, 0xaa})
	f.Add(uint8(2), append([]byte{0xd0}, make([]byte, 32)...))
	f.Add(uint8(2), slices.Repeat([]byte{0xff}, 66))
	f.Add(uint8(5), slices.Repeat([]byte{0x7f, 0x80}, 40))
	f.Add(uint8(6), slices.Repeat([]byte{0xff, 0x00, 0xff}, 33))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		c := fuzzCodecs[int(which)%len(fuzzCodecs)]
		d, err := NewDecoder(c)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			pcm, err := d.Decode(payload, nil)
			if err != nil && !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			limit := 8 * len(payload) // G.722, G.726-16: 4 samples per byte; GSM: 160 per 33
			if c.Name == "opus" {
				limit = 120 * Rate / 1000
			}
			if len(pcm) > limit {
				t.Fatalf("%s: %d samples from %d bytes", c.Name, len(pcm), len(payload))
			}
		}
	})
}

// BenchmarkDecode: one 20 ms packet of each codec. Each case makes its
// payload only when it runs (Opus needs ffmpeg; G.726 and GSM come from
// testdata), so `-bench Decode/GSM` under valgrind starts no child process.
func BenchmarkDecode(b *testing.B) {
	fixture := func(name string, off, n int) func(b *testing.B) []byte {
		return func(b *testing.B) []byte {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				b.Fatal(err)
			}
			return data[off : off+n]
		}
	}
	for _, bc := range []struct {
		name    string
		c       media.Codec
		payload func(b *testing.B) []byte
	}{
		{"G722", media.Codec{Name: "G722", ClockRate: 8000}, func(*testing.B) []byte { return encodeG722(audiotest.Tone(440, 0.3, 16000, 320)) }},
		{"opus-24k", media.Codec{Name: "opus", ClockRate: 48000}, func(b *testing.B) []byte {
			pkts := ffmpegRTP(b, 440, 0, time.Second, "-ac", "1", "-c:a", "libopus", "-b:a", "24k")
			return pkts[len(pkts)/2].Payload
		}},
		{"G726-32", media.Codec{Name: "G726-32", ClockRate: 8000}, fixture("sine440.g726-32", 2000, 80)},
		{"GSM", media.Codec{Name: "GSM", ClockRate: 8000}, fixture("sine440.gsm", 25*gsmFrameBytes, gsmFrameBytes)},
	} {
		// At 8 kHz (a narrowband recording) and at 16 kHz (a wideband
		// one: G.722 unfiltered, Opus rendered at 16 kHz, the others
		// doubled by the polyphase interpolator).
		for _, rate := range []int{Rate, WideRate} {
			name := bc.name
			if rate == WideRate {
				name += "@16k"
			}
			b.Run(name, func(b *testing.B) {
				payload := bc.payload(b)
				d, err := NewDecoderRate(bc.c, rate)
				if err != nil {
					b.Fatal(err)
				}
				var buf []int16
				b.ReportAllocs()
				for b.Loop() {
					buf, _ = d.Decode(payload, buf)
				}
			})
		}
	}
}
