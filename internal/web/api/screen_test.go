package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/web/api"
)

// fakeScreen is the CTI side: one recording asked agent 7001 for screen.
type fakeScreen struct {
	mu       sync.Mutex
	recs     map[string]api.ScreenRecording
	received []string
	afters   []uint64
	events   chan api.ScreenEvent
	backlog  []api.ScreenEvent
}

type fakeSub struct{ f *fakeScreen }

func (s fakeSub) Backlog() []api.ScreenEvent { return s.f.backlog }
func (s fakeSub) Next(ctx context.Context) (api.ScreenEvent, error) {
	select {
	case e := <-s.f.events:
		return e, nil
	case <-ctx.Done():
		return api.ScreenEvent{}, ctx.Err()
	}
}
func (fakeSub) Close() {}

func (f *fakeScreen) SubscribeScreen(agent string, after uint64) (api.ScreenSubscription, bool) {
	f.mu.Lock()
	f.afters = append(f.afters, after)
	f.mu.Unlock()
	return fakeSub{f}, false
}
func (f *fakeScreen) ScreenRecording(id string) (api.ScreenRecording, bool) {
	r, ok := f.recs[id]
	return r, ok
}
func (f *fakeScreen) ScreenReceived(id string) {
	f.mu.Lock()
	f.received = append(f.received, id)
	f.mu.Unlock()
}

func newScreenEnv(t testing.TB, ffmpeg string) (*env, *fakeScreen) {
	fs := &fakeScreen{recs: map[string]api.ScreenRecording{"rec-a2": {Agent: "7001", Tenant: "TenantA"}}, events: make(chan api.ScreenEvent, 4)}
	e := newEnv(t, func(c *api.Config) {
		c.Screen = fs
		c.ScreenStore = c.Store.(api.ScreenStore)
		c.ScreenCapture = api.ScreenCapture{FrameRate: 5, MaxWidth: 1280, MaxHeight: 720}
		c.ScreenMaxBytes = 1 << 20
		c.FFmpeg = ffmpeg
	})
	return e, fs
}

// put sends one chunk; it returns the status, the Range header and the body.
func (e *env) put(tok, id, ctype, crange string, body []byte) (int, string, string) {
	e.t.Helper()
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	if crange != "" {
		h.Set("Content-Range", crange)
	}
	h.Set("X-Screen-Width", "1280")
	h.Set("X-Screen-Height", "720")
	h.Set("X-Screen-Started-Ago-Ms", "1500")
	req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/recordings/"+id+"/screen", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Range"), string(b)
}

