package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// startApp runs a recorder on loopback with port 0 and a temp data dir.
func startApp(t testing.TB, mut func(*config.Serve)) *app.App {
	t.Helper()
	return apptest.Start(t, mut, nil)
}

func testLogger(t testing.TB) *slog.Logger { return apptest.Logger(t) }

func newDialer(t testing.TB) *dial.Dialer {
	t.Helper()
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// waitFinished waits until n recordings are no longer "recording".
func waitFinished(t testing.TB, a *app.App, n int) []store.Recording {
	t.Helper()
	var recs []store.Recording
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		var err error
		recs, err = a.Store().ListRecordings(context.Background(), store.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range recs {
			if r.Status != store.StatusRecording {
				done++
			}
		}
		return done >= n && a.Recorder().Active() == 0, fmt.Sprintf("have %d of %d, %d calls active", done, len(recs), a.Recorder().Active())
	}, "%d finished recordings", n)
	return recs
}

// checkTones asserts each channel carries its own tone over the expected
// duration, and nothing of the other channel's tone.
func checkTones(t *testing.T, path string, want []float64, dur time.Duration) *wav.File {
	t.Helper()
	f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if f.Channels != len(want) {
		t.Fatalf("channels = %d, want %d", f.Channels, len(want))
	}
	for ch, freq := range want {
		samples := f.Channel(ch)
		start, end := audiotest.ToneSpan(samples, f.SampleRate, freq, 160)
		if start < 0 || end <= start {
			t.Fatalf("channel %d: no %v Hz tone", ch, freq)
		}
		got := time.Duration(end-start) * time.Second / time.Duration(f.SampleRate)
		if d := got - dur; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("channel %d: %v Hz tone lasts %v, want %v ±100ms", ch, freq, got, dur)
		}
		if !audiotest.HasTone(samples[start:end], f.SampleRate, freq, want) {
			t.Errorf("channel %d: %v Hz is not the dominant tone", ch, freq)
		}
	}
	return f
}

