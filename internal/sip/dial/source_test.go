package dial

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/wav"
)

func TestToneIsPhaseContinuous(t *testing.T) {
	// Reading in odd-sized chunks must give the same signal as one read.
	a, b := Tone(440, 0.5), Tone(440, 0.5)
	whole := make([]int16, 1000)
	a.Read(whole)
	var parts []int16
	for _, n := range []int{1, 159, 160, 7, 673} {
		buf := make([]int16, n)
		b.Read(buf)
		parts = append(parts, buf...)
	}
	for i := range whole {
		if whole[i] != parts[i] {
			t.Fatalf("sample %d: %d vs %d", i, whole[i], parts[i])
		}
	}
	peak := 0
	for _, v := range whole {
		peak = max(peak, int(math.Abs(float64(v))))
	}
	if peak < 16000 || peak > 16384 {
		t.Errorf("peak %d for amplitude 0.5", peak)
	}
	if p := goertzelPower(whole, 440); p < 0.9 {
		t.Errorf("440 Hz power %.2f", p)
	}
}

func TestSilence(t *testing.T) {
	buf := []int16{1, 2, 3}
	Silence().Read(buf)
	if buf[0]|buf[1]|buf[2] != 0 {
		t.Errorf("%v", buf)
	}
}

func writeWAV(t *testing.T, path string, f wav.Format, channels, rate int, frames []byte) {
	t.Helper()
	w, err := wav.Create(path, f, channels, rate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(frames); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWAVFile(t *testing.T) {
	dir := t.TempDir()
	// Stereo PCM16 8 kHz: channel 0 counts 1,2,3; channel 1 is -1.
	var frames []byte
	for i := int16(1); i <= 3; i++ {
		frames = append(frames, byte(i), byte(uint16(i)>>8), 0xff, 0xff)
	}
	stereo := filepath.Join(dir, "stereo.wav")
	writeWAV(t, stereo, wav.FormatPCM16, 2, 8000, frames)
	src, err := WAVFile(stereo)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int16, 7)
	src.Read(got)
	want := []int16{1, 2, 3, 1, 2, 3, 1} // first channel, looped
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("samples %v, want %v", got, want)
		}
	}

	ulaw := filepath.Join(dir, "ulaw.wav")
	writeWAV(t, ulaw, wav.FormatULaw, 1, 8000, []byte{0xFF, 0x80})
	if src, err = WAVFile(ulaw); err != nil {
		t.Fatal(err)
	}
	src.Read(got[:2])
	if got[0] != 0 || got[1] < 30000 {
		t.Errorf("µ-law decoded %v", got[:2])
	}

	wide := filepath.Join(dir, "wide.wav")
	writeWAV(t, wide, wav.FormatPCM16, 1, 16000, []byte{0, 0})
	if _, err := WAVFile(wide); !errors.Is(err, ErrWAV) {
		t.Errorf("16 kHz: %v", err)
	}
	if _, err := WAVFile(filepath.Join(dir, "missing.wav")); !errors.Is(err, ErrWAV) {
		t.Errorf("missing file: %v", err)
	}
}
