package mediacrypt_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/store/mediacrypt"
)

const cs = mediacrypt.ChunkSize

func TestRoundTrip(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	for _, tc := range []struct {
		name  string
		size  int
		piece int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"chunk minus one", cs - 1, 1000},
		{"exactly one chunk", cs, cs},
		{"chunk plus one", cs + 1, 7},
		{"three chunks", 3 * cs, 32000},
		{"odd tail", 5*cs + 12345, 32000},
		{"one big write", 4*cs + 1, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := randomBytes(tc.size, uint64(tc.size))
			ct := encrypt(t, plain, tc.piece, true, ra)
			r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), a)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(len(plain)) || r.Truncated() || r.Trailing() != 0 {
				t.Fatalf("Size %d Truncated %v Trailing %d, want %d false 0", r.Size(), r.Truncated(), r.Trailing(), len(plain))
			}
			if got := readAll(t, r, r.Size()); !bytes.Equal(got, plain) {
				t.Fatal("plaintext differs")
			}
			// A finished file is a standard age file.
			ar, err := age.Decrypt(bytes.NewReader(ct), a)
			if err != nil {
				t.Fatalf("age.Decrypt: %v", err)
			}
			got, err := io.ReadAll(ar)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("age.Decrypt: plaintext differs (err %v)", err)
			}
		})
	}
}

// Open reads what age itself writes (the payload format is age's STREAM).
func TestOpenReadsAgeFiles(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	for _, size := range []int{0, 1, cs, cs + 1, 3*cs - 5} {
		plain := randomBytes(size, 7)
		var ct bytes.Buffer
		w, err := age.Encrypt(&ct, ra)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := mediacrypt.Open(bytes.NewReader(ct.Bytes()), int64(ct.Len()), a)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if r.Truncated() || !bytes.Equal(readAll(t, r, r.Size()), plain) {
			t.Fatalf("size %d: truncated %v or plaintext differs", size, r.Truncated())
		}
	}
}

