package expire

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/testtool"
)

// Deleting an encrypted recording crypto-shreds its files before removing
// them: a copy of the blocks (here a hard link to the same inode, as an
// undelete tool would see them) no longer decrypts. Plaintext files are
// removed as before.
func TestDeleteShredsEncryptedFiles(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.add(t, "R1", "", "+331", "5001", t0, store.StatusCompleted)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := mediacrypt.NewWriter(&ct, []age.Recipient{id.Recipient()}, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("RIFF....WAVEfmt audio"))
	w.Close()
	raw := filepath.Join(f.dir, "media", "R1.ch0.rtpraw")
	for _, p := range []string{r.MediaPath, raw} {
		if err := os.WriteFile(p, ct.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep := t.TempDir()
	links := map[string]string{}
	for _, p := range []string{r.MediaPath, raw, filepath.Join(f.dir, "media", "R1.sdp")} {
		links[p] = filepath.Join(keep, filepath.Base(p))
		if err := os.Link(p, links[p]); err != nil {
			testtool.Missing(t, "hard links: %v", err)
		}
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); err != nil {
		t.Fatal(err)
	}
	if row, media := f.exists(t, "R1"); row || media {
		t.Fatalf("after delete: row %v media %v", row, media)
	}
	for _, p := range []string{r.MediaPath, raw} {
		b, err := os.ReadFile(links[p])
		if err != nil {
			t.Fatal(err)
		}
		if mediacrypt.Encrypted(bytes.NewReader(b)) {
			t.Errorf("%s: header still there after deletion (not shredded)", filepath.Base(p))
		}
		if _, err := mediacrypt.Open(bytes.NewReader(b), int64(len(b)), id); err == nil {
			t.Errorf("%s: still decrypts after deletion", filepath.Base(p))
		}
	}
	if b, _ := os.ReadFile(links[filepath.Join(f.dir, "media", "R1.sdp")]); string(b) != "R1" {
		t.Errorf("plaintext sidecar changed: %q (removed, not shredded)", b)
	}
}
