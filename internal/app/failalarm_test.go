package app_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// shortDetect makes failed-recording detection fire within a second, so
// calls of a few seconds are "long" calls to it (the default 5 s would
// need calls over 5 s and a test of minutes).
func shortDetect(c *config.Serve) {
	c.DetectLegTimeout = 300 * time.Millisecond
	c.DetectRTPTimeout = time.Second
	c.DetectOrphanTimeout = time.Second
}

// alertCounts reads openrec_failed_recordings_total per kind.
func alertCounts(t testing.TB, m string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, kind := range []string{"no-leg", "one-leg", "no-rtp", "orphan-leg"} {
		re := regexp.MustCompile(`openrec_failed_recordings_total\{kind="` + kind + `"\} (\d+)`)
		mm := re.FindStringSubmatch(m)
		if mm == nil {
			t.Fatalf("no failed_recordings_total for %s:\n%s", kind, grepLines(m, "failed_recordings"))
		}
		var n int
		fmt.Sscan(mm[1], &n)
		out[kind] = n
	}
	return out
}

// Calls longer than the leg timeout, with both legs sending audio, holds,
// transfers, consults and pauses: not one failed-recording alert, no
// recording stored with GEN_REC_FAILURE, every recording completed. (Issue
// 11: every CTI-recorded call longer than the leg timeout was flagged
// one-leg, because the recorder reported one leg per recording, not per
// MSR session.)
func TestCTINoFalseFailureAlarms(t *testing.T) {
	env := startContactCenter(t, shortDetect)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	// Scripted: a desktop recording paused and resumed, a held call.
	done := make(chan error, 1)
	go func() {
		sc, err := sim.ParseScenario([]byte(`
name: pause-hold
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: p1, ani: "+15551230101", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: p1, dn: "5004"}
  - {at: 100ms, action: record-start, call: p1, dn: "5004", id: PAUSE1}
  - {at: 700ms, action: record-pause, call: p1, dn: "5004"}
  - {at: 1500ms, action: record-resume, call: p1, dn: "5004"}
  - {at: 1600ms, action: hold, call: p1, dn: "5004"}
  - {at: 2200ms, action: retrieve, call: p1, dn: "5004"}
  - {at: 3s, action: release, call: p1, dn: "5004"}
`))
		if err == nil {
			err = env.sim.Run(ctx, sc)
		}
		done <- err
	}()
	// Random traffic on the record=true agents: every call longer than the
	// leg timeout, with holds, single-step and consult transfers.
	err := env.sim.Traffic(ctx, sim.Traffic{
		Rate: 2, Count: 20, Seed: 11,
		TalkMin: sim.Duration(1500 * time.Millisecond), TalkMax: sim.Duration(3 * time.Second),
		Ring:   sim.Duration(100 * time.Millisecond),
		Agents: []string{"5001", "5002", "5003"},
		Hold:   0.4, Transfer: 0.25, Consult: 0.25,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := waitQuiet(t, env.a)
	if len(recs) < 10 {
		t.Fatalf("only %d recordings: the traffic did not run", len(recs))
	}
	t.Logf("%d recordings", len(recs))
	// The detection ticks on: give it time to (wrongly) fire after the
	// end. Models time (a negative check), not synchronisation.
	time.Sleep(1500 * time.Millisecond) // models time (see above)
	for kind, n := range alertCounts(t, metrics(t, env.a)) {
		if n != 0 {
			t.Errorf("%d false %s alerts", n, kind)
		}
	}
	for _, r := range recs {
		full, err := env.a.Store().GetRecording(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f := full.ExternalData["GEN_REC_FAILURE"]; f != "" {
			t.Errorf("recording %s (DN %s) stored GEN_REC_FAILURE=%s", r.ID, r.RecordedDN, f)
		}
		for _, c := range full.Couples {
			if f := c.ExternalData["GEN_REC_FAILURE"]; f != "" {
				t.Errorf("recording %s (DN %s) couple %d-%d stored GEN_REC_FAILURE=%s", r.ID, r.RecordedDN, c.StartMS, c.EndMS, f)
			}
		}
		if full.Status != store.StatusCompleted || full.Correlation != "matched" {
			t.Errorf("recording %s (DN %s): %s %s (%s)", r.ID, r.RecordedDN, full.Status, full.Correlation, full.StatusReason)
		}
	}
	if e := env.a.CTIStats().Engine; e.NoLeg+e.OneLeg+e.NoRTP+e.OrphanLegs != 0 {
		t.Errorf("engine counted failures: %+v", e)
	}
}

// Each real failure gives exactly one alert, of its own kind.
func TestCTIFailureAlarmsExactlyOnce(t *testing.T) {
	call := `
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551235555", rp: "7000", to: "5001"}
  - {at: 100ms, action: answer, call: c1, dn: "5001"}
  - {at: 2500ms, action: release, call: c1, dn: "5001"}
`
	for _, tt := range []struct {
		name, misbehave, kind string
	}{
		{"one leg never sent", "{single_leg: true}", "one-leg"},
		{"no RTP on the legs", "{no_rtp: true}", "no-rtp"},
		{"no RTP on one leg", "{silent_leg: true}", "no-rtp"},
		{"CTI says recorded, no SIP session", "{invite_delay: 30s}", "no-leg"},
		{"SIP session no CTI call explains", "", "orphan-leg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := startContactCenter(t, shortDetect)
			if tt.kind == "orphan-leg" {
				if _, err := newDialer(t).Call(context.Background(), dialSpec(env.a, "5003")); err != nil {
					t.Fatal(err)
				}
			} else {
				step(t, env.sim, "name: fail\nmisbehave: "+tt.misbehave+"\nsteps:"+call)
			}
			testtool.Poll(t, 10*time.Second, func() (bool, string) {
				c := alertCounts(t, metrics(t, env.a))
				return c[tt.kind] > 0 && env.a.Recorder().Active() == 0, fmt.Sprint(c)
			}, "a %s alert", tt.kind)
			// Models time (a negative check): a second alert would come
			// within a few detection periods.
			time.Sleep(1500 * time.Millisecond) // models time (see above)
			got := alertCounts(t, metrics(t, env.a))
			for kind, n := range got {
				want := 0
				if kind == tt.kind {
					want = 1
				}
				if n != want {
					t.Errorf("%s alerts = %d, want %d (all: %v)", kind, n, want, got)
				}
			}
			if tt.kind == "one-leg" || tt.kind == "no-rtp" {
				// stored with the recording (GEN_REC_FAILURE)
				recs := waitFinished(t, env.a, 1)
				full, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				f := full.ExternalData["GEN_REC_FAILURE"]
				for _, c := range full.Couples {
					if v := c.ExternalData["GEN_REC_FAILURE"]; v != "" {
						f = v
					}
				}
				if f != tt.kind {
					t.Errorf("GEN_REC_FAILURE = %q, want %q", f, tt.kind)
				}
				if tt.misbehave == "{silent_leg: true}" && (full.Status != store.StatusPartial || !strings.Contains(full.StatusReason, "no RTP on channel 1")) {
					t.Errorf("silent leg: %s (%s), want partial, no RTP on channel 1", full.Status, full.StatusReason)
				}
			}
			if strings.Contains(tt.kind, "orphan") {
				if r := waitFinished(t, env.a, 1)[0]; r.Correlation != "no-cti-call" {
					t.Errorf("correlation %q", r.Correlation)
				}
			}
		})
	}
}

// waitQuiet waits until no recording is in progress and every row is
// finished, and returns the rows.
func waitQuiet(t testing.TB, a *app.App) []store.Recording {
	t.Helper()
	var recs []store.Recording
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		var err error
		if recs, err = a.Store().ListRecordings(context.Background(), store.Filter{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		busy := a.Recorder().Active()
		for _, r := range recs {
			if r.Status == store.StatusRecording {
				busy++
			}
		}
		return busy == 0, fmt.Sprintf("%d still in progress", busy)
	}, "recordings finished")
	return recs
}
