package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// chunk encodes one RIFF chunk with its pad byte.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)&1 == 1 {
		b = append(b, 0)
	}
	return b
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return chunk("RIFF", body)
}

func fmtBody(tag, channels uint16, rate uint32, blockAlign, bits uint16, extra ...byte) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tag)
	le.PutUint16(b[2:], channels)
	le.PutUint32(b[4:], rate)
	le.PutUint32(b[8:], rate*uint32(blockAlign))
	le.PutUint16(b[12:], blockAlign)
	le.PutUint16(b[14:], bits)
	return append(b, extra...)
}

// extensible returns the 22 extension bytes of WAVE_FORMAT_EXTENSIBLE for
// sub-format tag.
func extensible(tag uint16, validBits uint16) []byte {
	b := []byte{22, 0, byte(validBits), byte(validBits >> 8), 3, 0, 0, 0, byte(tag), byte(tag >> 8)}
	return append(b, extensibleTail...)
}

func TestDecode(t *testing.T) {
	pcm := []byte{1, 0, 2, 0, 0xFF, 0x7F, 0x00, 0x80}
	tests := []struct {
		name     string
		in       []byte
		format   Format
		channels int
		rate     int
		data     []byte
	}{
		{"pcm16 fmt 16", riff(chunk("fmt ", fmtBody(1, 2, 8000, 4, 16)), chunk("data", pcm)),
			FormatPCM16, 2, 8000, pcm},
		{"ulaw fmt 18 fact", riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8, 0, 0)), chunk("fact", []byte{3, 0, 0, 0}), chunk("data", []byte{1, 2, 3})),
			FormatULaw, 1, 8000, []byte{1, 2, 3}},
		{"alaw extensible", riff(chunk("fmt ", fmtBody(0xFFFE, 2, 8000, 2, 8, extensible(6, 8)...)), chunk("data", []byte{1, 2, 3, 4})),
			FormatALaw, 2, 8000, []byte{1, 2, 3, 4}},
		{"pcm extensible 48k", riff(chunk("fmt ", fmtBody(0xFFFE, 1, 48000, 2, 16, extensible(1, 16)...)), chunk("data", pcm)),
			FormatPCM16, 1, 48000, pcm},
		{"unknown odd chunks skipped", riff(chunk("JUNK", []byte{1, 2, 3}), chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)), chunk("LIST", []byte("INFOx")), chunk("data", []byte{9})),
			FormatULaw, 1, 8000, []byte{9}},
		{"chunks after data ignored", riff(chunk("fmt ", fmtBody(6, 1, 8000, 1, 8)), chunk("data", []byte{5, 6}), chunk("LIST", []byte("abcd"))),
			FormatALaw, 1, 8000, []byte{5, 6}},
		{"truncated data, partial frame dropped", riff(chunk("fmt ", fmtBody(1, 2, 8000, 4, 16)), chunk("data", pcm))[:44+6],
			FormatPCM16, 2, 8000, pcm[:4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != tt.format || f.Channels != tt.channels || f.SampleRate != tt.rate || !bytes.Equal(f.Data, tt.data) {
				t.Errorf("Decode = %v %dch %d Hz % x; want %v %dch %d Hz % x",
					f.Format, f.Channels, f.SampleRate, f.Data, tt.format, tt.channels, tt.rate, tt.data)
			}
			if want := int64(len(tt.data) / (tt.channels * tt.format.BytesPerSample())); f.Frames != want {
				t.Errorf("Frames = %d, want %d", f.Frames, want)
			}
		})
	}
}

func TestDecodeChannelPCM(t *testing.T) {
	in := riff(chunk("fmt ", fmtBody(1, 2, 8000, 4, 16)), chunk("data", []byte{1, 0, 2, 0, 0xFF, 0x7F, 0x00, 0x80}))
	f, err := Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Channel(0); len(got) != 2 || got[0] != 1 || got[1] != 32767 {
		t.Errorf("Channel(0) = %v, want [1 32767]", got)
	}
	if got := f.Channel(1); len(got) != 2 || got[0] != 2 || got[1] != -32768 {
		t.Errorf("Channel(1) = %v, want [2 -32768]", got)
	}
}

func badGUID() []byte {
	b := extensible(7, 8)
	b[len(b)-1] ^= 0xFF
	return b
}

