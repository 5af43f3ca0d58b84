package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openrec/openrec/internal/testtool"
)

// chromium starts Debian's headless Chromium (OPENREC_TEST_CHROMIUM) for
// browser tests, or skips.
func chromium(t *testing.T) context.Context {
	t.Helper()
	// Debian packages chromium; OPENREC_TEST_CHROMIUM names another.
	exe := testtool.Find(t, "OPENREC_TEST_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Screen capture (issue 18): getDisplayMedia gets the browser's
		// fake capture device (a moving test pattern) without asking.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("auto-select-desktop-capture-source", "Entire screen"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// artifacts is where browser tests save screenshots: OPENREC_TEST_ARTIFACTS,
// else a directory under the system temp dir that outlives the test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OPENREC_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "openrec-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artifacts(t), "ui-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// run runs browser steps, failing the test with the page's banner (the
// UI's error display) when a step fails.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		browserFatal(t, ctx, what, err)
	}
}

// waitJS polls a JavaScript condition in the page (the page's timers keep
// running, unlike during a driver-side sleep), failing the test when it
// does not become true.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		browserFatal(t, ctx, what, err)
	}
}

// browserFatal fails the test with a screenshot and the page's banner.
func browserFatal(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	banner, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('banner')||{}).textContent || ''`))
	screenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
	t.Fatalf("%s: %v (banner: %q)", what, err, banner)
}

// signInUI opens the UI at base and signs in (password "password-"+user,
// as addUser makes it).
func signInUI(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), user),
		chromedp.SendKeys(chromedp.ID("login-password"), "password-"+user),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("page-search")),
	)
}

// The web UI in a real browser against a running recorder and the simulated
// contact center: sign in, search, open a recording, press play and see the
// playback time advance, then open the live monitor during a call and see
// it listed with its recording icon (audio arriving).
func TestWebUIInChromium(t *testing.T) {
	ctx := chromium(t)
	env := startContactCenter(t)
	addUser(t, env.a, "boss", "admin", "")
	step(t, env.sim, `
