package wav

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Stat counts the frames of a cleanly closed file, of a file whose writer
// stopped between checkpoints (size beyond the header's count) and of an
// odd-sized mono file with its pad byte.
func TestStat(t *testing.T) {
	for _, tt := range []struct {
		name     string
		format   Format
		channels int
		frames   int
		close    bool
	}{
		{"closed stereo ulaw", FormatULaw, 2, 8000, true},
		{"closed mono odd with pad", FormatULaw, 1, 8001, true},
		{"writer stopped, header stale", FormatULaw, 2, 12000, false},
		{"writer stopped pcm16", FormatPCM16, 2, 4000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.wav")
			w, err := Create(path, tt.format, tt.channels, 8000)
			if err != nil {
				t.Fatal(err)
			}
			bpf := tt.format.BytesPerSample() * tt.channels
			// a checkpointed first second, then more audio without one
			if _, err := w.Write(make([]byte, 1000*bpf)); err != nil {
				t.Fatal(err)
			}
			if err := w.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(make([]byte, (tt.frames-1000)*bpf)); err != nil {
				t.Fatal(err)
			}
			if tt.close {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				path += PartSuffix // still being written
				defer w.Close()
			}
			info, err := Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Frames != int64(tt.frames) || info.Channels != tt.channels || info.SampleRate != 8000 {
				t.Errorf("Stat = %+v, want %d frames, %d channels", info, tt.frames, tt.channels)
			}
			if want := time.Duration(tt.frames) * time.Second / 8000; info.Duration() != want {
				t.Errorf("Duration = %s, want %s", info.Duration(), want)
			}
		})
	}
	if _, err := Stat(filepath.Join(t.TempDir(), "none.wav")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
