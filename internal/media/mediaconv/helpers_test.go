package mediaconv

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
)

const rate = 8000

// Test tones: channel 0 (recorded party) and channel 1 (other party).
var toneFreqs = []float64{440, 1000, 1700}

// tones returns one tone per channel, n frames each.
func tones(channels, n int) [][]int16 {
	out := make([][]int16, channels)
	for c := range out {
		out[c] = audiotest.Tone(toneFreqs[c%len(toneFreqs)], 0.5, rate, n)
	}
	return out
}

// encodeFrames interleaves chans and encodes them in f.
func encodeFrames(f wav.Format, chans [][]int16) []byte {
	n := len(chans[0])
	ch := len(chans)
	buf := make([]byte, 0, n*ch*f.BytesPerSample())
	for i := 0; i < n; i++ {
		for c := 0; c < ch; c++ {
			v := chans[c][i]
			switch f {
			case wav.FormatPCM16:
				buf = binary.LittleEndian.AppendUint16(buf, uint16(v))
			case wav.FormatULaw:
				buf = append(buf, g711.EncodeULaw(v))
			case wav.FormatALaw:
				buf = append(buf, g711.EncodeALaw(v))
			}
		}
	}
	return buf
}

// writeRecording writes chans as a finished recording made by wav's writer
// and returns its path.
func writeRecording(t testing.TB, f wav.Format, chans [][]int16) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := wav.Create(path, f, len(chans), rate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(encodeFrames(f, chans)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// referencePCM decodes the file at path with internal/media/wav and builds the
// PCM16 WAV PCM(channel) must produce.
func referencePCM(t testing.TB, path string, channel int) []byte {
	t.Helper()
	f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var chans [][]int16
	for c := 0; c < f.Channels; c++ {
		if channel < 0 || c == channel {
			chans = append(chans, f.Channel(c))
		}
	}
	return pcmWAV(chans, f.SampleRate)
}

// pcmWAV builds a canonical 44-byte-header PCM16 WAV of chans by hand.
func pcmWAV(chans [][]int16, sampleRate int) []byte {
	data := encodeFrames(wav.FormatPCM16, chans)
	le := binary.LittleEndian
	ch := len(chans)
	b := make([]byte, 0, 44+len(data))
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, uint16(ch))
	b = le.AppendUint32(b, uint32(sampleRate))
	b = le.AppendUint32(b, uint32(sampleRate*ch*2))
	b = le.AppendUint16(b, uint16(ch*2))
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// openT opens path and closes it when the test ends.
func openT(t testing.TB, path string) *Source {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeFile writes b to a new file named name in a temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodeWAV parses a WAV with internal/media/wav's reader and returns its
// channels as linear samples.
func decodeWAV(t testing.TB, b []byte) (*wav.File, [][]int16) {
	t.Helper()
	f, err := wav.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	chans := make([][]int16, f.Channels)
	for c := range chans {
		chans[c] = f.Channel(c)
	}
	return f, chans
}
