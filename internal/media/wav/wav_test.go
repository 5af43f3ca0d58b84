package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// memWS is an in-memory io.WriteSeeker without WriteAt, so the Writer
// patches headers by seeking.
type memWS struct {
	buf []byte
	pos int64
}

func (m *memWS) Write(p []byte) (int, error) {
	end := m.pos + int64(len(p))
	if end > int64(len(m.buf)) {
		m.buf = append(m.buf, make([]byte, end-int64(len(m.buf)))...)
	}
	copy(m.buf[m.pos:], p)
	m.pos = end
	return len(p), nil
}

func (m *memWS) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += int64(len(m.buf))
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.pos = off
	return off, nil
}

// memWSAt adds WriteAt and Sync to memWS.
type memWSAt struct {
	memWS
	syncs int
}

func (m *memWSAt) WriteAt(p []byte, off int64) (int, error) {
	save := m.pos
	m.pos = off
	n, err := m.Write(p)
	m.pos = save
	return n, err
}

func (m *memWSAt) Sync() error { m.syncs++; return nil }

// frames returns n interleaved frames of f with channels channels whose
// bytes are a deterministic function of position, never all silence.
func frames(f Format, channels, n, seed int) []byte {
	b := make([]byte, n*channels*f.BytesPerSample())
	for i := range b {
		b[i] = byte(i*7 + seed*13 + i/3)
	}
	return b
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		err  bool
	}{
		{"pcm16", FormatPCM16, false},
		{"PCM", FormatPCM16, false},
		{"alaw", FormatALaw, false},
		{"PCMA", FormatALaw, false},
		{"ulaw", FormatULaw, false},
		{"pcmu", FormatULaw, false},
		{" mulaw ", FormatULaw, false},
		{"", 0, true},
		{"g729", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if tt.err {
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("ParseFormat(%q) error = %v, want ErrUnknownFormat", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseFormat(got.String()); err != nil || back != got {
			t.Errorf("ParseFormat(%v.String()) = %v, %v", got, back, err)
		}
	}
}

func TestFormatMethods(t *testing.T) {
	tests := []struct {
		f       Format
		name    string
		bps     int
		silence []byte
	}{
		{FormatPCM16, "pcm16", 2, []byte{0, 0, 0, 0, 0, 0}},
		{FormatALaw, "alaw", 1, []byte{0xD5, 0xD5, 0xD5}},
		{FormatULaw, "ulaw", 1, []byte{0xFF, 0xFF, 0xFF}},
		{Format(3), "Format(3)", 0, nil},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.f, got, tt.name)
		}
		if got := tt.f.BytesPerSample(); got != tt.bps {
			t.Errorf("%v.BytesPerSample() = %d, want %d", tt.f, got, tt.bps)
		}
		prefix := []byte{1, 2}
		got := tt.f.AppendSilence(prefix, 3)
		if want := append([]byte{1, 2}, tt.silence...); !bytes.Equal(got, want) {
			t.Errorf("%v.AppendSilence(3) = % x, want % x", tt.f, got, want)
		}
		if got := tt.f.AppendSilence(nil, 0); len(got) != 0 {
			t.Errorf("%v.AppendSilence(0) = % x", tt.f, got)
		}
	}
}

// TestHeaderGolden compares complete small files with testdata and checks
// the header fields against the layout documented in header.go.
func TestHeaderGolden(t *testing.T) {
	tests := []struct {
		name     string
		f        Format
		channels int
		rate     int
		frames   int
	}{
		{"pcm16_mono_8k", FormatPCM16, 1, 8000, 3},
		{"pcm16_stereo_16k", FormatPCM16, 2, 16000, 2},
		{"alaw_mono_8k_odd", FormatALaw, 1, 8000, 3},
		{"alaw_stereo_8k", FormatALaw, 2, 8000, 2},
		{"ulaw_stereo_8k", FormatULaw, 2, 8000, 2},
		{"ulaw_mono_8k_empty", FormatULaw, 1, 8000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ws memWS
			w, err := NewWith(&ws, tt.f, tt.channels, tt.rate)
			if err != nil {
				t.Fatal(err)
			}
			data := frames(tt.f, tt.channels, tt.frames, 1)
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := ws.buf
			checkHeader(t, got, tt.f, tt.channels, tt.rate, len(data))
			golden := filepath.Join("testdata", tt.name+".wav")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("file bytes differ from %s\n got % x\nwant % x", golden, got, want)
			}
		})
	}
}

