package codec

import (
	"errors"
	"math"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/testtool"
)

// decodeAllRate is decodeAll at a given output rate.
func decodeAllRate(t *testing.T, c media.Codec, rate int, pkts []*rtp.Packet) []int16 {
	t.Helper()
	d, err := NewDecoderRate(c, rate)
	if err != nil {
		t.Fatal(err)
	}
	var pcm, buf []int16
	for i, p := range pkts {
		if buf, err = d.Decode(p.Payload, buf); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		pcm = append(pcm, buf...)
	}
	return pcm
}

// TestWidebandFromFFmpeg: ffmpeg encodes tones, among them 6 kHz, which
// only a 16 kHz rendering keeps; at 8 kHz it must be filtered out, not
// folded to 2 kHz.
func TestWidebandFromFFmpeg(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    media.Codec
		args []string
	}{
		{"G722", media.Codec{PT: 9, Name: "G722", ClockRate: 8000}, []string{"-ar", "16000", "-ac", "1", "-c:a", "g722"}},
		{"opus 32 kbit/s", media.Codec{PT: 111, Name: "opus", ClockRate: 48000, Channels: 2}, []string{"-ac", "1", "-c:a", "libopus", "-b:a", "32k"}},
	} {
		for _, freq := range []float64{1000, 6000} {
			t.Run(tc.name+"/"+time.Duration(freq).String(), func(t *testing.T) {
				pkts := ffmpegRTP(t, freq, 0, 2*time.Second, tc.args...)
				wide := decodeAllRate(t, tc.c, WideRate, pkts)
				narrow := decodeAllRate(t, tc.c, Rate, pkts)
				if d := len(wide) - 2*len(narrow); d < -2 || d > 2 {
					t.Errorf("%d samples at 16 kHz, %d at 8 kHz", len(wide), len(narrow))
				}
				if got := time.Duration(len(wide)) * time.Second / WideRate; got < 1900*time.Millisecond || got > 2100*time.Millisecond {
					t.Errorf("%v of audio at 16 kHz, want 2s", got)
				}
				mid := wide[len(wide)/4 : 3*len(wide)/4]
				if !audiotest.HasTone(mid, WideRate, freq, []float64{440, 2000, 3000, 8000 - freq}) {
					f, r := audiotest.Dominant(mid, WideRate, []float64{freq, 440, 2000, 3000})
					t.Errorf("16 kHz: no %g Hz (dominant %g, ratio %.1f)", freq, f, r)
				}
				if got := audiotest.RMS(mid) * math.Sqrt2 / 32768; math.Abs(got-0.125)/0.125 > 0.3 {
					t.Errorf("16 kHz: amplitude %.3f, want about 0.125", got)
				}
				nmid := narrow[len(narrow)/4 : 3*len(narrow)/4]
				if freq < 4000 {
					if !audiotest.HasTone(nmid, Rate, freq, []float64{440, 2000, 3000}) {
						t.Errorf("8 kHz: no %g Hz", freq)
					}
					return
				}
				// Above 4 kHz: gone at 8 kHz (at least 40 dB down), and not
				// folded to 8000 - f.
				if db := 20 * math.Log10(audiotest.RMS(nmid)/audiotest.RMS(mid)+1e-9); db > -40 {
					t.Errorf("8 kHz: a %g Hz tone is only %.1f dB down", freq, -db)
				}
			})
		}
	}
}

// TestNarrowbandDoubled: a narrowband decoder at 16 kHz gives twice the
// samples, the same tone and level, and nothing at its image (8 kHz - f).
func TestNarrowbandDoubled(t *testing.T) {
	// ffmpeg's g726le is RFC 3551's bit order; 80 bytes = 20 ms.
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=1000:duration=2:sample_rate=8000",
		"-ac", "1", "-c:a", "g726le", "-b:a", "32k", "-f", "g726le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	var pkts []*rtp.Packet
	for p := range slices.Chunk(out, 80) {
		pkts = append(pkts, &rtp.Packet{Payload: p})
	}
	c := media.Codec{PT: 2, Name: "G726-32", ClockRate: 8000}
	narrow := decodeAllRate(t, c, Rate, pkts)
	wide := decodeAllRate(t, c, WideRate, pkts)
	if len(wide) != 2*len(narrow) {
		t.Fatalf("%d samples at 16 kHz, %d at 8 kHz", len(wide), len(narrow))
	}
	mid := wide[len(wide)/4 : 3*len(wide)/4]
	if !audiotest.HasTone(mid, WideRate, 1000, []float64{7000, 2000, 3000}) {
		t.Error("no 1 kHz at 16 kHz")
	}
	if r := audiotest.RMS(mid) / audiotest.RMS(narrow[len(narrow)/4:3*len(narrow)/4]); r < 0.95 || r > 1.05 {
		t.Errorf("level ratio 16/8 kHz %.3f", r)
	}
	if img := audiotest.Goertzel(mid, WideRate, 7000) / audiotest.Goertzel(mid, WideRate, 1000); img > 1e-6 {
		t.Errorf("image at 7 kHz only %.1f dB down", -10*math.Log10(img))
	}
}

func TestWidebandNames(t *testing.T) {
	for name, want := range map[string]bool{"G722": true, "opus": true, "AMR-WB": true, "PCMU": false, "G729": false, "GSM": false} {
		if Wideband(name) != want {
			t.Errorf("Wideband(%q) = %v", name, !want)
		}
	}
	if _, err := NewDecoderRate(media.Codec{Name: "G722", ClockRate: 8000}, 48000); !errors.Is(err, ErrUnsupported) {
		t.Errorf("48 kHz output: %v", err)
	}
}
