package app_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// CTI link loss, end to end: recorder (app) and simulator (sim) over
// loopback sockets. The link is cut with Sim.DisconnectClients and kept
// down with Sim.RefuseClients (the recorder retries every 200 ms and is
// refused), so what happens "while the link is down" does not depend on
// the reconnect timer or the machine's speed.

const linkLossANI = "+15551230007"

// cutLink makes the SIP Server unreachable and waits until the recorder
// noticed.
func cutLink(t *testing.T, env *ccEnv) {
	t.Helper()
	env.sim.RefuseClients(true)
	if n := env.sim.DisconnectClients(); n != 1 {
		t.Fatalf("disconnected %d T-Library clients, want 1", n)
	}
	waitMetric(t, env.a, "openrec_cti_links_up 0", 5*time.Second)
}

// restoreLink lets the recorder reconnect and waits until it registered
// and resynchronised (LinkState up comes after the resync answers).
func restoreLink(t *testing.T, env *ccEnv) {
	t.Helper()
	env.sim.RefuseClients(false)
	waitMetric(t, env.a, "openrec_cti_links_up 1", 5*time.Second)
}

func waitMetric(t testing.TB, a *app.App, line string, d time.Duration) {
	t.Helper()
	testtool.Poll(t, d, func() (bool, string) {
		m := metrics(t, a)
		return strings.Contains(m, line), "\n" + grepLines(m, "openrec_")
	}, "metric %q", line)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// finishedByDN waits for n finished recordings and returns them (full
// rows) by recorded DN.
func finishedByDN(t *testing.T, a *app.App, n int) map[string]*store.Recording {
	t.Helper()
	recs := waitFinished(t, a, n)
	out := map[string]*store.Recording{}
	for _, r := range recs {
		full, err := a.Store().GetRecording(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[full.RecordedDN]; dup {
			t.Fatalf("two recordings of DN %s", full.RecordedDN)
		}
		out[full.RecordedDN] = full
	}
	if len(out) != n {
		t.Fatalf("%d recordings, want %d", len(out), n)
	}
	return out
}

// checkSpan asserts that r's couples are its recorded DN's, share its
// CallUUID, do not overlap and cover the whole file within slack.
func checkSpan(t *testing.T, r *store.Recording, wantOther string, slack int64) {
	t.Helper()
	if len(r.Couples) == 0 {
		t.Errorf("recording %s (DN %s): no couples", r.ID, r.RecordedDN)
		return
	}
	cs := append([]store.Couple(nil), r.Couples...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].StartMS < cs[j].StartMS })
	if cs[0].StartMS > slack {
		t.Errorf("DN %s: first couple starts at %d ms, want ≤ %d (couples %s)", r.RecordedDN, cs[0].StartMS, slack, fmtCouples(cs))
	}
	if last := cs[len(cs)-1].EndMS; last < r.DurationMS-slack {
		t.Errorf("DN %s: couples end at %d ms of %d ms (couples %s)", r.RecordedDN, last, r.DurationMS, fmtCouples(cs))
	}
	for i, c := range cs {
		if c.ThisDN != r.RecordedDN {
			t.Errorf("DN %s: couple %d ThisDN %q", r.RecordedDN, i, c.ThisDN)
		}
		if c.OtherDN != wantOther {
			t.Errorf("DN %s: couple %d OtherDN %q, want %q", r.RecordedDN, i, c.OtherDN, wantOther)
		}
		if c.CallUUID != r.CallUUID {
			t.Errorf("DN %s: couple %d CallUUID %q, recording's %q", r.RecordedDN, i, c.CallUUID, r.CallUUID)
		}
		if c.EndMS < c.StartMS {
			t.Errorf("DN %s: couple %d ends before it starts (%s)", r.RecordedDN, i, fmtCouples(cs))
		}
		if i > 0 && c.StartMS < cs[i-1].EndMS {
			t.Errorf("DN %s: couples overlap (%s)", r.RecordedDN, fmtCouples(cs))
		}
		if i > 0 && c.StartMS-cs[i-1].EndMS > slack {
			t.Errorf("DN %s: gap between couples (%s)", r.RecordedDN, fmtCouples(cs))
		}
	}
}

