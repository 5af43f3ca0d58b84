package codec

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/testtool"
)

// ffmpegGSM has ffmpeg encode lavfi source src with libgsm (the TU Berlin
// reference encoder) and returns the raw 33-byte frames. ffmpeg's RTP
// muxer does not carry GSM, so the tests packetize the frames themselves.
func ffmpegGSM(t testing.TB, src string) []byte {
	t.Helper()
	return ffmpegGSMFrom(t, "-f", "lavfi", "-i", src)
}

// ffmpegGSMFrom encodes the input that inArgs name (any rate) as GSM.
func ffmpegGSMFrom(t testing.TB, inArgs ...string) []byte {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"-hide_banner", "-loglevel", "error"}, inArgs...)
	out, err := exec.CommandContext(ctx, ff, append(args, "-ar", "8000", "-ac", "1", "-c:a", "libgsm", "-f", "gsm", "-")...).Output()
	if err != nil {
		t.Fatalf("ffmpeg libgsm: %v", err)
	}
	if len(out)%gsmFrameBytes != 0 || len(out) == 0 {
		t.Fatalf("ffmpeg wrote %d bytes of GSM", len(out))
	}
	return out
}

// gsmSine is a lavfi sine at 8 kHz (amplitude 1/8).
func gsmSine(freq float64, dur time.Duration) string {
	return "sine=frequency=" + ftoa(freq) + ":duration=" + ftoa(dur.Seconds()) + ":sample_rate=8000"
}

// TestGSMBitExactWithLibgsm: speech (espeak-ng), tones, pink noise and a
// near-full-scale tone encoded by libgsm (through ffmpeg) decode here sample for sample to what
// libgsm's decoder and ffmpeg's own GSM decoder give; the tones are
// found at their level and length.
func TestGSMBitExactWithLibgsm(t *testing.T) {
	speech := filepath.Join(t.TempDir(), "speech.wav")
	espeak := testtool.Find(t, "OPENREC_TEST_ESPEAK", "espeak-ng")
	if out, err := exec.Command(espeak, "-v", "en-us", "-s", "160", "-w", speech,
		"Please hold while we connect your call. Your account number is seven four two.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		src  string
		freq float64
	}{
		{speech, 0},
		{gsmSine(440, 2*time.Second), 440},
		{gsmSine(1000, 2*time.Second), 1000},
		{gsmSine(3000, 2*time.Second), 3000},
		{"anoisesrc=d=2:c=pink:r=8000:a=0.3:seed=7", 0},
		{"aevalsrc=0.97*sin(2*PI*2500*t):d=1:s=8000", 0},
	} {
		var stream []byte
		if tc.src == speech {
			stream = ffmpegGSMFrom(t, "-i", speech)
		} else {
			stream = ffmpegGSM(t, tc.src)
		}
		d, err := NewDecoder(media.Codec{PT: 3, Name: "GSM", ClockRate: 8000})
		if err != nil {
			t.Fatal(err)
		}
		var ours, buf []int16
		for i := 0; i < len(stream); i += gsmFrameBytes { // 20 ms RTP payloads
			if buf, err = d.Decode(stream[i:i+gsmFrameBytes], buf); err != nil {
				t.Fatal(err)
			}
			ours = append(ours, buf...)
		}
		if freq := tc.freq; freq > 0 {
			others := slices.DeleteFunc([]float64{440, 1000, 2000, 3000}, func(f float64) bool { return f == freq })
			checkTone(t, ours, freq, others, 0.125, 2*time.Second)
		}
		for _, dec := range []string{"libgsm", "gsm"} {
			ref := ffmpegDecode(t, stream, "-c:a", dec, "-f", "gsm")
			if len(ref) != len(ours) {
				t.Fatalf("%s: %d samples, ffmpeg %s %d", tc.src, len(ours), dec, len(ref))
			}
			for i := range ref {
				if ours[i] != ref[i] {
					t.Fatalf("%s: sample %d: %d, ffmpeg %s %d", tc.src, i, ours[i], dec, ref[i])
				}
			}
		}
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
