package app_test

import (
	"context"
	"encoding/binary"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// keyTonesWAV writes, with sox (not openrec), a 300 Hz hum, the digits as
// key tones at a keypad's level and 20 dB below, then the hum again.
func keyTonesWAV(t *testing.T, digits string) string {
	t.Helper()
	sox := testtool.Find(t, "OPENREC_TEST_SOX", "sox")
	dir := t.TempDir()
	hum := filepath.Join(dir, "hum.wav")
	if out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "1", "-b", "16", hum, "synth", "1", "sin", "300", "vol", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	parts := []string{hum, audiotest.SoxKeyTones(t, sox, dir, digits, "0.4", "0.04")}
	parts = append(parts, hum)
	out := filepath.Join(dir, "keys.wav")
	if o, err := exec.Command(sox, append(parts, out)...).CombinedOutput(); err != nil {
		t.Fatalf("sox concat: %v\n%s", err, o)
	}
	return out
}

// multimonCount counts the digits multimon-ng decodes in 8 kHz PCM.
func multimonCount(t *testing.T, pcm []int16) int {
	t.Helper()
	mm := testtool.Find(t, "OPENREC_TEST_MULTIMON", "multimon-ng")
	p := filepath.Join(t.TempDir(), "live.wav")
	w, err := wav.Create(p, wav.FormatPCM16, 1, 8000)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(mm, "-q", "-a", "DTMF", "-t", "wav", p).Output()
	if err != nil {
		t.Fatalf("multimon-ng: %v", err)
	}
	return strings.Count(string(out), "DTMF: ")
}

// Issue 21: live listening hears no key tone when DTMF is masked. The
// whole live stream of the party typing a card number (in-band, at two
// levels, from sox) is captured over the WebSocket and decoded by
// multimon-ng: 0 digits with dtmf: mask; with dtmf: keep the same capture
// reads the digits, which shows the capture would have caught them.
func TestDTMFMaskedInLiveListening(t *testing.T) {
	const card = "4111111111111111"
	keysWAV := keyTonesWAV(t, card)
	for _, mode := range []string{"mask", "keep"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, func(c *config.Serve) { c.DTMF = mode })
			addUser(t, a, "sup", "admin", "")
			sup := signIn(t, a, "sup")
			src, err := dial.WAVFile(keysWAV)
			if err != nil {
				t.Fatal(err)
			}
			d := newDialer(t)
			callDone := make(chan error, 1)
			go func() {
				_, err := d.Call(context.Background(), dial.Spec{
					Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
					Codec: "PCMU", Duration: 9 * time.Second,
					Sources: []dial.Source{src, dial.Tone(1000, 0.3)},
				})
				callDone <- err
			}()
			var recID string
			waitFor(t, 5*time.Second, "the call is being recorded", func() bool {
				recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 10})
				if err == nil && len(recs) == 1 && recs[0].Status == store.StatusRecording {
					recID = recs[0].ID
				}
				return recID != ""
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws://"+a.HTTPAddr()+"/api/v1/live/"+recID+"/listen?channel=0",
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + sup.token}}})
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			defer ws.CloseNow()
			var pcm []int16
			for {
				_, msg, err := ws.Read(ctx)
				if err != nil {
					break // the recording ended
				}
				for i := 1; i+1 < len(msg); i += 2 {
					pcm = append(pcm, int16(binary.LittleEndian.Uint16(msg[i:])))
				}
			}
			if err := <-callDone; err != nil {
				t.Fatalf("call: %v", err)
			}
			// The loop plays the 6.8 s file once and most of it again:
			// the listener joined within the first second.
			if len(pcm) < 6*8000 {
				t.Fatalf("live stream: %d samples, want the whole call (>= 6 s)", len(pcm))
			}
			n := multimonCount(t, pcm)
			t.Logf("dtmf: %s: %.1f s of live audio, multimon-ng reads %d digits", mode, float64(len(pcm))/8000, n)
			switch {
			case mode == "mask" && n != 0:
				t.Errorf("multimon-ng reads %d digits in the live stream with dtmf: mask", n)
			case mode == "keep" && n < len(card):
				t.Errorf("multimon-ng reads %d digits in the live stream with dtmf: keep, want >= %d: the capture misses tones", n, len(card))
			}
		})
	}
}
