package mediaconv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/wav"
)

func TestOpenPartFile(t *testing.T) {
	// A recording in progress: 1000 frames synced (the header says so),
	// 500 more written but not synced, and half a frame of the next write.
	chans := tones(2, 1500)
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := wav.Create(path, wav.FormatALaw, 2, rate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	data := encodeFrames(wav.FormatALaw, chans)
	if _, err := w.Write(data[:2000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[2000:]); err != nil {
		t.Fatal(err)
	}
	part := path + wav.PartSuffix
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0x55}); err != nil { // half of a stereo A-law frame
		t.Fatal(err)
	}
	f.Close()

	s := openT(t, part)
	if s.Frames() != 1500 {
		t.Fatalf("Frames = %d, want the 1500 whole frames on disk", s.Frames())
	}
	r, err := s.PCM(-1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: the same frames decoded through a finished file.
	want := referencePCM(t, writeRecording(t, wav.FormatALaw, chans), -1)
	if !bytes.Equal(got, want) {
		t.Fatalf("PCM of the .part file (%d bytes) differs from the reference (%d bytes)", len(got), len(want))
	}

	// The same bytes under the final name: the header (1000 frames) is
	// trusted.
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	if s := openT(t, writeFile(t, "copy.wav", b)); s.Frames() != 1000 {
		t.Errorf("finished file: Frames = %d, want the header's 1000", s.Frames())
	}
}

// chunk returns a RIFF chunk with its pad byte.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// fmtBody returns a fmt chunk body.
func fmtBody(tag uint16, channels, sampleRate, bits int) []byte {
	le := binary.LittleEndian
	ba := channels * bits / 8
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(sampleRate))
	b = le.AppendUint32(b, uint32(sampleRate*ba))
	b = le.AppendUint16(b, uint16(ba))
	return le.AppendUint16(b, uint16(bits))
}

// extensibleBody returns a WAVE_FORMAT_EXTENSIBLE fmt body for tag.
func extensibleBody(tag uint16, channels, sampleRate, bits int) []byte {
	le := binary.LittleEndian
	b := fmtBody(0xFFFE, channels, sampleRate, bits)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, uint16(bits))
	b = le.AppendUint32(b, 3) // channel mask
	b = le.AppendUint16(b, tag)
	return append(b, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71) // KSDATAFORMAT_SUBTYPE GUID tail
}

