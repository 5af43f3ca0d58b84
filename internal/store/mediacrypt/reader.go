package mediacrypt

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Reader is random access to the plaintext of an encrypted file: ReadAt
// reads and authenticates only the chunks it touches (one 64 KiB chunk per
// HTTP Range of up to 64 KiB, two when it straddles a boundary). It is safe
// for concurrent use; the most recently decrypted chunk is cached.
type Reader struct {
	src       io.ReaderAt
	aead      cipher.AEAD
	payload   int64 // offset of chunk 0
	size      int64 // authenticated plaintext size
	chunks    int64 // chunks holding plaintext
	lastSize  int64 // ciphertext size of the last chunk read as last (complete files)
	truncated bool
	trailing  int64  // unauthenticated bytes after the prefix (truncated files)
	tail      []byte // plaintext from checkpoint records after the chunks (truncated files)

	mu       sync.Mutex
	index    int64 // chunk in cache, -1 none
	cache    []byte
	cacheBuf *[]byte // pooled buffer behind cache

	closer    io.Closer
	closeOnce sync.Once
	closeErr  error
}

// Open reads the header of the encrypted file src (size bytes), unwraps its
// file key with the first matching identity and finds the authenticated
// end of the plaintext.
//
// A file whose last chunk authenticates as the last one is complete. A file
// cut off while being written (the process was killed) has none: Open
// then serves the longest prefix of whole chunks that authenticate, plus
// the checkpoint records after them (see Writer.Checkpoint), and
// Truncated reports true. age's own reader refuses such a file.
//
// Errors: ErrHeader (not an encrypted file, or shredded), ErrWrongKey,
// ErrNoKeys, ErrCorrupt (header MAC or every chunk fails).
func Open(src io.ReaderAt, size int64, identities ...age.Identity) (*Reader, error) {
	hdr, err := readHeader(src, size)
	if err != nil {
		return nil, err
	}
	fileKey, err := unwrapKey(hdr, identities)
	if err != nil {
		return nil, err
	}
	r := &Reader{src: src, index: -1}
	hlen := int64(len(hdr))
	if size < hlen+nonceLen {
		// Killed between header and nonce (they are written at once, so
		// only a torn write gets here): nothing to decrypt.
		r.truncated, r.trailing = true, max(size-hlen, 0)
		return r, nil
	}
	nonce := make([]byte, nonceLen)
	if _, err := src.ReadAt(nonce, hlen); err != nil {
		return nil, fmt.Errorf("mediacrypt: read nonce: %w", err)
	}
	r.aead = newAEAD(payloadKey(fileKey, nonce))
	r.payload = hlen + nonceLen
	if err := r.findEnd(size - r.payload); err != nil {
		return nil, err
	}
	return r, nil
}

// maxStepBack bounds how many trailing chunks Open tries before giving up
// (4 MiB: unsynced data zeroed by a power loss, plus checkpoint records).
const maxStepBack = 64

// findEnd sets size, chunks and truncated from the payload length.
func (r *Reader) findEnd(payload int64) error {
	full, rem := payload/encChunkSize, payload%encChunkSize
	buf := make([]byte, encChunkSize)
	// Complete file: the last (possibly short) chunk authenticates as last.
	switch {
	case rem >= overhead:
		if pt, err := r.open(buf, full, rem, true); err == nil {
			r.size, r.chunks, r.lastSize = full*ChunkSize+int64(len(pt)), full+1, rem
			return nil
		}
	case rem == 0 && full > 0:
		if _, err := r.open(buf, full-1, encChunkSize, true); err == nil {
			r.size, r.chunks, r.lastSize = full*ChunkSize, full, encChunkSize
			return nil
		}
	}
	// Truncated: the longest run of whole chunks whose last one
	// authenticates as a middle chunk. Usually the first candidate or the
	// one before (checkpoint records can fill more than a chunk's room); a
	// power loss can leave zeroed blocks after it, so step back over up to
	// maxStepBack chunks — more is damage, not a crash.
	r.truncated = true
	r.chunks = -1
	for i := full - 1; i >= max(full-maxStepBack, 0); i-- {
		if _, err := r.open(buf, i, encChunkSize, false); err == nil {
			r.chunks = i + 1
			break
		}
	}
	if r.chunks < 0 {
		// No whole chunk authenticates: fine only for a file that never
		// sealed one (its checkpoint records may cover a whole chunk).
		r.chunks = 0
		if full > maxStepBack {
			return fmt.Errorf("%w: none of the last %d chunks authenticates", ErrCorrupt, maxStepBack)
		}
		if r.readRecords(payload); len(r.tail) == 0 && full > 0 {
			return fmt.Errorf("%w: no chunk of %d authenticates", ErrCorrupt, full)
		}
		return nil
	}
	r.readRecords(payload)
	return nil
}

