package codec

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/testtool"
)

// ffmpegDecode has ffmpeg decode a raw bitstream (inArgs name its format)
// to 8 kHz mono PCM.
func ffmpegDecode(t *testing.T, data []byte, inArgs ...string) []int16 {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	in := filepath.Join(t.TempDir(), "in.raw")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-hide_banner", "-loglevel", "error"}, inArgs...)
	args = append(args, "-i", in, "-f", "s16le", "-ar", "8000", "-ac", "1", "-")
	out, err := exec.Command(ff, args...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", inArgs, err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
	}
	return pcm
}

// TestG726FromFFmpeg: ffmpeg encodes a tone at 16, 24 and 32 kbit/s in
// both bit orders and sends it as RTP; we decode the tone at its level and
// length, close to ffmpeg's own decoder. Not sample for sample: ffmpeg's
// G.726 is not a conformant one (its scale-factor mix rounds differently,
// and at 40 kbit/s its zero predictor leaks by 2^-8 instead of G.726's
// 2^-9, so a conformant decoder of its 40 kbit/s stream drifts far from
// the tone); bit-exactness at all four rates is checked against spandsp
// (TestG726BitExactWithSpandsp, build tag spandsp).
func TestG726FromFFmpeg(t *testing.T) {
	for _, kbps := range []int{16, 24, 32} {
		for _, tc := range []struct{ enc, name, demux string }{
			{"g726le", fmt.Sprintf("G726-%d", kbps), "g726le"},
			{"g726", fmt.Sprintf("AAL2-G726-%d", kbps), "g726"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pkts := ffmpegRTP(t, 1000, 0, 2*time.Second, "-ar", "8000", "-ac", "1", "-c:a", tc.enc, "-b:a", fmt.Sprint(kbps*1000), "-packetsize", fmt.Sprint(12+kbps*20/8))
				pcm, _ := decodeAll(t, media.Codec{PT: 97, Name: tc.name, ClockRate: 8000}, pkts, nil)
				checkTone(t, pcm, 1000, []float64{440, 2000, 3000}, 0.125, 2*time.Second)
				var stream []byte
				for _, p := range pkts {
					stream = append(stream, p.Payload...)
				}
				ref := ffmpegDecode(t, stream, "-f", tc.demux, "-code_size", fmt.Sprint(kbps/8), "-sample_rate", "8000")
				if len(ref) != len(pcm) {
					t.Fatalf("%d samples here, %d from ffmpeg", len(pcm), len(ref))
				}
				var sig, noise float64
				for i := range ref {
					d := float64(pcm[i]) - float64(ref[i])
					sig += float64(ref[i]) * float64(ref[i])
					noise += d * d
				}
				snr := 10 * math.Log10(sig/max(noise, 1))
				t.Logf("%.1f dB from ffmpeg's decode", snr)
				if snr < minSNR[kbps] {
					t.Errorf("%.1f dB from ffmpeg's decode, want ≥ %g", snr, minSNR[kbps])
				}
			})
		}
	}
}

// minSNR bounds how far a conformant decoder of ffmpeg's stream may stray
// from ffmpeg's decoder (measured 2026-12 on a 1 kHz tone: 16 kbit/s 26 dB,
// 24 kbit/s 43 dB, 32 kbit/s 62 dB).
var minSNR = map[int]float64{16: 20, 24: 35, 32: 50}

// TestG726Names: every rate in both bit orders (and RFC 1890's G721) is
// decodable by name, in any case; other rates and bare names are not.
func TestG726Names(t *testing.T) {
	for name, want := range map[string]string{
		"G726-16": "RFC 3551", "g726-24": "RFC 3551", "G726-32": "RFC 3551", "G726-40": "RFC 3551", "G721": "RFC 3551",
		"AAL2-G726-16": "AAL2", "AAL2-G726-24": "AAL2", "aal2-g726-32": "AAL2", "AAL2-G726-40": "AAL2",
		"G726": "", "G726-64": "", "AAL2-G726": "", "G726-32X": "", "iLBC": "", "G723": "",
	} {
		d, err := NewDecoder(media.Codec{Name: name, ClockRate: 8000})
		if DecodableName(name) != (want != "") || (err == nil) != (want != "") {
			t.Errorf("%s: DecodableName %v, NewDecoder %v; want decodable %v", name, DecodableName(name), err, want != "")
			continue
		}
		if d != nil && !strings.Contains(d.String(), want) {
			t.Errorf("%s: %s, want %s packing", name, d, want)
		}
	}
}
