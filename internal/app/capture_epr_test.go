package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// pacedSource plays frames at their timestamps (a live interface
// without one), then idles until the test is done.
type pacedSource struct {
	frames []pacedFrame
	i      int
}

type pacedFrame struct {
	ci   gopacket.CaptureInfo
	data []byte
}

func (p *pacedSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if p.i >= len(p.frames) {
		time.Sleep(50 * time.Millisecond) // models time: a live source idles once its frames are out
		return nil, gopacket.CaptureInfo{}, capture.ErrTimeout
	}
	f := p.frames[p.i]
	if d := time.Until(f.ci.Timestamp); d > 0 {
		time.Sleep(min(d, 50*time.Millisecond)) // models time: frames are handed over at their capture time (live pacing)
		return nil, gopacket.CaptureInfo{}, capture.ErrTimeout
	}
	p.i++
	return f.data, f.ci, nil
}

func (p *pacedSource) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

func pacedCall(t *testing.T, c capturetest.Call) *pacedSource {
	t.Helper()
	var buf bytes.Buffer
	w, err := capturetest.NewWriter(&buf, capturetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(c); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	src := &pacedSource{}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return src
		}
		if err != nil {
			t.Fatal(err)
		}
		src.frames = append(src.frames, pacedFrame{ci, data})
	}
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eprEnv is a simulated SIP Server (CTI only: it places no recording
// sessions) and openrec capture running live beside it, fed one observed
// call in real time.
type eprEnv struct {
	sim   *sim.Sim
	cfg   config.Serve
	logs  *logBuf
	start time.Time // the observed call's INVITE

	mu     sync.Mutex
	notify []string
}

func (e *eprEnv) notifications() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.notify...)
}

