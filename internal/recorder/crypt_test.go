package recorder

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// encryptedFixture is a fixture whose recorder encrypts to a fresh key
// pair; it returns the keys that decrypt.
func encryptedFixture(t *testing.T) (*fixture, *mediacrypt.Keys) {
	t.Helper()
	f := newFixture(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rp, ip := filepath.Join(dir, "r.txt"), filepath.Join(dir, "i.txt")
	os.WriteFile(rp, []byte(id.Recipient().String()+"\n"), 0o600)
	os.WriteFile(ip, []byte(id.String()+"\n"), 0o600)
	enc, err := mediacrypt.Config{Enabled: true, EncryptTo: rp}.Load()
	if err != nil {
		t.Fatal(err)
	}
	f.r.SetEncryption(enc)
	dec, err := mediacrypt.IdentityKeys(ip)
	if err != nil {
		t.Fatal(err)
	}
	return f, dec
}

// plaintextOf decrypts the recording at path to its WAV bytes.
func plaintextOf(t *testing.T, keys *mediacrypt.Keys, path string) (*wav.File, bool) {
	t.Helper()
	m, err := keys.OpenMedia(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Encrypted() {
		t.Fatalf("%s is not encrypted", path)
	}
	f, err := wav.Decode(io.NewSectionReader(m, 0, m.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return f, m.Truncated()
}

// With encryption on, the recording on disk is an age file: no RIFF/WAVE
// header, not the audio's bytes, and it decrypts to the WAV recorded.
func TestEncryptedRecording(t *testing.T) {
	f, keys := encryptedFixture(t)
	recordOneCall(t, f)
	rec := onlyRecording(t, f.db)
	if rec.Status == store.StatusFailed || rec.Status == store.StatusRecording {
		t.Fatalf("status %s %s", rec.Status, rec.StatusReason)
	}
	raw, err := os.ReadFile(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "age-encryption.org/v1\n") || bytes.Contains(raw, []byte("RIFF")) || bytes.Contains(raw, []byte("WAVE")) {
		t.Errorf("stored file is not an age file or holds a WAV header: %q", raw[:40])
	}
	if bytes.Contains(raw, bytes.Repeat([]byte{0x10}, 160)) {
		t.Error("stored file holds the audio payload in clear")
	}
	w, truncated := plaintextOf(t, keys, rec.MediaPath)
	if truncated || w.Channels != 2 || w.Duration() < 900*time.Millisecond {
		t.Fatalf("decrypted: %d channels, %v, truncated %v", w.Channels, w.Duration(), truncated)
	}
	want := g711.DecodeULaw(0x10)
	ch := w.Channel(0)
	if n := bytes.Count(int16Bytes(ch), int16Bytes([]int16{want})); n < 8000*9/10 {
		t.Errorf("channel 0 holds %d samples of the sent payload, want ~8000", n)
	}
	if rec.SizeBytes != int64(len(raw)) {
		t.Errorf("size_bytes %d, file %d: the digest covers the stored (encrypted) bytes", rec.SizeBytes, len(raw))
	}
}

func int16Bytes(s []int16) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, v := range s {
		b = append(b, byte(v), byte(v>>8))
	}
	return b
}

// A recorder killed mid-call leaves an encrypted .part file: what was
// flushed decrypts, and the next start renames it and marks the row
// partial with the duration the identities give.
func TestEncryptedRecordingRecoveredAfterKill(t *testing.T) {
	f, keys := encryptedFixture(t)
	a := newSender(t, 0, 0xA)
	ans, err := f.invite(context.Background(), msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 100, 0x10) // 2 s
	waitPackets(t, f.r, 100)
	f.clk.Add(3 * time.Second)
	f.r.Tick(f.clk.Now()) // flush: header rewrite = checkpoint record
	rec := onlyRecording(t, f.db)
	part := rec.MediaPath + ".part"
	// What a kill -9 leaves: the bytes on disk now, the process gone.
	crashed := t.TempDir()
	dst := filepath.Join(crashed, "media", "2026", "11", "21", filepath.Base(part))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("RIFF")) || !mediacrypt.Encrypted(bytes.NewReader(b)) {
		t.Fatal("in-progress file is not encrypted")
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	w, truncated := plaintextOf(t, keys, dst)
	if !truncated || w.Duration() < 1900*time.Millisecond {
		t.Errorf("prefix of a killed recorder: %v, truncated %v; want the 2 s flushed, truncated", w.Duration(), truncated)
	}
	got, err := recoverEncrypted(crashed)
	final := strings.TrimSuffix(dst, ".part")
	if err != nil || len(got) != 1 || got[0] != final {
		t.Fatalf("recoverEncrypted = %v, %v", got, err)
	}
	if w2, _ := plaintextOf(t, keys, final); w2.Frames != w.Frames {
		t.Errorf("after recovery %d frames, before %d", w2.Frames, w.Frames)
	}
	// The row: a recorder restarted on the same store (the call's row is
	// still "recording") with identities computes the exact duration.
	f.r.SetEncryption(keys)
	rec.MediaPath = final
	want := w.Frames * 1000 / 8000
	if got := f.r.encryptedDurationMS(&rec); got != want {
		t.Errorf("duration with identities %d ms, want the %d ms that decrypt", got, want)
	}
	f.r.SetEncryption(nil)
	if got := f.r.encryptedDurationMS(&rec); got < want || got > want*105/100 {
		t.Errorf("duration estimated without identities %d ms, want %d ms (+5%%)", got, want)
	}
}

// A tenant without recipients (and no encrypt_to) gets no recording, never
// a plaintext one.
func TestEncryptionWithoutRecipientsRecordsNothingInClear(t *testing.T) {
	f, _ := encryptedFixture(t)
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	rp := filepath.Join(dir, "acme.txt")
	os.WriteFile(rp, []byte(id.Recipient().String()+"\n"), 0o600)
	enc, err := mediacrypt.Config{Enabled: true, Tenants: map[string]string{"Acme": rp}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	f.r.SetEncryption(enc)
	f.r.cfg.Tenant = func(string) string { return "Other" }
	a := newSender(t, 0, 0xA)
	if _, err := f.invite(context.Background(), msrInvite(t, "leg-a", "5001", a.port(), "sendonly")); err == nil {
		t.Fatal("call admitted without recipients for its tenant")
	}
	var files []string
	filepath.WalkDir(f.r.MediaDir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("files written: %v", files)
	}
}

// With encryption on, the raw payload sidecar of an undecodable codec and
// its SDP (SRTP keys, when there are any) are encrypted too.
func TestEncryptedRawSidecars(t *testing.T) {
	f, keys := encryptedFixture(t)
	a := newSender(t, 0, 0xE)
	sdp := parseSDP(t, fmt.Sprintf("v=0\no=MCP 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 18\na=rtpmap:18 G729/8000\na=sendonly\n", a.port()))
	ans, err := f.invite(context.Background(), &sipsrv.Invite{CallID: "g", Kind: sipsrv.KindMSR, SDP: sdp, MSR: sipsrv.MSRParams{RecordID: "g1", DN: "5001", RecordDN: "5001"}})
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	payload := bytes.Repeat([]byte{0x5A}, 20)
	for i := 0; i < 10; i++ {
		p := make([]byte, 12, 12+20)
		p[0], p[1] = 0x80, 18
		binary.BigEndian.PutUint16(p[2:], uint16(i))
		binary.BigEndian.PutUint32(p[4:], uint32(i*160))
		binary.BigEndian.PutUint32(p[8:], 0xE)
		if _, err := a.c.WriteToUDP(append(p, payload...), a.to); err != nil {
			t.Fatal(err)
		}
	}
	waitPackets(t, f.r, 10)
	f.clk.Add(time.Second)
	f.r.Tick(f.clk.Now())
	f.r.Bye("g", "bye")
	rec := onlyRecording(t, f.db)
	base := strings.TrimSuffix(rec.MediaPath, ".wav")
	ids := keys.Identities()
	for name, inClear := range map[string][]byte{".ch0.rtpraw": payload, ".sdp": []byte("m=audio")} {
		b, err := os.ReadFile(base + name)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, inClear) || !mediacrypt.Encrypted(bytes.NewReader(b)) {
			t.Errorf("%s: not encrypted", name)
		}
		r, err := mediacrypt.Open(bytes.NewReader(b), int64(len(b)), ids...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plain, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if !bytes.Contains(plain, inClear) || r.Truncated() {
			t.Errorf("%s: decrypted %d bytes without what was written (truncated %v)", name, len(plain), r.Truncated())
		}
	}
}

// A rotation killed after its journal was written but while the header
// was being overwritten is finished at start-up: the file opens with the
// new key.
func TestRecoverFinishesInterruptedRewrap(t *testing.T) {
	f, oldKeys := encryptedFixture(t)
	recordOneCall(t, f)
	rec := onlyRecording(t, f.db)
	newID, _ := age.GenerateX25519Identity()
	// What RewrapFile writes: the new header, first to the journal.
	done := filepath.Join(t.TempDir(), "rotated.wav")
	b, _ := os.ReadFile(rec.MediaPath)
	os.WriteFile(done, b, 0o600)
	if err := mediacrypt.RewrapFile(done, oldKeys.Identities(), []age.Recipient{newID.Recipient()}); err != nil {
		t.Fatal(err)
	}
	rotated, _ := os.ReadFile(done)
	os.WriteFile(rec.MediaPath+".rewrap", rotated[:4096], 0o600)
	torn := append([]byte(nil), b...)
	copy(torn[:2000], rotated[:2000]) // killed halfway through the header
	os.WriteFile(rec.MediaPath, torn, 0o600)
	if _, err := recoverEncrypted(f.r.MediaDir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rec.MediaPath + ".rewrap"); !os.IsNotExist(err) {
		t.Errorf("journal left: %v", err)
	}
	r, err := mediacrypt.OpenFile(rec.MediaPath, newID)
	if err != nil {
		t.Fatalf("after recovery the new key does not open the recording: %v", err)
	}
	r.Close()
}
