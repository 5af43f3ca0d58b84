package app_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/testtool"
)

// without returns the decoders of this build but name's: a recorder built
// without that decoder (a default build meeting G.729).
func without(name string) func(media.Codec, int) (mixer.Decoder, error) {
	return func(c media.Codec, rate int) (mixer.Decoder, error) {
		if c.Name == name {
			return nil, fmt.Errorf("%w: %s left out of this recorder", codec.ErrUnsupported, name)
		}
		return codec.NewDecoderRate(c, rate)
	}
}

// recordRaw records one call of legs over real sockets (MSR: two INVITEs;
// SIPREC: one) and returns its finished row.
func recordRaw(t *testing.T, a *app.App, siprec bool, legs []codecLeg) store.Recording {
	t.Helper()
	sip := newRawSIP(t, a)
	socks := make([]*net.UDPConn, len(legs))
	for i := range socks {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		socks[i] = c
	}
	sessions, dsts := inviteLegs(t, a, sip, siprec, legs, socks)
	sendLockstep(t, legs, socks, dsts)
	for _, s := range sessions {
		sip.send(t, sip.inDialog("BYE", s.callID, s.tag, 2))
		if code, _ := sip.finalFor(t, s.callID); code != 200 {
			t.Errorf("BYE %s answered %d", s.callID, code)
		}
	}
	return waitFinished(t, a, 1)[0]
}

// Issue 17, item 5: a call in a codec the recorder cannot decode live
// (here G.722, left out of the live decoders as G.729 is out of a default
// build) is stored raw with needs_transcode; serve's background queue,
// which has the decoder, transcodes it: the stored file then matches
// ffmpeg's reference decode on the G.722 channel (tone, level, length, at
// 16 kHz: a G.722 call is a wideband recording), keeps the G.711 channel
// as recorded, both aligned within 20 ms; the row,
// the API (transcode job, events), /metrics and the manifest follow.
func TestRawRecordingIsTranscodedInTheBackground(t *testing.T) {
	for _, tc := range []struct {
		name   string
		siprec bool
		legs   func(t *testing.T) []codecLeg
	}{
		{"MSR, G.722 leg beside a PCMA leg", false, func(t *testing.T) []codecLeg { return []codecLeg{g722Leg(t, 1000), pcmaLeg(440, 0x711)} }},
		{"SIPREC, PCMA and G.722 streams", true, func(t *testing.T) []codecLeg { return []codecLeg{pcmaLeg(440, 0x711), g722Leg(t, 1000)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			legs := tc.legs(t)
			a := apptest.StartWith(t, func(c *config.Serve) { c.StorageFormat = "pcm16"; c.DTMF = "keep" }, nil,
				app.Options{LiveDecoders: without("G722")})
			r := recordRaw(t, a, tc.siprec, legs)
			if !r.NeedsTranscode && !hasEvent(r.Events, transcode.EventTranscoded) {
				t.Fatalf("recording %s: not kept raw (needs_transcode false, never transcoded)", r.ID)
			}
			var got *store.Recording
			testtool.Poll(t, 30*time.Second, func() (bool, string) {
				var err error
				got, err = a.Store().GetRecording(context.Background(), r.ID)
				if err != nil {
					t.Fatal(err)
				}
				return !got.NeedsTranscode, "needs_transcode still true"
			}, "background transcode of %s", r.ID)
			if got.Status != store.StatusCompleted || !slices.Contains(got.Codecs, "G722") || got.SHA256 == "" {
				t.Errorf("row after transcoding: %s %q codecs %v", got.Status, got.StatusReason, got.Codecs)
			}
			if !hasEvent(got.Events, transcode.EventTranscoded) {
				t.Errorf("no %q event: %+v", transcode.EventTranscoded, got.Events)
			}
			// The manifest was signed again over the new file (openrec verify).
			key, err := seal.LoadOrCreateKey(filepath.Join(a.DataDir(), app.KeysDir))
			if err != nil {
				t.Fatal(err)
			}
			if probs := seal.Check(got, got.MediaPath, key.Public().(ed25519.PublicKey)); len(probs) > 0 {
				t.Errorf("seal check after transcoding: %v", probs)
			}
			f := checkTones(t, got.MediaPath, []float64{legs[0].freq, legs[1].freq}, codecLegDur)
			if f.SampleRate != 16000 {
				t.Fatalf("a call with a G.722 leg is stored at %d Hz, want 16000", f.SampleRate)
			}
			checkWideChannels(t, f, legs) // G.722 makes it a 16 kHz recording

			// The API shows the job done; /metrics counts it.
			addUser(t, a, "root", "admin", "")
			c := signIn(t, a, "root")
			var d struct {
				NeedsTranscode bool `json:"needs_transcode"`
				Transcode      *struct {
					State string `json:"state"`
				} `json:"transcode"`
			}
			if code := c.call("GET", "/api/v1/recordings/"+r.ID, nil, &d); code != 200 || d.NeedsTranscode || d.Transcode == nil || d.Transcode.State != "done" {
				t.Errorf("API detail: %d needs %v transcode %+v", code, d.NeedsTranscode, d.Transcode)
			}
			resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, m := range []string{`openrec_transcode_jobs\{state="done"\} 1`, `openrec_transcode_jobs\{state="queued"\} 0`,
				`openrec_transcode_done_total 1`, `openrec_transcode_failed_total 0`, `openrec_transcode_audio_seconds_total [1-9]`} {
				if !regexp.MustCompile(m).Match(body) {
					t.Errorf("metrics lack %q", m)
				}
			}
		})
	}
}

func hasEvent(evs []store.Event, typ string) bool {
	for _, e := range evs {
		if e.Type == typ {
			return true
		}
	}
	return false
}
