package app_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/web/auth"
)

// addAgent creates a user with the agent role whose agent id is agentID.
func addAgent(t *testing.T, a *app.App, name, agentID string) {
	t.Helper()
	h, err := auth.HashPassword("password-" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().CreateUser(context.Background(), &store.User{Name: name, Role: "agent", AgentID: agentID, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

// screenVideo is the screen video entry of a recording's detail.
type screenVideo struct {
	Type       string
	URL        string
	Size       int64
	Parameters struct {
		Complete *bool
		OffsetMS *int64 `json:"offset_ms"`
		Codec    string
	}
}

func videoOf(c *apiClient, id string) (screenVideo, bool) {
	var d struct {
		Media []screenVideo `json:"media_files"`
	}
	c.call("GET", "/api/v1/recordings/"+id, nil, &d)
	for _, m := range d.Media {
		if m.Type == "video/webm" {
			return m, true
		}
	}
	return screenVideo{}, false
}

// download fetches a media URL of the API into a file.
func download(t *testing.T, c *apiClient, url, path string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+url, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatal(err)
	}
}

var blackRE = regexp.MustCompile(`black_start:([0-9.]+) black_end:([0-9.]+)`)

// decodeVideo decodes a WebM with ffmpeg: the frames decoded and the black
// spans (blackdetect) in seconds of video time.
func decodeVideo(t *testing.T, ffmpeg, path string) (frames int, black [][2]float64) {
	t.Helper()
	out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-i", path, "-an", "-vf", "blackdetect=d=0.5:pix_th=0.10",
		"-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg cannot decode %s: %v\n%s", path, err, out)
	}
	for _, m := range blackRE.FindAllStringSubmatch(string(out), -1) {
		a, _ := strconv.ParseFloat(m[1], 64)
		b, _ := strconv.ParseFloat(m[2], 64)
		black = append(black, [2]float64{a, b})
	}
	if m := regexp.MustCompile(`frame=\s*(\d+)`).FindAllStringSubmatch(string(out), -1); len(m) > 0 {
		frames, _ = strconv.Atoi(m[len(m)-1][1])
	}
	return frames, black
}

// evalJS evaluates a statement in the page (a seek), failing the test on error.
func evalJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](js)); err != nil {
		browserFatal(t, ctx, js, err)
	}
}

// screenBrowser starts a browser signed in as the agent, on the screen page
// (query: "?source=canvas" for the canvas test source, "" for the real
// getDisplayMedia), sharing.
func screenBrowser(t *testing.T, base, user, query string) context.Context {
	t.Helper()
	ctx := chromium(t)
	signInUI(t, ctx, base, user)
	run(t, ctx, "open the screen page",
		chromedp.Navigate(base+"/#/screen"+query),
		chromedp.WaitVisible(chromedp.ID("screen-share")),
		chromedp.Click(chromedp.ID("screen-share")),
	)
	waitJS(t, ctx, "screen shared and events open",
		`document.getElementById('page-screen').dataset.state === 'ready' && document.getElementById('page-screen').dataset.stream === 'open'`, 10*time.Second)
	return ctx
}

