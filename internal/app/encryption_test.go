package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/openrec/openrec/internal/media/wav"
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
			// 1 s of audio, and is ciphertext.
			testtool.Eventually(t, 10*time.Second, func() bool {
				for _, p := range mediaFiles(t, a) {
					if st, err := os.Stat(p); err == nil && strings.HasSuffix(p, ".wav.part") && st.Size() > 4096+16+16000 {
						return true
					}
				}
				return false
			}, "a recording in progress grows past 1 s of audio")
			if n := assertNoPlaintext(t, a, tones); n == 0 {
				t.Error("no media file while recording")
			}
			// Replay while recording: the authenticated prefix, as a WAV.
			var live []store.Recording
			live, _ = a.Store().ListRecordings(context.Background(), store.Filter{Status: store.StatusRecording})
			if len(live) == 1 {
				code, body, _ := getMedia(t, c, live[0].ID, "")
				f := filepath.Join(t.TempDir(), "live.wav")
				os.WriteFile(f, body, 0o600)
				w, err := wav.ReadFile(f)
				if err != nil {
					w = &wav.File{SampleRate: 8000}
				}
				// ~1 s is on disk (less the records' tags and the WAV
				// header; a record being written is not yet authentic).
				if code != 200 || err != nil || w.Duration() < 500*time.Millisecond || !audiotest.HasTone(w.Channel(0), 8000, 440, tones) {
					t.Errorf("replay while recording: %d, %v, %v of audio", code, err, w.Duration())
				}
			} else {
				t.Errorf("%d recordings in progress, want 1", len(live))
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
			// edge ranges against the plaintext: one byte, a suffix, an end
			// past the file, a start past it, two ranges in one request
			n := len(plain)
			for _, c2 := range []struct {
				rng  string
				code int
				want []byte
			}{
				{"bytes=0-0", 206, plain[:1]},
				{"bytes=-1", 206, plain[n-1:]},
				{"bytes=-300", 206, plain[n-300:]},
				{fmt.Sprintf("bytes=%d-%d", n-10, n+5000), 206, plain[n-10:]},
				{fmt.Sprintf("bytes=%d-", n-1), 206, plain[n-1:]},
				{fmt.Sprintf("bytes=%d-", n), 416, nil},
				{fmt.Sprintf("bytes=%d-%d", n+10, n+20), 416, nil},
			} {
				code, part, hdr := getMedia(t, c, r.ID, c2.rng)
				if code != c2.code || (c2.want != nil && !bytes.Equal(part, c2.want)) {
					t.Errorf("Range %s: %d %s, %d bytes; want %d and %d bytes of plaintext", c2.rng, code, hdr.Get("Content-Range"), len(part), c2.code, len(c2.want))
				}
			}
			if code, part, hdr := getMedia(t, c, r.ID, "bytes=0-0,65530-65545"); code != 206 ||
				!strings.HasPrefix(hdr.Get("Content-Type"), "multipart/byteranges") || !bytes.Contains(part, plain[65530:65546]) {
				t.Errorf("multi-range: %d %s, %d bytes", code, hdr.Get("Content-Type"), len(part))
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

// checkEncryptedMP3: the MP3 of an encrypted recording is served, and
// cached only encrypted (to a key held in memory).
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
	if len(cached) != 1 || !strings.HasSuffix(cached[0], ".mp3.age") {
		t.Fatalf("MP3 cache holds %v, want one encrypted .mp3.age", cached)
	}
	raw, _ := os.ReadFile(cached[0])
	if !mediacrypt.Encrypted(bytes.NewReader(raw)) || bytes.Contains(raw, body[:64]) || bytes.Contains(raw, body[len(body)/2:len(body)/2+64]) {
		t.Error("cached MP3 is on disk in clear")
	}
	// A Range request is served from the (encrypted) cache.
	req, _ = http.NewRequest("GET", c.base+"/api/v1/recordings/"+id+"/media?format=mp3", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Range", "bytes=100-2099")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[100:2100]) {
		t.Errorf("mp3 Range: %d, %d bytes; want 206 and bytes 100-2099", resp.StatusCode, len(part))
	}
}

// Recipients per tenant: a session from a source of tenant Bank
// (source_tenants) is encrypted to Bank's recipients only, others to
// encrypt_to.
func TestEncryptionPerTenantRecipients(t *testing.T) {
	rAll, iAll := ageKeys(t)
	rBank, iBank := ageKeys(t)
	a := startApp(t, func(c *config.Serve) {
		c.SourceTenants = map[string]string{"127.0.0.2/32": "Bank"}
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rAll, Tenants: map[string]string{"Bank": rBank}}
	})
	for i, local := range []string{"127.0.0.1", "127.0.0.2"} {
		d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr(local), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		res, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, Duration: time.Second})
		if err != nil {
			t.Fatalf("call from %s: %v", local, err)
		}
		var r *store.Recording
		for _, x := range waitFinished(t, a, i+1) {
			if slices.Contains(x.SIPCallIDs, res.CallIDs[0]) {
				r = &x
			}
		}
		if r == nil {
			t.Fatalf("no recording of the call from %s", local)
		}
		opens := map[string]bool{}
		for name, ids := range map[string]string{"encrypt_to": iAll, "Bank": iBank} {
			k, _ := mediacrypt.IdentityKeys(ids)
			m, err := k.OpenMedia(r.MediaPath)
			if err == nil {
				m.Close()
			}
			opens[name] = err == nil
		}
		want := map[string]bool{"encrypt_to": local == "127.0.0.1", "Bank": local == "127.0.0.2"}
		if !maps.Equal(opens, want) {
			t.Errorf("recording from %s opens with %v, want %v", local, opens, want)
		}
	}
}