func TestMSRTwoLegsBecomeOneStereoRecording(t *testing.T) {
	// dtmf: keep: the digit is stored (the default masks it; see
	// TestDTMFMaskedByDefaultKeptPerTenant).
	a := startApp(t, func(c *config.Serve) { c.DTMF = "keep" })
	d := newDialer(t)
	res, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
		RecordID: "rec-1", CallUUID: "00M2V3L4A58BV0LJ3C8G4A0AAA000001",
		Codec: "PCMU", Duration: 2 * time.Second, DTMF: "5",
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if len(res.CallIDs) != 2 {
		t.Fatalf("MSR call sent %d INVITEs, want 2", len(res.CallIDs))
	}
	recs := waitFinished(t, a, 1)
	if len(recs) != 1 {
		t.Fatalf("got %d recordings, want ONE for both legs", len(recs))
	}
	r := recs[0]
	if r.Status != store.StatusCompleted || r.Mode != store.ModeMSR || r.RecordID != "rec-1" ||
		r.CallUUID != "00M2V3L4A58BV0LJ3C8G4A0AAA000001" || r.RecordedDN != "5001" || len(r.SIPCallIDs) != 2 {
		t.Errorf("recording row = %+v", r)
	}
	if r.SHA256 == "" || r.SizeBytes == 0 || r.Channels != 2 {
		t.Errorf("media fields: sha=%q size=%d channels=%d", r.SHA256, r.SizeBytes, r.Channels)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
	full, err := a.Store().GetRecording(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var dtmf []string
	for _, e := range full.Events {
		if e.Type == "dtmf" {
			dtmf = append(dtmf, e.Detail)
		}
	}
	if strings.Join(dtmf, "") != "5" {
		t.Errorf("dtmf events = %v, want [5]", dtmf)
	}
}

func TestSIPRECOneRecordingWithParticipants(t *testing.T) {
	a := startApp(t, nil)
	d := newDialer(t)
	_, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, DN: "5002", OtherDN: "+15550111",
		CallUUID: "00M2V3L4A58BV0LJ3C8G4A0AAA000002", Codec: "PCMA", Duration: 2 * time.Second,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}, RTCP: true,
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	recs := waitFinished(t, a, 1)
	r := recs[0]
	if r.Mode != store.ModeSIPREC || r.Status != store.StatusCompleted || r.SIPRECSessionID == "" || r.Metadata == "" {
		t.Errorf("recording row = %+v", r)
	}
	if r.CallUUID != "00M2V3L4A58BV0LJ3C8G4A0AAA000002" {
		t.Errorf("call uuid = %q (from metadata extension)", r.CallUUID)
	}
	if len(r.Parties) != 2 || r.Parties[0].Label == "" || !strings.Contains(r.Parties[0].AOR, "5002") {
		t.Errorf("parties = %+v, want channel 0 = 5002 by stream label", r.Parties)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
}

func TestLossyLegStillAligned(t *testing.T) {
	a := startApp(t, nil)
	d := newDialer(t)
	_, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Duration: 3 * time.Second,
		Loss: 0.05, Reorder: 0.05, Jitter: 15 * time.Millisecond, Seed: 42,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	r := waitFinished(t, a, 1)[0]
	f := checkTones(t, r.MediaPath, []float64{440, 1000}, 3*time.Second)
	s0, _ := audiotest.ToneSpan(f.Channel(0), f.SampleRate, 440, 160)
	s1, _ := audiotest.ToneSpan(f.Channel(1), f.SampleRate, 1000, 160)
	if diff := (s0 - s1) * 1000 / f.SampleRate; diff < -40 || diff > 40 {
		t.Errorf("channels start %d ms apart, want aligned (±40 ms)", diff)
	}
}

func TestCapacityAndOptions(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.MaxCalls = 1 })
	d := newDialer(t)
	if code, err := d.Options(context.Background(), a.SIPAddr().String()); err != nil || code != 200 {
		t.Fatalf("OPTIONS = %d, %v; want 200", code, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := d.Call(ctx, dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Duration: 3 * time.Second, RecordID: "cap-1", StartSkew: 300 * time.Millisecond})
		first <- err
	}()
	waitFor(t, 10*time.Second, "the first call", func() bool { return a.Recorder().Active() > 0 })
	_, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Duration: 500 * time.Millisecond, RecordID: "cap-2"})
	var se dial.StatusError
	if !asStatus(err, &se) || se.Code != 503 {
		t.Fatalf("second call over capacity: err = %v, want 503", err)
	}
	if code, _ := d.Options(context.Background(), a.SIPAddr().String()); code != 503 {
		t.Errorf("OPTIONS at capacity = %d, want 503", code)
	}
	// The second leg of the admitted call (sent 300 ms later) was admitted.
	if err := <-first; err != nil {
		t.Fatalf("admitted call: %v", err)
	}
	recs := waitFinished(t, a, 1)
	for _, r := range recs {
		if r.RecordID == "cap-1" && len(r.SIPCallIDs) != 2 {
			t.Errorf("admitted call has %d legs, want 2", len(r.SIPCallIDs))
		}
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`openrec_rtp_packets_received_total [1-9]`, `openrec_calls_rejected_total [1-9]`, `openrec_recordings_finished_total\{status="completed"\} 1`} {
		if !regexp.MustCompile(m).Match(body) {
			t.Errorf("metrics lack %q:\n%s", m, body)
		}
	}
}

func TestOneLeggedCallIsPartial(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.LegWindow = 300 * time.Millisecond })
	d := newDialer(t)
	_, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, SingleLeg: true, Duration: time.Second})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	r := waitFinished(t, a, 1)[0]
	if r.Status != store.StatusPartial || !strings.Contains(r.StatusReason, "one-legged") {
		t.Errorf("status = %s (%s), want partial one-legged", r.Status, r.StatusReason)
	}
}

func asStatus(err error, se *dial.StatusError) bool { return errors.As(err, se) }

