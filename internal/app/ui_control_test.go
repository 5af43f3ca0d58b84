package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Recording control from the live monitor in a real browser: an admin
// starts the recording of a call to 5004 (not recorded by default) from the
// CTI calls table, sees it appear with audio arriving, pauses and resumes
// it, then stops it with a confirmed second click.
func TestWebUIRecordingControl(t *testing.T) {
	ctx := chromium(t)
	env := startContactCenter(t)
	addUser(t, env.a, "boss", "admin", "")
	base := "http://" + env.a.HTTPAddr()

	signInUI(t, ctx, base, "boss")

	done := make(chan struct{})
	go func() {
		defer close(done)
		step(t, env.sim, `
name: ui-control
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000031", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 12s, action: release, call: c1, dn: "5004"}
`)
	}()
	defer func() { <-done }()

	// The call is not recorded: it shows only among all CTI calls, with a
	// Start button for the monitored party 5004.
	run(t, ctx, "live monitor",
		chromedp.Navigate(base+"/#/live"),
		chromedp.WaitVisible(chromedp.CSS(`#live-calls[data-state="ready"]`)),
		chromedp.Click(chromedp.ID("cti-all")),
		chromedp.WaitVisible(chromedp.CSS(`#cti-calls button.control[data-op="start"][data-dn="5004"]`)),
	)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#live-calls tr[data-recording-id]').length`)); n != 0 {
		t.Fatalf("5004 is recorded before Start: %d live rows", n)
	}
	screenshot(t, ctx, "control-1-cti")

	run(t, ctx, "start",
		chromedp.Click(chromedp.CSS(`#cti-calls button.control[data-op="start"][data-dn="5004"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-calls tr[data-recording-id] svg.rec-icon`)),
	)
	waitJS(t, ctx, "start notice",
		`(() => { const b = document.getElementById('banner'); return b.dataset.kind === 'notice' && b.textContent.includes('start requested for 5004'); })()`, 5*time.Second)
	dn, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#live-calls tr[data-recording-id]`)))
	if !strings.Contains(dn, "5004") {
		t.Errorf("live row %q does not show DN 5004", dn)
	}

	const row = `#live-calls tr[data-recording-id]`
	run(t, ctx, "pause",
		chromedp.Click(chromedp.CSS(row+` button.control[data-op="pause"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .badge-paused`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button.control[data-op="resume"]`)),
	)
	banner, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("banner")))
	if !strings.Contains(banner, "pause requested for 5004") {
		t.Errorf("banner after pause: %q, want the notice %q", banner, "pause requested for 5004")
	}
	screenshot(t, ctx, "control-2-paused")

	run(t, ctx, "resume",
		chromedp.Click(chromedp.CSS(row+` button.control[data-op="resume"]`)),
	)
	waitJS(t, ctx, "resumed", `(() => {
		const tr = document.querySelector('`+row+`');
		return !!tr && !tr.querySelector('.badge-paused') && !tr.querySelector('button.control[data-op="pause"]').hidden;
	})()`, 5*time.Second)
	screenshot(t, ctx, "control-3-resumed")

	// Stop takes a second click.
	run(t, ctx, "arm stop",
		chromedp.Click(chromedp.CSS(row+` button.control[data-op="stop"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button.control[data-op="stop"][data-confirm="true"]`)),
	)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#live-calls tr[data-recording-id]').length`)); n != 1 {
		t.Errorf("a first click on Stop changed the live list: %d rows, want 1", n)
	}
	run(t, ctx, "stop",
		chromedp.Click(chromedp.CSS(row+` button.control[data-op="stop"][data-confirm="true"]`)),
	)
	waitJS(t, ctx, "stopped", `document.querySelectorAll('#live-calls tr[data-recording-id]').length === 0`, 5*time.Second)
	screenshot(t, ctx, "control-4-stopped")
}
