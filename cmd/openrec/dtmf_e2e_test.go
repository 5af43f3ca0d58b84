package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/testtool"
)

const e2eCard = "4111111111111111"

// cardWAV makes the recorded party's audio with programs that are not
// openrec: speech (espeak-ng), then the card number as key tones at a
// keypad's level and 20 dB below (sox), then speech again; 8 kHz mono.
func cardWAV(t *testing.T, dir string) string {
	t.Helper()
	sox := testtool.Find(t, "OPENREC_TEST_SOX", "sox")
	espeak := testtool.Find(t, "OPENREC_TEST_ESPEAK", "espeak-ng")
	speech := filepath.Join(dir, "speech22.wav")
	if out, err := exec.Command(espeak, "-w", speech, "Please type your card number, then the hash key.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	parts := []string{filepath.Join(dir, "speech.wav")}
	if out, err := exec.Command(sox, speech, "-r", "8000", "-c", "1", "-b", "16", parts[0]).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	parts = append(parts, audiotest.SoxKeyTones(t, sox, dir, e2eCard, "0.4", "0.04"))
	parts = append(parts, parts[0])
	out := filepath.Join(dir, "card.wav")
	if o, err := exec.Command(sox, append(parts, out)...).CombinedOutput(); err != nil {
		t.Fatalf("sox concat: %v\n%s", err, o)
	}
	return out
}

// multimonDigits counts the digits multimon-ng decodes in an audio file
// (converted to 8 kHz mono WAV by ffmpeg first, channel ch of it).
func multimonDigits(t *testing.T, in string, ch int) int {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	mm := testtool.Find(t, "OPENREC_TEST_MULTIMON", "multimon-ng")
	mono := filepath.Join(t.TempDir(), fmt.Sprintf("ch%d.wav", ch))
	if out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-i", in, "-af", fmt.Sprintf("pan=mono|c0=c%d", ch),
		"-ar", "8000", "-c:a", "pcm_s16le", mono).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", in, err, out)
	}
	out, err := exec.Command(mm, "-q", "-a", "DTMF", "-t", "wav", mono).Output()
	if err != nil {
		t.Fatalf("multimon-ng: %v", err)
	}
	return strings.Count(string(out), "DTMF: ")
}

// Issue 21: a call carrying a card number as RFC 4733 events and as
// in-band tones (both levels, speech around them), over real sockets
// through MSR and SIPREC, with dtmf: mask: an independent decoder reads no
// digit in the stored file or the MP3, `verify --dtmf` agrees, no digit is
// in the database, the API's events or the logs, and `recordings show`
// counts the masked spans.
func TestDTMFMaskedEndToEnd(t *testing.T) {
	dir := t.TempDir()
	card := cardWAV(t, dir)
	if n := multimonDigits(t, card, 0); n != 2*len(e2eCard) {
		t.Fatalf("multimon-ng reads %d digits in the input, want %d: the test audio is wrong", n, 2*len(e2eCard))
	}
	sox := testtool.Find(t, "OPENREC_TEST_SOX", "sox")
	other := filepath.Join(dir, "other.wav")
	if out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "1", "-b", "16", other, "synth", "2", "sin", "300", "vol", "0.3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	data := t.TempDir()
	if out, err := run(t, "admin", "create-user", "--data-dir", data, "--name", "ops", "--password", "a-long-password", "--role", "admin"); err != nil {
		t.Fatalf("create-user: %v\n%s", err, out)
	}
	s := startServe(t, data, "34600-34799", "--dtmf", "mask", "--log-level", "debug")
	var wg sync.WaitGroup
	for i, mode := range []string{"msr", "siprec"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := run(t, "dial", "--target", s.sipAddr, "--mode", mode, "--duration", "18s", "--wav", card+","+other,
				"--dtmf", e2eCard, "--dn", fmt.Sprint(5001+i), "--other-dn", "+15550100"); err != nil {
				t.Errorf("dial %s: %v\n%s", mode, err, out)
			}
		}()
	}
	wg.Wait()
	recs := waitListedFinished(t, s, data, 2)

	// The API: events keep time and channel, never the digit; the MP3 holds
	// no readable digit.
	base := "http://" + s.httpAddr
	call := func(method, path, token string, body any) (int, []byte) {
		t.Helper()
		code, _, b := apiCall(t, base, method, path, token, body, nil)
		return code, b
	}
	code, b := call("POST", "/api/v1/auth/token", "", map[string]string{"username": "ops", "password": "a-long-password"})
	var tok struct{ Token string }
	if code != 200 || json.Unmarshal(b, &tok) != nil {
		t.Fatalf("token: %d %s", code, b)
	}
	for _, r := range recs {
		code, b := call("GET", "/api/v1/recordings/"+r.ID, tok.Token, nil)
		var full struct {
			Events []struct {
				Type    string `json:"type"`
				Channel int    `json:"channel"`
				Detail  string `json:"detail"`
			} `json:"events"`
		}
		if code != 200 || json.Unmarshal(b, &full) != nil {
			t.Fatalf("recording %s: %d %s", r.ID, code, b)
		}
		dtmfEvents, masked := 0, 0
		for _, e := range full.Events {
			switch e.Type {
			case "dtmf":
				dtmfEvents++
				if e.Detail != "" {
					t.Errorf("%s: dtmf event with detail %q", r.ID, e.Detail)
				}
			case "dtmf-masked":
				masked++
			}
		}
		if dtmfEvents != len(e2eCard) || masked < 2*len(e2eCard) {
			t.Errorf("%s: %d dtmf events (want %d, no digits), %d masked spans (want >= %d)", r.ID, dtmfEvents, len(e2eCard), masked, 2*len(e2eCard))
		}
		code, mp3 := call("GET", "/api/v1/recordings/"+r.ID+"/media?format=mp3", tok.Token, nil)
		if code != 200 {
			t.Fatalf("mp3: %d", code)
		}
		p := filepath.Join(t.TempDir(), "r.mp3")
		if err := os.WriteFile(p, mp3, 0o600); err != nil {
			t.Fatal(err)
		}
		for ch := range 2 {
			if n := multimonDigits(t, p, ch); n != 0 {
				t.Errorf("%s: multimon-ng reads %d digits in channel %d of the MP3", r.ID, n, ch)
			}
		}
		media := r.MediaPath
		if !filepath.IsAbs(media) {
			media = filepath.Join(data, media)
		}
		for ch := range 2 {
			if n := multimonDigits(t, media, ch); n != 0 {
				t.Errorf("%s: multimon-ng reads %d digits in channel %d of the stored file", r.ID, n, ch)
			}
		}
		out, err := run(t, "recordings", "show", r.ID, "--data-dir", data)
		if err != nil || !strings.Contains(out, "DTMF masked") {
			t.Errorf("recordings show: %v\n%s", err, out)
		}
	}
	if out, err := run(t, "verify", "--data-dir", data, "--all", "--dtmf", "--dtmf-decoder", "multimon-ng"); err != nil {
		t.Errorf("verify --dtmf: %v\n%s", err, out)
	}
	// The card number never appears as one string in the debug logs or the
	// database files (a log line or trace printing collected digits would
	// show it); the events above carry no digit.
	if strings.Contains(s.logs.String(), e2eCard) || strings.Contains(s.logs.String(), `"digit"`) {
		t.Error("the logs name the digits")
	}
	entries, _ := filepath.Glob(filepath.Join(data, "*.db*"))
	for _, f := range entries {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(e2eCard)) {
			t.Errorf("%s holds the card number", f)
		}
	}
}