// A writer killed mid-recording leaves its sealed chunks; any cut of a file
// (also mid-chunk, also of a closed file) serves the whole chunks before it
// and reports the truncation. age refuses the same files.
func TestTruncatedPrefix(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	plain := randomBytes(4*cs+999, 3)

	killed := encrypt(t, plain, 32000, false, ra)
	r, err := mediacrypt.Open(bytes.NewReader(killed), int64(len(killed)), a)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated() || r.Size() != 4*cs {
		t.Fatalf("killed writer: Truncated %v Size %d, want true %d", r.Truncated(), r.Size(), 4*cs)
	}
	if !bytes.Equal(readAll(t, r, r.Size()), plain[:4*cs]) {
		t.Fatal("killed writer: prefix differs")
	}
	if _, err := io.ReadAll(mustAgeDecrypt(t, killed, a)); err == nil {
		t.Fatal("age accepted a truncated file; the recovery path would be pointless")
	}

	full := encrypt(t, plain, 32000, true, ra)
	hdr := len(full) - (4*(cs+16) + 999 + 16) // header + nonce
	enc := cs + 16
	for _, cut := range []int{0, hdr - 1, hdr, hdr + 10, hdr + enc - 1, hdr + enc, hdr + enc + 1, hdr + 3*enc + 500, hdr + 4*enc, len(full) - 1} {
		r, err := mediacrypt.Open(bytes.NewReader(full[:cut]), int64(cut), a)
		if cut < hdr-16 { // the header itself is cut
			if !errors.Is(err, mediacrypt.ErrHeader) {
				t.Errorf("cut %d: err %v, want ErrHeader", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		chunks := max(cut-hdr, 0) / enc
		trailing := cut - hdr - chunks*enc // ignored bytes after the prefix
		if cut < hdr {
			trailing = cut - (hdr - 16) // a partial nonce
		}
		if !r.Truncated() || r.Size() != int64(chunks*cs) || r.Trailing() != int64(trailing) {
			t.Errorf("cut %d: Truncated %v Size %d Trailing %d, want true %d %d", cut, r.Truncated(), r.Size(), r.Trailing(), chunks*cs, trailing)
		}
		if !bytes.Equal(readAll(t, r, r.Size()), plain[:r.Size()]) {
			t.Errorf("cut %d: prefix differs", cut)
		}
	}

	// Zeroed blocks after the prefix (a power loss after the size grew):
	// the reader steps back to the last chunk that authenticates.
	zeroed := append(bytes.Clone(killed), make([]byte, 2*enc+100)...)
	r, err = mediacrypt.Open(bytes.NewReader(zeroed), int64(len(zeroed)), a)
	if err != nil || !r.Truncated() || r.Size() != 4*cs {
		t.Fatalf("zero tail: %v Truncated %v Size %d", err, r != nil && r.Truncated(), sizeOf(r))
	}
}

func sizeOf(r *mediacrypt.Reader) int64 {
	if r == nil {
		return -1
	}
	return r.Size()
}

func mustAgeDecrypt(t *testing.T, ct []byte, id age.Identity) io.Reader {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestErrors(t *testing.T) {
	a, b, ra := identity(t, identityA), identity(t, identityB), recipient(t, recipientA)
	plain := randomBytes(2*cs+10, 5)
	ct := encrypt(t, plain, 32000, true, ra)
	open := func(ct []byte, ids ...age.Identity) error {
		r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), ids...)
		if err != nil {
			return err
		}
		_, err = r.ReadAt(make([]byte, r.Size()), 0)
		return err
	}
	flip := func(at int) []byte {
		c := bytes.Clone(ct)
		c[at] ^= 1
		return c
	}
	for _, tc := range []struct {
		name string
		err  error
		want []error // any of
	}{
		{"wrong key", open(ct, b), []error{mediacrypt.ErrWrongKey}},
		{"no identities", open(ct), []error{mediacrypt.ErrNoKeys}},
		{"plaintext WAV", open([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), a), []error{mediacrypt.ErrHeader}},
		{"empty file", open(nil, a), []error{mediacrypt.ErrHeader}},
		{"header MAC byte", open(flip(mediacrypt.DefaultHeaderSize-5), a), []error{mediacrypt.ErrCorrupt, mediacrypt.ErrHeader}},
		{"stanza byte", open(flip(40), a), []error{mediacrypt.ErrCorrupt, mediacrypt.ErrHeader, mediacrypt.ErrWrongKey}},
		{"padding byte", open(flip(300), a), []error{mediacrypt.ErrCorrupt}},
		{"nonce byte", open(flip(mediacrypt.DefaultHeaderSize+3), a), []error{mediacrypt.ErrCorrupt}},
		{"first chunk byte", open(flip(mediacrypt.DefaultHeaderSize+16+100), a), []error{mediacrypt.ErrCorrupt}},
		{"middle chunk byte", open(flip(mediacrypt.DefaultHeaderSize+16+cs+100), a), []error{mediacrypt.ErrCorrupt}},
	} {
		ok := false
		for _, w := range tc.want {
			ok = ok || errors.Is(tc.err, w)
		}
		if !ok {
			t.Errorf("%s: err %v, want one of %v", tc.name, tc.err, tc.want)
		}
	}
	// A damaged last chunk cannot be told from a torn write: the file opens
	// as truncated after its last good chunk, never as complete.
	damaged := flip(len(ct) - 1)
	r, err := mediacrypt.Open(bytes.NewReader(damaged), int64(len(damaged)), a)
	if err != nil || !r.Truncated() || r.Size() != 2*cs {
		t.Errorf("damaged last chunk: %v, Truncated %v, Size %d; want truncated at %d", err, r != nil && r.Truncated(), sizeOf(r), 2*cs)
	}
	if err := open(ct, b); !strings.Contains(err.Error(), "no identity matches") {
		t.Errorf("wrong key message: %v", err)
	}
}

func TestNewWriterErrors(t *testing.T) {
	ra := recipient(t, recipientA)
	if _, err := mediacrypt.NewWriter(io.Discard, nil, mediacrypt.Options{}); !errors.Is(err, mediacrypt.ErrNoKeys) {
		t.Errorf("no recipients: %v", err)
	}
	if _, err := mediacrypt.NewWriter(io.Discard, []age.Recipient{ra}, mediacrypt.Options{HeaderSize: 100}); !errors.Is(err, mediacrypt.ErrHeaderFull) {
		t.Errorf("tiny slot: %v", err)
	}
	many := make([]age.Recipient, 60)
	for i := range many {
		id, _ := age.GenerateX25519Identity()
		many[i] = id.Recipient()
	}
	if _, err := mediacrypt.NewWriter(io.Discard, many, mediacrypt.Options{}); !errors.Is(err, mediacrypt.ErrHeaderFull) {
		t.Errorf("60 recipients in 4 KiB: %v", err)
	}
	if _, err := mediacrypt.NewWriter(io.Discard, many, mediacrypt.Options{HeaderSize: 16 << 10}); err != nil {
		t.Errorf("60 recipients in 16 KiB: %v", err)
	}
	w, _ := mediacrypt.NewWriter(io.Discard, []age.Recipient{ra}, mediacrypt.Options{})
	w.Write([]byte("abc"))
	if _, err := w.Seek(0, io.SeekStart); !errors.Is(err, mediacrypt.ErrNotSeekable) {
		t.Errorf("Seek back: %v", err)
	}
	if _, err := w.WriteAt([]byte("x"), 1); !errors.Is(err, mediacrypt.ErrRewrite) {
		t.Errorf("rewrite: %v", err)
	}
	if _, err := w.WriteAt([]byte("b"), 1); err != nil {
		t.Errorf("identical rewrite: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, mediacrypt.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

// Several recipients: each identity alone opens the file.
func TestSeveralRecipients(t *testing.T) {
	ct := encrypt(t, []byte("hello"), 5, true, recipient(t, recipientA), recipient(t, recipientB))
	for _, s := range []string{identityA, identityB} {
		r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), identity(t, s))
		if err != nil || string(readAll(t, r, r.Size())) != "hello" {
			t.Fatalf("%s…: %v", s[:20], err)
		}
	}
}

// rendezvousReaderAt holds the first reads until two are in flight at
// once (or a few seconds passed): concurrent ReadAt calls of the Reader
// then overlap in the file reads for certain, not only when the scheduler
// happens to interleave them.
type rendezvousReaderAt struct {
	io.ReaderAt
	armed   atomic.Bool
	mu      sync.Mutex
	waiting int
	met     chan struct{}
}

func (r *rendezvousReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.armed.Load() {
		r.mu.Lock()
		r.waiting++
		if r.waiting == 2 {
			close(r.met)
		}
		r.mu.Unlock()
		select {
		case <-r.met:
		case <-time.After(5 * time.Second):
		}
	}
	return r.ReaderAt.ReadAt(p, off)
}

func TestConcurrentReadAt(t *testing.T) {
	plain := randomBytes(6*cs+3, 11)
	ct := encrypt(t, plain, 32000, true, recipient(t, recipientA))
	src := &rendezvousReaderAt{ReaderAt: bytes.NewReader(ct), met: make(chan struct{})}
	r, err := mediacrypt.Open(src, int64(len(ct)), identity(t, identityA))
	if err != nil {
		t.Fatal(err)
	}
	src.armed.Store(true) // after Open's header read
	defer func() {
		select {
		case <-src.met:
		default:
			t.Error("no two chunk reads were ever in flight at once")
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			buf := make([]byte, 5000)
			for i := range 50 {
				off := int64((g*7919 + i*104729) % (len(plain) - len(buf)))
				if _, err := r.ReadAt(buf, off); err != nil || !bytes.Equal(buf, plain[off:off+int64(len(buf))]) {
					t.Errorf("ReadAt %d: %v or data differs", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRewrap(t *testing.T) {
	a, b, ra, rb := identity(t, identityA), identity(t, identityB), recipient(t, recipientA), recipient(t, recipientB)
	plain := randomBytes(3*cs+77, 13)
	ct := encrypt(t, plain, 32000, true, ra)
	path := filepath.Join(t.TempDir(), "r.wav.age")
	if err := os.WriteFile(path, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := mediacrypt.RewrapFile(path, []age.Identity{b}, []age.Recipient{rb}); !errors.Is(err, mediacrypt.ErrWrongKey) {
		t.Fatalf("rewrap without the old key: %v", err)
	}
	if err := mediacrypt.RewrapFile(path, []age.Identity{a}, []age.Recipient{rb}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if len(got) != len(ct) || !bytes.Equal(got[mediacrypt.DefaultHeaderSize:], ct[mediacrypt.DefaultHeaderSize:]) {
		t.Fatal("rotation changed the payload (nonce and audio must stay as they are)")
	}
	if _, err := os.Stat(path + ".rewrap"); !os.IsNotExist(err) {
		t.Fatalf("journal left behind: %v", err)
	}
	if _, err := mediacrypt.Open(bytes.NewReader(got), int64(len(got)), a); !errors.Is(err, mediacrypt.ErrWrongKey) {
		t.Fatalf("old key after rotation: %v", err)
	}
	r, err := mediacrypt.Open(bytes.NewReader(got), int64(len(got)), b)
	if err != nil || !bytes.Equal(readAll(t, r, r.Size()), plain) {
		t.Fatalf("new key after rotation: %v", err)
	}
	// Still an age file.
	if dec, err := io.ReadAll(mustAgeDecrypt(t, got, b)); err != nil || !bytes.Equal(dec, plain) {
		t.Fatalf("age after rotation: %v", err)
	}
	// To both A and B in place, through the File form.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := mediacrypt.Rewrap(f, int64(len(got)), []age.Identity{b}, []age.Recipient{ra, rb}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []age.Identity{a, b} {
		if _, err := mediacrypt.OpenFile(path, id); err != nil {
			t.Fatalf("after rewrap to A and B: %v", err)
		}
	}
}

// A crash while the header is overwritten: the journal completes it.
func TestRecoverRewrap(t *testing.T) {
	a, b, ra, rb := identity(t, identityA), identity(t, identityB), recipient(t, recipientA), recipient(t, recipientB)
	plain := randomBytes(cs+5, 17)
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	os.WriteFile(orig, encrypt(t, plain, 32000, true, ra), 0o600)
	// The new header, as RewrapFile would journal it.
	if err := mediacrypt.RewrapFile(orig, []age.Identity{a}, []age.Recipient{rb}); err != nil {
		t.Fatal(err)
	}
	rotated, _ := os.ReadFile(orig)
	newHdr := rotated[:mediacrypt.DefaultHeaderSize]

	path := filepath.Join(dir, "torn")
	torn := encrypt(t, plain, 32000, true, ra)
	copy(torn[:100], newHdr[:100]) // half-written header
	copy(torn[mediacrypt.DefaultHeaderSize:], rotated[mediacrypt.DefaultHeaderSize:])
	os.WriteFile(path, torn, 0o600)
	os.WriteFile(path+".rewrap", newHdr, 0o600)
	applied, err := mediacrypt.RecoverRewrap(path)
	if err != nil || !applied {
		t.Fatalf("RecoverRewrap = %v, %v", applied, err)
	}
	r, err := mediacrypt.OpenFile(path, b)
	if err != nil || !bytes.Equal(readAll(t, r, r.Size()), plain) {
		t.Fatalf("after recovery: %v", err)
	}
	if applied, err := mediacrypt.RecoverRewrap(path); applied || err != nil {
		t.Fatalf("second RecoverRewrap = %v, %v", applied, err)
	}
	// A torn journal is discarded; the file is untouched.
	os.WriteFile(path+".rewrap", newHdr[:50], 0o600)
	if applied, err := mediacrypt.RecoverRewrap(path); applied || err != nil {
		t.Fatalf("torn journal: %v, %v", applied, err)
	}
	if _, err := os.Stat(path + ".rewrap"); !os.IsNotExist(err) {
		t.Fatal("torn journal kept")
	}
}

func TestShred(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	ct := encrypt(t, randomBytes(2*cs, 19), 32000, true, ra)
	path := filepath.Join(t.TempDir(), "r.wav.age")
	os.WriteFile(path, ct, 0o600)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := mediacrypt.Shred(f, int64(len(ct))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := mediacrypt.OpenFile(path, a); !errors.Is(err, mediacrypt.ErrHeader) {
		t.Fatalf("open after shred: %v, want ErrHeader", err)
	}
	got, _ := os.ReadFile(path)
	if bytes.Contains(got, []byte("X25519")) || bytes.Contains(got, []byte("age-encryption")) {
		t.Fatal("stanzas survive the shred")
	}
	if err := mediacrypt.ShredFile(path); !errors.Is(err, mediacrypt.ErrHeader) {
		t.Fatalf("ShredFile of a shredded file: %v", err)
	}
	os.WriteFile(path, ct, 0o600)
	os.WriteFile(path+".rewrap", ct[:mediacrypt.DefaultHeaderSize], 0o600) // a crashed rotation's journal
	if err := mediacrypt.ShredFile(path); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".rewrap"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("ShredFile left %s", p)
		}
	}
}

// Damage beyond what a crash leaves (more than 4 MiB that does not
// authenticate at the end) is an error, not a silently shortened file.
func TestLongGarbageTail(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	ct := encrypt(t, randomBytes(2*cs, 1), cs, false, ra)
	ct = append(ct, make([]byte, 70*(cs+16))...)
	if _, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), a); !errors.Is(err, mediacrypt.ErrCorrupt) {
		t.Fatalf("70 chunks of zeros: %v, want ErrCorrupt", err)
	}
}

func TestEncrypted(t *testing.T) {
	ct := encrypt(t, []byte("x"), 1, true, recipient(t, recipientA))
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"encrypted", ct, true},
		{"killed right after the header", ct[:mediacrypt.DefaultHeaderSize], true},
		{"plaintext WAV", []byte("RIFF\x00\x00\x00\x00WAVEfmt "), false},
		{"empty", nil, false},
		{"short", []byte("age-encryption"), false},
	} {
		if got := mediacrypt.Encrypted(bytes.NewReader(tc.b)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Post-quantum (ML-KEM-768 + X25519) recipients work and fit the default
// slot twice; mixing them with classic ones is refused, as age does.
func TestPostQuantumRecipients(t *testing.T) {
	id1, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := age.GenerateHybridIdentity()
	plain := randomBytes(cs+9, 4)
	ct := encrypt(t, plain, 4096, true, id1.Recipient(), id2.Recipient())
	for _, id := range []age.Identity{id1, id2} {
		r, err := mediacrypt.Open(bytes.NewReader(ct), int64(len(ct)), id)
		if err != nil || !bytes.Equal(readAll(t, r, r.Size()), plain) {
			t.Fatalf("post-quantum open: %v", err)
		}
	}
	_, err = mediacrypt.NewWriter(io.Discard, []age.Recipient{id1.Recipient(), recipient(t, recipientA)}, mediacrypt.Options{})
	if !errors.Is(err, mediacrypt.ErrIncompatibleRecipients) || !strings.Contains(err.Error(), "post-quantum and classic") {
		t.Fatalf("mixed recipients: %v", err)
	}
}

// TestShredDamagedHeader: a file that starts like an encrypted one but
// whose header does not parse (cut while the header was written, a
// damaged byte) still holds wrapped keys: ShredFile must destroy them and
// remove the file, not fail and leave it (deletion then left it behind).
func TestShredDamagedHeader(t *testing.T) {
	ra := recipient(t, recipientA)
	ct := encrypt(t, randomBytes(2*cs, 23), 32000, true, ra)
	stanza := bytes.Index(ct, []byte("-> X25519"))
	if stanza < 0 {
		t.Fatal("no stanza")
	}
	cut := bytes.Clone(ct[:stanza+200]) // header cut after the stanza
	damaged := bytes.Clone(ct)
	damaged[mediacrypt.DefaultHeaderSize/2] ^= 0xff // in the padding
	for name, data := range map[string][]byte{"cut": cut, "damaged": damaged} {
		path := filepath.Join(t.TempDir(), "r.wav.age")
		os.WriteFile(path, data, 0o600)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = mediacrypt.Shred(f, int64(len(data)))
		f.Close()
		if err != nil {
			t.Fatalf("%s: Shred: %v", name, err)
		}
		got, _ := os.ReadFile(path)
		if bytes.Contains(got, []byte("X25519")) || bytes.Contains(got, []byte("age-encryption")) || len(got) != len(data) {
			t.Fatalf("%s: stanzas survive the shred (%d bytes)", name, len(got))
		}
		os.WriteFile(path, data, 0o600)
		if err := mediacrypt.ShredFile(path); err != nil {
			t.Fatalf("%s: ShredFile: %v", name, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s: ShredFile left the file", name)
		}
	}
}
