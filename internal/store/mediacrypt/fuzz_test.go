package mediacrypt_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// FuzzOpen: no input file panics Open, ReadAt or the WAV layer, and what
// opens reads exactly Size bytes.
func FuzzOpen(f *testing.F) {
	ra := recipient(f, recipientA)
	small := randomBytes(300, 1)
	for _, seed := range [][]byte{
		nil,
		[]byte("age-encryption.org/v1\n-> X25519 abc\n\n--- AAAA\n"),
		encrypt(f, small, 100, true, ra),
		encrypt(f, randomBytes(cs+10, 2), 1000, true, ra),
		encrypt(f, randomBytes(cs+10, 2), 1000, false, ra),
	} {
		f.Add(seed)
	}
	ct, _ := encryptedWAV(f, wav.FormatALaw, 1, frames(wav.FormatALaw, 1, 0.2), ra)
	f.Add(ct)
	// A killed writer with checkpoint records after a sealed chunk.
	var m memFile
	w, _ := mediacrypt.NewWriter(&m, []age.Recipient{ra}, mediacrypt.Options{})
	for i := range 4 {
		w.Write(randomBytes(20000, uint64(i)))
		w.Checkpoint()
	}
	f.Add(bytes.Clone(m.b))
	a := identity(f, identityA)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := mediacrypt.Open(bytes.NewReader(data), int64(len(data)), a)
		if err != nil {
			return
		}
		// Open authenticates the last chunk; the others are checked as
		// they are read (a damaged middle chunk is ErrCorrupt there).
		b := make([]byte, r.Size()+1)
		n, err := r.ReadAt(b, 0)
		if errors.Is(err, mediacrypt.ErrCorrupt) {
			return
		}
		if int64(n) != r.Size() || err != io.EOF {
			t.Fatalf("ReadAt all: %d of %d, %v", n, r.Size(), err)
		}
		if w, err := mediacrypt.NewWAV(r); err == nil {
			b := make([]byte, w.Size()+1)
			if n, err := w.ReadAt(b, 0); int64(n) != w.Size() || (err != io.EOF && !errors.Is(err, mediacrypt.ErrCorrupt)) {
				t.Fatalf("WAV ReadAt all: %d of %d, %v", n, w.Size(), err)
			}
		}
	})
}

// FuzzWAV: any plaintext, encrypted, goes through OpenWAV without a
// panic; a served WAV has consistent sizes and decodes when its stored
// header is one the wav package reads.
func FuzzWAV(f *testing.F) {
	for _, fm := range []wav.Format{wav.FormatPCM16, wav.FormatALaw} {
		var m memFile
		w, _ := wav.NewWith(&m, fm, 2, rate)
		w.Write(frames(fm, 2, 0.01))
		w.Close()
		f.Add(m.b)
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"))
	ra, a := []age.Recipient{recipient(f, recipientA)}, identity(f, identityA)
	f.Fuzz(func(t *testing.T, plain []byte) {
		var dst bytes.Buffer
		ew, err := mediacrypt.NewWriter(&dst, ra, mediacrypt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ew.Write(plain)
		// Rewrites of header bytes must never panic either.
		for off := int64(0); off < min(int64(len(plain)), 64); off += 7 {
			ew.WriteAt([]byte{1, 2, 3, 4}, off)
		}
		if err := ew.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := mediacrypt.OpenWAV(bytes.NewReader(dst.Bytes()), int64(dst.Len()), a)
		if err != nil {
			return
		}
		if w.Size() > int64(len(plain))+1 || w.DataSize() > w.Size() {
			t.Fatalf("served %d bytes (data %d) from %d", w.Size(), w.DataSize(), len(plain))
		}
		b := make([]byte, w.Size())
		if _, err := w.ReadAt(b, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if dec, err := wav.Decode(bytes.NewReader(b)); err == nil && dec.Frames < 0 {
			t.Fatal("negative frames")
		}
	})
}

// FuzzRewrapShred: rotation and shredding of any file never panic; a
// rotation that succeeds leaves a file the new key opens and the old one
// does not, with the same size.
func FuzzRewrapShred(f *testing.F) {
	ra := recipient(f, recipientA)
	f.Add(encrypt(f, randomBytes(100, 1), 100, true, ra))
	f.Add(encrypt(f, randomBytes(cs+1, 1), 1000, false, ra))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n\n--- AAAA\n"))
	a, b, rb := identity(f, identityA), identity(f, identityB), recipient(f, recipientB)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &memFile{b: bytes.Clone(data)}
		if err := mediacrypt.Rewrap(m, int64(len(data)), []age.Identity{a}, []age.Recipient{rb}); err == nil {
			if len(m.b) != len(data) {
				t.Fatalf("rotation changed the size: %d → %d", len(data), len(m.b))
			}
			// The new key reads exactly what the old one read (rotation does
			// not look at the payload, which may be damaged).
			before, berr := mediacrypt.Open(bytes.NewReader(data), int64(len(data)), a)
			after, aerr := mediacrypt.Open(bytes.NewReader(m.b), int64(len(m.b)), b)
			if (berr == nil) != (aerr == nil) || (aerr != nil && !errors.Is(aerr, mediacrypt.ErrCorrupt)) {
				t.Fatalf("before rotation %v, after %v", berr, aerr)
			}
			if aerr == nil && (before.Size() != after.Size() || before.Truncated() != after.Truncated()) {
				t.Fatalf("size %d/%v before, %d/%v after", before.Size(), before.Truncated(), after.Size(), after.Truncated())
			}
			if _, err := mediacrypt.Open(bytes.NewReader(m.b), int64(len(m.b)), a); !errors.Is(err, mediacrypt.ErrWrongKey) {
				t.Fatalf("old key after rotation: %v", err)
			}
		}
		s := &memFile{b: bytes.Clone(data)}
		if err := mediacrypt.Shred(s, int64(len(data))); err == nil {
			if _, err := mediacrypt.Open(bytes.NewReader(s.b), int64(len(s.b)), a); !errors.Is(err, mediacrypt.ErrHeader) {
				t.Fatalf("open after shred: %v", err)
			}
		}
	})
}