// Chunks in any order, retries and a status query: 308 with the bytes
// held from the start until the last byte arrives, then 201, then 200; the
// stored video is the bytes sent, served with Range, listed in the detail
// as video/webm and found by has_screen.
func TestScreenUploadChunkedResumable(t *testing.T) {
	e, fs := newScreenEnv(t, "")
	tok := e.token("agent1") // agent 7001, asked to record rec-a2's screen
	video := make([]byte, 2500)
	_, _ = rand.Read(video)
	ct := "video/webm;codecs=vp8"
	steps := []struct {
		name      string
		start     int
		end       int // inclusive
		total     string
		wantCode  int
		wantRange string
	}{
		{"second chunk first", 1000, 1999, "*", 308, ""},
		{"first chunk", 0, 999, "*", 308, "bytes=0-1999"},
		{"first chunk again (retry)", 0, 999, "*", 308, "bytes=0-1999"},
		{"last chunk names the size", 2000, 2499, "2500", 201, "bytes=0-2499"},
		{"a retry after completion", 2000, 2499, "2500", 200, "bytes=0-2499"},
	}
	uploadAt := time.Now()
	for _, s := range steps {
		code, rng, body := e.put(tok, "rec-a2", ct, fmt.Sprintf("bytes %d-%d/%s", s.start, s.end, s.total), video[s.start:s.end+1])
		if code != s.wantCode || rng != s.wantRange {
			t.Fatalf("%s: %d Range %q (%s), want %d %q", s.name, code, rng, body, s.wantCode, s.wantRange)
		}
	}
	if code, _, body := e.put(tok, "rec-a2", ct, "bytes */2500", nil); code != 200 || !strings.Contains(body, `"complete":true`) {
		t.Fatalf("status query: %d %s", code, body)
	}
	if len(fs.received) != 1 || fs.received[0] != "rec-a2" {
		t.Fatalf("ScreenReceived calls %v, want one for rec-a2", fs.received)
	}
	// Stored beside the media, the part file gone.
	media := e.recs["rec-a2"].MediaPath
	stored, err := os.ReadFile(strings.TrimSuffix(media, ".wav") + ".screen.webm")
	if err != nil || !bytes.Equal(stored, video) {
		t.Fatalf("stored video: %d bytes, %v", len(stored), err)
	}
	if _, err := os.Stat(strings.TrimSuffix(media, ".wav") + ".screen.webm.part"); !os.IsNotExist(err) {
		t.Fatalf("part file left: %v", err)
	}
	// Served, with Range.
	sup := e.token("supa")
	resp := e.raw(sup, "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, http.Header{"Range": {"bytes=100-199"}})
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || resp.Header.Get("Content-Type") != "video/webm" || !bytes.Equal(got, video[100:200]) {
		t.Fatalf("Range: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	var detail struct {
		HasScreen bool `json:"has_screen"`
		Media     []struct {
			Type, URL  string
			Size       int64
			Parameters struct {
				Codec         string
				Width, Height int
				OffsetMS      *int64 `json:"offset_ms"`
			}
		} `json:"media_files"`
	}
	if code := e.do(sup, "GET", "/api/v1/recordings/rec-a2", nil, &detail); code != 200 || !detail.HasScreen || len(detail.Media) != 2 {
		t.Fatalf("detail: %d %+v", code, detail)
	}
	if v := detail.Media[1]; v.Type != "video/webm" || v.URL != "/api/v1/recordings/rec-a2/media?kind=screen" || v.Size != 2500 ||
		v.Parameters.Codec != "vp8" || v.Parameters.Width != 1280 || v.Parameters.Height != 720 {
		t.Fatalf("video media file %+v", v)
	}
	// The first stored chunk said recording began 1.5 s before it.
	want := uploadAt.Add(-1500 * time.Millisecond).Sub(e.recs["rec-a2"].StartedAt).Milliseconds()
	if o := detail.Media[1].Parameters.OffsetMS; o == nil || *o < want-100 || *o > want+2000 {
		t.Fatalf("offset_ms %v, want about %d", o, want)
	}
	var pg page
	if code := e.do(sup, "GET", "/api/v1/recordings?has_screen=true", nil, &pg); code != 200 || strings.Join(pg.ids(), ",") != "rec-a2" {
		t.Fatalf("has_screen=true: %d %v", code, pg.ids())
	}
	if code := e.do(sup, "GET", "/api/v1/recordings?has_screen=false", nil, &pg); code != 200 || strings.Join(pg.ids(), ",") != "rec-a1" {
		t.Fatalf("has_screen=false: %d %v", code, pg.ids())
	}
	// Audited: the upload and the playback of the screen.
	entries, err := e.db.ListAudit(context.Background(), store.AuditFilter{RecordingID: "rec-a2"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action+":"+a.Detail)
	}
	joined := strings.Join(actions, " ")
	if !strings.Contains(joined, "screen_upload:") || !strings.Contains(joined, "playback:kind=screen") {
		t.Fatalf("audit %v", actions)
	}
}

// Bad uploads get the problem that says why, and nothing is stored.
func TestScreenUploadRefusals(t *testing.T) {
	e, _ := newScreenEnv(t, "")
	agent := e.token("agent1")
	chunk := []byte("0123456789")
	tests := []struct {
		name, tok, id, ctype, crange string
		body                         []byte
		want                         int
	}{
		{"not webm", agent, "rec-a2", "video/mp4", "bytes 0-9/10", chunk, 415},
		{"unknown codec", agent, "rec-a2", "video/webm;codecs=h264", "bytes 0-9/10", chunk, 415},
		{"malformed range", agent, "rec-a2", "video/webm", "bytes 0-9", chunk, 400},
		{"end before start", agent, "rec-a2", "video/webm", "bytes 9-0/10", chunk, 416},
		{"end past total", agent, "rec-a2", "video/webm", "bytes 0-9/5", chunk, 416},
		{"length mismatch", agent, "rec-a2", "video/webm", "bytes 0-19/20", chunk, 400},
		{"over screen_max_bytes", agent, "rec-a2", "video/webm", "bytes 0-9/2000000", chunk, 413},
		{"not this agent's recording", agent, "rec-b1", "video/webm", "bytes 0-9/10", chunk, 404},
		{"supervisors do not upload", e.token("supa"), "rec-a2", "video/webm", "bytes 0-9/10", chunk, 404},
		{"no such recording", agent, "nope", "video/webm", "bytes 0-9/10", chunk, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := e.put(tt.tok, tt.id, tt.ctype, tt.crange, tt.body)
			if code != tt.want || !strings.Contains(body, `"status":`) {
				t.Fatalf("%d %s, want %d problem", code, body, tt.want)
			}
		})
	}
	// A size that changes is a conflict.
	if code, _, _ := e.put(agent, "rec-a2", "video/webm", "bytes 0-4/10", chunk[:5]); code != 308 {
		t.Fatalf("first chunk: %d", code)
	}
	if code, _, body := e.put(agent, "rec-a2", "video/webm", "bytes 5-9/11", chunk[5:]); code != 409 {
		t.Fatalf("changed size: %d %s", code, body)
	}
	// Past the size given before: 416.
	if code, _, body := e.put(agent, "rec-a2", "video/webm", "bytes 10-10/*", []byte("x")); code != 416 {
		t.Fatalf("past the known size: %d %s", code, body)
	}
	// Chunks scattered far apart are bounded: at most 256 separate ranges
	// (rec-a1 is agent 7001's own recording).
	for i := 1; i <= 257; i++ {
		code, _, body := e.put(agent, "rec-a1", "video/webm", fmt.Sprintf("bytes %d-%d/*", i*100, i*100), []byte("x"))
		if want := 308; i == 257 {
			if code != 409 {
				t.Fatalf("range %d: %d %s, want 409", i, code, body)
			}
		} else if code != want {
			t.Fatalf("range %d: %d %s", i, code, body)
		}
	}
	// The held prefix plays while the upload is incomplete (the client died).
	resp := e.raw(e.token("root"), "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, nil)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "01234" {
		t.Fatalf("prefix: %d %q", resp.StatusCode, got)
	}
	if code := e.do(agent, "GET", "/api/v1/recordings/rec-a1/media?kind=screen", nil, nil); code != 404 {
		t.Fatalf("no screen: %d", code)
	}
}

// The event stream: hello, the backlog, live events with their ids,
// upload URL and capture settings; Last-Event-ID reaches the source; an
// agent may not follow another agent.
func TestScreenEventStream(t *testing.T) {
	e, fs := newScreenEnv(t, "")
	fs.backlog = []api.ScreenEvent{{ID: 41, Kind: "start", Agent: "7001", RecordingID: "rec-a2", DN: "5002"}}
	tok := e.token("agent1")
	if code := e.do(tok, "GET", "/api/v1/screen/events?agent=7002", nil, nil); code != 403 {
		t.Fatalf("another agent's stream: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/screen/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Last-Event-ID", "40")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	fs.events <- api.ScreenEvent{ID: 42, Kind: "pause", Agent: "7001", RecordingID: "rec-a2", Reason: "pci"}
	rd := bufio.NewReader(resp.Body)
	type ev struct {
		id, kind string
		data     map[string]any
	}
	next := func() ev {
		var out ev
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "" && out.kind != "":
				return out
			case strings.HasPrefix(line, "id: "):
				out.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				out.kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &out.data); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if h := next(); h.kind != "hello" || h.data["agent"] != "7001" {
		t.Fatalf("hello %+v", h)
	}
	if s := next(); s.id != "41" || s.kind != "start" || s.data["upload_url"] != "/api/v1/recordings/rec-a2/screen" ||
		s.data["capture"].(map[string]any)["frame_rate"] != 5.0 {
		t.Fatalf("start %+v", s)
	}
	if p := next(); p.id != "42" || p.kind != "pause" || p.data["reason"] != "pci" {
		t.Fatalf("pause %+v", p)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.afters) != 1 || fs.afters[0] != 40 {
		t.Fatalf("subscribed after %v, want [40]", fs.afters)
	}
}

// The muxed download: ffmpeg copies the video and adds the call's audio
// (one WebM with both streams); without ffmpeg a 501 names the separate
// files.
func TestScreenMuxed(t *testing.T) {
	e, _ := newScreenEnv(t, filepath.Join(t.TempDir(), "no-ffmpeg"))
	tok := e.token("agent1")
	if code, _, _ := e.put(tok, "rec-a2", "video/webm", "bytes 0-3/4", []byte("webm")); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	resp := e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=muxed", nil, nil)
	var p struct {
		Status int
		Links  map[string]string
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 501 || p.Links["video"] == "" || p.Links["audio"] == "" {
		t.Fatalf("without ffmpeg: %d %+v", resp.StatusCode, p)
	}
	if code := e.do(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=thumbnail", nil, nil); code != 501 {
		t.Fatalf("thumbnail without ffmpeg: %d", code)
	}

	ffmpeg := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	ffprobe := testtool.Find(t, "OPENREC_TEST_FFPROBE", "ffprobe")
	e, _ = newScreenEnv(t, ffmpeg)
	tok = e.token("agent1")
	video := filepath.Join(t.TempDir(), "v.webm")
	if out, err := exec.Command(ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=5", "-t", "3",
		"-c:v", "libvpx", "-b:v", "200k", "-f", "webm", video).CombinedOutput(); err != nil {
		t.Fatalf("make a test video: %v %s", err, out)
	}
	data, _ := os.ReadFile(video)
	if code, _, body := e.put(tok, "rec-a2", "video/webm;codecs=vp8", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)), data); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	resp = e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=muxed", nil, nil)
	muxed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/webm" {
		t.Fatalf("muxed: %d %s", resp.StatusCode, muxed[:min(len(muxed), 300)])
	}
	out := filepath.Join(t.TempDir(), "m.webm")
	_ = os.WriteFile(out, muxed, 0o600)
	probe, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	if s := string(probe); !strings.Contains(s, "vp8,video") || !strings.Contains(s, "opus,audio") {
		t.Fatalf("muxed streams: %q", s)
	}
	resp = e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=thumbnail", nil, nil)
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 160 || img.Bounds().Dy() != 120 {
		t.Fatalf("thumbnail: %d %q %v %v", resp.StatusCode, resp.Header.Get("Content-Type"), err, img)
	}
}

