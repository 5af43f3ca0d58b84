package wav

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openrec/openrec/internal/media/g711"
)

// File is a decoded WAV file.
type File struct {
	Format     Format
	Channels   int
	SampleRate int
	Frames     int64
	Data       []byte // interleaved frames in Format, whole frames only
}

// ReadFile reads and decodes the WAV file at path.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	defer f.Close()
	wf, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return wf, nil
}

// Decode parses a RIFF/WAVE stream: the fmt chunk (16 or 18 bytes, or
// WAVE_FORMAT_EXTENSIBLE), an optional fact chunk, and the data chunk;
// other chunks before data are skipped and anything after it is ignored.
// A data chunk shorter than its header claims (a file still being written,
// or cut off) yields the whole frames present. r is read to its end (the
// header is parsed by ParseChunks). Errors wrap ErrInvalid.
func Decode(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrInvalid, err)
	}
	h, err := readHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	data := b[h.dataOff:]
	if int64(len(data)) > int64(h.dataSize) {
		data = data[:h.dataSize]
	}
	frames := int64(len(data) / h.l.blockAlign)
	return &File{
		Format:     h.l.format,
		Channels:   h.l.channels,
		SampleRate: h.l.sampleRate,
		Frames:     frames,
		Data:       data[:frames*int64(h.l.blockAlign)],
	}, nil
}

// Channel returns the linear samples of channel i (0-based), decoding
// G.711 with internal/media/g711. It returns nil if i is out of range.
func (f *File) Channel(i int) []int16 {
	if i < 0 || i >= f.Channels {
		return nil
	}
	bps := f.Format.BytesPerSample()
	stride := f.Channels * bps
	out := make([]int16, f.Frames)
	for k := range out {
		off := k*stride + i*bps
		switch f.Format {
		case FormatPCM16:
			out[k] = int16(binary.LittleEndian.Uint16(f.Data[off:]))
		case FormatULaw:
			out[k] = g711.DecodeULaw(f.Data[off])
		case FormatALaw:
			out[k] = g711.DecodeALaw(f.Data[off])
		}
	}
	return out
}

// Duration returns the playing time of the file.
func (f *File) Duration() time.Duration { return duration(f.Frames, f.SampleRate) }

// header is what precedes the samples of a WAV file.
type header struct {
	l        layout
	dataOff  int64  // offset of the first sample byte
	dataSize uint32 // size the data chunk header claims
	riffSize uint32 // size the RIFF header claims
}

const maxFmtLen = 1 << 12

// extensibleTail is bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs whose
// first two bytes are a WAVE format tag.
var extensibleTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

const waveFormatExtensible = 0xFFFE

// readHeader reads the header of a RIFF/WAVE file (not RF64: this package
// writes none) of size bytes with ParseChunks.
func readHeader(r io.ReaderAt, size int64) (header, error) {
	c, err := ParseChunks(r, size)
	if err != nil {
		return header{}, err
	}
	if c.RF64 {
		return header{}, fmt.Errorf("%w: not a RIFF/WAVE file (RF64)", ErrInvalid)
	}
	var b [4]byte
	if err := readFullAt(r, b[:], 4); err != nil {
		return header{}, fmt.Errorf("%w: short RIFF header", ErrInvalid)
	}
	l := layout{format: c.Fmt.Format, channels: c.Fmt.Channels, sampleRate: c.Fmt.SampleRate, blockAlign: c.Fmt.BlockAlign}
	return header{l: l, dataOff: c.DataOffset, dataSize: c.DataSize, riffSize: binary.LittleEndian.Uint32(b[:])}, nil
}

// FmtChunk is the decoded body of a WAVE fmt chunk.
type FmtChunk struct {
	Format     Format
	Channels   int
	SampleRate int
	BlockAlign int // bytes per interleaved frame
}

// ParseFmtChunk decodes and checks the body of a fmt chunk (at least 16
// bytes), resolving WAVE_FORMAT_EXTENSIBLE to its sub-format. Errors wrap
// ErrInvalid, and ErrUnsupported for a format this package does not read.
func ParseFmtChunk(b []byte) (FmtChunk, error) {
	if len(b) < 16 {
		return FmtChunk{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrInvalid, len(b))
	}
	l, err := parseFmt(b)
	if err != nil {
		return FmtChunk{}, err
	}
	return FmtChunk{Format: l.format, Channels: l.channels, SampleRate: l.sampleRate, BlockAlign: l.blockAlign}, nil
}

func parseFmt(b []byte) (layout, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := le.Uint32(b[4:])
	blockAlign := int(le.Uint16(b[12:]))
	bits := le.Uint16(b[14:])
	if tag == waveFormatExtensible {
		if len(b) < 40 || le.Uint16(b[16:]) < 22 {
			return layout{}, fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE fmt chunk", ErrInvalid)
		}
		guid := b[24:40]
		if !bytes.Equal(guid[2:], extensibleTail) {
			return layout{}, fmt.Errorf("%w: %w: sub-format GUID % x", ErrInvalid, ErrUnsupported, guid)
		}
		tag = le.Uint16(guid)
	}
	f := Format(tag)
	if !f.valid() {
		return layout{}, fmt.Errorf("%w: %w: format tag %#04x", ErrInvalid, ErrUnsupported, tag)
	}
	if int(bits) != 8*f.BytesPerSample() {
		return layout{}, fmt.Errorf("%w: %w: %d bits per sample for %v", ErrInvalid, ErrUnsupported, bits, f)
	}
	l, err := newLayout(f, channels, int(rate))
	if err != nil {
		return layout{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if blockAlign != l.blockAlign {
		return layout{}, fmt.Errorf("%w: block align %d, want %d", ErrInvalid, blockAlign, l.blockAlign)
	}
	return l, nil
}
