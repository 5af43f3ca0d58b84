package mediacrypt

import (
	"crypto/cipher"
	"encoding/binary"

	"golang.org/x/crypto/chacha20poly1305"
)

// age's payload (https://c2sp.org/age#payload): a 16-byte nonce, then
// the plaintext in chunks of ChunkSize bytes, each sealed with
// ChaCha20-Poly1305 under the payload key. The 12-byte AEAD nonce is the
// chunk index (11 bytes, big-endian) and a last-chunk flag byte: chunk i
// decrypts on its own (random access), and only the writer's Close can
// produce a chunk that authenticates as the last one, so truncation at a
// chunk boundary is detected.
const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize    = 64 * 1024
	overhead     = chacha20poly1305.Overhead
	encChunkSize = ChunkSize + overhead
)

func chunkNonce(n *[chacha20poly1305.NonceSize]byte, index int64, last bool) {
	*n = [chacha20poly1305.NonceSize]byte{}
	binary.BigEndian.PutUint64(n[3:11], uint64(index))
	if last {
		n[11] = 1
	}
}

func newAEAD(key []byte) cipher.AEAD {
	a, err := chacha20poly1305.New(key)
	if err != nil {
		panic("mediacrypt: " + err.Error()) // key is always 32 bytes
	}
	return a
}

// recordNonce is the nonce of a checkpoint record holding the bytes of
// chunk index from offset at: first byte 0x80 and last byte 2, where every
// STREAM nonce has 0 and 0 or 1, so records and chunks never share one.
func recordNonce(n *[chacha20poly1305.NonceSize]byte, index int64, at int) {
	*n = [chacha20poly1305.NonceSize]byte{0x80}
	binary.BigEndian.PutUint16(n[1:3], uint16(at))
	binary.BigEndian.PutUint64(n[3:11], uint64(index))
	n[11] = 2
}
