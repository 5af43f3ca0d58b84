package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// gimScenario: SIP Server has a call on agent DN 5004 (established,
// attached data Segment=Gold), which openrec does not monitor in these
// tests (dn_include 5001-5003): no event of it reaches the engine.
const gimScenario = `
name: gim
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 5ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004", data: {Segment: Gold}}
  - {at: 30ms, action: answer, call: c1, dn: "5004"}
`

func gimSettings(mode string) func(*config.Serve) {
	return func(c *config.Serve) {
		c.DNInclude = "5001-5003"
		c.DetectOrphanTimeout = 200 * time.Millisecond // an orphan would be alerted during the call
		c.GIM = mode
	}
}

// sbcSIPREC records a SIPREC session without Genesys ids (an SBC's) for
// dn and other, 1 s long.
func sbcSIPREC(t *testing.T, env *ccEnv, dn, other string) {
	t.Helper()
	spec := dial.Spec{Target: env.a.SIPAddr().String(), Mode: dial.ModeSIPREC, NoGenesysIDs: true, DN: dn, OtherDN: other, Duration: time.Second}
	if _, err := newDialer(t).Call(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

func fullRecording(t *testing.T, env *ccEnv) *store.Recording {
	t.Helper()
	recs := waitFinished(t, env.a, 1)
	full, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return full
}

const orphanAlert = `openrec_failed_recordings_total{kind="orphan-leg"}`

// TestGIMSIPRECLookup (issue 19 item 4): a SIPREC session from an SBC,
// without Genesys ids, for a DN openrec does not follow but SIP Server has
// a call on, gets that call's CallUUID and GEN_* data from a T-Library
// lookup (RequestQueryAddress, RequestQueryCall); no failed-recording alert.
func TestGIMSIPRECLookup(t *testing.T) {
	env := startContactCenter(t, gimSettings(""))
	step(t, env.sim, gimScenario)
	sbcSIPREC(t, env, "5004", "+15551237777")
	r := fullRecording(t, env)
	c1, _ := env.sim.Call("c1")
	if r.Correlation != "gim" || r.CallUUID == "" || r.CallUUID != c1.CallUUID {
		t.Fatalf("correlation %q CallUUID %q, want gim and the simulator's call %q", r.Correlation, r.CallUUID, c1.CallUUID)
	}
	if r.ExternalData["GEN_USR_Segment"] != "Gold" || r.ExternalData["GEN_TEV_ANI"] != "+15551237777" || r.ExternalData["GEN_TEV_CallUuid"] != c1.CallUUID {
		t.Errorf("external data %v", r.ExternalData)
	}
	if len(r.Couples) != 1 || r.Couples[0].ThisDN != "5004" || r.Couples[0].CallUUID != c1.CallUUID {
		t.Errorf("couples %+v", r.Couples)
	}
	if m := metrics(t, env.a); alerted(m) {
		t.Errorf("failed-recording alert for a call SIP Server controls:\n%s", grepLines(m, "openrec_failed"))
	}
}

// TestGIMSIPRECNotControlled: a SIPREC session from an SBC for numbers
// SIP Server knows nothing about is stored as not contact-center
// controlled (correlation and CC_CONTROLLED=no, searchable), without a
// failed-recording alert; with gim: off it is flagged no-cti-call and
// alerted as before.
func TestGIMSIPRECNotControlled(t *testing.T) {
	for _, tt := range []struct {
		mode, corr string
		alert      bool
	}{
		{"lookup", "not-cc-controlled", false},
		{"off", "no-cti-call", true},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			env := startContactCenter(t, gimSettings(tt.mode))
			sbcSIPREC(t, env, "+15559990000", "+15558880000")
			r := fullRecording(t, env)
			if r.Correlation != tt.corr {
				t.Fatalf("correlation %q, want %q", r.Correlation, tt.corr)
			}
			if tt.mode == "lookup" {
				recs, err := env.a.Store().ListRecordings(context.Background(), store.Filter{External: []store.KV{{Key: "CC_CONTROLLED", Value: "no"}}})
				if err != nil || len(recs) != 1 {
					t.Errorf("search CC_CONTROLLED=no: %d recordings, %v", len(recs), err)
				}
			}
			testPollMetric(t, env, tt.alert)
		})
	}
}

