//go:build bcg729 && cgo

package codec

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/testtool"
)

// TestG729AgainstFFmpeg: a tone encoded by bcg729 (the reference
// implementation's encoder) decodes to the tone here, and to the same tone
// and level through ffmpeg's own G.729 decoder, which shares no code with
// bcg729.
func TestG729AgainstFFmpeg(t *testing.T) {
	enc, err := NewG729Encoder(false)
	if err != nil {
		t.Fatal(err)
	}
	tone := audiotest.Tone(440, 0.25, Rate, 2*Rate)
	stream := enc.Encode(tone, nil)
	if len(stream) != 2*Rate/80*10 {
		t.Fatalf("%d bytes for 2 s, want %d", len(stream), 2*Rate/80*10)
	}
	d, err := NewDecoder(media.Codec{Name: "G729", ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	var ours, buf []int16
	for i := 0; i < len(stream); i += 20 { // 20 ms RTP payloads
		if buf, err = d.Decode(stream[i:i+20], buf); err != nil {
			t.Fatal(err)
		}
		ours = append(ours, buf...)
	}
	checkTone(t, ours, 440, []float64{1000, 2000}, 0.25, 2e9)

	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	in := filepath.Join(t.TempDir(), "t.g729")
	if err := os.WriteFile(in, stream, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "g729", "-i", in, "-f", "s16le", "-ar", "8000", "-ac", "1", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	theirs := make([]int16, len(out)/2)
	for i := range theirs {
		theirs[i] = int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
	}
	checkTone(t, theirs, 440, []float64{1000, 2000}, 0.25, 2e9)
	if r1, r2 := audiotest.RMS(ours[4000:12000]), audiotest.RMS(theirs[4000:12000]); r1/r2 < 0.9 || r1/r2 > 1.1 {
		t.Errorf("level %.0f here, %.0f through ffmpeg", r1, r2)
	}
}

// TestG729AnnexBSID: with VAD, silence becomes SID frames, which decode to
// quiet comfort noise of the right length.
func TestG729AnnexBSID(t *testing.T) {
	enc, err := NewG729Encoder(true)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewDecoder(media.Codec{Name: "G729", ClockRate: 8000})
	quiet := make([]int16, Rate)
	for i := range quiet {
		quiet[i] = int16(i%7 - 3)
	}
	sids := 0
	for i := 0; i < len(quiet); i += 80 {
		f := enc.Encode(quiet[i:i+80], nil)
		if len(f) == 0 {
			continue // VAD: nothing sent
		}
		if len(f) == 2 {
			sids++
		}
		pcm, err := d.Decode(f, nil)
		if err != nil || len(pcm) != 80 {
			t.Fatalf("frame of %d bytes: %d samples, %v", len(f), len(pcm), err)
		}
		if audiotest.RMS(pcm) > 300 {
			t.Fatalf("comfort noise at RMS %.0f", audiotest.RMS(pcm))
		}
	}
	if sids == 0 {
		t.Error("no SID frame for a second of near-silence")
	}
	if _, err := d.Decode(make([]byte, 7), nil); err == nil {
		t.Error("7-byte payload accepted")
	}
}

// BenchmarkDecodeG729: one 20 ms G.729 packet (two 10-byte frames)
// decoded by bcg729.
func BenchmarkDecodeG729(b *testing.B) {
	enc, err := NewG729Encoder(false)
	if err != nil {
		b.Fatal(err)
	}
	payload := enc.Encode(audiotest.Tone(440, 0.25, Rate, 160), nil)
	d, err := NewDecoder(media.Codec{Name: "G729", ClockRate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	var buf []int16
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = d.Decode(payload, buf)
	}
}