// startEPR starts the simulator and a live capture of call (its Start is
// set 1.5 s ahead) and waits for the CTI link.
func startEPR(t *testing.T, call capturetest.Call, mut func(*config.Serve)) *eprEnv {
	t.Helper()
	data, src, err := sim.DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	env := &eprEnv{logs: &logBuf{}}
	csim, err := sim.New(sim.Config{Listen: "127.0.0.1:0", ConfigListen: "127.0.0.1:0", Switch: sim.DemoSwitch,
		Config: data, ConfigSource: src, Logger: testLogger(t),
		OnEvent: func(m *tlib.Message) {
			if v := m.UserData().String("RECORDING_STATUS_GIM"); m.Type == tlib.EventAttachedDataChanged && v != "" {
				env.mu.Lock()
				env.notify = append(env.notify, v)
				env.mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })
	env.sim = csim
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.CTI = csim.Addr()
	cfg.CTISwitch = sim.DemoSwitch
	cfg.CTIReconnect = 200 * time.Millisecond
	cfg.ConfigURL = "http://" + csim.ConfigAddr() + "/config"
	cfg.UserDataKeys = "Segment"
	cfg.PCIPauseKey = "PCI"
	cfg.FlushInterval = 200 * time.Millisecond
	if mut != nil {
		mut(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env.cfg = cfg
	log := slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.start = time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	call.Start = env.start
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := app.RunCapture(ctx, cfg, log, pacedCall(t, call), app.CaptureOptions{})
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunCapture: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(env.logs.String(), "cti link up") {
		if time.Now().After(deadline) {
			t.Fatalf("cti link did not come up:\n%s", env.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polled until the deadline above
	}
	return env
}

// eprCall is the observed call: the customer +15551237777 calls agent DN
// 5004, 3.2 s of a tone each way.
func eprCall() capturetest.Call {
	return capturetest.Call{
		ID:     "epr-1@192.0.2.10",
		Caller: capturetest.Party{DN: "+15551237777", SIP: netip.MustParseAddrPort("192.0.2.10:5060"), RTP: netip.MustParseAddrPort("192.0.2.10:20000"), Tone: 1000},
		Callee: capturetest.Party{DN: "5004", SIP: netip.MustParseAddrPort("192.0.2.20:5060"), RTP: netip.MustParseAddrPort("192.0.2.20:30000"), Tone: 1600},
		Talk:   3200 * time.Millisecond,
	}
}

// eprScenario is the CTI side of eprCall: answered at 5004 just before
// the SIP 200 (INVITE+50ms), PCI from 1.2 s to 2.4 s into the call,
// released after the BYE.
const eprScenario = `
name: epr
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 5ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004", data: {Segment: Gold}}
  - {at: 30ms, action: answer, call: c1, dn: "5004"}
  - {at: 1270ms, action: update, call: c1, dn: "5004", data: {PCI: start}}
  - {at: 2470ms, action: update, call: c1, dn: "5004", data: {PCI: stop}}
  - {at: 3500ms, action: release, call: c1, dn: "5004"}
`

// TestCaptureEPRCorrelation (issue 19, item 3): a call observed on the
// wire between the customer (+15551237777) and agent DN 5004 is matched
// to the simulator's CTI call at 5004: the recording carries its CallUUID
// and GEN_* data, the agent's DN is the recorded DN, the contact center is
// told it is recorded, and a PCI pause asked through attached data
// silences the captured audio (both channels) for its span.
func TestCaptureEPRCorrelation(t *testing.T) {
	env := startEPR(t, eprCall(), nil)
	time.Sleep(time.Until(env.start)) // models time: the paced capture starts at env.start
	step(t, env.sim, eprScenario)
	var rec store.Recording
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := listStore(t, env.cfg.DataDir)
		if len(recs) == 1 && recs[0].Status != store.StatusRecording {
			rec = recs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished recording: %+v\n%s", recs, env.logs.String())
		}
		time.Sleep(100 * time.Millisecond) // polled until the deadline above
	}
	if rec.Mode != store.ModePassive || rec.Correlation != "matched" || rec.CallUUID == "" || rec.RecordedDN != "5004" || rec.OtherDN != "+15551237777" {
		t.Fatalf("recording: mode %s correlation %q uuid %q recorded %q other %q (%s)\n%s", rec.Mode, rec.Correlation, rec.CallUUID, rec.RecordedDN, rec.OtherDN, rec.StatusReason, env.logs.String())
	}
	if c1, _ := env.sim.Call("c1"); rec.CallUUID != c1.CallUUID {
		t.Errorf("CallUUID %q, the CTI call's is %q", rec.CallUUID, c1.CallUUID)
	}
	if rec.ExternalData["GEN_USR_Segment"] != "Gold" || len(rec.Couples) == 0 {
		t.Errorf("external data %v couples %+v, want GEN_USR_Segment=Gold and a couple", rec.ExternalData, rec.Couples)
	}
	if strings.Contains(env.logs.String(), "recording request failed") {
		t.Errorf("SIP Server was asked to pause or resume a recording it does not make:\n%s", env.logs.String())
	}
	if n := env.notifications(); !contains(n, "RECORDING_YES") {
		t.Errorf("notification of recording: %v, want RECORDING_YES", n)
	}
	var pauses []store.Segment
	for _, s := range rec.Segments {
		if s.Type == store.SegmentPause {
			pauses = append(pauses, s)
		}
	}
	if len(pauses) != 1 || pauses[0].EndMS-pauses[0].StartMS < 900 || pauses[0].EndMS-pauses[0].StartMS > 1500 {
		t.Fatalf("pause segments %+v, want one of ~1.2 s\n%s", pauses, env.logs.String())
	}
	f, err := wav.ReadFile(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	p := pauses[0]
	for ch := range 2 { // channel 0 is the caller, whatever the recorded DN
		s := f.Channel(ch)
		in := s[(p.StartMS+100)*8 : (p.EndMS-100)*8]
		if !audiotest.Silent(in) {
			t.Errorf("channel %d: audio during the PCI pause", ch)
		}
	}
	for ch, tone := range []float64{1000, 1600} {
		s := f.Channel(ch)
		if before := s[max(0, p.StartMS-600)*8 : (p.StartMS-100)*8]; !audiotest.HasTone(before, 8000, tone, []float64{1000, 1600}) {
			t.Errorf("channel %d: tone %v missing before the pause", ch, tone)
		}
	}
}

// TestCaptureEPRDoNotRecord: a do-not-record rule for the agent's DN
// silences the observed call's audio from the decision on and deletes
// its recording when the call ends (logged as a deletion).
func TestCaptureEPRDoNotRecord(t *testing.T) {
	env := startEPR(t, eprCall(), func(c *config.Serve) {
		c.Rules = mustRules(t, `
rules:
  groups:
    - name: Admin
      rules:
        - {name: no-5004, action: do_not_record, mask: "5004"}
`)
	})
	time.Sleep(time.Until(env.start)) // models time: the paced capture starts at env.start
	step(t, env.sim, eprScenario)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(env.logs.String(), "msg=\"recording deleted\"") {
		if time.Now().After(deadline) {
			t.Fatalf("the do-not-record call's recording was not deleted:\n%s", env.logs.String())
		}
		time.Sleep(100 * time.Millisecond) // polled until the deadline above
	}
	if recs := listStore(t, env.cfg.DataDir); len(recs) != 0 {
		t.Fatalf("do-not-record call stored: %+v", recs)
	}
	logs := env.logs.String()
	if !strings.Contains(logs, `reason="do-not-record rule \"no-5004\"`) || strings.Contains(logs, "recording request failed") {
		t.Errorf("deletion reason missing, or SIP Server asked to stop a recording it does not make:\n%s", logs)
	}
}

func listStore(t *testing.T, dataDir string) []store.Recording {
	t.Helper()
	db, err := sqlite.Open(context.Background(), app.DBPath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.ListRecordings(context.Background(), store.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := recs[:0]
	for _, r := range recs {
		full, err := db.GetRecording(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *full)
	}
	return out
}

// TestCaptureServeRoleInProcess: serve with a capture role (an in-memory
// live source here) lists the passive call among the live recordings while
// it runs (listen live), stores it like any other, and exports the capture
// counters in /metrics.
func TestCaptureServeRoleInProcess(t *testing.T) {
	call := eprCall()
	call.Start = time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	call.Talk = 1500 * time.Millisecond
	a := apptest.StartWith(t, nil, nil, app.Options{Capture: &app.LiveCapture{Source: pacedCall(t, call)}})
	var live bool
	deadline := time.Now().Add(5 * time.Second)
	for !live && time.Now().Before(deadline) {
		for _, c := range a.Recorder().Live() {
			live = live || (c.Mode == store.ModePassive && c.RecordedDN == "+15551237777" && len(c.Channels) == 2)
		}
		time.Sleep(20 * time.Millisecond) // polled until the deadline above
	}
	if !live {
		t.Fatal("the passive call was never among the live recordings")
	}
	recs := waitFinished(t, a, 1)
	if len(recs) != 1 || recs[0].Mode != store.ModePassive || recs[0].Status != store.StatusCompleted {
		t.Fatalf("recordings %+v", recs)
	}
	time.Sleep(1200 * time.Millisecond) // counters are published every flush interval
	m := metrics(t, a)
	for _, want := range []string{"openrec_capture_recordings_total 1", "openrec_capture_calls_total 1", "openrec_capture_ring_drops_total 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
