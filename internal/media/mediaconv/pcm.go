package mediaconv

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// PCMHeaderLen is the size of the WAV header in front of the samples a
// PCMReader produces.
const PCMHeaderLen = 44

// PCMReader is a virtual 16-bit PCM WAV of a recording: a 44-byte header
// followed by the samples, decoded block by block as they are read. It
// implements io.ReadSeeker (for net/http.ServeContent) and knows its Size
// up front. A PCMReader is not safe for concurrent use; several readers of
// one Source are.
//
// Output larger than a RIFF header can describe (4 GiB, about 37 hours of
// 8 kHz stereo) gets 0xFFFFFFFF in both header sizes, which players read
// as "up to the end of the stream"; the bytes are all there.
type PCMReader struct {
	s       *Source
	channel int // -1 = all
	outCh   int
	frameSz int64 // output bytes per frame
	size    int64
	pos     int64
	hdr     [PCMHeaderLen]byte

	src      []byte // one block of source frames
	blk      []byte // the same block decoded
	blkStart int64  // offset in the data of blk[0]
	blkLen   int    // valid bytes in blk (0 = none)
}

// PCM returns a virtual PCM16 WAV of the recording: all channels
// interleaved for channel -1, else that channel alone as mono. A channel
// the recording does not have returns ErrChannel.
func (s *Source) PCM(channel int) (*PCMReader, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := s.checkChannel(channel); err != nil {
		return nil, err
	}
	outCh := s.h.channels
	if channel >= 0 {
		outCh = 1
	}
	r := &PCMReader{s: s, channel: channel, outCh: outCh, frameSz: int64(outCh) * 2}
	data := s.h.frames * r.frameSz
	r.size = PCMHeaderLen + data
	putPCMHeader(r.hdr[:], outCh, s.h.sampleRate, data)
	bf := s.blockFrames()
	r.src = make([]byte, bf*s.h.blockAlign)
	r.blk = make([]byte, bf*outCh*2)
	return r, nil
}

// putPCMHeader writes the canonical 44-byte PCM16 WAV header.
func putPCMHeader(b []byte, channels, rate int, dataLen int64) {
	le := binary.LittleEndian
	riff, data := uint32(math.MaxUint32), uint32(math.MaxUint32)
	if dataLen <= math.MaxUint32-(PCMHeaderLen-8) {
		riff, data = uint32(dataLen+PCMHeaderLen-8), uint32(dataLen)
	}
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], riff)
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1) // WAVE_FORMAT_PCM
	le.PutUint16(b[22:], uint16(channels))
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(rate*channels*2))
	le.PutUint16(b[32:], uint16(channels*2))
	le.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	le.PutUint32(b[40:], data)
}

// Size returns the total size of the virtual file in bytes.
func (r *PCMReader) Size() int64 { return r.size }

// Channels returns the number of channels of the output (1 for one
// channel).
func (r *PCMReader) Channels() int { return r.outCh }

// Read reads up to len(p) bytes at the current offset. It fills p unless
// the end is reached or reading the source fails.
func (r *PCMReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.pos < r.size {
		if r.pos < PCMHeaderLen {
			c := copy(p[n:], r.hdr[r.pos:])
			n += c
			r.pos += int64(c)
			continue
		}
		d := r.pos - PCMHeaderLen
		if r.blkLen == 0 || d < r.blkStart || d >= r.blkStart+int64(r.blkLen) {
			if err := r.fill(d / r.frameSz); err != nil {
				return n, err
			}
		}
		c := copy(p[n:], r.blk[d-r.blkStart:r.blkLen])
		n += c
		r.pos += int64(c)
	}
	return n, nil
}

// fill reads and decodes the block of frames starting at frame.
func (r *PCMReader) fill(frame int64) error {
	r.blkLen = 0
	nf := int(min(int64(len(r.blk))/r.frameSz, r.s.h.frames-frame))
	if err := r.s.readFrames(r.src, frame, nf); err != nil {
		return err
	}
	r.s.decodePCM(r.blk, r.src, nf, r.channel)
	r.blkStart = frame * r.frameSz
	r.blkLen = nf * int(r.frameSz)
	return nil
}

// Seek sets the offset of the next Read (io.Seeker). Seeking past the end
// is allowed (Read returns io.EOF); a negative offset is an error.
func (r *PCMReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.size
	default:
		return r.pos, fmt.Errorf("%w: whence %d", ErrSeek, whence)
	}
	if off < 0 {
		return r.pos, fmt.Errorf("%w: negative offset %d", ErrSeek, off)
	}
	r.pos = off
	return off, nil
}
