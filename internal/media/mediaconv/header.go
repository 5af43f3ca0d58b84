package mediaconv

import (
	"errors"
	"fmt"
	"io"

	"github.com/openrec/openrec/internal/media/wav"
)

// Open reads the headers wav.ParseChunks reads.

// Limits of what Open accepts.
const (
	// MaxChannels is the largest channel count Open accepts.
	MaxChannels = 64
	// MaxSampleRate is the largest sample rate Open accepts, in Hz.
	MaxSampleRate = 384000
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
	c, err := wav.ParseChunks(r, size)
	if errors.Is(err, wav.ErrUnsupported) {
		return header{}, fmt.Errorf("%w: %w: %w", ErrInvalid, ErrUnsupported, err)
	}
	if err != nil {
		return header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h, err := checkFmt(c.Fmt)
	if err != nil {
		return header{}, err
	}
	h.dataOff = c.DataOffset
	avail := max(size-c.DataOffset, 0)
	n := avail
	switch {
	case part:
	case c.RF64 && c.DataSize == wav.SizeUnknown:
		if c.DS64Data < uint64(avail) {
			n = int64(c.DS64Data)
		}
	case c.DataSize == wav.SizeUnknown: // size left open by a streaming writer
	case int64(c.DataSize) < avail:
		n = int64(c.DataSize)
	}
	h.frames = n / int64(h.blockAlign)
	return h, nil
}

// checkFmt applies this package's limits to a fmt chunk.
func checkFmt(c wav.FmtChunk) (header, error) {
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
