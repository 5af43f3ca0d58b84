package mediacrypt

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// keepLen is how much of the plaintext's start the Writer keeps to check
// header rewrites (a WAV header is 44 or 58 bytes).
const keepLen = 512

// Options tune NewWriter.
type Options struct {
	// HeaderSize is the header slot in bytes (0: DefaultHeaderSize). A
	// larger slot leaves room to rotate to more recipients in place.
	HeaderSize int
	// NoCheckpoints turns checkpoint records off even when the
	// destination could take them (see Writer.Checkpoint).
	NoCheckpoints bool
}

// Writer encrypts a plaintext stream as it is written. Every complete
// ChunkSize chunk is sealed and written to the destination at once; the
// chunk being filled stays in memory (never on disk in plaintext) until it
// is full or Close seals it as the last chunk, and Checkpoint puts its new
// bytes on disk sealed in a record. A killed process loses what followed
// the last checkpoint (at most ChunkSize-1 bytes without checkpoints), and
// what reached the destination decrypts (Open reports it Truncated).
//
// Writer implements io.WriteSeeker and io.WriterAt so that a WAV writer that
// patches its header (media/wav.NewWith) can write through it: WriteAt may
// rewrite the RIFF/data/fact size fields of a WAV header (they are
// synthesised from the authenticated length on read, see WAV) and may write
// bytes identical to those already written; any other rewrite returns
// ErrRewrite. A Writer is not safe for concurrent use.
type Writer struct {
	dst   io.Writer
	aead  cipher.AEAD
	nonce [chacha20poly1305.NonceSize]byte
	buf   []byte // ChunkSize+overhead capacity; plaintext of the current chunk
	chunk int64  // index of the chunk in buf
	n     int64  // plaintext bytes written
	keep  []byte // first keepLen plaintext bytes
	// lastData is the data size a WAV writer last wrote into its header
	// (-1 none); Close uses it to drop the pad byte of an odd data chunk.
	lastData  int64
	dataStart int64
	closed    bool
	err       error // sticky write error

	// Checkpoints (only when dst is a checkpointDst): records of the
	// chunk being filled, written after the sealed chunks.
	ckpt     checkpointDst
	off      int64 // end of the sealed chunks in dst
	recorded int   // bytes of buf already in records
	recBytes int64 // bytes of records after off
	end      int64 // furthest byte written to dst
	rec      []byte
}

// checkpointDst is a destination that takes checkpoint records (an
// *os.File not opened with O_APPEND).
type checkpointDst interface {
	io.WriterAt
	Truncate(size int64) error
}

// NewWriter writes the header (the file key wrapped to every recipient) and
// the payload nonce to dst, which must be empty (a new file), and returns a
// Writer for the plaintext. Each recording gets a fresh random file key,
// held only by the Writer (as the payload key) and, wrapped, in the header.
func NewWriter(dst io.Writer, recipients []age.Recipient, opt Options) (*Writer, error) {
	size := opt.HeaderSize
	if size == 0 {
		size = DefaultHeaderSize
	}
	if size < 0 || size > maxHeaderSize {
		return nil, fmt.Errorf("mediacrypt: header size %d out of range", size)
	}
	fileKey := make([]byte, fileKeyLen)
	rand.Read(fileKey)
	hdr, err := buildHeader(fileKey, recipients, size)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	// One write: a file killed right after it holds a whole header.
	if _, err := dst.Write(append(hdr, nonce...)); err != nil {
		return nil, fmt.Errorf("mediacrypt: write header: %w", err)
	}
	w := &Writer{
		lastData: -1,
		dst:      dst,
		aead:     newAEAD(payloadKey(fileKey, nonce)),
		buf:      make([]byte, 0, encChunkSize),
		off:      int64(len(hdr) + nonceLen),
	}
	w.end = w.off
	if c, ok := dst.(checkpointDst); ok && !opt.NoCheckpoints {
		// An *os.File opened with O_APPEND refuses WriteAt (without a
		// syscall for an empty write): no checkpoints then.
		if _, err := c.WriteAt(nil, w.off); err == nil {
			w.ckpt = c
		}
	}
	return w, nil
}

// Write appends p to the plaintext. A failed write to the destination is
// sticky.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(w.keep) < keepLen {
		w.keep = append(w.keep, p[:min(len(p), keepLen-len(w.keep))]...)
	}
	total := len(p)
	for len(p) > 0 {
		if len(w.buf) == ChunkSize {
			// More data follows a full chunk: it is not the last one.
			if err := w.seal(false); err != nil {
				return total - len(p), err
			}
		}
		k := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		w.n += int64(k)
	}
	return total, nil
}

func (w *Writer) seal(last bool) error {
	chunkNonce(&w.nonce, w.chunk, last)
	ct := w.aead.Seal(w.buf[:0], w.nonce[:], w.buf, nil)
	if _, err := w.dst.Write(ct); err != nil {
		w.err = fmt.Errorf("mediacrypt: write chunk %d: %w", w.chunk, err)
		return w.err
	}
	w.chunk++
	w.buf = w.buf[:0]
	w.off += int64(len(ct))
	w.end = max(w.end, w.off)
	w.recorded, w.recBytes = 0, 0
	return nil
}