func fmtCouples(cs []store.Couple) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "[%d-%d %s↔%s] ", c.StartMS, c.EndMS, c.ThisDN, c.OtherDN)
	}
	return b.String()
}

// checkNoCTIFailure asserts no recording was declared unmatched and no
// failed-recording alert fired.
func checkNoCTIFailure(t *testing.T, a *app.App) {
	t.Helper()
	m := metrics(t, a)
	for _, kind := range []string{"no-leg", "one-leg", "no-rtp", "orphan-leg"} {
		if line := fmt.Sprintf(`openrec_failed_recordings_total{kind=%q} 0`, kind); !strings.Contains(m, line) {
			t.Errorf("want %s:\n%s", line, grepLines(m, "openrec_failed_recordings_total"))
		}
	}
	if !strings.Contains(m, "openrec_active_calls 0") || !strings.Contains(m, "openrec_active_legs 0") {
		t.Errorf("recorder still holds calls:\n%s", grepLines(m, "openrec_active"))
	}
	if n := a.CTIStats().Engine.OrphanLegs; n != 0 {
		t.Errorf("engine reported %d orphan legs", n)
	}
}

// A call recorded at 5001 (record=true) is transferred to 5002 and released
// while the CTI link is down; the link comes back afterwards. Both
// recordings are finalised and matched to the call; 5001's couples cover
// its file with the right DNs; nothing is left open or unmatched.
func TestLinkLossTransferAndReleaseWhileDown(t *testing.T) {
	env := startContactCenter(t)
	step(t, env.sim, `
name: before
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 10ms, action: inbound, call: c1, ani: "`+linkLossANI+`", dnis: "8005550100", rp: "7000", to: "5001", data: {Segment: Gold}}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1500ms, action: wait}
`)
	if !contains(env.notifications(), "RECORDING_STATUS_GIM=RECORDING_YES") {
		// the notification is decided at first audio: the engine has
		// seen the call and its recording before the link goes
		waitFor(t, 3*time.Second, "RECORDING_YES before the link loss", func() bool { return contains(env.notifications(), "RECORDING_STATUS_GIM=RECORDING_YES") })
	}
	cutLink(t, env)
	step(t, env.sim, `
name: while-down
steps:
  - {at: 0s, action: transfer, call: c1, dn: "5001", to: "5002"}
  - {at: 100ms, action: answer, call: c1, dn: "5002"}
  - {at: 1500ms, action: release, call: c1, dn: "5002"}
`)
	ci, ok := env.sim.Call("c1")
	if !ok || !ci.Released {
		t.Fatalf("simulated call not released: %+v", ci)
	}
	// both MSR sessions end (BYE) while the link is still down
	recs := finishedByDN(t, env.a, 2)
	if strings.Contains(metrics(t, env.a), "openrec_cti_links_up 1") {
		t.Fatal("the link came back before the recordings were finalised")
	}
	restoreLink(t, env)

	r1, r2 := recs["5001"], recs["5002"]
	if r1 == nil || r2 == nil {
		t.Fatalf("recordings by DN: %v", recs)
	}
	for _, r := range []*store.Recording{r1, r2} {
		if r.Status == store.StatusRecording {
			t.Errorf("DN %s: recording not finalised", r.RecordedDN)
		}
		if r.Correlation != "matched" {
			t.Errorf("DN %s: correlation %q, want matched", r.RecordedDN, r.Correlation)
		}
		if r.CallUUID != ci.CallUUID {
			t.Errorf("DN %s: CallUUID %q, want %q", r.RecordedDN, r.CallUUID, ci.CallUUID)
		}
	}
	if r1.Status != store.StatusCompleted {
		t.Errorf("5001: status %s (%s), want completed", r1.Status, r1.StatusReason)
	}
	if r1.DurationMS < 1200 {
		t.Errorf("5001: %d ms of audio, want the whole conversation until the transfer (> 1.2 s)", r1.DurationMS)
	}
	checkSpan(t, r1, linkLossANI, 300)
	for k, want := range map[string]string{"GEN_TEV_ThisDN": "5001", "GEN_TEV_ANI": linkLossANI, "GEN_TEV_AgentID": "1001", "GEN_USR_Segment": "Gold"} {
		if got := r1.ExternalData[k]; got != want {
			t.Errorf("5001 external data %s = %q, want %q", k, got, want)
		}
	}
	// 5002 joined while the link was down: the engine never saw it, but
	// its recording belongs to the call (CallUUID) and its MSR leg says who
	// talked (dn, otherdn): one couple 5002↔ANI over the whole file.
	if len(r2.Couples) == 0 {
		t.Errorf("5002 (joined while the link was down): no couples; the couple should come from the MSR session (RecordedDN %q, OtherDN %q)", r2.RecordedDN, r2.OtherDN)
	} else {
		checkSpan(t, r2, linkLossANI, 300)
	}

	// The resynchronisation found no call on 5001/5002: after the link is
	// back, a new call at 5001 is recorded and matched normally (the old
	// call does not capture its legs).
	step(t, env.sim, `
name: after
steps:
  - {at: 0s, action: inbound, call: c2, ani: "+15551230008", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c2, dn: "5001"}
  - {at: 1500ms, action: release, call: c2, dn: "5001"}
`)
	c2, _ := env.sim.Call("c2")
	all := waitFinished(t, env.a, 3)
	var r3 *store.Recording
	for _, r := range all {
		if r.CallUUID == c2.CallUUID {
			if r3, _ = env.a.Store().GetRecording(context.Background(), r.ID); r3 == nil {
				t.Fatal("recording of the call after the link loss not found")
			}
		}
	}
	if r3 == nil {
		t.Fatalf("no recording of the call after the link loss: %+v", all)
	}
	if r3.Correlation != "matched" || r3.Status != store.StatusCompleted {
		t.Errorf("call after reconnect: correlation %q status %s", r3.Correlation, r3.Status)
	}
	checkSpan(t, r3, "+15551230008", 300)
	checkNoCTIFailure(t, env.a)
}

