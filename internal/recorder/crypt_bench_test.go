package recorder

import (
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// BenchmarkMediaWriterCallSecond: what the recorder's file writer costs per
// call second (stereo µ-law, 16,000 B) as the mixer drives it: one Write
// and one Checkpoint (header rewrite; with encryption a checkpoint record)
// per flush, on a real file, plaintext WAV versus encrypted. fsync
// (fsync_interval) is left out: the same for both.
func BenchmarkMediaWriterCallSecond(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	rp := filepath.Join(b.TempDir(), "r.txt")
	os.WriteFile(rp, []byte(id.Recipient().String()+"\n"), 0o600)
	keys, err := mediacrypt.Config{Enabled: true, EncryptTo: rp}.Load()
	if err != nil {
		b.Fatal(err)
	}
	second := make([]byte, 16000)
	for i := range second {
		second[i] = byte(i*7) | 1
	}
	for _, tc := range []struct {
		name string
		open func(path string) (mediaWriter, error)
	}{
		{"plain", func(p string) (mediaWriter, error) { return wav.Create(p, wav.FormatULaw, 2, 8000) }},
		{"encrypted", func(p string) (mediaWriter, error) {
			return createCryptWAV(p, keys, "", wav.FormatULaw, 2, 8000)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			const perFile = 600 // a 10-minute call per file
			var w mediaWriter
			b.SetBytes(int64(len(second)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n%perFile == 0 {
					if w != nil {
						w.Close()
					}
					if w, err = tc.open(filepath.Join(dir, "c"+string(rune('a'+n/perFile%26))+".wav")); err != nil {
						b.Fatal(err)
					}
				}
				n++
				if _, err := w.Write(second); err != nil {
					b.Fatal(err)
				}
				if err := w.Checkpoint(); err != nil {
					b.Fatal(err)
				}
			}
			if w != nil {
				w.Close()
			}
		})
	}
}
