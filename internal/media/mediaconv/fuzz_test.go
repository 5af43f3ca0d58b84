package mediaconv

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/wav"
)

// FuzzOpen feeds arbitrary bytes to Open, as a finished file and as a
// ".part" file, and reads whatever it accepts through PCM and Peaks: none
// of it may panic, and an accepted file must convert to exactly Size bytes.
func FuzzOpen(f *testing.F) {
	chans := tones(2, 40)
	for _, format := range []wav.Format{wav.FormatULaw, wav.FormatALaw, wav.FormatPCM16} {
		b, err := os.ReadFile(writeRecording(f, format, chans))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-3])
	}
	ulaw := encodeFrames(wav.FormatULaw, chans)
	f.Add(rf64(fmtBody(7, 2, rate, 8), ulaw))
	f.Add(riff(chunk("fmt ", extensibleBody(6, 2, rate, 8)), chunk("fact", []byte{40, 0, 0, 0}), chunk("data", ulaw)))
	f.Add(riff(chunk("LIST", []byte("INFO")), chunk("fmt ", fmtBody(1, 1, rate, 16)), chunk("data", ulaw[:33])))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, name := range []string{"rec.wav", "rec.wav.part"} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err != nil {
				continue
			}
			if s.Channels() < 1 || s.SampleRate() < 1 || s.Frames() < 0 || s.Duration() < 0 {
				t.Fatalf("accepted with %d channels, %d Hz, %d frames", s.Channels(), s.SampleRate(), s.Frames())
			}
			for _, ch := range []int{-1, s.Channels() - 1} {
				r, err := s.PCM(ch)
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != r.Size() {
					t.Fatalf("PCM(%d): %d of %d bytes, %v", ch, n, r.Size(), err)
				}
				hdr := make([]byte, PCMHeaderLen)
				r.Seek(0, io.SeekStart)
				io.ReadFull(r, hdr)
				if got := int64(binary.LittleEndian.Uint32(hdr[40:])); got != r.Size()-PCMHeaderLen {
					t.Fatalf("PCM(%d): header data size %d, %d bytes follow", ch, got, r.Size()-PCMHeaderLen)
				}
			}
			if _, err := s.Peaks(3); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	})
}
