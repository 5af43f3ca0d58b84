package seal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// sealed writes a media file and its signed manifest; it returns the row,
// the media path and the key directory.
func sealed(t *testing.T) (*store.Recording, string, string) {
	t.Helper()
	dir := t.TempDir()
	media := filepath.Join(dir, "media", "R1.wav")
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(media, []byte("RIFF....WAVEfmt some audio bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, size, err := HashFile(media)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 123456789, time.UTC)
	r := &store.Recording{ID: "R1", Mode: store.ModeMSR, Status: store.StatusCompleted, CallUUID: "U1", StartedAt: t0,
		EndedAt: t0.Add(65 * time.Second), DurationMS: 65000, Channels: 2, Format: "ulaw", MediaPath: media, SizeBytes: size, SHA256: sum,
		Parties:      []store.Party{{Channel: 0, Role: store.RoleRecorded, DN: "5001"}, {Channel: 1, Role: store.RoleOther, DN: "+15550100"}},
		ExternalData: map[string]string{"GEN_REC_RULE": "all"}}
	keys := filepath.Join(dir, "keys")
	key, err := LoadOrCreateKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	m := New(r, t0.Add(66*time.Second))
	m.Sign(key)
	if err := Write(mediastore.Manifest(media), m); err != nil {
		t.Fatal(err)
	}
	return r, media, keys
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += len(b)
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, r *store.Recording, media, keys string)
		want   string // "" = intact
	}{
		{"intact", func(*testing.T, *store.Recording, string, string) {}, ""},
		{"one byte of audio flipped", func(t *testing.T, _ *store.Recording, media, _ string) { flipByte(t, media, -3) }, "media R1.wav changed"},
		{"one byte of the manifest flipped", func(t *testing.T, _ *store.Recording, media, _ string) {
			b, _ := os.ReadFile(mediastore.Manifest(media))
			i := strings.Index(string(b), `"duration_ms": 65000`) + len(`"duration_ms": 6`)
			flipByte(t, mediastore.Manifest(media), i)
		}, "signature does not verify"},
		{"row duration edited", func(_ *testing.T, r *store.Recording, _, _ string) { r.DurationMS = 5000 }, "row duration_ms 5000"},
		{"row and media replaced together", func(t *testing.T, r *store.Recording, media, _ string) {
			_ = os.WriteFile(media, []byte("other audio"), 0o600)
			r.SHA256, r.SizeBytes, _ = HashFile(media)
		}, "media differs from the signed manifest"},
		{"manifest removed", func(_ *testing.T, _ *store.Recording, media, _ string) { _ = os.Remove(mediastore.Manifest(media)) }, "no manifest"},
		{"manifest re-signed by another key", func(t *testing.T, r *store.Recording, media, _ string) {
			other, err := LoadOrCreateKey(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			m := New(r, time.Now())
			m.Sign(other)
			_ = Write(mediastore.Manifest(media), m)
		}, "signed by another key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, media, keys := sealed(t)
			c.tamper(t, r, media, keys)
			pub, err := LoadPublicKey(filepath.Join(keys, PublicKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			got := Check(r, media, pub)
			if c.want == "" {
				if len(got) != 0 {
					t.Errorf("intact recording: %q", got)
				}
				return
			}
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), c.want) {
				t.Errorf("problems %q, want one saying %q", got, c.want)
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second load: %v, same key %v", err, k1.Equal(k2))
	}
	for _, f := range []string{PrivateKeyFile, PublicKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, PrivateKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("a junk key file loaded")
	}
}