// A client that learns the size only after its last chunk (MediaRecorder
// stopped with nothing more to send) completes the upload with a status
// query naming it; the agent uploads for its own recording (rec-a1 is
// agent 7001's) even when the CTI side does not know it.
func TestScreenUploadCompletedByStatusQuery(t *testing.T) {
	e, _ := newScreenEnv(t, "")
	tok := e.token("agent1")
	if code, rng, _ := e.put(tok, "rec-a1", "video/webm", "bytes 0-5/*", []byte("abcdef")); code != 308 || rng != "bytes=0-5" {
		t.Fatalf("chunk: %d %q", code, rng)
	}
	if code, _, body := e.put(tok, "rec-a1", "video/webm", "bytes */*", nil); code != 308 || !strings.Contains(body, `"complete":false`) {
		t.Fatalf("query without size: %d %s", code, body)
	}
	if code, _, body := e.put(tok, "rec-a1", "video/webm", "bytes */6", nil); code != 201 || !strings.Contains(body, `"complete":true`) {
		t.Fatalf("query with size: %d %s", code, body)
	}
	resp := e.raw(tok, "GET", "/api/v1/recordings/rec-a1/media?kind=screen", nil, nil)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "abcdef" {
		t.Fatalf("video: %d %q", resp.StatusCode, got)
	}
}

