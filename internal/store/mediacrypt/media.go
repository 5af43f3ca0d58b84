package mediacrypt

import (
	"fmt"
	"io"
	"os"

	"filippo.io/age"
)

// IdentityKeys loads only identities (decrypt_keys) into Keys that decrypt
// but encrypt nothing: playback after encryption was turned off, and the
// command line (`recordings export --decrypt-keys`).
func IdentityKeys(path string) (*Keys, error) {
	ids, err := ParseIdentitiesFile(path)
	if err != nil {
		return nil, err
	}
	return &Keys{tenants: map[string][]age.Recipient{}, identities: ids}, nil
}

// Encrypts reports whether k encrypts new recordings (has recipients).
// A nil *Keys encrypts nothing.
func (k *Keys) Encrypts() bool {
	return k != nil && (len(k.fallback) > 0 || len(k.tenants) > 0)
}

// CanDecrypt reports whether k holds identities. A nil *Keys holds none.
func (k *Keys) CanDecrypt() bool { return k != nil && len(k.identities) > 0 }

// Media is a stored recording opened for playback: the file as it is when
// it is a plaintext WAV, the synthesised plaintext WAV (see WAV) when it is
// encrypted. It implements io.ReaderAt; Close closes the file.
type Media struct {
	io.ReaderAt
	size      int64
	encrypted bool
	truncated bool
	data      int64
	f         io.Closer
}

// DataSize is the size of the WAV data chunk of an encrypted recording
// (its whole frames; -1 for a plaintext file, whose header says).
func (m *Media) DataSize() int64 { return m.data }

// Size is the size of the plaintext WAV served.
func (m *Media) Size() int64 { return m.size }

// Encrypted reports whether the file on disk is encrypted.
func (m *Media) Encrypted() bool { return m.encrypted }

// Truncated reports whether an encrypted file ends before its last chunk
// (a killed recorder, or a recording still being written).
func (m *Media) Truncated() bool { return m.truncated }

// Close closes the file. It is idempotent.
func (m *Media) Close() error {
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}

// OpenMedia opens the recording at path for playback with k's identities
// (k may be nil: no keys). A plaintext file is served as it is; an
// encrypted one needs an identity: without any the error wraps ErrNoKeys,
// with none that matches ErrWrongKey — never the ciphertext as audio.
func (k *Keys) OpenMedia(path string) (*Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mediacrypt: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mediacrypt: %w", err)
	}
	m, err := k.OpenMediaAt(f, st.Size(), f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// OpenMediaAt is OpenMedia for a recording read through src (size bytes,
// such as an object in a bucket), named name in errors; Close closes c.
// On error c is not closed.
func (k *Keys) OpenMediaAt(src io.ReaderAt, size int64, c io.Closer, name string) (*Media, error) {
	if !Encrypted(src) {
		return &Media{ReaderAt: src, size: size, data: -1, f: c}, nil
	}
	if !k.CanDecrypt() {
		return nil, fmt.Errorf("%w: %s is encrypted and no decryption key (decrypt_keys) is configured", ErrNoKeys, name)
	}
	w, err := OpenWAV(src, size, k.identities...)
	if err != nil {
		return nil, fmt.Errorf("mediacrypt: %s: %w", name, err)
	}
	return &Media{ReaderAt: w, size: w.Size(), encrypted: true, truncated: w.Truncated(), data: w.DataSize(), f: c}, nil
}

// IsEncryptedFile reports whether the file at path is an encrypted
// recording (false when it cannot be read).
func IsEncryptedFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return Encrypted(f)
}

// EstimatePlaintext estimates the plaintext size of an encrypted file of
// size bytes without a key (the header slot, nonce and tags taken off):
// what a recorder that holds only public keys can say of a recording
// recovered after a crash. Exact for a finished file with the default
// header slot; checkpoint records (20 bytes each) make it slightly high.
func EstimatePlaintext(size int64) int64 {
	payload := size - DefaultHeaderSize - nonceLen
	if payload <= 0 {
		return 0
	}
	chunks := (payload + encChunkSize - 1) / encChunkSize
	return max(payload-chunks*overhead, 0)
}