func TestDecodeErrors(t *testing.T) {
	data := chunk("data", []byte{1, 2})
	tests := []struct {
		name        string
		in          []byte
		unsupported bool
	}{
		{"empty", nil, false},
		{"not riff", append([]byte("RIFX"), riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)), data)[4:]...), false},
		{"not wave", append(riff()[:8], []byte("AVI ")...), false},
		{"no data chunk", riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8))), false},
		{"data before fmt", riff(data, chunk("fmt ", fmtBody(7, 1, 8000, 1, 8))), false},
		{"short fmt", riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)[:14]), data), false},
		{"huge fmt", riff(chunk("fmt ", make([]byte, 5000)), data), false},
		{"two fmt", riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)), chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)), data), false},
		{"zero channels", riff(chunk("fmt ", fmtBody(7, 0, 8000, 0, 8)), data), false},
		{"zero rate", riff(chunk("fmt ", fmtBody(7, 1, 0, 1, 8)), data), false},
		{"bad block align", riff(chunk("fmt ", fmtBody(1, 2, 8000, 2, 16)), data), false},
		{"truncated unknown chunk", riff(chunk("fmt ", fmtBody(7, 1, 8000, 1, 8)), chunk("LIST", make([]byte, 10)))[:50], false},
		{"short extensible", riff(chunk("fmt ", fmtBody(0xFFFE, 1, 8000, 1, 8, 0, 0)), data), false},
		{"float", riff(chunk("fmt ", fmtBody(3, 1, 8000, 4, 32)), data), true},
		{"g729 tag", riff(chunk("fmt ", fmtBody(0x83, 1, 8000, 1, 8)), data), true},
		{"pcm 8 bit", riff(chunk("fmt ", fmtBody(1, 1, 8000, 1, 8)), data), true},
		{"ulaw 16 bit", riff(chunk("fmt ", fmtBody(7, 1, 8000, 2, 16)), data), true},
		{"extensible bad guid", riff(chunk("fmt ", fmtBody(0xFFFE, 1, 8000, 1, 8, badGUID()...)), data), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(bytes.NewReader(tt.in))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode = %+v, %v; want ErrInvalid", f, err)
			}
			if errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Errorf("error %v: ErrUnsupported = %v, want %v", err, !tt.unsupported, tt.unsupported)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	golden, _ := filepath.Glob(filepath.Join("testdata", "*.wav"))
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(riff(chunk("fmt ", fmtBody(0xFFFE, 2, 8000, 2, 8, extensible(6, 8)...)), chunk("data", []byte{1, 2, 3, 4})))
	f.Add(riff(chunk("JUNK", []byte{1}), chunk("fmt ", fmtBody(1, 3, 8000, 6, 16)), chunk("data", make([]byte, 13))))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Decode(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		ba := got.Channels * got.Format.BytesPerSample()
		if ba == 0 || got.SampleRate <= 0 || int64(len(got.Data)) != got.Frames*int64(ba) {
			t.Fatalf("inconsistent File: %v %dch %d Hz %d frames %d bytes",
				got.Format, got.Channels, got.SampleRate, got.Frames, len(got.Data))
		}
		if int64(len(got.Channel(got.Channels-1))) != got.Frames {
			t.Fatal("Channel length differs from Frames")
		}
		// Whatever decodes re-encodes to a file that decodes the same.
		var ws memWS
		w, err := NewWith(&ws, got.Format, got.Channels, got.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(got.Data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := Decode(bytes.NewReader(ws.buf))
		if err != nil {
			t.Fatal(err)
		}
		if again.Format != got.Format || again.Channels != got.Channels || again.SampleRate != got.SampleRate || !bytes.Equal(again.Data, got.Data) {
			t.Fatal("re-encoded file decodes differently")
		}
	})
}

func FuzzParseChunks(f *testing.F) {
	for _, format := range []Format{FormatULaw, FormatPCM16} {
		path := filepath.Join(f.TempDir(), "seed.wav")
		w, err := Create(path, format, 2, 8000)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := w.Write(make([]byte, 4*format.BytesPerSample())); err != nil {
			f.Fatal(err)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseChunks(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			return
		}
		if c.DataOffset < 20 || c.DataOffset > int64(len(b)) || c.Fmt.BlockAlign <= 0 {
			t.Fatalf("inconsistent %+v of %d bytes", c, len(b))
		}
	})
}
