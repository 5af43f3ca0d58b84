package wav

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The headers ParseChunks reads (all integers little-endian):
//
//	"RIFF" size32 "WAVE" chunk...            RIFF/WAVE (Microsoft RIFF 1.0)
//	"RF64" 0xFFFFFFFF "WAVE" "ds64" chunk... RF64 (EBU Tech 3306), also "BW64"
//
// chunk: id[4] size[4] body, padded to an even length. ds64 body: RIFF
// size (8), data size (8), sample count (8), table ...; a data chunk whose
// 32-bit size is 0xFFFFFFFF takes its size from ds64. fmt: see
// ParseFmtChunk. fact (sample count), LIST and unknown chunks before data
// are skipped; anything after data is ignored.

// maxChunks bounds the chunks ParseChunks looks at before giving up on data.
const maxChunks = 1 << 10

// SizeUnknown is the 32-bit size of a RIFF or data chunk whose size is not
// in the header (RF64: in ds64; a streaming writer: the rest of the file).
const SizeUnknown = 0xFFFFFFFF

// Chunks locates the parts of a WAV file's header up to its data chunk.
type Chunks struct {
	RF64       bool
	Fmt        FmtChunk
	DataOffset int64  // first sample byte
	DataSize   uint32 // the data chunk's declared size (SizeUnknown: see DS64Data)
	DS64Offset int64  // body of the ds64 chunk, -1 without one
	DS64Data   uint64 // the data size ds64 declares
	FactOffset int64  // body of the fact chunk, -1 without one
}

// ParseChunks is the one RIFF/RF64 chunk walker: it reads the header of a
// WAV file of size bytes through r up to the data chunk. Errors wrap
// ErrInvalid (and ErrUnsupported for a sample format this package does not
// read).
func ParseChunks(r io.ReaderAt, size int64) (Chunks, error) {
	c := Chunks{DS64Offset: -1, FactOffset: -1}
	var b [24]byte
	if err := readFullAt(r, b[:12], 0); err != nil {
		return c, fmt.Errorf("%w: short RIFF header", ErrInvalid)
	}
	riff := string(b[0:4])
	c.RF64 = riff == "RF64" || riff == "BW64"
	if riff != "RIFF" && !c.RF64 || string(b[8:12]) != "WAVE" {
		return c, fmt.Errorf("%w: not a RIFF/WAVE file", ErrInvalid)
	}
	haveFmt := false
	off := int64(12)
	for range maxChunks {
		if err := readFullAt(r, b[:8], off); err != nil {
			return c, fmt.Errorf("%w: no data chunk", ErrInvalid)
		}
		id := string(b[0:4])
		csize := binary.LittleEndian.Uint32(b[4:8])
		off += 8
		if c.RF64 && c.DS64Offset < 0 && id != "ds64" {
			return c, fmt.Errorf("%w: RF64 without ds64 chunk first", ErrInvalid)
		}
		switch id {
		case "ds64":
			if !c.RF64 || c.DS64Offset >= 0 || csize < 24 {
				return c, fmt.Errorf("%w: misplaced or short ds64 chunk", ErrInvalid)
			}
			if err := readFullAt(r, b[:24], off); err != nil {
				return c, fmt.Errorf("%w: short ds64 chunk", ErrInvalid)
			}
			c.DS64Offset, c.DS64Data = off, binary.LittleEndian.Uint64(b[8:16])
		case "fmt ":
			if haveFmt {
				return c, fmt.Errorf("%w: second fmt chunk", ErrInvalid)
			}
			if csize < 16 || csize > maxFmtLen {
				return c, fmt.Errorf("%w: fmt chunk of %d bytes", ErrInvalid, csize)
			}
			body := make([]byte, csize)
			if err := readFullAt(r, body, off); err != nil {
				return c, fmt.Errorf("%w: short fmt chunk", ErrInvalid)
			}
			var err error
			if c.Fmt, err = ParseFmtChunk(body); err != nil {
				return c, err
			}
			haveFmt = true
		case "fact":
			c.FactOffset = off
		case "data":
			if !haveFmt {
				return c, fmt.Errorf("%w: data chunk before fmt chunk", ErrInvalid)
			}
			c.DataOffset, c.DataSize = off, csize
			return c, nil
		}
		off += int64(csize) + int64(csize&1)
		if off > size {
			return c, fmt.Errorf("%w: no data chunk", ErrInvalid)
		}
	}
	return c, fmt.Errorf("%w: no data chunk in the first %d chunks", ErrInvalid, maxChunks)
}

// readFullAt fills b from r at off; a short read is an error.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	_, err := io.ReadFull(io.NewSectionReader(r, off, int64(len(b))), b)
	return err
}