func TestSingleSessionMSR(t *testing.T) {
	a := startApp(t, nil)
	d := newDialer(t)
	res, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, SingleSession: true,
		DN: "5005", OtherDN: "5006", Duration: 1500 * time.Millisecond, Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CallIDs) != 1 {
		t.Fatalf("single-session sent %d INVITEs", len(res.CallIDs))
	}
	r := waitFinished(t, a, 1)[0]
	if r.Status != store.StatusCompleted || r.RecordedDN != "5005" || r.OtherDN != "5006" {
		t.Errorf("recording = %s %s recorded=%s other=%s", r.Status, r.StatusReason, r.RecordedDN, r.OtherDN)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 1500*time.Millisecond)
}

// Without RTCP, channels are aligned by arrival: a second leg that starts
// 500 ms later starts 500 ms later in the file.
func TestLateSecondLegAlignedByArrival(t *testing.T) {
	a := startApp(t, nil)
	d := newDialer(t)
	_, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, StartSkew: 500 * time.Millisecond,
		Duration: 1500 * time.Millisecond, Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}})
	if err != nil {
		t.Fatal(err)
	}
	r := waitFinished(t, a, 1)[0]
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	s0, _ := audiotest.ToneSpan(f.Channel(0), 8000, 440, 160)
	s1, _ := audiotest.ToneSpan(f.Channel(1), 8000, 1000, 160)
	if lag := (s1 - s0) * 1000 / 8000; lag < 430 || lag > 600 {
		t.Errorf("second leg starts %d ms after the first, want ~500", lag)
	}
}

// SIGTERM path: draining refuses new calls (INVITE and OPTIONS 503) while
// the active call records to its end; then the process stops.
func TestShutdownDrainsActiveCalls(t *testing.T) {
	a := startApp(t, nil)
	d := newDialer(t)
	done := make(chan error, 1)
	go func() {
		_, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Duration: 2 * time.Second, RecordID: "drain-1"})
		done <- err
	}()
	waitFor(t, 10*time.Second, "both legs of the call", func() bool { return a.Recorder().Stats().ActiveLegs >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- a.Shutdown(ctx) }()
	waitFor(t, 10*time.Second, "draining", func() bool { return a.Recorder().Stats().Draining })
	if code, _ := d.Options(context.Background(), a.SIPAddr().String()); code != 503 {
		t.Errorf("OPTIONS while draining = %d, want 503", code)
	}
	_, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Duration: 200 * time.Millisecond})
	var se dial.StatusError
	if !asStatus(err, &se) || se.Code != 503 {
		t.Errorf("new call while draining: %v, want 503", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("active call cut by drain: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	f, err := wav.ReadFile(onlyFinal(t, a).MediaPath)
	if err != nil || f.Duration() < 1900*time.Millisecond {
		t.Errorf("drained call file: %v, %v", f, err)
	}
}

// onlyFinal reads the single recording straight from a closed app's data.
func onlyFinal(t *testing.T, a *app.App) store.Recording {
	t.Helper()
	db, err := sqlite.Open(context.Background(), app.DBPath(a.DataDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.ListRecordings(context.Background(), store.Filter{})
	if err == nil && len(recs) == 1 {
		return recs[0]
	}
	t.Fatalf("recordings: %v %v", recs, err)
	return store.Recording{}
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func dialSpec(a *app.App, dn string) dial.Spec {
	return dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: dn, Duration: 300 * time.Millisecond}
}

func statusCode(err error) int {
	var se dial.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Profiling is off by default and, when asked for, served on its own
// address only.
func TestPprofOnItsOwnAddress(t *testing.T) {
	a := startApp(t, func(c *config.Serve) { c.PprofListen = "127.0.0.1:0" })
	if body, err := httpGet("http://" + a.PprofAddr() + "/debug/pprof/heap?debug=1"); err != nil || !strings.Contains(body, "heap profile") {
		t.Errorf("pprof heap: %v", err)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("pprof on the public HTTP port: %d", resp.StatusCode)
	}
	if startApp(t, nil).PprofAddr() != "" {
		t.Error("pprof on by default")
	}
}
