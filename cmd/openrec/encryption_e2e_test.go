package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// keyPair writes an age key pair (age-keygen's files) to dir.
func keyPair(t *testing.T, dir, name string) (recipients, identities string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipients, identities = filepath.Join(dir, name+".recipients"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(recipients, []byte(id.Recipient().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(identities, []byte("# created: test\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return recipients, identities
}

// scanPlaintext fails for any media file of data holding a WAV header or,
// read as the stored µ-law, one of the tones.
func scanPlaintext(t *testing.T, data string, tones []float64) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(data, "media"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasSuffix(p, ".sdp") || strings.HasSuffix(p, ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		n++
		if bytes.Contains(b, []byte("RIFF")) || bytes.Contains(b, []byte("WAVE")) || !mediacrypt.Encrypted(bytes.NewReader(b)) {
			t.Errorf("%s: plaintext WAV or not encrypted", filepath.Base(p))
		}
		s := make([]int16, len(b))
		for i, c := range b {
			s[i] = g711.DecodeULaw(c)
		}
		for _, f := range tones {
			for off := 0; off+8000 <= len(s); off += 4000 {
				if audiotest.HasTone(s[off:off+8000], 8000, f, tones) {
					t.Errorf("%s: %v Hz tone in the raw bytes", filepath.Base(p), f)
					break
				}
			}
		}
		return nil
	})
	return n
}

// Issue 13 item 3 with the real binary: serve --encrypt-to records
// encrypted; kill -9 mid-call, restart: the recording is partial and its
// flushed prefix exports (--decrypt-keys) as a plaintext WAV with the
// tones; rewrap rotates to a new key (the old one no longer opens it, the
// new one does, verify still passes); erasure shreds the file.
func TestEncryptedKill9ExportRewrapErase(t *testing.T) {
	data, keys := t.TempDir(), t.TempDir()
	if out, err := run(t, "admin", "create-user", "--data-dir", data, "--name", "ops", "--password", "a-long-password", "--role", "admin"); err != nil {
		t.Fatalf("create-user: %v\n%s", err, out)
	}
	r1, i1 := keyPair(t, keys, "old")
	r2, i2 := keyPair(t, keys, "new")
	tones := []float64{440, 1000}
	s := startServe(t, data, "33600-33799", "--encrypt-to", r1, "--decrypt-keys", i1)
	call := exec.Command(binPath, "dial", "--target", s.sipAddr, "--duration", "8s", "--tones", "440,1000", "--dn", "5001")
	call.Stdout, call.Stderr = io.Discard, io.Discard
	if err := call.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = call.Process.Kill(); _ = call.Wait() }()
	// Kill once the file holds 2.5 s of flushed audio (stereo µ-law: 16 kB/s
	// after the 4 kB header).
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		matches, _ := filepath.Glob(filepath.Join(data, "media", "*", "*", "*", "*.wav.part"))
		for _, p := range matches {
			if st, err := os.Stat(p); err == nil && st.Size() > 4096+16+40000 { // 2.5 s: the checks below want 2 s
				return true, ""
			}
		}
		return false, fmt.Sprintf("files %v", matches)
	}, "a recording in progress grows to 2.5 s")
	if scanPlaintext(t, data, tones) == 0 {
		t.Fatal("no media file while recording")
	}
	s.stop(t, syscall.SIGKILL)

	s2 := startServe(t, data, "33800-33999", "--encrypt-to", r1, "--decrypt-keys", i1)
	recs := listJSON(t, data)
	if len(recs) != 1 || recs[0].Status != "partial" || !strings.Contains(recs[0].StatusReason, "recovered") {
		t.Fatalf("after kill -9: %+v", recs)
	}
	r := recs[0]
	if r.DurationMS < 2000 {
		t.Errorf("recovered duration %d ms, want >= 2000", r.DurationMS)
	}
	scanPlaintext(t, data, tones)

	// Replay of the recovered recording through the API: the flushed
	// prefix as a WAV with the tones, and Range requests of it.
	base, token := "http://"+s2.httpAddr, apiToken(t, s2.httpAddr, "ops", "a-long-password")
	code, _, body := apiCall(t, base, "GET", "/api/v1/recordings/"+r.ID+"/media?format=wav", token, nil, nil)
	replayed := filepath.Join(t.TempDir(), "replay.wav")
	os.WriteFile(replayed, body, 0o600)
	if w, err := wav.ReadFile(replayed); code != 200 || err != nil || w.Duration() < 2*time.Second ||
		!audiotest.HasTone(w.Channel(0), 8000, 440, tones) || !audiotest.HasTone(w.Channel(1), 8000, 1000, tones) {
		t.Errorf("API replay after kill -9: %d, %v", code, err)
	}
	for _, rg := range [][2]int{{0, 99}, {len(body)/2 - 1000, len(body)/2 + 1000}, {len(body) - 1000, len(body) - 1}} {
		code, _, part := apiCall(t, base, "GET", "/api/v1/recordings/"+r.ID+"/media?format=wav", token, nil,
			map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", rg[0], rg[1])})
		if code != 206 || !bytes.Equal(part, body[rg[0]:rg[1]+1]) {
			t.Errorf("Range %v after kill -9: %d, %d bytes", rg, code, len(part))
		}
	}

	// Export: a plaintext WAV with the keys serve uses (found through the
	// data dir) or --decrypt-keys, audited; refused without any key.
	out := filepath.Join(t.TempDir(), "call.wav")
	if o, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", out); err != nil || !strings.Contains(o, "decrypted to plaintext") {
		t.Fatalf("export with serve's keys: %v\n%s", err, o)
	}
	os.Remove(out)
	pointer := filepath.Join(data, "keys", "decrypt_keys.path")
	saved, err := os.ReadFile(pointer)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(pointer) // as after a serve without decrypt_keys
	if o, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", out); err == nil || !strings.Contains(o, "encrypted at rest: pass --decrypt-keys") {
		t.Errorf("export without a key: %v\n%s", err, o)
	}
	os.WriteFile(pointer, saved, 0o600)
	if o, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", out, "--decrypt-keys", i1); err != nil || !strings.Contains(o, "decrypted to plaintext") {
		t.Fatalf("export --decrypt-keys: %v\n%s", err, o)
	}
	f, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Duration() < 2*time.Second || !audiotest.HasTone(f.Channel(0), 8000, 440, tones) || !audiotest.HasTone(f.Channel(1), 8000, 1000, tones) {
		t.Errorf("exported prefix: %v, want >= 2 s with 440 Hz left and 1000 Hz right", f.Duration())
	}
	before, _ := os.ReadFile(out)

	// Rotation: old key → new key, audio untouched.
	media := r.MediaPath
	stored, _ := os.ReadFile(media)
	if o, err := run(t, "recordings", "rewrap", "--data-dir", data, "--decrypt-keys", i1, "--encrypt-to", r2, "--all"); err != nil || !strings.Contains(o, "rewrapped 1 recordings") {
		t.Fatalf("rewrap: %v\n%s", err, o)
	}
	rotated, _ := os.ReadFile(media)
	if len(rotated) != len(stored) || !bytes.Equal(rotated[4096:], stored[4096:]) || bytes.Equal(rotated[:4096], stored[:4096]) {
		t.Errorf("rewrap changed more (or less) than the 4 KiB header: %d → %d bytes", len(stored), len(rotated))
	}
	out2 := filepath.Join(t.TempDir(), "call.wav")
	if o, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", out2, "--decrypt-keys", i1); err == nil {
		t.Errorf("the old key still opens the rotated recording:\n%s", o)
	}
	if o, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", out2, "--decrypt-keys", i2); err != nil {
		t.Fatalf("export with the new key: %v\n%s", err, o)
	}
	if after, _ := os.ReadFile(out2); !bytes.Equal(after, before) {
		t.Error("audio changed by rotation")
	}
	if o, err := run(t, "verify", "--data-dir", data, "--all"); err != nil {
		t.Errorf("verify after rotation: %v\n%s", err, o)
	}
	if o, err := run(t, "verify", "--data-dir", data, "--all", "--dtmf"); err == nil || !strings.Contains(o, "no identity matches") {
		t.Errorf("verify --dtmf with serve's (now rotated-out) key: %v\n%s", err, o)
	}
	if o, err := run(t, "verify", "--data-dir", data, "--all", "--dtmf", "--decrypt-keys", i2); err != nil {
		t.Errorf("verify --dtmf --decrypt-keys: %v\n%s", err, o)
	}
	if o, _ := run(t, "recordings", "show", r.ID, "--data-dir", data); !strings.Contains(o, "Encrypted") {
		t.Errorf("show does not say the recording is encrypted:\n%s", o)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := db.ListAudit(context.Background(), store.AuditFilter{RecordingID: r.ID})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+": "+e.Detail)
	}
	joined := strings.Join(actions, "\n")
	if !strings.Contains(joined, "export: plaintext (decrypted): ") || !strings.Contains(joined, "rewrap: sha256 ") {
		t.Errorf("audit log lacks the plaintext export or the rewrap:\n%s", joined)
	}

	// Erasure shreds: a hard link (the blocks an undelete would find)
	// no longer decrypts with any key.
	link := filepath.Join(t.TempDir(), "blocks")
	if err := os.Link(media, link); err != nil {
		testtool.Missing(t, "hard link: %v", err)
	}
	if o, err := run(t, "recordings", "erase", "--dn", "5001", "--data-dir", data); err != nil {
		t.Fatalf("erase: %v\n%s", err, o)
	}
	left, _ := os.ReadFile(link)
	if mediacrypt.Encrypted(bytes.NewReader(left)) {
		t.Error("erased recording's header survives: not shredded")
	}
	for _, keyFile := range []string{i1, i2} {
		ids, _ := mediacrypt.ParseIdentitiesFile(keyFile)
		if m, err := mediacrypt.OpenFile(link, ids...); err == nil {
			m.Close()
			t.Errorf("erased recording still decrypts with %s", filepath.Base(keyFile))
		}
	}
	s2.stop(t, syscall.SIGINT)
}

// serve refuses an encryption setting it cannot use, with the reason.
func TestServeRejectsBadEncryptionKeys(t *testing.T) {
	dir := t.TempDir()
	_, id := keyPair(t, dir, "k")
	bad := filepath.Join(dir, "empty")
	os.WriteFile(bad, []byte("# nothing\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--encrypt-to", id}, "a private key (identity), not a recipient"},
		{[]string{"--encrypt-to", bad}, "no recipients"},
		{[]string{"--encrypt-to", filepath.Join(dir, "missing")}, "recipients file"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		o, err := exec.CommandContext(ctx, binPath, append([]string{"serve", "--data-dir", t.TempDir(), "--sip-listen", "127.0.0.1:0", "--http-listen", "", "--rtp-ports", "34000-34099", "--max-calls", "5"}, tc.args...)...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(o), tc.want) || strings.Contains(string(o), "AGE-SECRET-KEY-1") {
			t.Errorf("%v: err %v, output %s; want a failure naming %q and no key text", tc.args, err, o, tc.want)
		}
	}
}