// readRecords reads the checkpoint records after the r.chunks sealed
// chunks (see Writer.Checkpoint): contiguous pieces of the next chunk,
// each authenticated; the first that fails ends them. It sets tail, size
// and trailing.
func (r *Reader) readRecords(payload int64) {
	pos := r.chunks * encChunkSize
	var lenb [4]byte
	var n [chacha20poly1305.NonceSize]byte
	for pos+4+overhead < payload && len(r.tail) < ChunkSize {
		if _, err := r.src.ReadAt(lenb[:], r.payload+pos); err != nil {
			break
		}
		l := int64(binary.LittleEndian.Uint32(lenb[:]))
		if l == 0 || l > int64(ChunkSize-len(r.tail)) || pos+4+l+overhead > payload {
			break
		}
		ct := make([]byte, l+overhead)
		if _, err := r.src.ReadAt(ct, r.payload+pos+4); err != nil {
			break
		}
		recordNonce(&n, r.chunks, len(r.tail))
		pt, err := r.aead.Open(ct[:0], n[:], ct, nil)
		if err != nil {
			break
		}
		r.tail = append(r.tail, pt...)
		pos += 4 + l + overhead
	}
	r.size = r.chunks*ChunkSize + int64(len(r.tail))
	r.trailing = payload - pos
}

// open reads chunk i (encSize bytes) into buf and decrypts it in place.
func (r *Reader) open(buf []byte, i, encSize int64, last bool) ([]byte, error) {
	ct := buf[:encSize]
	if _, err := r.src.ReadAt(ct, r.payload+i*encChunkSize); err != nil {
		return nil, err
	}
	var n [chacha20poly1305.NonceSize]byte
	chunkNonce(&n, i, last)
	pt, err := r.aead.Open(ct[:0], n[:], ct, nil)
	if err != nil {
		return nil, err
	}
	if last && len(pt) == 0 && i > 0 {
		return nil, fmt.Errorf("%w: empty last chunk", ErrCorrupt) // age forbids it
	}
	return pt, nil
}

// Size returns the authenticated plaintext size.
func (r *Reader) Size() int64 { return r.size }

// Truncated reports whether the file has no authenticated end (the writer
// never closed it); the plaintext is then the authenticated prefix. A
// damaged last chunk cannot be told from a torn write and also reads as
// truncated: for a recording the store knows was finished, Truncated means
// its end was damaged or cut.
func (r *Reader) Truncated() bool { return r.truncated }

// Trailing returns how many bytes after the authenticated prefix of a
// truncated file were ignored (an incomplete chunk; 0 for complete files).
func (r *Reader) Trailing() int64 { return r.trailing }

// ReadAt reads plaintext at off. It returns io.EOF with fewer than len(p)
// bytes at the end; a chunk failing authentication returns ErrCorrupt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("mediacrypt: negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		i := pos / ChunkSize
		k, err := r.copyChunk(p[n:], i, pos-i*ChunkSize)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// chunkPool holds chunk buffers, so sequential and Range reads allocate
// nothing once warm.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, encChunkSize)
	return &b
}}

// copyChunk copies the plaintext of chunk i from offset in into dst. A
// cached chunk is copied under the lock (memory only); a missing one is
// read and decrypted outside it into a pooled buffer, then becomes the
// cache, and the buffer it replaces goes back to the pool (nobody reads
// it: readers copy under the lock).
func (r *Reader) copyChunk(dst []byte, i, in int64) (int, error) {
	if r.truncated && i == r.chunks {
		return copy(dst, r.tail[in:]), nil
	}
	r.mu.Lock()
	if r.index == i {
		n := copy(dst, r.cache[in:])
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	last := !r.truncated && i == r.chunks-1
	encSize := int64(encChunkSize)
	if last {
		encSize = r.lastSize
	}
	bp := chunkPool.Get().(*[]byte)
	pt, err := r.open(*bp, i, encSize, last)
	if err != nil {
		chunkPool.Put(bp)
		return 0, fmt.Errorf("%w: chunk %d: %w", ErrCorrupt, i, err)
	}
	n := copy(dst, pt[in:])
	r.mu.Lock()
	old := r.cacheBuf
	r.index, r.cache, r.cacheBuf = i, pt, bp
	r.mu.Unlock()
	if old != nil {
		chunkPool.Put(old)
	}
	return n, nil
}

// OpenFile opens the encrypted file at path (see Open). Close the Reader
// to close the file.
func OpenFile(path string, identities ...age.Identity) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mediacrypt: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mediacrypt: %w", err)
	}
	r, err := Open(f, st.Size(), identities...)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mediacrypt: %s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// Close closes the file of a Reader from OpenFile (a no-op otherwise).
// It is idempotent.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		if r.closer != nil {
			r.closeErr = r.closer.Close()
		}
	})
	return r.closeErr
}