// riff assembles a RIFF/WAVE file from chunks.
func riff(chunks ...[]byte) []byte {
	body := append([]byte("WAVE"), bytes.Join(chunks, nil)...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// rf64 assembles an RF64 file whose data chunk size is in ds64.
func rf64(format []byte, data []byte) []byte {
	le := binary.LittleEndian
	ds := le.AppendUint64(nil, uint64(4+8+28+8+len(format)+8+len(data)))
	ds = le.AppendUint64(ds, uint64(len(data)))
	ds = le.AppendUint64(ds, 0)
	ds = le.AppendUint32(ds, 0)
	body := append([]byte("WAVE"), chunk("ds64", ds)...)
	body = append(body, chunk("fmt ", format)...)
	body = append(body, "data"...)
	body = le.AppendUint32(body, math.MaxUint32)
	body = append(body, data...)
	return append(append([]byte("RF64"), le.AppendUint32(nil, math.MaxUint32)...), body...)
}

func TestOpenHeaders(t *testing.T) {
	chans := tones(2, 300)
	ulaw := encodeFrames(wav.FormatULaw, chans)
	pcm := encodeFrames(wav.FormatPCM16, chans)
	want := pcmWAV(chans, rate)
	tests := []struct {
		name   string
		file   []byte
		frames int64
	}{
		{"fact and LIST chunks", riff(chunk("fmt ", append(fmtBody(7, 2, rate, 8), 0, 0)), chunk("fact", []byte{44, 1, 0, 0}),
			chunk("LIST", []byte("INFOISFT\x03\x00\x00\x00abc")), chunk("data", ulaw)), 300},
		{"extensible µ-law", riff(chunk("fmt ", extensibleBody(7, 2, rate, 8)), chunk("data", ulaw)), 300},
		{"extensible PCM16", riff(chunk("fmt ", extensibleBody(1, 2, rate, 16)), chunk("data", pcm)), 300},
		{"RF64 µ-law", rf64(fmtBody(7, 2, rate, 8), ulaw), 300},
		{"RF64 PCM16 with data size in the chunk", func() []byte {
			b := rf64(fmtBody(1, 2, rate, 16), pcm)
			binary.LittleEndian.PutUint32(b[len(b)-len(pcm)-4:], uint32(len(pcm)))
			return b
		}(), 300},
		{"data after the data chunk is ignored", riff(chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", ulaw[:400]), chunk("LIST", make([]byte, 30))), 200},
		{"cut off: whole frames present", riff(chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", ulaw))[:44+2*150+1], 150},
		{"streaming size 0xFFFFFFFF", func() []byte {
			b := riff(chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", ulaw))
			binary.LittleEndian.PutUint32(b[40:], math.MaxUint32)
			return b
		}(), 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, writeFile(t, "rec.wav", tc.file))
			if s.Frames() != tc.frames || s.Channels() != 2 || s.SampleRate() != rate {
				t.Fatalf("Open: %d frames, %d channels, %d Hz; want %d, 2, %d", s.Frames(), s.Channels(), s.SampleRate(), tc.frames, rate)
			}
			r, err := s.PCM(-1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			ref := pcmWAV([][]int16{chans[0][:tc.frames], chans[1][:tc.frames]}, rate)
			if tc.frames == 300 {
				ref = want
			}
			// µ-law and PCM sources decode differently: compare against
			// the reference of the right source.
			if !bytes.Equal(got[:PCMHeaderLen], ref[:PCMHeaderLen]) {
				t.Errorf("header % x, want % x", got[:PCMHeaderLen], ref[:PCMHeaderLen])
			}
			if s.Format() == wav.FormatPCM16 && !bytes.Equal(got, ref) {
				t.Error("PCM16 source: samples changed")
			}
			if s.Format() == wav.FormatULaw {
				_, dec := decodeWAV(t, got)
				for c := range dec {
					for i, v := range dec[c] {
						if d := int(v) - int(chans[c][i]); d > 1100 || d < -1100 {
							t.Fatalf("channel %d sample %d = %d, source %d", c, i, v, chans[c][i])
						}
					}
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	good := riff(chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", make([]byte, 100)))
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrInvalid},
		{"short", []byte("RIFF\x00\x00"), ErrInvalid},
		{"not RIFF", mod(func(b []byte) []byte { copy(b, "RIFX"); return b }), ErrInvalid},
		{"not WAVE", mod(func(b []byte) []byte { copy(b[8:], "AVI "); return b }), ErrInvalid},
		{"no data chunk", riff(chunk("fmt ", fmtBody(7, 2, rate, 8))), ErrInvalid},
		{"data before fmt", riff(chunk("data", make([]byte, 4)), chunk("fmt ", fmtBody(7, 2, rate, 8))), ErrInvalid},
		{"two fmt chunks", riff(chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", nil)), ErrInvalid},
		{"short fmt", riff(chunk("fmt ", fmtBody(7, 2, rate, 8)[:14]), chunk("data", nil)), ErrInvalid},
		{"cut in a chunk header", riff(chunk("LIST", nil), chunk("data", nil))[:18], ErrInvalid},
		{"chunk larger than the file", mod(func(b []byte) []byte {
			return append(append(b[:12], "LIST\xf0\xff\xff\xff"...), b[12:]...)
		}), ErrInvalid},
		{"zero channels", riff(chunk("fmt ", fmtBody(7, 0, rate, 8)), chunk("data", nil)), ErrInvalid},
		{"zero rate", riff(chunk("fmt ", fmtBody(7, 1, 0, 8)), chunk("data", nil)), ErrInvalid},
		{"bad block align", mod(func(b []byte) []byte { b[32] = 3; return b }), ErrInvalid},
		{"float samples", riff(chunk("fmt ", fmtBody(3, 2, rate, 32)), chunk("data", nil)), ErrUnsupported},
		{"8-bit PCM", riff(chunk("fmt ", fmtBody(1, 2, rate, 8)), chunk("data", nil)), ErrUnsupported},
		{"too many channels", riff(chunk("fmt ", fmtBody(7, MaxChannels+1, rate, 8)), chunk("data", nil)), ErrUnsupported},
		{"rate too high", riff(chunk("fmt ", fmtBody(7, 1, MaxSampleRate+1, 8)), chunk("data", nil)), ErrUnsupported},
		{"extensible float", riff(chunk("fmt ", extensibleBody(3, 2, rate, 32)), chunk("data", nil)), ErrUnsupported},
		{"RF64 without ds64", mod(func(b []byte) []byte { copy(b, "RF64"); return b }), ErrInvalid},
		{"ds64 in RIFF", riff(chunk("ds64", make([]byte, 28)), chunk("fmt ", fmtBody(7, 2, rate, 8)), chunk("data", nil)), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(writeFile(t, "bad.wav", tc.file))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("Open = %v, want %v (and ErrInvalid)", err, tc.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.wav")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrInvalid) {
		t.Errorf("directory: %v, want ErrInvalid", err)
	}
}