// Issue 18 acceptance, end to end: the simulator places a call for agent
// 1004, whose browser page (Debian's chromium, a canvas-backed screen)
// starts recording within 1 s of the voice recording's start, is blank
// during the automatic PCI pause, stops at the end and completes its
// upload; the video notification key reaches the simulator's attached
// data; the recording page plays video and audio in step (currentTime of
// both, after seeking either); and a browser killed mid-call leaves a
// playable prefix.
func TestScreenRecordingEndToEnd(t *testing.T) {
	ffmpeg := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.PCIPauseKey = "PCI"
		c.Screen = true
		c.ScreenTimeout = 20 * time.Second
	})
	addAgent(t, env.a, "agent1004", "1004")
	addUser(t, env.a, "root", "admin", "")
	admin := signIn(t, env.a, "root")
	base := "http://" + env.a.HTTPAddr()

	ctx := screenBrowser(t, base, "agent1004", "?source=canvas")
	done := make(chan error, 1)
	go func() {
		sc := `
name: screen
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 3000ms, action: update, call: c1, dn: "5004", data: {PCI: start}}
  - {at: 5500ms, action: update, call: c1, dn: "5004", data: {PCI: stop}}
  - {at: 9000ms, action: release, call: c1, dn: "5004"}
`
		defer func() { done <- nil }()
		step(t, env.sim, sc)
	}()
	waitJS(t, ctx, "recording started", `document.getElementById('page-screen').dataset.state === 'recording' && document.getElementById('page-screen').dataset.startDelayMs !== undefined`, 10*time.Second)
	delay, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('page-screen').dataset.startDelayMs || ''`))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := strconv.Atoi(delay); err != nil || d > 1000 {
		t.Errorf("the page started recording %d ms after the start event, want within 1 s", d)
	}
	waitJS(t, ctx, "blank during the PCI pause", `document.getElementById('page-screen').dataset.state === 'paused'`, 10*time.Second)
	waitJS(t, ctx, "recording again after the pause", `document.getElementById('page-screen').dataset.state === 'recording'`, 10*time.Second)
	waitJS(t, ctx, "stopped at the end", `document.getElementById('page-screen').dataset.state === 'ready'`, 15*time.Second)
	<-done
	recs := waitFinished(t, env.a, 1)
	var rec store.Recording
	for _, r := range recs {
		if r.RecordedDN == "5004" {
			rec = r
		}
	}
	if rec.ID == "" {
		t.Fatalf("no recording of 5004: %+v", recs)
	}
	var video screenVideo
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		v, ok := videoOf(admin, rec.ID)
		video = v
		return ok && v.Parameters.Complete != nil && *v.Parameters.Complete, fmt.Sprintf("%+v", v)
	}, "the screen upload completes")
	if video.Parameters.OffsetMS == nil || *video.Parameters.OffsetMS > 1000 || *video.Parameters.OffsetMS < -200 {
		t.Errorf("video offset %v ms from the audio's start, want within 1 s", video.Parameters.OffsetMS)
	}
	env.waitNotification(t, "RECORDING_VIDEO_STATUS=yes", "no video notification in the attached data")

	path := filepath.Join(t.TempDir(), "screen.webm")
	download(t, admin, video.URL, path)
	frames, black := decodeVideo(t, ffmpeg, path)
	if frames < 10 {
		t.Errorf("%d frames decoded", frames)
	}
	// The pause lasted ~2.5 s from ~3 s into the call: one black span there.
	off := float64(*video.Parameters.OffsetMS) / 1000
	t.Logf("start delay %s ms, video offset %.2f s, %d frames, black spans %v, %d bytes for %d ms of call (%.0f kbit/s)",
		delay, off, frames, black, video.Size, rec.DurationMS, float64(video.Size)*8/float64(rec.DurationMS))
	found := false
	for _, b := range black {
		if b[1]-b[0] > 1.5 && b[0]+off > 2 && b[0]+off < 4.5 {
			found = true
		}
	}
	if !found {
		t.Errorf("no black span of ~2.5 s around the PCI pause (3 s – 5.5 s of the call): %v (offset %.2f s)", black, off)
	}

	// Playback: the agent's browser session ends; the admin plays it.
	run(t, ctx, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-username")))
	signInUI(t, ctx, base, "root")
	run(t, ctx, "search with screen", chromedp.Navigate(base+"/#/search?has_screen=true"), chromedp.WaitVisible(chromedp.ID("results")))
	waitJS(t, ctx, "the screen marker and thumbnail in search", fmt.Sprintf(`(() => { const tr = document.querySelector('tr[data-recording-id="%s"]');
		const img = tr && tr.querySelector('img.screen-thumb');
		return !!tr && !!tr.querySelector('.screen-marker') && !!img && img.complete && img.naturalWidth === 160; })()`, rec.ID), 15*time.Second)
	run(t, ctx, "open the recording", chromedp.Navigate(base+"/#/recording/"+rec.ID), chromedp.WaitVisible(chromedp.ID("screen-video")))
	waitJS(t, ctx, "media loaded", `document.getElementById('screen-video').readyState >= 1 && document.getElementById('player').readyState >= 1`, 15*time.Second)
	syncOK := fmt.Sprintf(`(() => { const a = document.getElementById('player'), v = document.getElementById('screen-video');
		return a.currentTime > %[1]f && Math.abs(v.currentTime - Math.max(0, a.currentTime - %[2]f)) < 0.5; })()`, 1.5, off)
	run(t, ctx, "play", chromedp.Click(chromedp.ID("play")))
	waitJS(t, ctx, "video follows the audio while playing", syncOK, 15*time.Second)
	evalJS(t, ctx, `document.getElementById('player').currentTime = 6`)
	waitJS(t, ctx, "video follows an audio seek", fmt.Sprintf(`(() => { const a = document.getElementById('player'), v = document.getElementById('screen-video');
		return a.currentTime >= 6 && Math.abs(v.currentTime - (a.currentTime - %f)) < 0.5; })()`, off), 10*time.Second)
	evalJS(t, ctx, `document.getElementById('screen-video').currentTime = 2`)
	waitJS(t, ctx, "audio follows a video seek", fmt.Sprintf(`(() => { const a = document.getElementById('player'), v = document.getElementById('screen-video');
		return a.currentTime < 5.5 && Math.abs(v.currentTime - (a.currentTime - %f)) < 0.5; })()`, off), 10*time.Second)
	cur, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.getElementById('player').currentTime, document.getElementById('screen-video').currentTime]`))
	if err != nil || len(cur) != 2 {
		t.Fatalf("times: %v %v", cur, err)
	}
	t.Logf("audio %.2f s, video %.2f s, offset %.2f s", cur[0], cur[1], off)
	if math.Abs(cur[1]-(cur[0]-off)) > 0.5 {
		t.Errorf("out of step: audio %.2f s, video %.2f s, offset %.2f s", cur[0], cur[1], off)
	}
	screenshot(t, ctx, "screen-playback")

	// A browser killed mid-call: the bytes it uploaded play as a prefix.
	ctx2 := screenBrowser(t, base, "agent1004", "?source=canvas")
	go func() {
		defer func() { done <- nil }()
		step(t, env.sim, `
name: screen-killed
steps:
  - {at: 10ms, action: inbound, call: c2, ani: "+15551238888", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c2, dn: "5004"}
  - {at: 6000ms, action: release, call: c2, dn: "5004"}
`)
	}()
	waitJS(t, ctx2, "second recording started", `document.getElementById('page-screen').dataset.state === 'recording'`, 10*time.Second)
	waitJS(t, ctx2, "a few seconds uploaded", `(() => { const s = Date.now(); window.__t0 = window.__t0 || s; return s - window.__t0 > 3000; })()`, 10*time.Second)
	if err := chromedp.Cancel(ctx2); err != nil { // kills the browser
		t.Fatal(err)
	}
	<-done
	var rec2 store.Recording
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		all, err := env.a.Store().ListRecordings(context.Background(), store.Filter{Limit: 10, DN: "5004"})
		for _, r := range all {
			if r.ID != rec.ID && r.Status != store.StatusRecording {
				rec2 = r
				return true, ""
			}
		}
		return false, fmt.Sprint(all, err)
	}, "the second recording finishes")
	v2, ok := videoOf(admin, rec2.ID)
	if !ok || v2.Parameters.Complete == nil || *v2.Parameters.Complete || v2.Size < 1000 {
		t.Fatalf("killed browser: video %+v (listed %v), want an incomplete prefix", v2, ok)
	}
	prefix := filepath.Join(t.TempDir(), "prefix.webm")
	download(t, admin, v2.URL, prefix)
	if frames, _ := decodeVideo(t, ffmpeg, prefix); frames < 5 {
		t.Errorf("the prefix left by the killed browser decodes to %d frames", frames)
	}
	if !strings.HasSuffix(v2.URL, "kind=screen") {
		t.Errorf("video URL %q", v2.URL)
	}
}