// testPollMetric checks the orphan-leg alert counter: present (polled),
// or still absent well past the orphan timeout.
func testPollMetric(t *testing.T, env *ccEnv, want bool) {
	t.Helper()
	if want {
		waitMetric(t, env.a, orphanAlert+" 1", 5*time.Second)
		return
	}
	time.Sleep(time.Second) // models time: no alert may come well past the orphan timeout (a negative check)
	if m := metrics(t, env.a); alerted(m) {
		t.Errorf("failed-recording alert:\n%s", grepLines(m, "openrec_failed"))
	}
}

// alerted reports whether /metrics counts an orphan-leg alert.
func alerted(metrics string) bool {
	return strings.Contains(metrics, orphanAlert+" ") && !strings.Contains(metrics, orphanAlert+" 0\n")
}

// TestGIMCaptureLookup (issue 19 item 4, passive): an observed call from
// the customer to agent DN 5004, which openrec does not follow
// (dn_include 5001-5003, so EPR matching finds no CTI call), gets the
// CallUUID and GEN_* data of SIP Server's call on 5004 from the lookup.
func TestGIMCaptureLookup(t *testing.T) {
	env := startEPR(t, eprCall(), gimSettings(""))
	time.Sleep(time.Until(env.start.Add(-300 * time.Millisecond))) // models time: the CTI call exists 300 ms before the paced capture starts
	step(t, env.sim, gimScenario)
	rec := capturedRecording(t, env)
	c1, _ := env.sim.Call("c1")
	if rec.Mode != store.ModePassive || rec.Correlation != "gim" || rec.CallUUID != c1.CallUUID {
		t.Fatalf("mode %s correlation %q CallUUID %q, want passive, gim, %q\n%s", rec.Mode, rec.Correlation, rec.CallUUID, c1.CallUUID, env.logs.String())
	}
	if rec.ExternalData["GEN_USR_Segment"] != "Gold" || len(rec.Couples) != 1 || rec.Couples[0].ThisDN != "5004" {
		t.Errorf("external data %v couples %+v", rec.ExternalData, rec.Couples)
	}
	if logs := env.logs.String(); strings.Contains(logs, "failed recording") || strings.Contains(logs, "matches no call") {
		t.Errorf("failed-recording alert for a call SIP Server controls:\n%s", logs)
	}
}

// TestGIMCaptureNotControlled: an observed call between two numbers SIP
// Server knows nothing about is stored as not contact-center controlled,
// and no failed-recording alert is logged.
func TestGIMCaptureNotControlled(t *testing.T) {
	call := eprCall()
	call.Caller.DN, call.Callee.DN = "+15559990000", "+15558880000"
	env := startEPR(t, call, gimSettings(""))
	rec := capturedRecording(t, env)
	if rec.Correlation != "not-cc-controlled" || rec.ExternalData["CC_CONTROLLED"] != "no" || rec.CallUUID != "" {
		t.Fatalf("correlation %q external data %v CallUUID %q\n%s", rec.Correlation, rec.ExternalData, rec.CallUUID, env.logs.String())
	}
	time.Sleep(500 * time.Millisecond) // models time: no alert may follow the finished recording (a negative check)
	logs := env.logs.String()
	if !strings.Contains(logs, "not contact-center controlled") || strings.Contains(logs, "failed recording") || strings.Contains(logs, "matches no call") {
		t.Errorf("want the not-controlled log line and no failed-recording alert:\n%s", logs)
	}
}

func capturedRecording(t *testing.T, env *eprEnv) store.Recording {
	t.Helper()
	var recs []store.Recording
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		recs = listStore(t, env.cfg.DataDir)
		return len(recs) == 1 && recs[0].Status != store.StatusRecording, fmt.Sprintf("%+v\n%s", recs, env.logs.String())
	}, "a finished recording")
	return recs[0]
}