// The link goes down before the call arrives: the MSR INVITE comes while
// CTI is down and waits as an orphan; the resynchronisation after the
// reconnect finds the call, adopts the leg, and the recording is matched
// with the call's data.
func TestLinkDownBeforeInviteOrphanAdopted(t *testing.T) {
	env := startContactCenter(t)
	step(t, env.sim, `
name: login
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
`)
	cutLink(t, env)
	step(t, env.sim, `
name: while-down
steps:
  - {at: 0s, action: inbound, call: c1, ani: "`+linkLossANI+`", dnis: "8005550100", rp: "7000", to: "5001", data: {Segment: Gold}}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1500ms, action: wait}
`)
	if env.a.Recorder().Active() != 1 {
		t.Fatalf("recorder has %d active calls while the link is down, want 1", env.a.Recorder().Active())
	}
	restoreLink(t, env)
	step(t, env.sim, `
name: after
steps:
  - {at: 1s, action: release, call: c1, dn: "5001"}
`)
	ci, _ := env.sim.Call("c1")
	recs := finishedByDN(t, env.a, 1)
	r := recs["5001"]
	if r == nil {
		t.Fatalf("recordings: %v", recs)
	}
	if r.Correlation != "matched" {
		t.Fatalf("correlation %q, want matched (the orphan leg adopted after the resync)", r.Correlation)
	}
	if r.Status != store.StatusCompleted || r.CallUUID != ci.CallUUID {
		t.Errorf("status %s (%s), CallUUID %q want %q", r.Status, r.StatusReason, r.CallUUID, ci.CallUUID)
	}
	checkSpan(t, r, linkLossANI, 300)
	for k, want := range map[string]string{"GEN_TEV_ThisDN": "5001", "GEN_TEV_OtherDN": linkLossANI, "GEN_TEV_ANI": linkLossANI,
		"GEN_TEV_AgentID": "1001", "GEN_USR_Segment": "Gold", "GEN_TEV_CallUuid": ci.CallUUID} {
		if got := r.ExternalData[k]; got != want {
			t.Errorf("external data %s = %q, want %q", k, got, want)
		}
	}
	// the contact center is told, once the link is back
	waitFor(t, 3*time.Second, "RECORDING_YES after the reconnect", func() bool { return contains(env.notifications(), "RECORDING_STATUS_GIM=RECORDING_YES") })
	checkNoCTIFailure(t, env.a)
}

// waitFor waits up to d for cond (see testtool.Eventually).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, d, cond, "waiting for %s", what)
}