// Checkpoint makes the plaintext written so far survive the process being
// killed, like a WAV writer's header patch does for a plain file: the
// bytes of the chunk being filled that no record holds yet are sealed in
// a checkpoint record written after the sealed chunks (records live where
// the chunk will be written and are overwritten by it; Close truncates
// what is left). A record is [4-byte length][ciphertext + tag], sealed
// with the payload key under a nonce no STREAM chunk uses (first byte
// 0x80, the offset in the chunk, the chunk index, last byte 2), so each
// record is authenticated on its own and no nonce is ever used twice.
//
// Checkpoint is a no-op when the destination is not an io.WriterAt with
// Truncate (an *os.File is) or Options.NoCheckpoints is set. A rewrite of
// the WAV header through WriteAt and Sync checkpoint too, so a wav.Writer
// on top needs no extra call. Records cost a second write of each byte
// (the chunk later) and 20 bytes each.
func (w *Writer) Checkpoint() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil || w.ckpt == nil || w.recorded == len(w.buf) {
		return w.err
	}
	data := w.buf[w.recorded:]
	rec := append(w.rec[:0], 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(rec, uint32(len(data)))
	var n [chacha20poly1305.NonceSize]byte
	recordNonce(&n, w.chunk, w.recorded)
	rec = w.aead.Seal(rec, n[:], data, nil)
	w.rec = rec
	at := w.off + w.recBytes
	if _, err := w.ckpt.WriteAt(rec, at); err != nil {
		w.err = fmt.Errorf("mediacrypt: write checkpoint: %w", err)
		return w.err
	}
	w.recorded = len(w.buf)
	w.recBytes += int64(len(rec))
	w.end = max(w.end, at+int64(len(rec)))
	return nil
}

// WriteAt accepts a write at the end (an append) or a rewrite of bytes
// already written that changes only the WAV size fields (see Writer).
func (w *Writer) WriteAt(p []byte, off int64) (int, error) {
	switch {
	case w.closed:
		return 0, ErrClosed
	case off == w.n:
		return w.Write(p)
	case off < 0 || off > w.n || off+int64(len(p)) > w.n:
		return 0, fmt.Errorf("%w: write of %d bytes at %d, %d written", ErrNotSeekable, len(p), off, w.n)
	case off+int64(len(p)) > int64(len(w.keep)):
		return 0, fmt.Errorf("%w: bytes %d..%d", ErrRewrite, off, off+int64(len(p)))
	}
	l, err := parseWAVHeader(w.keep)
	var fields []field
	if err == nil {
		fields = l.fields()
	}
	for i, b := range p {
		at := off + int64(i)
		if b != w.keep[at] && !inFields(fields, at) {
			return 0, fmt.Errorf("%w: byte %d", ErrRewrite, at)
		}
	}
	if fields != nil && off <= l.dataOff && off+int64(len(p)) >= l.dataOff+4 {
		w.lastData = int64(binary.LittleEndian.Uint32(p[l.dataOff-off:]))
		w.dataStart = l.dataStart
	}
	// A WAV writer rewrites its header to checkpoint (wav.Writer.Checkpoint).
	if err := w.Checkpoint(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Seek only reports the append position: any offset other than the current
// end returns ErrNotSeekable.
func (w *Writer) Seek(offset int64, whence int) (int64, error) {
	pos := offset
	switch whence {
	case io.SeekCurrent, io.SeekEnd:
		pos = w.n + offset
	}
	if pos != w.n {
		return w.n, fmt.Errorf("%w: seek to %d, end is %d", ErrNotSeekable, pos, w.n)
	}
	return pos, nil
}

// Sync checkpoints (see Checkpoint) and flushes the destination to stable
// storage when it has a Sync method (an *os.File).
func (w *Writer) Sync() error {
	if w.closed {
		return ErrClosed
	}
	if err := w.Checkpoint(); err != nil {
		return err
	}
	return w.sync()
}

func (w *Writer) sync() error {
	if s, ok := w.dst.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("mediacrypt: sync: %w", err)
		}
	}
	return w.err
}

// Size returns the plaintext bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// Close seals the last chunk, writes it and syncs the destination (when it
// has Sync). It does not close the destination. Close is idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err == nil {
		// The pad byte of an odd data chunk: WAV synthesises it. Kept when
		// it is alone after a full chunk (age forbids an empty last chunk
		// after others; it then reads as one extra sample). media/wav's
		// even header sizes never get there: header + odd data is odd.
		if w.lastData > 0 && w.lastData&1 == 1 && w.n == w.dataStart+w.lastData+1 &&
			(len(w.buf) > 1 || (len(w.buf) == 1 && w.chunk == 0)) {
			w.buf = w.buf[:len(w.buf)-1]
			w.n--
		}
		w.seal(true)
	}
	if w.err == nil && w.ckpt != nil && w.end > w.off {
		// Checkpoint records after the last chunk: an age file ends there.
		if err := w.ckpt.Truncate(w.off); err != nil {
			w.err = fmt.Errorf("mediacrypt: truncate checkpoints: %w", err)
		}
	}
	if w.err == nil {
		w.err = w.sync()
	}
	w.closed = true
	return w.err
}