func checkHeader(t *testing.T, b []byte, f Format, channels, rate, dataLen int) {
	t.Helper()
	le := binary.LittleEndian
	hl := 44
	if f != FormatPCM16 {
		hl = 58
	}
	pad := dataLen & 1
	if len(b) != hl+dataLen+pad {
		t.Fatalf("file is %d bytes, want %d", len(b), hl+dataLen+pad)
	}
	bps := f.BytesPerSample()
	fields := []struct {
		name      string
		got, want uint32
	}{
		{"RIFF size", le.Uint32(b[4:]), uint32(len(b) - 8)},
		{"format tag", uint32(le.Uint16(b[20:])), uint32(f)},
		{"channels", uint32(le.Uint16(b[22:])), uint32(channels)},
		{"sample rate", le.Uint32(b[24:]), uint32(rate)},
		{"byte rate", le.Uint32(b[28:]), uint32(rate * channels * bps)},
		{"block align", uint32(le.Uint16(b[32:])), uint32(channels * bps)},
		{"bits", uint32(le.Uint16(b[34:])), uint32(8 * bps)},
		{"data size", le.Uint32(b[hl-4:]), uint32(dataLen)},
	}
	if f == FormatPCM16 {
		fields = append(fields, struct {
			name      string
			got, want uint32
		}{"fmt size", le.Uint32(b[16:]), 16})
	} else {
		fields = append(fields, []struct {
			name      string
			got, want uint32
		}{
			{"fmt size", le.Uint32(b[16:]), 18},
			{"cbSize", uint32(le.Uint16(b[36:])), 0},
			{"fact size", le.Uint32(b[42:]), 4},
			{"fact samples", le.Uint32(b[46:]), uint32(dataLen / (channels * bps))},
		}...)
		if string(b[38:42]) != "fact" {
			t.Errorf("chunk at 38 = %q, want fact", b[38:42])
		}
	}
	for _, fl := range fields {
		if fl.got != fl.want {
			t.Errorf("%s = %d, want %d", fl.name, fl.got, fl.want)
		}
	}
	if string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[hl-8:hl-4]) != "data" {
		t.Errorf("chunk ids wrong: % x", b[:hl])
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatPCM16, FormatALaw, FormatULaw} {
		for _, channels := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/%dch", f, channels), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "2026", "01", "02", "rec.wav")
				w, err := Create(path, f, channels, 8000)
				if err != nil {
					t.Fatal(err)
				}
				var all []byte
				for i, n := range []int{8000, 1, 0, 7999, 333} {
					p := frames(f, channels, n, i)
					all = append(all, p...)
					if got, err := w.Write(p); err != nil || got != len(p) {
						t.Fatalf("Write = %d, %v", got, err)
					}
					if i == 1 {
						if err := w.Sync(); err != nil {
							t.Fatal(err)
						}
					}
				}
				wantFrames := int64(len(all) / (channels * f.BytesPerSample()))
				if w.Frames() != wantFrames {
					t.Errorf("Frames() = %d, want %d", w.Frames(), wantFrames)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				got, err := ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if got.Format != f || got.Channels != channels || got.SampleRate != 8000 || got.Frames != wantFrames {
					t.Errorf("decoded %v %dch %d Hz %d frames, want %v %dch 8000 Hz %d frames",
						got.Format, got.Channels, got.SampleRate, got.Frames, f, channels, wantFrames)
				}
				if !bytes.Equal(got.Data, all) {
					t.Error("decoded data differs from written data")
				}
				if want := time.Duration(wantFrames) * time.Second / 8000; got.Duration() != want {
					t.Errorf("Duration() = %v, want %v", got.Duration(), want)
				}
				for ch := range channels {
					samples := got.Channel(ch)
					if int64(len(samples)) != wantFrames {
						t.Fatalf("Channel(%d) has %d samples", ch, len(samples))
					}
					for _, k := range []int{0, 1, int(wantFrames) - 1} {
						if want := sampleAt(f, all, channels, k, ch); samples[k] != want {
							t.Errorf("Channel(%d)[%d] = %d, want %d", ch, k, samples[k], want)
						}
					}
				}
				if got.Channel(channels) != nil || got.Channel(-1) != nil {
					t.Error("Channel out of range is not nil")
				}
			})
		}
	}
}