name: ui-recorded
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000021", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 3s, action: release, call: c1, dn: "5001"}
`)
	waitFor(t, 10*time.Second, "the recording of 5001 finished", func() bool { return finished(byCall(t, env.a, env.sim, "c1"), 1) })
	base := "http://" + env.a.HTTPAddr()

	signInUI(t, ctx, base, "boss")
	screenshot(t, ctx, "1-search")

	// Search by DN and open the recording.
	run(t, ctx, "search",
		chromedp.SendKeys(chromedp.ID("f-dn"), "5001"),
		chromedp.Click(chromedp.ID("search-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#results[data-state="ready"] tr[data-recording-id]`)),
	)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#results tr[data-recording-id]').length`))
	if err != nil || rows != 1 {
		t.Errorf("search by DN 5001: %d rows (%v), want 1", rows, err)
	}
	screenshot(t, ctx, "2-results")
	run(t, ctx, "open the recording",
		chromedp.Click(chromedp.CSS(`#results tr[data-recording-id]`)),
		chromedp.WaitVisible(chromedp.ID("page-recording")),
		chromedp.WaitVisible(chromedp.CSS(`#waveform[data-state="ready"]`)),
	)
	lanes, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.lane-label[data-channel]').length`))
	if lanes != 2 {
		t.Errorf("waveform lanes: %d, want 2 (stereo)", lanes)
	}

	// Press play: the audio element's time advances.
	run(t, ctx, "play", chromedp.Click(chromedp.ID("play")))
	waitJS(t, ctx, "playback time advancing", `document.getElementById('player').currentTime > 1.2`, 15*time.Second)
	shown, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("time")))
	if !strings.Contains(shown, "/") || strings.HasPrefix(shown, "00:00 /") {
		t.Errorf("time display after playing: %q", shown)
	}
	screenshot(t, ctx, "3-recording-playing")

	// Legal hold from the recording page: set with a reason, shown, released.
	run(t, ctx, "legal hold",
		chromedp.WaitVisible(chromedp.CSS(`#hold-card[data-state="free"]`)),
		chromedp.SendKeys(chromedp.ID("hold-reason"), "case 4711"),
		chromedp.Click(chromedp.ID("hold-set")),
		chromedp.WaitVisible(chromedp.CSS(`#hold-card[data-state="held"] #hold-release`)),
	)
	held, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("hold-text")))
	if !strings.Contains(held, "case 4711") || !strings.Contains(held, "boss") {
		t.Errorf("hold shown as %q", held)
	}
	recs := byCall(t, env.a, env.sim, "c1")
	if h, ok, err := env.a.Store().LegalHold(context.Background(), recs[0].ID); err != nil || !ok || h.Reason != "case 4711" {
		t.Errorf("hold in the store: %+v %v %v", h, ok, err)
	}
	run(t, ctx, "release the hold",
		chromedp.Click(chromedp.ID("hold-release")),
		chromedp.WaitVisible(chromedp.CSS(`#hold-card[data-state="free"]`)),
	)
	if _, ok, _ := env.a.Store().LegalHold(context.Background(), recs[0].ID); ok {
		t.Error("hold still in the store after Release")
	}
	// ... and on the whole call: every recording of the call is held.
	run(t, ctx, "legal hold on the call",
		chromedp.SendKeys(chromedp.ID("hold-reason"), "case 4712"),
		chromedp.Click(chromedp.ID("hold-set-call")),
		chromedp.WaitVisible(chromedp.CSS(`#hold-card[data-state="held"] #hold-release`)),
	)
	for _, r := range recs {
		if h, ok, err := env.a.Store().LegalHold(context.Background(), r.ID); err != nil || !ok || h.Reason != "case 4712" || h.CallUUID != r.CallUUID {
			t.Errorf("call hold of %s in the store: %+v %v %v", r.ID, h, ok, err)
		}
	}
	run(t, ctx, "release the call's hold",
		chromedp.Click(chromedp.ID("hold-release-call")),
		chromedp.WaitVisible(chromedp.CSS(`#hold-card[data-state="free"]`)),
	)
	for _, r := range recs {
		if _, ok, _ := env.a.Store().LegalHold(context.Background(), r.ID); ok {
			t.Errorf("%s still held after the call's hold was released", r.ID)
		}
	}
	if chs, _ := env.a.Store().ListCallHolds(context.Background()); len(chs) != 0 {
		t.Errorf("call holds left: %+v", chs)
	}

	// Live monitor during a call.
	done := make(chan struct{})
	go func() {
		defer close(done)
		step(t, env.sim, `
name: ui-live
steps:
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 10ms, action: inbound, call: c2, ani: "+15550000022", rp: "7000", to: "5002"}
  - {at: 50ms, action: answer, call: c2, dn: "5002"}
  - {at: 20s, action: release, call: c2, dn: "5002"}
`)
	}()
	run(t, ctx, "live monitor",
		chromedp.Navigate(base+"/#/live"),
		chromedp.WaitVisible(chromedp.ID("page-live")),
		chromedp.WaitVisible(chromedp.CSS(`#live-calls tr[data-recording-id] svg.rec-icon`)),
	)
	dn, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#live-calls tr[data-recording-id]`)))
	if !strings.Contains(dn, "5002") {
		t.Errorf("live row %q does not show DN 5002", dn)
	}
	// Listen live to both parties: the page receives and schedules frames.
	run(t, ctx, "listen live",
		chromedp.Click(chromedp.CSS(`#live-calls tr[data-recording-id] button.listen[data-channel="-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#listening[data-state="open"]`)),
	)
	waitJS(t, ctx, "live listening: 50 frames (0.5 s of both parties) received",
		`Number(document.getElementById('listening').dataset.frames) >= 50`, 10*time.Second)
	screenshot(t, ctx, "4-live")
	// People, not channel numbers: the agent's name and login, listen
	// buttons by role.
	waitJS(t, ctx, "the live row names the agent Bob Ray (1002)",
		`[...document.querySelectorAll('#live-calls tr[data-recording-id] td')].some((td) => td.textContent === 'Bob Ray (1002)')`, 5*time.Second)
	labels, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll('#live-calls tr[data-recording-id] button.listen')].map((b) => b.textContent).join(',')`))
	if labels != "Both,Agent,Customer" {
		t.Errorf("listen buttons %q, want Both,Agent,Customer", labels)
	}
	run(t, ctx, "stop listening", chromedp.Click(chromedp.ID("listen-stop")))

	// Every page wide, at 400 px and at the narrowest phone width (360 px):
	// nothing clipped, no sideways scrolling of the page (tables scroll
	// inside their card).
	recID := byCall(t, env.a, env.sim, "c1")[0].ID
	pages := []struct{ name, hash, ready string }{
		{"live", "#/live", `#live-calls[data-state="ready"] tr[data-recording-id]`},
		{"search", "#/search", `#results[data-state="ready"] tr[data-recording-id]`},
		{"recording", "#/recording/" + recID, `#waveform[data-state="ready"]`},
		{"rules", "#/admin/rules", `#page-rules[data-state="ready"]`},
	}
	for _, w := range []int64{1400, 400, 360} {
		run(t, ctx, fmt.Sprintf("viewport %d px", w), chromedp.EmulateViewport(w, 900))
		for _, pg := range pages {
			run(t, ctx, pg.name+" page", chromedp.Navigate(base+"/"+pg.hash), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
			if clipped, _ := chromedp.Run(ctx, chromedp.Evaluate[string](clippedJS)); clipped != "" {
				t.Errorf("%s page at %d px: %s", pg.name, w, clipped)
			}
			screenshot(t, ctx, fmt.Sprintf("%s-%d", pg.name, w))
		}
	}

	// Rules: Validate compiles without saving.
	run(t, ctx, "validate bad rules",
		chromedp.SetValue(chromedp.ID("rules-yaml"), "groups:\n  - name: G\n    rules:\n      - {name: r, action: shout}\n"),
		chromedp.Click(chromedp.ID("rules-validate")),
		chromedp.WaitVisible(chromedp.CSS(`#page-rules[data-state="invalid"] #rules-error`)),
	)
	run(t, ctx, "validate good rules",
		chromedp.SetValue(chromedp.ID("rules-yaml"), "groups:\n  - name: G\n    rules:\n      - {name: r, action: record, mask: '5*'}\n"),
		chromedp.Click(chromedp.ID("rules-validate")),
		chromedp.WaitVisible(chromedp.CSS(`#page-rules[data-state="valid"]`)),
	)
	verdict, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("rules-result")))
	if !strings.Contains(verdict, "Valid: 1 group, 1 rule") {
		t.Errorf("validate verdict %q", verdict)
	}
	screenshot(t, ctx, "rules-validated-400")
	<-done
}

// clippedJS lists the controls cut off by the window's edges, and says so
// when the page itself scrolls sideways ("" when the layout fits).
const clippedJS = `(() => {
  const w = window.innerWidth, bad = [];
  if (document.documentElement.scrollWidth > w + 1) bad.push('the page scrolls sideways (' + document.documentElement.scrollWidth + ' px wide)');
  for (const el of document.querySelectorAll('#logout, #nav, .brand, .page-title, button, select, input, textarea, summary')) {
    if (el.closest('.table-wrap, table.grid') || el.offsetParent === null) continue; // tables scroll inside their card
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.left < -1 || r.right > w + 1) bad.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' at ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  return bad.join('; ');
})()`
