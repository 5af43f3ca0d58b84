package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// ccEnv is a recorder (app) with a CTI link to a running simulator.
type ccEnv struct {
	a   *app.App
	sim *sim.Sim

	mu     sync.Mutex
	notify []string // RECORDING_STATUS_GIM values seen in EventAttachedDataChanged
}

func startContactCenter(t testing.TB, more ...func(*config.Serve)) *ccEnv {
	t.Helper()
	return startContactCenterWith(t, nil, more...)
}

// startContactCenterWith is startContactCenter with the simulator's
// configuration adjusted by simMut (may be nil) before it starts.
func startContactCenterWith(t testing.TB, simMut func(*sim.Config), more ...func(*config.Serve)) *ccEnv {
	t.Helper()
	data, src, err := sim.DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	env := &ccEnv{}
	// The simulator starts first; the recorder reads the configuration
	// data it serves, and the simulator learns the recorder's address.
	simCfg := sim.Config{
		Listen: "127.0.0.1:0", ConfigListen: "127.0.0.1:0", Switch: sim.DemoSwitch, Config: data, ConfigSource: src,
		Media:  &sim.DialMedia{Dialer: newDialer(t), Transport: "udp", Codec: "PCMU"},
		Logger: testLogger(t),
		OnEvent: func(m *tlib.Message) {
			if m.Type != tlib.EventAttachedDataChanged {
				return
			}
			for _, key := range []string{"RECORDING_STATUS_GIM", "REC_STATE", "RECORDING_VIDEO_STATUS"} {
				if v := m.UserData().String(key); v != "" {
					env.mu.Lock()
					env.notify = append(env.notify, key+"="+v)
					env.mu.Unlock()
				}
			}
		},
	}
	if simMut != nil {
		simMut(&simCfg)
	}
	csim, err := sim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })
	env.sim = csim
	env.a = startApp(t, func(c *config.Serve) {
		c.CTI = csim.Addr()
		c.CTISwitch = sim.DemoSwitch
		c.CTIReconnect = 200 * time.Millisecond
		c.ConfigURL = "http://" + csim.ConfigAddr() + "/config"
		c.DNExclude = "5100"
		c.UserDataKeys = "Segment,Reason=CallReason"
		for _, m := range more {
			m(c)
		}
	})
	if addr := env.a.SIPTLSAddr(); addr != "" {
		csim.SetRecorders([]string{addr})
	} else {
		csim.SetRecorders([]string{env.a.SIPAddr().String()})
	}
	waitMetric(t, env.a, "openrec_cti_links_up 1", 10*time.Second)
	return env
}

func metrics(t testing.TB, a *app.App) string {
	t.Helper()
	resp, err := httpGet("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitNotification waits until the simulator saw value ("KEY=VALUE") in
// the attached data; why says what is missing if it never comes.
func (e *ccEnv) waitNotification(t testing.TB, value, why string) {
	t.Helper()
	testtool.Poll(t, 5*time.Second, func() (bool, string) {
		n := e.notifications()
		return contains(n, value), fmt.Sprint(n)
	}, "%s", why)
}

func (e *ccEnv) notifications() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.notify...)
}

func step(t testing.TB, csim *sim.Sim, yaml string) {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := csim.Run(ctx, sc); err != nil {
		t.Fatal(err)
	}
}

