package mediaconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
)

// blockBytes is about how many source bytes one block read covers.
const blockBytes = 32 << 10

// Source is a stored recording file opened for conversion. Its methods are
// safe for concurrent use; each PCMReader is used by one goroutine at a
// time. The frame count is fixed at Open: frames a ".part" file gains
// later are not seen.
type Source struct {
	r    io.ReaderAt
	file io.Closer // closed by Close; nil for sources built in tests
	h    header

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens the recording at path and parses its header. A path ending
// in ".part" (a recording in progress) is read up to the whole frames on
// disk now, whatever its header says. Parse errors wrap ErrInvalid.
func Open(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mediaconv: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mediaconv: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrInvalid, path)
	}
	h, err := parseHeader(f, st.Size(), strings.HasSuffix(path, wav.PartSuffix))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Source{r: f, file: f, h: h}, nil
}

// NewSource opens a recording served by r (size bytes of WAV, such as the
// plaintext of an encrypted recording) and parses its header; Close closes
// c (may be nil). part is as for Open. Parse errors wrap ErrInvalid.
func NewSource(r io.ReaderAt, size int64, c io.Closer, part bool) (*Source, error) {
	h, err := parseHeader(r, size, part)
	if err != nil {
		return nil, err
	}
	return &Source{r: r, file: c, h: h}, nil
}

// Close closes the file. It is idempotent: later calls return the first
// call's result. Readers of the source fail with ErrClosed afterwards.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.file != nil {
			if err := s.file.Close(); err != nil {
				s.closeErr = fmt.Errorf("mediaconv: close: %w", err)
			}
		}
	})
	return s.closeErr
}

// Channels returns the number of interleaved channels.
func (s *Source) Channels() int { return s.h.channels }

// SampleRate returns the sample rate in Hz.
func (s *Source) SampleRate() int { return s.h.sampleRate }

// Frames returns the number of whole frames (samples per channel).
func (s *Source) Frames() int64 { return s.h.frames }

// Format returns the sample format of the file.
func (s *Source) Format() wav.Format { return s.h.format }

// Duration returns the playing time.
func (s *Source) Duration() time.Duration {
	r := int64(s.h.sampleRate)
	sec, rem := s.h.frames/r, s.h.frames%r
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(r)
}

// checkChannel validates a channel argument: -1 or 0..Channels()-1.
func (s *Source) checkChannel(channel int) error {
	if channel < -1 || channel >= s.h.channels {
		return fmt.Errorf("%w: channel %d of a %d-channel recording", ErrChannel, channel, s.h.channels)
	}
	return nil
}

// blockFrames returns how many frames one block read covers.
func (s *Source) blockFrames() int { return max(1, blockBytes/s.h.blockAlign) }

// readFrames reads n frames starting at frame into buf (len >= n*blockAlign).
func (s *Source) readFrames(buf []byte, frame int64, n int) error {
	if s.closed.Load() {
		return ErrClosed
	}
	b := buf[:n*s.h.blockAlign]
	if err := readAt(s.r, b, s.h.dataOff+frame*int64(s.h.blockAlign)); err != nil {
		if s.closed.Load() {
			return ErrClosed
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("mediaconv: recording shrank while reading: %w", err)
		}
		return fmt.Errorf("mediaconv: read: %w", err)
	}
	return nil
}

// decodePCM writes n frames of src (in the source format) as PCM16
// little-endian to dst: every channel interleaved when channel is -1, else
// that channel alone. dst must hold n*outChannels*2 bytes.
func (s *Source) decodePCM(dst, src []byte, n, channel int) {
	ch := s.h.channels
	le := binary.LittleEndian
	switch s.h.format {
	case wav.FormatPCM16:
		if channel < 0 {
			copy(dst, src[:n*ch*2])
			return
		}
		for i, o := 0, channel*2; i < n; i, o = i+1, o+ch*2 {
			dst[2*i], dst[2*i+1] = src[o], src[o+1]
		}
	case wav.FormatULaw:
		if channel < 0 {
			for i, b := range src[:n*ch] {
				le.PutUint16(dst[2*i:], uint16(g711.DecodeULaw(b)))
			}
			return
		}
		for i, o := 0, channel; i < n; i, o = i+1, o+ch {
			le.PutUint16(dst[2*i:], uint16(g711.DecodeULaw(src[o])))
		}
	case wav.FormatALaw:
		if channel < 0 {
			for i, b := range src[:n*ch] {
				le.PutUint16(dst[2*i:], uint16(g711.DecodeALaw(b)))
			}
			return
		}
		for i, o := 0, channel; i < n; i, o = i+1, o+ch {
			le.PutUint16(dst[2*i:], uint16(g711.DecodeALaw(src[o])))
		}
	}
}

// decodeLinear writes n interleaved frames of src as linear samples to dst
// (len >= n*Channels()).
func (s *Source) decodeLinear(dst []int16, src []byte, n int) {
	k := n * s.h.channels
	switch s.h.format {
	case wav.FormatPCM16:
		for i := range dst[:k] {
			dst[i] = int16(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case wav.FormatULaw:
		g711.DecodeULawTo(dst[:k], src[:k])
	case wav.FormatALaw:
		g711.DecodeALawTo(dst[:k], src[:k])
	}
}
