package mediacrypt_test

import (
	"bytes"
	"io"
	"testing"

	"pgregory.net/rapid"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// Any ReadAt of the plaintext — any size, write pattern, truncation — is
// the plaintext's bytes at that offset, and io.EOF exactly at the end.
func TestReadAtProperty(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	rapid.Check(t, func(rt *rapid.T) {
		size := rapid.IntRange(0, 4*cs+100).Draw(rt, "size")
		piece := rapid.IntRange(1, 2*cs).Draw(rt, "piece")
		closed := rapid.Bool().Draw(rt, "closed")
		plain := randomBytes(size, uint64(size))
		ct := encrypt(rt, plain, piece, closed, ra)
		r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), a)
		if err != nil {
			rt.Fatal(err)
		}
		want := plain
		if !closed {
			want = plain[:size/cs*cs] // the sealed chunks
			if size%cs == 0 && size > 0 {
				want = plain[:size-cs] // a full last chunk waits for more data
			}
		}
		if r.Size() != int64(len(want)) || r.Truncated() == closed {
			rt.Fatalf("Size %d Truncated %v, want %d %v", r.Size(), r.Truncated(), len(want), !closed)
		}
		for range 20 {
			off := rapid.Int64Range(0, int64(len(want))+10).Draw(rt, "off")
			n := rapid.IntRange(0, 3*cs).Draw(rt, "n")
			checkRange(rt, r, want, off, n)
		}
	})
}

// Range reads of a served WAV equal the plaintext WAV at random offsets.
func TestWAVRangeProperty(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	formats := []wav.Format{wav.FormatPCM16, wav.FormatALaw, wav.FormatULaw}
	rapid.Check(t, func(rt *rapid.T) {
		f := rapid.SampledFrom(formats).Draw(rt, "format")
		channels := rapid.IntRange(1, 2).Draw(rt, "channels")
		n := rapid.IntRange(0, 5*rate).Draw(rt, "frames")
		ct, plain := encryptedWAV(rt, f, channels, frames(f, channels, float64(n)/rate), ra)
		w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), a)
		if err != nil {
			rt.Fatal(err)
		}
		if w.Size() != int64(len(plain)) {
			rt.Fatalf("Size %d, want %d", w.Size(), len(plain))
		}
		for range 20 {
			off := rapid.Int64Range(0, int64(len(plain))+10).Draw(rt, "off")
			k := rapid.IntRange(0, 2*cs).Draw(rt, "n")
			checkRange(rt, w, plain, off, k)
		}
	})
}

func checkRange(t rapid.TB, r io.ReaderAt, want []byte, off int64, n int) {
	got := make([]byte, n)
	k, err := r.ReadAt(got, off)
	end := min(off+int64(n), int64(len(want)))
	exp := []byte{}
	if off < int64(len(want)) {
		exp = want[off:end]
	}
	if k != len(exp) || !bytes.Equal(got[:k], exp) {
		t.Fatalf("ReadAt(%d, %d) = %d bytes (want %d) or bytes differ", n, off, k, len(exp))
	}
	if short := k < n; short != (err == io.EOF) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt(%d, %d): err %v with %d of %d bytes", n, off, err, k, n)
	}
}
