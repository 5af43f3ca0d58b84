package mediacrypt_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"pgregory.net/rapid"

	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// With checkpoints, a killed writer loses nothing written before its last
// Checkpoint; any cut of the file still serves an authenticated prefix;
// a closed file is plain age again (records truncated away).
func TestCheckpointProperty(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	rapid.Check(t, func(rt *rapid.T) {
		var f memFile
		w, err := mediacrypt.NewWriter(&f, []age.Recipient{ra}, mediacrypt.Options{})
		if err != nil {
			rt.Fatal(err)
		}
		plain := randomBytes(rapid.IntRange(0, 3*cs+500).Draw(rt, "size"), 5)
		checkpointed := 0
		for p := 0; p < len(plain); {
			k := min(rapid.IntRange(1, cs/2).Draw(rt, "piece"), len(plain)-p)
			w.Write(plain[p : p+k])
			p += k
			if rapid.Bool().Draw(rt, "checkpoint") {
				if err := w.Checkpoint(); err != nil {
					rt.Fatal(err)
				}
				checkpointed = p
			}
		}
		killed := bytes.Clone(f.b)
		r, err := mediacrypt.Open(bytes.NewReader(killed), int64(len(killed)), a)
		if err != nil {
			rt.Fatal(err)
		}
		// Everything checkpointed or in a sealed chunk (a full buffer is
		// sealed when the next byte comes).
		sealed := 0
		if len(plain) > 0 {
			sealed = (len(plain) - 1) / cs * cs
		}
		if r.Size() < int64(max(checkpointed, sealed)) || !r.Truncated() {
			rt.Fatalf("killed: Size %d Truncated %v, want >= %d (checkpointed %d, sealed %d)", r.Size(), r.Truncated(), max(checkpointed, sealed), checkpointed, sealed)
		}
		if !bytes.Equal(readAll(rt, r, r.Size()), plain[:r.Size()]) {
			rt.Fatal("killed: prefix differs")
		}
		// Any cut: a prefix of the plaintext, never an error.
		cut := rapid.IntRange(0, len(killed)).Draw(rt, "cut")
		if r, err := mediacrypt.Open(bytes.NewReader(killed[:cut]), int64(cut), a); err == nil {
			if !bytes.Equal(readAll(rt, r, r.Size()), plain[:r.Size()]) {
				rt.Fatal("cut: prefix differs")
			}
		} else if cut >= mediacrypt.DefaultHeaderSize {
			rt.Fatalf("cut %d: %v", cut, err)
		}
		if err := w.Close(); err != nil {
			rt.Fatal(err)
		}
		ar, err := age.Decrypt(bytes.NewReader(f.b), a)
		if err != nil {
			rt.Fatalf("closed file is not age: %v", err)
		}
		if got, err := io.ReadAll(ar); err != nil || !bytes.Equal(got, plain) {
			rt.Fatalf("closed file: %v or plaintext differs", err)
		}
	})
}

// Checkpoint records never reach a destination without WriteAt+Truncate,
// nor one with NoCheckpoints.
func TestCheckpointOff(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	for name, mk := range map[string]func() (io.Writer, func() []byte){
		"bytes.Buffer":  func() (io.Writer, func() []byte) { var b bytes.Buffer; return &b, b.Bytes },
		"NoCheckpoints": func() (io.Writer, func() []byte) { var m memFile; return &m, func() []byte { return m.b } },
	} {
		dst, get := mk()
		w, err := mediacrypt.NewWriter(dst, []age.Recipient{ra}, mediacrypt.Options{NoCheckpoints: name == "NoCheckpoints"})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randomBytes(1000, 1))
		if err := w.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		ct := get()
		r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), a)
		if err != nil || r.Size() != 0 || !r.Truncated() {
			t.Errorf("%s: %v, Size %d", name, err, sizeOf(r))
		}
	}
}

// One checkpoint per one-second write of a stereo PCM16 call, over several
// chunks; every cut of the file serves an authenticated prefix that ends
// no earlier than the last record wholly before the cut.
func TestCheckpointEveryWrite(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	var f memFile
	w, err := mediacrypt.NewWriter(&f, []age.Recipient{ra}, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(3*cs+20000, 9)
	for p := 0; p < len(plain); p += 32000 {
		w.Write(plain[p:min(p+32000, len(plain))])
		if err := w.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		r, err := mediacrypt.Open(bytes.NewReader(f.b), int64(len(f.b)), a)
		if err != nil || r.Size() != int64(min(p+32000, len(plain))) {
			t.Fatalf("after %d bytes: %v, Size %d", min(p+32000, len(plain)), err, sizeOf(r))
		}
	}
	killed := bytes.Clone(f.b)
	prev := int64(0)
	for cut := mediacrypt.DefaultHeaderSize + 16; cut <= len(killed); cut += 997 {
		r, err := mediacrypt.Open(bytes.NewReader(killed[:cut]), int64(cut), a)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if !bytes.Equal(readAll(t, r, r.Size()), plain[:r.Size()]) {
			t.Fatalf("cut %d: prefix differs", cut)
		}
		if r.Size() < prev {
			t.Fatalf("cut %d: Size %d shrank from %d", cut, r.Size(), prev)
		}
		prev = r.Size()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := mediacrypt.Open(bytes.NewReader(f.b), int64(len(f.b)), a)
	if err != nil || r.Truncated() || r.Size() != int64(len(plain)) {
		t.Fatalf("closed: %v", err)
	}
}

// A file opened with O_APPEND cannot take records: the Writer still works,
// without checkpoints.
func TestCheckpointAppendFile(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "r"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := mediacrypt.NewWriter(f, []age.Recipient{ra}, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(cs+100, 3)
	w.Write(plain)
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync on an O_APPEND file: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := mediacrypt.OpenFile(f.Name(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Truncated() || !bytes.Equal(readAll(t, r, r.Size()), plain) {
		t.Fatal("plaintext differs")
	}
}
