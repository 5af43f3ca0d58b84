package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// rewrap rotates the encrypted recordings it is given, skips (and counts)
// recordings in clear and in progress, and refuses — leaving the file as
// it is — a recording whose stored bytes no longer match its sha256: a
// rotation must not launder a change by sealing it again.
func TestRewrapSkipsAndRefuses(t *testing.T) {
	keys := t.TempDir()
	r1, i1 := keyPair(t, keys, "old")
	r2, _ := keyPair(t, keys, "new")
	rs, err := mediacrypt.ParseRecipientsFile(r1)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := func() []byte {
		var b bytes.Buffer
		w, err := mediacrypt.NewWriter(&b, rs, mediacrypt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("audio"), 20000))
		w.Close()
		return b.Bytes()
	}
	recs := map[string][]byte{"enc-ok": encrypted(), "enc-tampered": encrypted(), "clear": []byte("RIFF....WAVEfmt ")}
	var rows []*store.Recording
	for id, body := range recs {
		r := completedRecording()
		r.ID, r.MediaPath = id, "media/2026/11/03/"+id+".wav"
		sum := sha256.Sum256(body)
		r.SHA256, r.SizeBytes = hex.EncodeToString(sum[:]), int64(len(body))
		rows = append(rows, r)
	}
	live := completedRecording()
	live.ID, live.Status, live.MediaPath = "live", store.StatusRecording, "media/2026/11/03/live.wav"
	data := seedDataDir(t, append(rows, live)...)
	for id, body := range recs {
		p := filepath.Join(data, "media/2026/11/03", id+".wav")
		os.MkdirAll(filepath.Dir(p), 0o700)
		if id == "enc-tampered" {
			body = append([]byte(nil), body...)
			body[len(body)-100] ^= 1
		}
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tampered := filepath.Join(data, "media/2026/11/03/enc-tampered.wav")
	before, _ := os.ReadFile(tampered)
	out, errOut, err := runCLI(t, "recordings", "rewrap", "--data-dir", data, "--decrypt-keys", i1, "--encrypt-to", r2, "--all")
	if err == nil || !strings.Contains(out, "rewrapped 1 recordings; skipped 1 in clear, 1 in progress; 1 failed") ||
		!strings.Contains(errOut, "enc-tampered") || !strings.Contains(errOut, "changed since it was sealed") {
		t.Errorf("rewrap: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	if after, _ := os.ReadFile(tampered); !bytes.Equal(after, before) {
		t.Error("the changed recording was rotated anyway")
	}
	ok := filepath.Join(data, "media/2026/11/03/enc-ok.wav")
	ids, _ := mediacrypt.ParseIdentitiesFile(i1)
	if r, err := mediacrypt.OpenFile(ok, ids...); err == nil {
		r.Close()
		t.Error("the rotated recording still opens with the old key")
	}
	for _, args := range [][]string{
		{"--decrypt-keys", i1, "--encrypt-to", r2},                   // neither --all nor an ID
		{"--decrypt-keys", i1, "--encrypt-to", r2, "--all", "clear"}, // both
		{"--decrypt-keys", r1, "--encrypt-to", r2, "--all"},          // a public key as identity
	} {
		if _, _, err := runCLI(t, append([]string{"recordings", "rewrap", "--data-dir", data}, args...)...); err == nil {
			t.Errorf("rewrap %v accepted", args)
		}
	}
}
