package mediacrypt_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// Test-only key pairs (generated for these tests, protect nothing).
const (
	identityA  = "AGE-SECRET-KEY-1LS8PX4ZKN323W6M0S8TJJ8NAA7XXYNC4R5RKA7MP6NHPAQW4C72SHEF3K9"
	recipientA = "age1yfqmfms8rn5r8ylrsphexjha8fe5weyxakz6utf3gcj780w2kylsjdwx7x"
	identityB  = "AGE-SECRET-KEY-1FE8GLKNKD52P4XU888UW94DREC37YX826X8HAM7VAM29UWZHYVYSMN4DLK"
	recipientB = "age1g33w0mv836xq3c5pvenxftk2jl6vzq9jyeuhxyy804s4czu3tazse9zmu7"
)

func identity(t testing.TB, s string) *age.X25519Identity {
	t.Helper()
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func recipient(t testing.TB, s string) *age.X25519Recipient {
	t.Helper()
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// memFile is an in-memory io.WriteSeeker with WriteAt, a stand-in for the
// plain *os.File a WAV writer patches.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	n, err := m.WriteAt(p, m.pos)
	m.pos += int64(n)
	return n, err
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	m.pos = off
	return off, nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Sync() error { return nil }

func (m *memFile) Truncate(size int64) error {
	m.b = m.b[:min(size, int64(len(m.b)))]
	return nil
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encrypt writes plain through a Writer in pieces of up to piece bytes and
// returns the ciphertext; closed says whether Close ran (false models a
// killed writer: only sealed chunks reached dst).
func encrypt(t tb, plain []byte, piece int, closed bool, rs ...age.Recipient) []byte {
	t.Helper()
	var dst bytes.Buffer
	w, err := mediacrypt.NewWriter(&dst, rs, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p := plain; len(p) > 0; {
		k := min(piece, len(p))
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if closed {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst.Bytes()
}

func readAll(t tb, r io.ReaderAt, size int64) []byte {
	t.Helper()
	b := make([]byte, size)
	n, err := r.ReadAt(b, 0)
	if err != nil && !(err == io.EOF && int64(n) == size) {
		t.Fatalf("ReadAt(0, %d) = %d, %v", size, n, err)
	}
	return b
}