// SIGHUP (App.Reload) reads the key files again: recordings that start
// afterwards are encrypted to the new recipients, playback uses the new
// identities; a key file that no longer loads keeps the keys in force.
func TestEncryptionKeysReloaded(t *testing.T) {
	rcp, ids := ageKeys(t)
	r2, i2 := ageKeys(t)
	a := startApp(t, func(c *config.Serve) {
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rcp, DecryptKeys: ids}
	})
	addUser(t, a, "admin", "admin", "")
	c := signIn(t, a, "admin")
	call := func(n int) store.Recording {
		t.Helper()
		res, err := newDialer(t).Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range waitFinished(t, a, n) {
			if slices.Contains(r.SIPCallIDs, res.CallIDs[0]) {
				return r
			}
		}
		t.Fatal("no recording of the call")
		return store.Recording{}
	}
	opensWith := func(r store.Recording, idFile string) bool {
		k, _ := mediacrypt.IdentityKeys(idFile)
		m, err := k.OpenMedia(r.MediaPath)
		if err == nil {
			m.Close()
		}
		return err == nil
	}
	first := call(1)
	// Rotation: new recipients; identities: the new one beside the old.
	newRcp, _ := os.ReadFile(r2)
	newID, _ := os.ReadFile(i2)
	oldID, _ := os.ReadFile(ids)
	os.WriteFile(rcp, newRcp, 0o600)
	os.WriteFile(ids, append(oldID, newID...), 0o600)
	if err := a.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := call(2)
	if opensWith(first, i2) || !opensWith(second, i2) {
		t.Errorf("after reload: first opens with the new key %v (want false), second %v (want true)", opensWith(first, i2), opensWith(second, i2))
	}
	for _, r := range []store.Recording{first, second} {
		if code, _, _ := getMedia(t, c, r.ID, ""); code != 200 {
			t.Errorf("replay of %s after reload: %d", r.ID, code)
		}
	}
	// A broken file: Reload fails, the keys in force stay.
	os.WriteFile(rcp, []byte("not a key\n"), 0o600)
	if err := a.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "not an age recipient") {
		t.Errorf("reload of a broken recipients file: %v", err)
	}
	third := call(3)
	if !opensWith(third, i2) {
		t.Error("after a failed reload the recording is not encrypted to the keys in force")
	}
}

// With CTI, a recording is encrypted to the recipients of its call's
// tenant (encryption.tenants), known from the CTI side when the Media
// Server's session arrives, although its SIP source maps to no tenant.
func TestEncryptionRecipientsOfTheCTITenant(t *testing.T) {
	rAll, iAll := ageKeys(t)
	rAcme, iAcme := ageKeys(t)
	env := startContactCenterWith(t, nil, func(c *config.Serve) {
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rAll, Tenants: map[string]string{"Acme": rAcme}}
	})
	step(t, env.sim, `
name: encrypted
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000011", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1500ms, action: release, call: c1, dn: "5001"}
`)
	recs := waitFinished(t, env.a, 1)
	r := recs[0]
	if r.ExternalData[store.TenantKey] != "Acme" {
		t.Fatalf("recording tenant %q, want Acme (the simulator's)", r.ExternalData[store.TenantKey])
	}
	opens := func(idFile string) bool {
		k, _ := mediacrypt.IdentityKeys(idFile)
		m, err := k.OpenMedia(r.MediaPath)
		if err == nil {
			m.Close()
		}
		return err == nil
	}
	if !opens(iAcme) || opens(iAll) {
		t.Errorf("recording of tenant Acme opens with Acme's key %v (want true), with encrypt_to's %v (want false)", opens(iAcme), opens(iAll))
	}
}