// sampleAt decodes one sample independently of File.Channel.
func sampleAt(f Format, data []byte, channels, frame, ch int) int16 {
	i := (frame*channels + ch) * f.BytesPerSample()
	switch f {
	case FormatPCM16:
		return int16(uint16(data[i]) | uint16(data[i+1])<<8)
	case FormatULaw:
		return refULaw(data[i])
	default:
		return refALaw(data[i])
	}
}

// refULaw and refALaw decode G.711 from the segment formulas of ITU-T
// G.711 tables 2a/1a, scaled to 16 bits.
func refULaw(b byte) int16 {
	b = ^b
	e, m := int(b>>4&7), int(b&15)
	v := ((2*m+33)<<e - 33) * 4
	if b&0x80 != 0 {
		v = -v
	}
	return int16(v)
}

func refALaw(b byte) int16 {
	b ^= 0x55
	e, m := int(b>>4&7), int(b&15)
	v := 2*m + 1
	if e > 0 {
		v = (2*m + 33) << (e - 1)
	}
	v *= 8
	if b&0x80 == 0 {
		v = -v
	}
	return int16(v)
}

func TestCreateRenameAndIdempotentClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "rec.wav")
	w, err := Create(path, FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if w.Path() != path {
		t.Errorf("Path() = %q, want %q", w.Path(), path)
	}
	if _, err := os.Stat(path + ".part"); err != nil {
		t.Errorf(".part missing before Close: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("final file exists before Close: %v", err)
	}
	if _, err := Create(path, FormatULaw, 2, 8000); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create of same path: %v, want fs.ErrExist", err)
	}
	if _, err := w.Write(frames(FormatULaw, 2, 10, 0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".part still exists after Close: %v", err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Frames != 10 {
		t.Errorf("Frames = %d, want 10", f.Frames)
	}
	if _, err := w.Write(frames(FormatULaw, 2, 1, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v, want ErrClosed", err)
	}
	if _, err := Create(path, FormatULaw, 2, 8000); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a finished file: %v, want fs.ErrExist", err)
	}
}

// failWS fails every write after the first limit bytes.
type failWS struct {
	memWSAt
	limit int
}

var errDiskFull = errors.New("disk full")

func (f *failWS) Write(p []byte) (int, error) {
	room := f.limit - len(f.buf)
	if room >= len(p) {
		return f.memWSAt.Write(p)
	}
	n, _ := f.memWSAt.Write(p[:max(room, 0)])
	return n, errDiskFull
}

func TestWriteErrors(t *testing.T) {
	if _, err := NewWith(&memWS{}, Format(2), 1, 8000); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("bad format: %v", err)
	}
	if _, err := NewWith(&memWS{}, FormatULaw, 0, 8000); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("0 channels: %v", err)
	}
	if _, err := NewWith(&memWS{}, FormatULaw, 1, 0); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("rate 0: %v", err)
	}
	if _, err := Create(filepath.Join(t.TempDir(), "x.wav"), FormatPCM16, 70000, 8000); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("70000 channels: %v", err)
	}

	w, err := NewWith(&memWS{}, FormatPCM16, 3, 8000)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 5, 7} {
		if got, err := w.Write(make([]byte, n)); !errors.Is(err, ErrPartialFrame) || got != 0 {
			t.Errorf("Write(%d bytes) = %d, %v; want ErrPartialFrame", n, got, err)
		}
	}
	if got, err := w.Write(nil); got != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", got, err)
	}

	// ErrTooLarge: pretend the file is already at the limit.
	w.dataLen = maxDataLen(FormatPCM16) / 6 * 6
	if _, err := w.Write(make([]byte, 6)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Write beyond 4 GiB = %v, want ErrTooLarge", err)
	}

	// A failed write is sticky, and Close still finalises the whole frames.
	fw := &failWS{limit: 58 + 5}
	w, err = NewWith(fw, FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(frames(FormatULaw, 2, 4, 0)); !errors.Is(err, errDiskFull) {
		t.Fatalf("Write = %v, want disk full", err)
	}
	if _, err := w.Write(frames(FormatULaw, 2, 1, 0)); !errors.Is(err, errDiskFull) {
		t.Errorf("second Write = %v, want sticky disk full", err)
	}
	if w.Frames() != 2 {
		t.Errorf("Frames() = %d, want 2", w.Frames())
	}
	fw.limit = 1 << 20
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close = %v, want the write error", err)
	}
	f, err := Decode(bytes.NewReader(fw.buf))
	if err != nil || f.Frames != 2 {
		t.Errorf("after failed write: Decode = %v frames, %v; want 2", f, err)
	}
}

