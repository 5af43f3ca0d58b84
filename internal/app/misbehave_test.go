package app_test

import (
	"fmt"
	"time"

	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// The simulator's Media Server misbehaves on purpose; the recorder copes
// and says what went wrong.
func TestCTIMediaServerMisbehaviour(t *testing.T) {
	calls := `
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551235555", rp: "7000", to: "5001"}
  - {at: 300ms, action: answer, call: c1, dn: "5001"}
  - {at: 6500ms, action: release, call: c1, dn: "5001"}
`
	tests := []struct {
		name, misbehave string
		check           func(t *testing.T, r store.Recording, metrics string)
	}{
		{"invite before established", "{early_invite: true}", func(t *testing.T, r store.Recording, _ string) {
			if r.Correlation != "matched" || r.Status != store.StatusCompleted {
				t.Errorf("early INVITE: %s %s (%s)", r.Correlation, r.Status, r.StatusReason)
			}
		}},
		{"one leg missing", "{single_leg: true}", func(t *testing.T, r store.Recording, m string) {
			if r.Status != store.StatusPartial || !strings.Contains(r.StatusReason, "one-legged") {
				t.Errorf("single leg: %s (%s)", r.Status, r.StatusReason)
			}
			if !regexp.MustCompile(`openrec_failed_recordings_total\{kind="one-leg"\} [1-9]`).MatchString(m) {
				t.Errorf("one-leg failure not counted")
			}
		}},
		{"SSRC change mid-stream", "{ssrc_change: true}", func(t *testing.T, r store.Recording, _ string) {
			if r.Status != store.StatusCompleted || r.Correlation != "matched" {
				t.Errorf("ssrc change: %s %s (%s)", r.Correlation, r.Status, r.StatusReason)
			}
			found := false
			for _, e := range r.Events {
				found = found || (e.Type == "ssrc-change" && e.Channel == 0)
			}
			if !found {
				t.Errorf("no ssrc-change event on channel 0: %+v", r.Events)
			}
			f, err := wav.ReadFile(r.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			// The recorded party's audio continues after the restart at 1 s.
			ch0 := f.Channel(0)
			if len(ch0) < 5*8000 || audiotest.Silent(ch0[2*8000:5*8000]) {
				t.Errorf("channel 0 silent after the SSRC change (%d samples)", len(ch0))
			}
		}},
		{"SRTP with a wrong key", "{srtp_wrong_key: true}", func(t *testing.T, r store.Recording, m string) {
			if r.Status != store.StatusFailed || !strings.Contains(r.StatusReason, "SRTP authentication failed") {
				t.Errorf("wrong SRTP key: %s (%s)", r.Status, r.StatusReason)
			}
			// The CTI side's failed-recording alert (no audio ever arrived)
			// and the recorder's SRTP counters.
			if !regexp.MustCompile(`openrec_failed_recordings_total\{kind="no-rtp"\} [1-9]`).MatchString(m) {
				t.Errorf("no-rtp failed-recording alert not raised")
			}
			if !regexp.MustCompile(`openrec_srtp_failed_streams_total 2\b`).MatchString(m) {
				t.Errorf("srtp failed streams not counted")
			}
		}},
		{"no RTP", "{no_rtp: true}", func(t *testing.T, r store.Recording, m string) {
			if r.Status != store.StatusFailed || !strings.Contains(r.StatusReason, "no RTP") {
				t.Errorf("no RTP: %s (%s)", r.Status, r.StatusReason)
			}
			if !regexp.MustCompile(`openrec_failed_recordings_total\{kind="no-rtp"\} [1-9]`).MatchString(m) {
				t.Errorf("no-rtp failure not counted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startContactCenter(t)
			step(t, env.sim, "name: misbehave\nmisbehave: "+tt.misbehave+"\nsteps:"+calls)
			r := waitFinished(t, env.a, 1)[0]
			full, err := env.a.Store().GetRecording(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, *full, metrics(t, env.a))
		})
	}
}

// CTI says the call is recorded but the SIP session never comes: the
// failure is a stored recording row (status failed, correlation no-leg),
// visible after the call is gone; one that comes late marks it recovered.
func TestCTINoLegFailureStored(t *testing.T) {
	for _, tt := range []struct {
		name, delay, correlation string
		rows                     int
	}{
		{"never", "30s", "no-leg", 1},
		{"late", "1500ms", "recovered", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := startContactCenter(t, func(c *config.Serve) { c.DetectLegTimeout = 500 * time.Millisecond })
			step(t, env.sim, `
name: no-leg
misbehave: {invite_delay: `+tt.delay+`}
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551233333", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 3s, action: release, call: c1, dn: "5001"}
`)
			var failure *store.Recording
			testtool.Poll(t, 8*time.Second, func() (bool, string) {
				recs, err := env.a.Store().ListRecordings(context.Background(), store.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				failure = nil
				for i := range recs {
					if strings.HasPrefix(recs[i].ID, "noleg-") {
						failure = &recs[i]
					}
				}
				return failure != nil && failure.Correlation == tt.correlation && len(recs) == tt.rows && env.a.Recorder().Active() == 0,
					fmt.Sprintf("%+v", recs)
			}, "%d rows with a %s failure row", tt.rows, tt.correlation)
			if failure.Status != store.StatusFailed || failure.RecordedDN != "5001" || failure.ExternalData["GEN_TEV_ThisDN"] != "5001" {
				t.Errorf("failure row = %+v", failure)
			}
		})
	}
}
