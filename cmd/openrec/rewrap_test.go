package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/seal"
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

// TestRewrapResumesAfterStop: a rotation stopped after the header was
// rewritten but before the row got the new hash (kill -9 between the two)
// is finished by the next run — not reported as a recording that "changed
// since it was sealed" for ever — while a real change still is.
func TestRewrapResumesAfterStop(t *testing.T) {
	keys := t.TempDir()
	r1, i1 := keyPair(t, keys, "old")
	r2, i2 := keyPair(t, keys, "new")
	rs, _ := mediacrypt.ParseRecipientsFile(r1)
	var rows []*store.Recording
	bodies := map[string][]byte{}
	for _, id := range []string{"stopped", "tampered"} {
		var b bytes.Buffer
		w, err := mediacrypt.NewWriter(&b, rs, mediacrypt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte(id), 30000))
		w.Close()
		r := completedRecording()
		r.ID, r.MediaPath = id, "media/2026/11/03/"+id+".wav"
		sum := sha256.Sum256(b.Bytes())
		r.SHA256, r.SizeBytes = hex.EncodeToString(sum[:]), int64(b.Len())
		rows = append(rows, r)
		bodies[id] = b.Bytes()
	}
	data := seedDataDir(t, rows...)
	for id, body := range bodies {
		p := filepath.Join(data, "media/2026/11/03", id+".wav")
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := mediacrypt.ParseIdentitiesFile(i1)
	nrs, _ := mediacrypt.ParseRecipientsFile(r2)
	db, err := openExistingStore(context.Background(), storeLoc{dataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadOrCreateKey(filepath.Join(data, app.KeysDir))
	if err != nil {
		t.Fatal(err)
	}
	// the first run rotates the files, then stops before the rows
	stop := errors.New("killed")
	rep, err := rewrapAll(context.Background(), db, data, nil, "", key, func(p string) error {
		if err := mediacrypt.RewrapFile(p, ids, nrs); err != nil {
			return err
		}
		return stop
	}, io.Discard)
	db.Close()
	if err != nil || len(rep.Failed) != 2 {
		t.Fatalf("stopped run: %+v %v", rep, err)
	}
	// meanwhile one of them is changed after its header
	tp := filepath.Join(data, "media/2026/11/03/tampered.wav")
	tb, _ := os.ReadFile(tp)
	tb[len(tb)-50] ^= 1
	os.WriteFile(tp, tb, 0o600)

	out, errOut, err := runCLI(t, "recordings", "rewrap", "--data-dir", data, "--decrypt-keys", i1, "--encrypt-to", r2, "--all")
	if err == nil || !strings.Contains(out, "rewrapped 1 recordings") || !strings.Contains(errOut, "tampered") ||
		strings.Contains(errOut, "stopped") {
		t.Fatalf("second run: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	sp := filepath.Join(data, "media/2026/11/03/stopped.wav")
	nids, _ := mediacrypt.ParseIdentitiesFile(i2)
	r, err := mediacrypt.OpenFile(sp, nids...)
	if err != nil {
		t.Fatalf("the resumed recording does not open with the new key: %v", err)
	}
	r.Close()
	if _, err := os.Stat(sp + rewrapIntentSuffix); !os.IsNotExist(err) {
		t.Error("the rotation note is left behind")
	}
	if out, err := run(t, "verify", "--data-dir", data, "stopped"); err != nil {
		t.Errorf("verify after the resumed rotation: %v\n%s", err, out)
	}
}
