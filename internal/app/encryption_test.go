package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/testtool"
)

// ageKeys writes a fresh key pair as a recipients file and an identities
// file (what age-keygen makes) and returns their paths.
func ageKeys(t testing.TB) (recipients, identities string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	recipients, identities = filepath.Join(dir, "recipients.txt"), filepath.Join(dir, "identities.txt")
	if err := os.WriteFile(recipients, []byte("# openrec test\n"+id.Recipient().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(identities, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return recipients, identities
}

// mediaFiles lists every file under the data dir's media directory.
func mediaFiles(t testing.TB, a *app.App) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(a.Recorder().MediaDir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// assertNoPlaintext fails if a file under the media directory holds a
// RIFF/WAVE header, or its raw bytes, read as the stored µ-law (or as
// PCM16), carry one of the tones.
func assertNoPlaintext(t testing.TB, a *app.App, tones []float64) int {
	t.Helper()
	n := 0
	for _, p := range mediaFiles(t, a) {
		if strings.HasSuffix(p, ".sdp") || strings.HasSuffix(p, ".manifest.json") || strings.HasSuffix(p, ".json") {
			continue // signalling and metadata, no audio
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue // renamed meanwhile (.part → final)
		}
		n++
		if bytes.Contains(b, []byte("RIFF")) || bytes.Contains(b, []byte("WAVE")) {
			t.Errorf("%s: holds a RIFF/WAVE header in clear", filepath.Base(p))
		}
		if !mediacrypt.Encrypted(bytes.NewReader(b)) {
			t.Errorf("%s: not an encrypted file", filepath.Base(p))
		}
		ulaw := make([]int16, len(b))
		for i, c := range b {
			ulaw[i] = g711.DecodeULaw(c)
		}
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(b[2*i]) | int16(b[2*i+1])<<8
		}
		for _, freq := range tones {
			for name, s := range map[string][]int16{"µ-law": ulaw, "pcm16": pcm} {
				// any 1 s window, as a player would find it
				for off := 0; off+8000 <= len(s); off += 4000 {
					if audiotest.HasTone(s[off:off+8000], 8000, freq, tones) {
						t.Errorf("%s: %v Hz tone found in the raw bytes read as %s at %d", filepath.Base(p), freq, name, off)
						break
					}
				}
			}
		}
	}
	return n
}

// getMedia GETs the media of a recording with an optional Range header.
func getMedia(t testing.TB, c *apiClient, id, rng string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/api/v1/recordings/"+id+"/media?format=wav", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// Encryption at rest over real sockets: an MSR and a SIPREC call recorded
// with --encrypt-to leave no plaintext in the data dir (while recording
// and after), the API replays the decrypted WAV (also by Range) with the
// tones on their channels, and peaks work; the stored sha256 covers the
// encrypted bytes.
func TestEncryptionAtRestMSRAndSIPREC(t *testing.T) {
	rcp, ids := ageKeys(t)
	a := startApp(t, func(c *config.Serve) {
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rcp, DecryptKeys: ids}
	})
	addUser(t, a, "sup", "admin", "")
	c := signIn(t, a, "sup")
	keys, err := mediacrypt.IdentityKeys(ids)
	if err != nil {
		t.Fatal(err)
	}
	tones := []float64{440, 1000}
	for i, mode := range []string{dial.ModeMSR, dial.ModeSIPREC} {
		t.Run(mode, func(t *testing.T) {
			d := newDialer(t)
			var (
				wg   sync.WaitGroup
				cerr error
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, cerr = d.Call(context.Background(), dial.Spec{
					Target: a.SIPAddr().String(), Mode: mode, DN: "5001", OtherDN: "+15550100",
					Codec: "PCMU", Duration: 5 * time.Second, // 80 kB stored: two 64 KiB chunks
					Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
				})
			}()
			// While recording: the .part file grows past its header and
			// is ciphertext.
			testtool.Eventually(t, 10*time.Second, func() bool {
				for _, p := range mediaFiles(t, a) {
					if st, err := os.Stat(p); err == nil && strings.HasSuffix(p, ".wav.part") && st.Size() > 4096+16+16000 {
						return true
					}
				}
				return false
			}, "a recording in progress grown past 1 s of audio")
			if n := assertNoPlaintext(t, a, tones); n == 0 {
				t.Error("no media file while recording")
			}
			wg.Wait()
			if cerr != nil {
				t.Fatal(cerr)
			}
			recs := waitFinished(t, a, i+1)
			var r store.Recording
			for _, x := range recs {
				if string(x.Mode) == mode {
					r = x
				}
			}
			if r.Status != store.StatusCompleted {
				t.Fatalf("%s recording: %s %s", mode, r.Status, r.StatusReason)
			}
			assertNoPlaintext(t, a, tones)
			stored, err := os.ReadFile(r.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			if r.SizeBytes != int64(len(stored)) {
				t.Errorf("size_bytes %d, stored file %d: the digest covers the encrypted bytes", r.SizeBytes, len(stored))
			}
			m, err := keys.OpenMedia(r.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			decrypted, _ := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
			m.Close()
			// What the API serves for the same recording stored in clear:
			// the decrypted WAV converted to PCM16.
			clear := filepath.Join(t.TempDir(), "clear.wav")
			os.WriteFile(clear, decrypted, 0o600)
			src, err := mediaconv.Open(clear)
			if err != nil {
				t.Fatal(err)
			}
			pcm, _ := src.PCM(-1)
			plain, _ := io.ReadAll(pcm)
			src.Close()
			code, body, _ := getMedia(t, c, r.ID, "")
			if code != 200 || !bytes.Equal(body, plain) {
				t.Fatalf("replay: %d, %d bytes; want 200 and the %d bytes of the decrypted recording", code, len(body), len(plain))
			}
			replayed := filepath.Join(t.TempDir(), "replay.wav")
			os.WriteFile(replayed, body, 0o600)
			checkTones(t, replayed, tones, 5*time.Second)
			// PCM16 served from µ-law stored: stored byte 65536 (the
			// second chunk) is served near byte 131,116.
			for _, rg := range [][2]int{{0, 43}, {1000, 70000}, {131000, 131300}, {65530, 140000}, {len(plain) - 500, len(plain) - 1}} {
				code, part, hdr := getMedia(t, c, r.ID, fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
				if code != http.StatusPartialContent || !bytes.Equal(part, plain[rg[0]:rg[1]+1]) {
					t.Errorf("Range %v: %d %s, %d bytes; want 206 and plaintext[%d:%d]", rg, code, hdr.Get("Content-Range"), len(part), rg[0], rg[1]+1)
				}
			}
			var pk struct {
				DurationMS int64       `json:"duration_ms"`
				Channels   [][]float32 `json:"channels"`
			}
			if code := c.call("GET", "/api/v1/recordings/"+r.ID+"/peaks?buckets=50", nil, &pk); code != 200 || len(pk.Channels) != 2 || pk.DurationMS < 4900 {
				t.Errorf("peaks: %d, %d channels, %d ms", code, len(pk.Channels), pk.DurationMS)
			}
			if mode == dial.ModeMSR {
				checkEncryptedMP3(t, a, c, r.ID) // last: skipped without lame
			}
		})
	}
}

// Without decrypt_keys the recorder still records encrypted, and replay
// answers a problem document saying why — never the ciphertext as audio.
func TestEncryptedReplayWithoutKeyIsAProblem(t *testing.T) {
	rcp, _ := ageKeys(t)
	a := startApp(t, func(c *config.Serve) { c.Encryption = config.Encryption{Enabled: true, EncryptTo: rcp} })
	addUser(t, a, "sup", "admin", "")
	c := signIn(t, a, "sup")
	if _, err := newDialer(t).Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, Duration: time.Second}); err != nil {
		t.Fatal(err)
	}
	r := waitFinished(t, a, 1)[0]
	for _, path := range []string{"/media?format=wav", "/media?format=mp3", "/peaks"} {
		req, _ := http.NewRequest("GET", c.base+"/api/v1/recordings/"+r.ID+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Title, Detail string }
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || resp.Header.Get("Content-Type") != "application/problem+json" ||
			p.Title != "recording is encrypted" || !strings.Contains(p.Detail, "decrypt_keys") {
			t.Errorf("%s: %d %s %+v; want 409 problem naming decrypt_keys", path, resp.StatusCode, resp.Header.Get("Content-Type"), p)
		}
	}
}

// checkEncryptedMP3: the MP3 of an encrypted recording is served (encoded
// in memory) and nothing of it is kept on disk.
func checkEncryptedMP3(t *testing.T, a *app.App, c *apiClient, id string) {
	t.Helper()
	testtool.Find(t, "OPENREC_TEST_LAME", "lame") // the server finds it on PATH the same way (mp3_encoder unset)
	req, _ := http.NewRequest("GET", c.base+"/api/v1/recordings/"+id+"/media?format=mp3", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" || len(body) < 1000 || body[0] != 0xFF {
		t.Fatalf("mp3: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	var cached []string
	filepath.WalkDir(filepath.Join(a.DataDir(), "cache"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			cached = append(cached, p)
		}
		return nil
	})
	if len(cached) != 0 {
		t.Errorf("MP3 of an encrypted recording left on disk: %v", cached)
	}
}