// The page with the browser's real screen capture (getDisplayMedia, the
// headless browser's fake capture device chosen without a prompt): a
// recorded call of the agent gets a complete, decodable screen video.
func TestScreenRecordingGetDisplayMedia(t *testing.T) {
	ffmpeg := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.Screen = true
		c.ScreenFrameRate = 10
	})
	addAgent(t, env.a, "agent1004", "1004")
	addUser(t, env.a, "root", "admin", "")
	admin := signIn(t, env.a, "root")
	ctx := screenBrowser(t, "http://"+env.a.HTTPAddr(), "agent1004", "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		step(t, env.sim, `
name: screen-gdm
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 4000ms, action: release, call: c1, dn: "5004"}
`)
	}()
	waitJS(t, ctx, "recording started", `document.getElementById('page-screen').dataset.state === 'recording'`, 10*time.Second)
	<-done
	recs := waitFinished(t, env.a, 1)
	var id string
	for _, r := range recs {
		if r.RecordedDN == "5004" {
			id = r.ID
		}
	}
	var video screenVideo
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		v, ok := videoOf(admin, id)
		video = v
		return ok && v.Parameters.Complete != nil && *v.Parameters.Complete, fmt.Sprintf("%+v", v)
	}, "the screen upload completes")
	path := filepath.Join(t.TempDir(), "screen.webm")
	download(t, admin, video.URL, path)
	frames, _ := decodeVideo(t, ffmpeg, path)
	t.Logf("getDisplayMedia: %d bytes, %d frames, codec %s", video.Size, frames, video.Parameters.Codec)
	if frames < 10 {
		t.Errorf("%d frames decoded from ~4 s at 10 fps", frames)
	}
}

// A recording that asks for screen recording while no screen client is
// open: after screen_timeout a no-screen failed-recording alert (metric)
// and the video notification says no in the simulator's attached data.
func TestScreenRecordingNoClientAlerts(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.Screen = true
		c.ScreenTimeout = time.Second
	})
	step(t, env.sim, `
name: screen-none
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 2500ms, action: release, call: c1, dn: "5004"}
`)
	env.waitNotification(t, "RECORDING_VIDEO_STATUS=no", "no video notification of the missing screen video")
	waitMetric(t, env.a, `openrec_failed_recordings_total{kind="no-screen"} 1`, 5*time.Second)
}
