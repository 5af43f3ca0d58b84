package mediacrypt_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

func TestOpenMedia(t *testing.T) {
	dir := t.TempDir()
	ct, plain := encryptedWAV(t, wav.FormatPCM16, 2, frames(wav.FormatPCM16, 2, 1.5), recipient(t, recipientA))
	enc := filepath.Join(dir, "enc.wav")
	clear := filepath.Join(dir, "clear.wav")
	if err := os.WriteFile(enc, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clear, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	idsA := writeFile(t, dir, "a.txt", identityA+"\n")
	idsB := writeFile(t, dir, "b.txt", identityB+"\n")
	keysA, err := mediacrypt.IdentityKeys(idsA)
	if err != nil {
		t.Fatal(err)
	}
	keysB, err := mediacrypt.IdentityKeys(idsB)
	if err != nil {
		t.Fatal(err)
	}
	if keysA.Encrypts() || !keysA.CanDecrypt() {
		t.Errorf("identity keys: Encrypts %v CanDecrypt %v, want false true", keysA.Encrypts(), keysA.CanDecrypt())
	}
	var none *mediacrypt.Keys
	if none.Encrypts() || none.CanDecrypt() {
		t.Error("nil keys encrypt or decrypt")
	}
	read := func(m *mediacrypt.Media) []byte {
		t.Helper()
		b, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		keys      *mediacrypt.Keys
		path      string
		encrypted bool
		err       error
	}{
		{"plaintext, no keys", none, clear, false, nil},
		{"plaintext, keys", keysA, clear, false, nil},
		{"encrypted, right key", keysA, enc, true, nil},
		{"encrypted, no keys", none, enc, false, mediacrypt.ErrNoKeys},
		{"encrypted, wrong key", keysB, enc, false, mediacrypt.ErrWrongKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.keys.OpenMedia(tc.path)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			defer m.Close()
			if m.Encrypted() != tc.encrypted || !bytes.Equal(read(m), plain) {
				t.Errorf("encrypted %v, plaintext equal %v", m.Encrypted(), bytes.Equal(read(m), plain))
			}
		})
	}
	if !mediacrypt.IsEncryptedFile(enc) || mediacrypt.IsEncryptedFile(clear) || mediacrypt.IsEncryptedFile(filepath.Join(dir, "none")) {
		t.Error("IsEncryptedFile wrong")
	}
}

func TestEphemeral(t *testing.T) {
	path := filepath.Join(t.TempDir(), "derived.mp3.age")
	e, err := mediacrypt.NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(path)
	w, err := e.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("ID3 mp3 frames "), 10000)
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("ID3 mp3")) {
		t.Error("plaintext on disk")
	}
	r, err := e.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	r.Close()
	if !bytes.Equal(got, plain) || r.Truncated() {
		t.Errorf("read back %d bytes (truncated %v), want %d", len(got), r.Truncated(), len(plain))
	}
	other, _ := mediacrypt.NewEphemeral() // the next process
	if _, err := other.OpenFile(path); !errors.Is(err, mediacrypt.ErrWrongKey) {
		t.Errorf("another process's key: %v, want ErrWrongKey", err)
	}
}
