package app_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// Issue 17, storage formats: a deployment storing MP3 (and a tenant
// storing Opus) records over real sockets, keeps the compressed file in
// place of the WAV, and the API still replays WAV (also by Range) with
// each channel's tone at its length, draws the peaks and makes MP3s.
func TestRecordingsStoredAsMP3AndOpus(t *testing.T) {
	testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg") // the server finds it on PATH the same way (ffmpeg unset)
	a := startApp(t, func(c *config.Serve) {
		c.MediaFormat = "mp3"
		c.SourceTenants = map[string]string{"127.0.0.2/32": "Bank"}
		c.Tenants = []config.Tenant{{Name: "Bank", MediaFormat: "opus", MediaBitrate: 32}}
	})
	addUser(t, a, "sup", "admin", "")
	c := signIn(t, a, "sup")
	for i, tc := range []struct {
		local, mode, format string
	}{
		{"127.0.0.1", dial.ModeMSR, "mp3"},
		{"127.0.0.2", dial.ModeSIPREC, "opus"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr(tc.local), Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			if _, err := d.Call(context.Background(), dial.Spec{
				Target: a.SIPAddr().String(), Mode: tc.mode, DN: "5001", OtherDN: "+15550100",
				Codec: "PCMU", Duration: 2 * time.Second,
				Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
			}); err != nil {
				t.Fatalf("call: %v", err)
			}
			r := waitFinished(t, a, i+1)[0]
			a.Recorder().WaitStored()
			rec, err := a.Store().GetRecording(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != store.StatusCompleted || rec.Format != tc.format || filepath.Ext(rec.MediaPath) != "."+tc.format {
				t.Fatalf("row: %s, format %s, %s", rec.Status, rec.Format, rec.MediaPath)
			}
			if _, err := os.Stat(strings.TrimSuffix(rec.MediaPath, filepath.Ext(rec.MediaPath)) + ".wav"); err == nil {
				t.Error("the WAV is still there")
			}
			if rec.SizeBytes > 12000 { // 2 s: 32 kbit/s is 8 kB (µ-law stereo WAV: 32 kB)
				t.Errorf("%d bytes for 2 s", rec.SizeBytes)
			}
			checkStoredAPI(t, a, c, rec.ID)
		})
	}
	m, err := httpGet("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"openrec_recordings_stored_compressed_total 2", "openrec_recordings_store_failures_total 0", "openrec_recordings_store_queue 0"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// checkStoredAPI replays a compressed recording as WAV, by Range, as
// peaks and as MP3.
func checkStoredAPI(t *testing.T, a *app.App, c *apiClient, id string) {
	t.Helper()
	code, body, _ := getMedia(t, c, id, "")
	if code != 200 {
		t.Fatalf("replay: %d %s", code, body)
	}
	replayed := filepath.Join(t.TempDir(), "replay.wav")
	os.WriteFile(replayed, body, 0o600)
	checkTones(t, replayed, []float64{440, 1000}, 2*time.Second)
	if code, part, _ := getMedia(t, c, id, "bytes=100-4099"); code != http.StatusPartialContent || string(part) != string(body[100:4100]) {
		t.Errorf("Range: %d, %d bytes", code, len(part))
	}
	var pk struct {
		DurationMS int64       `json:"duration_ms"`
		Channels   [][]float32 `json:"channels"`
	}
	if code := c.call("GET", "/api/v1/recordings/"+id+"/peaks?buckets=50", nil, &pk); code != 200 || len(pk.Channels) != 2 || pk.DurationMS < 1900 || pk.DurationMS > 2300 {
		t.Errorf("peaks: %d, %d channels, %d ms", code, len(pk.Channels), pk.DurationMS)
	}
	testtool.Find(t, "OPENREC_TEST_LAME", "lame")
	req, _ := http.NewRequest("GET", c.base+"/api/v1/recordings/"+id+"/media?format=mp3", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mp3, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(mp3) < 1000 || mp3[0] != 0xFF {
		t.Errorf("mp3: %d, %d bytes", resp.StatusCode, len(mp3))
	}
}

// A deployment (or one tenant) asking for a storage format without the
// encoder it needs does not start, and says what to install.
func TestStoredFormatWithoutFFmpegRefusesToStart(t *testing.T) {
	for _, mut := range []func(*config.Serve){
		func(c *config.Serve) { c.MediaFormat = "opus" },
		func(c *config.Serve) { c.Tenants = []config.Tenant{{Name: "Bank", MediaFormat: "mp3"}} },
	} {
		cfg := apptest.Config(t)
		cfg.FFmpeg = filepath.Join(t.TempDir(), "no-ffmpeg")
		mut(&cfg)
		a, err := app.StartWith(context.Background(), cfg, testLogger(t), app.Options{})
		if err == nil {
			a.Close()
			t.Fatal("started without ffmpeg")
		}
		if !strings.Contains(err.Error(), "needs ffmpeg (Debian package ffmpeg; ffmpeg)") {
			t.Errorf("error %q does not say what to install", err)
		}
	}
}