// A call to a DN configured record=true is recorded by SIP Server without
// our request; the recording is joined to the CTI call (external data,
// couples), and the contact center is told it is recorded.
func TestCTIRecordTrueDNCorrelated(t *testing.T) {
	tracePath := filepath.Join(t.TempDir(), "cti.trace")
	env := startContactCenter(t, func(c *config.Serve) { c.CTITrace = tracePath })
	step(t, env.sim, `
name: record-true
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551230001", dnis: "8005550100", rp: "7000", to: "5001", data: {Segment: Gold}}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 2s, action: update, call: c1, dn: "5001", data: {Reason: Billing}}
  - {at: 3s, action: release, call: c1, dn: "5001"}
`)
	recs := waitFinished(t, env.a, 1)
	r, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Correlation != "matched" || r.RecordedDN != "5001" || len(r.Couples) == 0 {
		t.Fatalf("recording: correlation=%q dn=%q couples=%+v", r.Correlation, r.RecordedDN, r.Couples)
	}
	for k, want := range map[string]string{"GEN_TEV_ThisDN": "5001", "GEN_TEV_ANI": "+15551230001", "GEN_CFG_FirstName": "Ann", "GEN_TEV_AgentID": "1001", "GEN_USR_Segment": "Gold"} {
		if got := r.ExternalData[k]; got != want {
			t.Errorf("external data %s = %q, want %q (all: %v)", k, got, want, r.ExternalData)
		}
	}
	if r.ExternalData["GEN_TEV_CallUuid"] != r.CallUUID {
		t.Errorf("GEN_TEV_CallUuid %q != call uuid %q", r.ExternalData["GEN_TEV_CallUuid"], r.CallUUID)
	}
	// The trace file reads back as T-Library messages (Genesys-log style).
	f, err := os.Open(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := tlib.ParseTrace(f)
	if err != nil {
		t.Fatalf("cti trace does not parse: %v", err)
	}
	seen := map[tlib.MessageType]bool{}
	for _, e := range entries {
		seen[e.Msg.Type] = true
	}
	if !seen[tlib.EventEstablished] || !seen[tlib.EventReleased] || !seen[tlib.RequestUpdateUserData] {
		t.Errorf("trace lacks EventEstablished/EventReleased/RequestUpdateUserData: %v", seen)
	}
	env.waitNotification(t, "RECORDING_STATUS_GIM=RECORDING_YES", "notification of recording not seen in the simulator's attached data")
}

// A desktop asks to record (third-party RequestPrivateService), pauses and
// resumes: one recording with a pause segment.
func TestCTIDesktopRecordPauseResume(t *testing.T) {
	env := startContactCenter(t)
	step(t, env.sim, `
name: desktop
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551230002", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 100ms, action: record-start, call: c1, dn: "5004", id: DESK42}
  - {at: 1500ms, action: record-pause, call: c1, dn: "5004"}
  - {at: 2500ms, action: record-resume, call: c1, dn: "5004"}
  - {at: 3500ms, action: release, call: c1, dn: "5004"}
`)
	recs := waitFinished(t, env.a, 1)
	r, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.RecordID != "DESK42" || r.Correlation != "matched" {
		t.Errorf("record id %q correlation %q", r.RecordID, r.Correlation)
	}
	var pause *store.Segment
	for i := range r.Segments {
		if r.Segments[i].Type == store.SegmentPause {
			pause = &r.Segments[i]
		}
	}
	if pause == nil || pause.EndMS-pause.StartMS < 700 {
		t.Errorf("segments = %+v, want a ~1 s pause", r.Segments)
	}
}

// An MSR INVITE whose recorded DN is excluded is declined with 603.
func TestCTIExcludedDNDeclined(t *testing.T) {
	env := startContactCenter(t)
	d := newDialer(t)
	_, err := d.Call(context.Background(), dialSpec(env.a, "5100"))
	if code := statusCode(err); code != 603 {
		t.Fatalf("excluded DN: %v, want 603", err)
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// A SIP session no CTI call explains (plain SIPREC from an SBC, a media
// server the CTI side does not know) is flagged and gets the tenant of its
// SIP source, so tenant isolation is defined for every recording.
func TestCTIOrphanSessionGetsSourceTenant(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) { c.SourceTenants = map[string]string{"127.0.0.0/8": "Acme"} })
	d := newDialer(t)
	if _, err := d.Call(context.Background(), dialSpec(env.a, "5003")); err != nil {
		t.Fatal(err)
	}
	r := waitFinished(t, env.a, 1)[0]
	if r.Correlation != "no-cti-call" || r.ExternalData["GEN_CFG_Tenant"] != "Acme" || r.ExternalData["GEN_CFG_TENANT"] != "1" {
		t.Errorf("correlation %q external data %v", r.Correlation, r.ExternalData)
	}
	if !strings.Contains(metrics(t, env.a), `openrec_failed_recordings_total{kind="orphan-leg"} 1`) {
		t.Errorf("orphan leg not counted")
	}
}

// The data-key and notification settings of serve reach the recordings:
// message keys with renaming (defaults off), full agent name assembly, a
// custom notification key.
func TestCTIKeySettings(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.MessageDataKeys = "ThisDN,ANI=CallerNumber"
		c.FullNameOrder, c.FullNameDelimiter = "last_first", ", "
		c.NotifyKey = "REC_STATE"
	})
	step(t, env.sim, `
name: keys
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551239999", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1500ms, action: release, call: c1, dn: "5001"}
`)
	r := waitFinished(t, env.a, 1)[0]
	ed := r.ExternalData
	if ed["GEN_TEV_CallerNumber"] != "+15551239999" || ed["GEN_TEV_ThisDN"] != "5001" || ed["GEN_TEV_AgentID"] != "" || ed["GEN_TEV_ANI"] != "" {
		t.Errorf("message keys not applied: %v", ed)
	}
	if ed["GEN_CFG_FULLNAME"] != "Lee, Ann" {
		t.Errorf("GEN_CFG_FULLNAME = %q, want \"Lee, Ann\"", ed["GEN_CFG_FULLNAME"])
	}
	env.waitNotification(t, "REC_STATE=RECORDING_YES", "custom notification key not used")
}