// A recording encrypted at rest gets its screen video encrypted too: the
// stored file is an age file (no plaintext left), played back decrypted
// with Range, and 409 without a key that opens it.
func TestScreenUploadEncryptedRecording(t *testing.T) {
	e, media, keys, encryptOnly, set := newEncryptedScreenEnv(t)
	_ = keys

	video := bytes.Repeat([]byte("screen-video-bytes "), 5000)
	tok := e.token("agent1")
	if code, _, body := e.put(tok, "rec-a2", "video/webm", fmt.Sprintf("bytes 0-%d/%d", len(video)-1, len(video)), video); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	stored := strings.TrimSuffix(media, ".wav") + ".screen.webm"
	if !mediacrypt.IsEncryptedFile(stored) {
		t.Fatal("the screen video of an encrypted recording is stored in clear")
	}
	if raw, _ := os.ReadFile(stored); bytes.Contains(raw, []byte("screen-video-bytes")) {
		t.Fatal("plaintext in the stored video")
	}
	if _, err := os.Stat(stored + ".part"); !os.IsNotExist(err) {
		t.Fatalf("plaintext part left: %v", err)
	}
	sup := e.token("supa")
	resp := e.raw(sup, "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, http.Header{"Range": {"bytes=19-37"}})
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(got) != "screen-video-bytes " {
		t.Fatalf("decrypted Range: %d %q", resp.StatusCode, got)
	}
	set(encryptOnly)
	if code := e.do(sup, "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, nil); code != 409 {
		t.Fatalf("without a decryption key: %d, want 409", code)
	}
}

// newEncryptedScreenEnv is an API whose rec-a2 has audio encrypted at rest
// (as the recorder writes it) and asks agent 7001 for its screen; set
// swaps the keys the server holds.
func newEncryptedScreenEnv(t *testing.T) (e *env, media string, keys, encryptOnly *mediacrypt.Keys, set func(*mediacrypt.Keys)) {
	t.Helper()
	dir := t.TempDir()
	// Test-only key pair (protects nothing; also in mediacrypt's tests).
	const identity = "AGE-SECRET-KEY-1LS8PX4ZKN323W6M0S8TJJ8NAA7XXYNC4R5RKA7MP6NHPAQW4C72SHEF3K9"
	const recipient = "age1yfqmfms8rn5r8ylrsphexjha8fe5weyxakz6utf3gcj780w2kylsjdwx7x"
	rcp, ids := filepath.Join(dir, "r.txt"), filepath.Join(dir, "i.txt")
	_ = os.WriteFile(rcp, []byte(recipient+"\n"), 0o600)
	_ = os.WriteFile(ids, []byte(identity+"\n"), 0o600)
	keys, err := mediacrypt.Config{Enabled: true, EncryptTo: rcp, DecryptKeys: ids}.Load()
	if err != nil {
		t.Fatal(err)
	}
	encryptOnly, err = mediacrypt.Config{Enabled: true, EncryptTo: rcp}.Load()
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[mediacrypt.Keys]
	current.Store(keys)
	fs := &fakeScreen{recs: map[string]api.ScreenRecording{"rec-a2": {Agent: "7001", Tenant: "TenantA"}}}
	e = newEnv(t, func(c *api.Config) {
		c.Screen = fs
		c.ScreenStore = c.Store.(api.ScreenStore)
		c.Keys = current.Load
	})
	// Make rec-a2's audio an age file, as the recorder writes it encrypted.
	media = e.recs["rec-a2"].MediaPath
	plain, _ := os.ReadFile(media)
	recips, _ := keys.Recipients("TenantA")
	f, _ := os.Create(media)
	w, err := mediacrypt.NewWriter(f, recips, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(plain)
	_ = w.Close()
	_ = f.Close()
	return e, media, keys, encryptOnly, current.Store
}

// Issue 18, "same encryption as voice": the screen video of a recording
// encrypted at rest is never on disk in plaintext, not even while it is
// uploaded — the part is one encrypted stream, appended chunk by chunk
// and checkpointed, so the prefix held plays back (decrypted) while the
// upload runs; a retried chunk adds only its new bytes; a chunk past the
// bytes held is not stored (308 with the Range held); a stream the server
// lost cannot be resumed (409), the bytes held stay playable.
func TestScreenUploadEncryptedInFlight(t *testing.T) {
	e, media, _, _, _ := newEncryptedScreenEnv(t)
	part := strings.TrimSuffix(media, ".wav") + ".screen.webm.part"
	noPlain := func(when string) {
		t.Helper()
		raw, err := os.ReadFile(part)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !mediacrypt.IsEncryptedFile(part) || bytes.Contains(raw, []byte("frame")) {
			t.Fatalf("%s: plaintext on disk", when)
		}
	}
	video := bytes.Repeat([]byte("frame-0123456789 "), 3000) // 51,000 bytes
	n := int64(len(video))
	tok := e.token("agent1")
	chunk := func(a, b int64, total string) (int, string) {
		code, rng, _ := e.put(tok, "rec-a2", "video/webm", fmt.Sprintf("bytes %d-%d/%s", a, b-1, total), video[a:b])
		return code, rng
	}
	if code, rng := chunk(0, 20000, "*"); code != 308 || rng != "bytes=0-19999" {
		t.Fatalf("first chunk: %d %q", code, rng)
	}
	noPlain("after the first chunk")
	// The prefix held plays back, decrypted, while the upload runs.
	resp := e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, nil)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, video[:20000]) {
		t.Fatalf("prefix in flight: %d, %d bytes (want the 20000 held)", resp.StatusCode, len(got))
	}
	// Out of order: not stored; the client is told what is held.
	if code, rng := chunk(40000, n, fmt.Sprint(n)); code != 308 || rng != "bytes=0-19999" {
		t.Fatalf("chunk past the bytes held: %d %q", code, rng)
	}
	// A retry overlapping what is held adds only the new bytes.
	if code, rng := chunk(10000, 40000, "*"); code != 308 || rng != "bytes=0-39999" {
		t.Fatalf("overlapping retry: %d %q", code, rng)
	}
	// A body shorter than its range changes nothing.
	if code, _, _ := e.put(tok, "rec-a2", "video/webm", fmt.Sprintf("bytes 40000-%d/%d", n-1, n), video[40000:45000]); code != 400 {
		t.Fatalf("short body: %d, want 400", code)
	}
	noPlain("mid-upload")
	if code, _ := chunk(40000, n, fmt.Sprint(n)); code != 201 {
		t.Fatalf("last chunk: %d", code)
	}
	resp = e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, nil)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, video) {
		t.Fatalf("complete video: %d, %d bytes, equal %v", resp.StatusCode, len(got), bytes.Equal(got, video))
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Fatalf("part left after completion: %v", err)
	}
}

// A server that lost an encrypted upload's stream (restarted: a new
// Server over the same store and files) answers 409 to further chunks and
// keeps the bytes held as a playable prefix.
func TestScreenUploadEncryptedStreamLost(t *testing.T) {
	e, _, _, _, _ := newEncryptedScreenEnv(t)
	video := bytes.Repeat([]byte("frame-0123456789 "), 2000)
	tok := e.token("agent1")
	if code, _, _ := e.put(tok, "rec-a2", "video/webm", "bytes 0-9999/*", video[:10000]); code != 308 {
		t.Fatalf("first chunk: %d", code)
	}
	e.restart(t)
	tok = e.token("agent1")
	code, _, body := e.put(tok, "rec-a2", "video/webm", fmt.Sprintf("bytes 10000-%d/%d", len(video)-1, len(video)), video[10000:])
	if code != 409 || !strings.Contains(body, "cannot be resumed") {
		t.Fatalf("chunk after the stream was lost: %d %s", code, body)
	}
	resp := e.raw(e.token("supa"), "GET", "/api/v1/recordings/rec-a2/media?kind=screen", nil, nil)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, video[:10000]) {
		t.Fatalf("prefix after the loss: %d, %d bytes", resp.StatusCode, len(got))
	}
}
