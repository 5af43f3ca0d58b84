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
	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/config"
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
		time.Sleep(50 * time.Millisecond)
		return nil, gopacket.CaptureInfo{}, capture.ErrTimeout
	}
	f := p.frames[p.i]
	if d := time.Until(f.ci.Timestamp); d > 0 {
		time.Sleep(min(d, 50*time.Millisecond))
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

// TestCaptureEPRCorrelation (issue 19, item 3): a call observed on the
// wire between the customer (+15551237777) and agent DN 5004 is matched
// to the simulator's CTI call at 5004: the recording carries its CallUUID
// and GEN_* data, the agent's DN is the recorded DN, and a PCI pause asked
// through attached data silences the captured audio for its span.
func TestCaptureEPRCorrelation(t *testing.T) {
	data, src, err := sim.DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	csim, err := sim.New(sim.Config{Listen: "127.0.0.1:0", ConfigListen: "127.0.0.1:0", Switch: sim.DemoSwitch,
		Config: data, ConfigSource: src, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })

	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.CTI = csim.Addr()
	cfg.CTISwitch = sim.DemoSwitch
	cfg.CTIReconnect = 200 * time.Millisecond
	cfg.ConfigURL = "http://" + csim.ConfigAddr() + "/config"
	cfg.UserDataKeys = "Segment"
	cfg.PCIPauseKey = "PCI"
	cfg.FlushInterval = 200 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	start := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	call := capturetest.Call{
		ID:     "epr-1@192.0.2.10",
		Caller: capturetest.Party{DN: "+15551237777", SIP: netip.MustParseAddrPort("192.0.2.10:5060"), RTP: netip.MustParseAddrPort("192.0.2.10:20000"), Tone: 1000},
		Callee: capturetest.Party{DN: "5004", SIP: netip.MustParseAddrPort("192.0.2.20:5060"), RTP: netip.MustParseAddrPort("192.0.2.20:30000"), Tone: 1600},
		Start:  start,
		Talk:   3200 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := app.RunCapture(ctx, cfg, log, pacedCall(t, call), app.CaptureOptions{})
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunCapture: %v", err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "cti link up") {
		if time.Now().After(deadline) {
			t.Fatalf("cti link did not come up:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The CTI call: answered at 5004 just before the SIP 200 (start+50ms),
	// PCI from 1.2 s to 2.4 s into the call, released after the BYE.
	time.Sleep(time.Until(start))
	step(t, csim, `
name: epr
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 5ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004", data: {Segment: Gold}}
  - {at: 30ms, action: answer, call: c1, dn: "5004"}
  - {at: 1270ms, action: update, call: c1, dn: "5004", data: {PCI: start}}
  - {at: 2470ms, action: update, call: c1, dn: "5004", data: {PCI: stop}}
  - {at: 3500ms, action: release, call: c1, dn: "5004"}
`)
	var rec store.Recording
	deadline = time.Now().Add(10 * time.Second)
	for {
		recs := listStore(t, cfg.DataDir)
		if len(recs) == 1 && recs[0].Status != store.StatusRecording {
			rec = recs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished recording: %+v\n%s", recs, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rec.Mode != store.ModePassive || rec.Correlation != "matched" || rec.CallUUID == "" || rec.RecordedDN != "5004" || rec.OtherDN != "+15551237777" {
		t.Fatalf("recording: mode %s correlation %q uuid %q recorded %q other %q (%s)\n%s", rec.Mode, rec.Correlation, rec.CallUUID, rec.RecordedDN, rec.OtherDN, rec.StatusReason, logs.String())
	}
	if rec.ExternalData["GEN_USR_Segment"] != "Gold" {
		t.Errorf("external data %v, want GEN_USR_Segment=Gold", rec.ExternalData)
	}
	var pauses []store.Segment
	for _, s := range rec.Segments {
		if s.Type == store.SegmentPause {
			pauses = append(pauses, s)
		}
	}
	if len(pauses) != 1 || pauses[0].EndMS-pauses[0].StartMS < 900 || pauses[0].EndMS-pauses[0].StartMS > 1500 {
		t.Fatalf("pause segments %+v, want one of ~1.2 s\n%s", pauses, logs.String())
	}
	f, err := wav.ReadFile(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	p := pauses[0]
	for ch, tone := range []float64{1000, 1600} {
		s := f.Channel(ch)
		in := s[(p.StartMS+100)*8 : (p.EndMS-100)*8]
		if !audiotest.Silent(in) {
			t.Errorf("channel %d: audio during the PCI pause", ch)
		}
		if before := s[max(0, p.StartMS-600)*8 : (p.StartMS-100)*8]; !audiotest.HasTone(before, 8000, tone, []float64{1000, 1600}) {
			t.Errorf("channel %d: tone %v missing before the pause", ch, tone)
		}
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