// Supervisor coaching on a recorded call, with the supervisor's DN also
// monitored: a new couple carries GEN_TEV_CSUP_*, and the supervisor is not
// a conference member.
func TestCTISupervisorCoaching(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) { c.DNExclude = "" }) // the supervisor's DN is monitored too
	step(t, env.sim, `
name: coaching
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5100", agent: "1100"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551238888", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1s, action: monitor, call: c1, dn: "5001", supervisor: "5100", mode: coach}
  - {at: 2s, action: release, call: c1, dn: "5001"}
`)
	r := waitFinished(t, env.a, 1)[0]
	full, err := env.a.Store().GetRecording(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var coached bool
	for _, c := range full.Couples {
		if c.EndMS < c.StartMS || (c.EndMS == c.StartMS && len(full.Couples) > 1) {
			t.Errorf("degenerate couple %+v", c)
		}
		if strings.Contains(c.ExternalData["GEN_CONFERENCE_MEMBERS"], "5100") {
			t.Errorf("supervisor counted as a conference member: %+v", c)
		}
		if c.ExternalData["GEN_TEV_CSUP_SUPDN"] == "5100" {
			coached = true
			if c.StartMS < 800 {
				t.Errorf("coaching couple starts at %d ms, before the supervisor joined", c.StartMS)
			}
		}
	}
	if !coached {
		t.Errorf("no couple with GEN_TEV_CSUP_SUPDN=5100: %+v", full.Couples)
	}
}

// A recording that starts on a consult call (the consulted agent, recorded
// full-time) and continues on the original call after the transfer has
// couples for its whole span; data attached after release (wrap-up)
// reaches the finished recording.
func TestCTIConsultTargetAndWrapUpData(t *testing.T) {
	env := startContactCenter(t)
	step(t, env.sim, `
name: consult-target
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 500ms, action: consult, call: c1, dn: "5001", to: "5002", consult: c2}
  - {at: 600ms, action: answer, call: c2, dn: "5002"}
  - {at: 1500ms, action: complete-transfer, call: c1, consult: c2}
  - {at: 2500ms, action: release, call: c1, dn: "5002"}
  - {at: 3s, action: attach, call: c1, dn: "5002", data: {Reason: Upsell}}
`)
	recs := waitFinished(t, env.a, 2)
	var target string
	for _, r := range recs {
		if r.RecordedDN == "5002" {
			target = r.ID
		}
	}
	if target == "" {
		t.Fatalf("no recording of the consulted agent: %+v", recs)
	}
	var r *store.Recording
	testtool.Poll(t, 5*time.Second, func() (bool, string) {
		var err error
		if r, err = env.a.Store().GetRecording(context.Background(), target); err != nil {
			t.Fatal(err)
		}
		return r.ExternalData["GEN_USR_CallReason"] == "Upsell", fmt.Sprint(r.ExternalData)
	}, "data attached after release reaching the recording")
	if len(r.Couples) == 0 || r.Couples[0].StartMS > 300 {
		t.Errorf("couples do not cover the consult part: %+v", r.Couples)
	}
	for i := 1; i < len(r.Couples); i++ {
		if gap := r.Couples[i].StartMS - r.Couples[i-1].EndMS; gap > 300 {
			t.Errorf("gap of %d ms between couples: %+v", gap, r.Couples)
		}
	}
	if last := r.Couples[len(r.Couples)-1]; r.DurationMS-last.EndMS > 300 {
		t.Errorf("couples end at %d ms of %d: %+v", last.EndMS, r.DurationMS, r.Couples)
	}
}

// openrec's own recording decision: at EventEstablished of a DN it is told
// to record, it sends RequestPrivateService GSIP_RECORD_START with the
// configured extensions; SIP Server acknowledges, the Media Server sends
// the MSR sessions with record=<our id>, and the recording is joined to
// the call.
func TestCTIOwnRecordingRequest(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.RecordGeo = "source"
	})
	step(t, env.sim, `
name: own-request
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551236666", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 2s, action: release, call: c1, dn: "5004"}
`)
	r := waitFinished(t, env.a, 1)[0]
	if r.RecordedDN != "5004" || r.Correlation != "matched" || r.RecordID == "" {
		t.Fatalf("recording: dn=%q correlation=%q record id=%q", r.RecordedDN, r.Correlation, r.RecordID)
	}
	if r.ExternalData["GEN_REC_ID"] != r.RecordID {
		t.Errorf("GEN_REC_ID %q != record id of the MSR sessions %q", r.ExternalData["GEN_REC_ID"], r.RecordID)
	}
	if !strings.Contains(metrics(t, env.a), "openrec_cti_requests_total") {
		t.Error("no CTI request counter")
	}
}

// Notification values can be renamed, per tenant too.
func TestCTINotifyPerTenant(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.NotifyValues = map[string]string{"yes": "REC_YES_GLOBAL"}
		c.NotifyTenants = map[string]config.NotifyTenant{"Acme": {Values: map[string]string{"yes": "ACME_RECORDED"}}}
	})
	step(t, env.sim, `
name: tenant-notify
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551234444", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 1500ms, action: release, call: c1, dn: "5001"}
`)
	waitFinished(t, env.a, 1)
	env.waitNotification(t, "RECORDING_STATUS_GIM=ACME_RECORDED", "tenant notification value not used")
}
