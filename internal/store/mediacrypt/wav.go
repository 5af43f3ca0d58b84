package mediacrypt

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"filippo.io/age"
)

// A WAV writer fixes its header's sizes when it finishes, and a crash-safe
// one rewrites them at every flush. Encrypted chunks cannot be rewritten,
// so the header inside the ciphertext keeps the sizes it had when its chunk
// was sealed (usually 0), and WAV serves the header with the sizes
// synthesised from the authenticated plaintext length: the RIFF size, the
// data size and, for G.711, the fact chunk's frame count. Everything else
// in the header (format, channels, rate) is served as written.

// wavLayout locates the fields WAV synthesises.
type wavLayout struct {
	blockAlign int64
	factOff    int64 // offset of the fact frame count, -1 without one
	dataOff    int64 // offset of the data size field
	dataStart  int64 // first sample byte
}

// field is a 4-byte little-endian size field at off.
type field struct {
	off int64
}

func (l wavLayout) fields() []field {
	f := []field{{4}, {l.dataOff}}
	if l.factOff >= 0 {
		f = append(f, field{l.factOff})
	}
	return f
}

func inFields(fs []field, at int64) bool {
	for _, f := range fs {
		if at >= f.off && at < f.off+4 {
			return true
		}
	}
	return false
}

// parseWAVHeader walks the RIFF chunks in b (the start of the plaintext)
// up to the data chunk's header.
func parseWAVHeader(b []byte) (wavLayout, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return wavLayout{}, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	l := wavLayout{factOff: -1}
	for pos := int64(12); pos+8 <= int64(len(b)); {
		id, size := string(b[pos:pos+4]), int64(le.Uint32(b[pos+4:]))
		body := pos + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > int64(len(b)) {
				return wavLayout{}, fmt.Errorf("%w: short fmt chunk", ErrNotWAV)
			}
			l.blockAlign = int64(le.Uint16(b[body+12:]))
		case "fact":
			if size >= 4 {
				l.factOff = body
			}
		case "data":
			if l.blockAlign == 0 {
				return wavLayout{}, fmt.Errorf("%w: data before a valid fmt chunk", ErrNotWAV)
			}
			l.dataOff, l.dataStart = pos+4, body
			return l, nil
		}
		pos = body + size + size&1
	}
	return wavLayout{}, fmt.Errorf("%w: no data chunk in the first %d bytes", ErrNotWAV, len(b))
}

// WAV serves a valid WAV file from an encrypted one whose plaintext is a
// WAV stream: the sizes in the header are synthesised from the
// authenticated length (whole frames only; a truncated file ends at its
// last whole frame), and an odd data chunk gets its pad byte. The stored
// plaintext never holds the pad: Writer.Close drops the one a WAV writer
// appends, because a pad byte cannot be told from a sample of a mono
// 8-bit stream. It implements io.ReaderAt; Size is the served size.
type WAV struct {
	r      *Reader
	size   int64
	patch  [3]struct{ off, val int64 }
	npatch int
	data   int64
}

// OpenWAV opens an encrypted WAV recording (see Open for the errors; a
// plaintext that is not a WAV stream, including an empty prefix of a file
// killed before its first chunk was sealed, is ErrNotWAV).
func OpenWAV(src io.ReaderAt, size int64, identities ...age.Identity) (*WAV, error) {
	r, err := Open(src, size, identities...)
	if err != nil {
		return nil, err
	}
	return NewWAV(r)
}

// NewWAV serves r's plaintext as a WAV file with synthesised sizes.
func NewWAV(r *Reader) (*WAV, error) {
	head := make([]byte, min(r.Size(), keepLen))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	l, err := parseWAVHeader(head)
	if err != nil {
		return nil, err
	}
	data := max(r.Size()-l.dataStart, 0)
	data -= data % l.blockAlign
	size := l.dataStart + data + data&1 // an odd data chunk gets its pad byte (0)
	if size-8 > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d bytes do not fit a RIFF header", ErrNotWAV, size)
	}
	w := &WAV{r: r, size: size, data: data}
	w.add(4, size-8)
	w.add(l.dataOff, data)
	if l.factOff >= 0 {
		w.add(l.factOff, data/l.blockAlign)
	}
	return w, nil
}

func (w *WAV) add(off, val int64) {
	w.patch[w.npatch] = struct{ off, val int64 }{off, val}
	w.npatch++
}

// Size returns the size of the served WAV file.
func (w *WAV) Size() int64 { return w.size }

// DataSize returns the bytes of samples served.
func (w *WAV) DataSize() int64 { return w.data }

// Truncated reports whether the recording was cut off (see Reader.Truncated).
func (w *WAV) Truncated() bool { return w.r.Truncated() }

// ReadAt reads the served WAV file at off.
func (w *WAV) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("mediacrypt: negative offset %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= w.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), w.size-off)
	n := 0
	var err error
	if stored := min(want, max(w.r.Size()-off, 0)); stored > 0 {
		n, err = w.r.ReadAt(p[:stored], off)
		if err == io.EOF && int64(n) == stored {
			err = nil
		}
	}
	if err == nil {
		clear(p[n:want]) // the synthesised pad byte
		n = int(want)
	}
	var b [4]byte
	for _, f := range w.patch[:w.npatch] {
		binary.LittleEndian.PutUint32(b[:], uint32(f.val))
		for k := range int64(4) {
			if at := f.off + k - off; at >= 0 && at < int64(n) {
				p[at] = b[k]
			}
		}
	}
	if err == nil && want < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}
