package mediaconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/openrec/openrec/internal/media/wav"
)

// The headers Open reads (all integers little-endian):
//
//	"RIFF" size32 "WAVE" chunk...            RIFF/WAVE (Microsoft RIFF 1.0)
//	"RF64" 0xFFFFFFFF "WAVE" "ds64" chunk... RF64 (EBU Tech 3306), also "BW64"
//
// ds64 body: RIFF size (8), data size (8), sample count (8), table ...; a
// data chunk whose 32-bit size is 0xFFFFFFFF takes its size from ds64.
// fmt: tag (WAVE_FORMAT_PCM 1, ALAW 6, MULAW 7 or EXTENSIBLE 0xFFFE with a
// KSDATAFORMAT_SUBTYPE GUID carrying one of them), channels, rate, byte
// rate, block align, bits per sample. fact, LIST and unknown chunks before
// data are skipped; anything after data is ignored.

// Limits of what Open accepts.
const (
	// MaxChannels is the largest channel count Open accepts.
	MaxChannels = 64
	// MaxSampleRate is the largest sample rate Open accepts, in Hz.
	MaxSampleRate = 384000
)

const (
	maxFmtLen   = 1 << 12
	maxChunks   = 1 << 10 // chunks looked at before giving up on finding data
	sizeUnknown = math.MaxUint32
)

// header describes the samples of a recording file.
type header struct {
	format     wav.Format
	channels   int
	sampleRate int
	blockAlign int   // bytes per interleaved frame
	dataOff    int64 // offset of the first sample byte
	frames     int64 // whole frames to read
}

// parseHeader reads the header of a file of size bytes through r. part
// says the file is still being written: its header sizes are not final
// and the data chunk is taken to run to the end of the file. Otherwise the
// data chunk's size is trusted unless the file is shorter (cut off) or the
// size is unknown (0xFFFFFFFF in a RIFF file). Errors wrap ErrInvalid.
func parseHeader(r io.ReaderAt, size int64, part bool) (header, error) {
	var b [24]byte
	if err := readAt(r, b[:12], 0); err != nil {
		return header{}, fmt.Errorf("%w: short RIFF header", ErrInvalid)
	}
	riff := string(b[0:4])
	rf64 := riff == "RF64" || riff == "BW64"
	if riff != "RIFF" && !rf64 || string(b[8:12]) != "WAVE" {
		return header{}, fmt.Errorf("%w: not a RIFF/WAVE file", ErrInvalid)
	}
	var (
		h        header
		haveFmt  bool
		haveDS64 bool
		ds64Data uint64
	)
	off := int64(12)
	for range maxChunks {
		if err := readAt(r, b[:8], off); err != nil {
			return header{}, fmt.Errorf("%w: no data chunk", ErrInvalid)
		}
		id := string(b[0:4])
		csize := binary.LittleEndian.Uint32(b[4:8])
		off += 8
		if rf64 && !haveDS64 && id != "ds64" {
			return header{}, fmt.Errorf("%w: RF64 without ds64 chunk first", ErrInvalid)
		}
		switch id {
		case "ds64":
			if !rf64 || haveDS64 || csize < 24 {
				return header{}, fmt.Errorf("%w: misplaced or short ds64 chunk", ErrInvalid)
			}
			if err := readAt(r, b[:24], off); err != nil {
				return header{}, fmt.Errorf("%w: short ds64 chunk", ErrInvalid)
			}
			ds64Data = binary.LittleEndian.Uint64(b[8:16])
			haveDS64 = true
		case "fmt ":
			if haveFmt {
				return header{}, fmt.Errorf("%w: second fmt chunk", ErrInvalid)
			}
			if csize < 16 || csize > maxFmtLen {
				return header{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrInvalid, csize)
			}
			body := make([]byte, csize)
			if err := readAt(r, body, off); err != nil {
				return header{}, fmt.Errorf("%w: short fmt chunk", ErrInvalid)
			}
			var err error
			if h, err = parseFmt(body); err != nil {
				return header{}, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return header{}, fmt.Errorf("%w: data chunk before fmt chunk", ErrInvalid)
			}
			h.dataOff = off
			avail := max(size-off, 0)
			n := avail
			switch {
			case part:
			case rf64 && csize == sizeUnknown:
				if ds64Data < uint64(avail) {
					n = int64(ds64Data)
				}
			case csize == sizeUnknown: // size left open by a streaming writer
			case int64(csize) < avail:
				n = int64(csize)
			}
			h.frames = n / int64(h.blockAlign)
			return h, nil
		}
		off += int64(csize) + int64(csize&1)
		if off > size {
			return header{}, fmt.Errorf("%w: no data chunk", ErrInvalid)
		}
	}
	return header{}, fmt.Errorf("%w: no data chunk in the first %d chunks", ErrInvalid, maxChunks)
}

// parseFmt parses the body of a fmt chunk (at least 16 bytes) with the
// WAV package's rules, then this package's limits.
func parseFmt(b []byte) (header, error) {
	c, err := wav.ParseFmtChunk(b)
	if errors.Is(err, wav.ErrUnsupported) {
		return header{}, fmt.Errorf("%w: %w: %w", ErrInvalid, ErrUnsupported, err)
	}
	if err != nil {
		return header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case c.Channels > MaxChannels:
		return header{}, fmt.Errorf("%w: %w: %d channels (at most %d)", ErrInvalid, ErrUnsupported, c.Channels, MaxChannels)
	case c.SampleRate > MaxSampleRate:
		return header{}, fmt.Errorf("%w: %w: sample rate %d (at most %d)", ErrInvalid, ErrUnsupported, c.SampleRate, MaxSampleRate)
	}
	return header{format: c.Format, channels: c.Channels, sampleRate: c.SampleRate, blockAlign: c.BlockAlign}, nil
}

// readAt fills b from r at off; a short read is an error.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