func TestNewWithPatchPaths(t *testing.T) {
	// Both header patch paths (WriteAt and seek) give identical files, and
	// the writer keeps appending at the end after a patch.
	var seekWS memWS
	atWS := &memWSAt{}
	for _, ws := range []io.WriteSeeker{&seekWS, atWS} {
		w, err := NewWith(ws, FormatALaw, 1, 8000)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := w.Write(frames(FormatALaw, 1, 5, i)); err != nil {
				t.Fatal(err)
			}
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(seekWS.buf, atWS.buf) {
		t.Errorf("seek and WriteAt paths differ:\n% x\n% x", seekWS.buf, atWS.buf)
	}
	if atWS.syncs != 4 {
		t.Errorf("Sync called %d times on the WriteSeeker, want 4", atWS.syncs)
	}
	checkHeader(t, atWS.buf, FormatALaw, 1, 8000, 15)
}

func TestSyncMakesValidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var all []byte
	for i := range 3 {
		p := frames(FormatULaw, 2, 8000+i, i)
		all = append(all, p...)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFile(path + ".part")
		if err != nil {
			t.Fatal(err)
		}
		if f.Frames != w.Frames() || !bytes.Equal(f.Data, all) {
			t.Fatalf("after Sync %d: decoded %d frames, want %d", i, f.Frames, w.Frames())
		}
		raw, err := os.ReadFile(path + ".part")
		if err != nil {
			t.Fatal(err)
		}
		checkHeader(t, raw[:58+len(all)], FormatULaw, 2, 8000, len(all))
	}
}

func TestWriteSyncAllocs(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "rec.wav"), FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := frames(FormatULaw, 2, 8000, 0)
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Write+Sync allocates %.1f times per call, want 0", allocs)
	}
}

// discardWS is a WriteSeeker+WriterAt that keeps nothing.
type discardWS struct{ pos int64 }

func (d *discardWS) Write(p []byte) (int, error)            { d.pos += int64(len(p)); return len(p), nil }
func (d *discardWS) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (d *discardWS) Seek(off int64, _ int) (int64, error)   { d.pos = off; return off, nil }

// BenchmarkWrite writes one second of 8 kHz stereo µ-law per op and patches
// the header, as the mixer does every flush (without the fsync).
func BenchmarkWrite(b *testing.B) {
	w, err := NewWith(&discardWS{}, FormatULaw, 2, 8000)
	if err != nil {
		b.Fatal(err)
	}
	p := frames(FormatULaw, 2, 8000, 0)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(p); err != nil {
			b.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
		if w.Frames() > 1<<27 {
			w.dataLen = 0
		}
	}
}
