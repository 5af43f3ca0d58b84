package app_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
)

// sippFlow is one third-party call flow (testdata/sipp/*.xml) played by
// SIPp against a real recorder, and what the recording must look like.
type sippFlow struct {
	name     string
	scenario string
	keys     map[string]string
	config   func(*config.Serve)
	tone     time.Duration // length of the pcap tone to play (0: no pcap)
	// recordings is how many recordings the flow must leave (default 1;
	// 0 for flows that are refused).
	recordings int
	check      func(t *testing.T, a *app.App, r *store.Recording)
	slow       bool // takes about a minute (skipped with -short)
	// pair: the scenario runs twice at once (CUCM BiB near and far end),
	// each with its keys, a tone of its own and its own media port.
	pair []sippLeg
}

type sippLeg struct {
	keys map[string]string
	tone float64
}

// toneIn reports whether the 440 Hz pcap tone is on channel 0 between
// from and to (offsets into the file).
func toneIn(t *testing.T, path string, from, to time.Duration) bool {
	t.Helper()
	f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	s := f.Channel(0)
	i, j := int(from.Seconds()*8000), int(to.Seconds()*8000)
	if i < 0 || j > len(s) || i >= j {
		t.Errorf("window %v-%v outside the %v file", from, to, f.Duration())
		return false
	}
	return audiotest.HasTone(s[i:j], 8000, 440, []float64{1000})
}

// noneDropped asserts the recording completed and dropped no packet.
func noneDropped(t *testing.T, r *store.Recording) {
	t.Helper()
	if r.Status != store.StatusCompleted || strings.Contains(r.StatusReason, "dropped") {
		t.Errorf("status %s %q, want completed with nothing dropped", r.Status, r.StatusReason)
	}
	for _, e := range r.Events {
		if e.Type == "packets-dropped" || e.Type == "timeout" {
			t.Errorf("event %s: %s", e.Type, e.Detail)
		}
	}
}

// movedPorts are the m= ports of the re-offers of the same-source flows:
// literal values, so SIPp keeps sending from [media_port] (48000).
var movedPorts = map[string]string{"port2": "48104", "port3": "48208"}

// toneThroughMoves checks a flow that moves the media twice (at ~1 s and
// ~2 s): nothing dropped, the tone before, between and after the moves.
func toneThroughMoves(t *testing.T, _ *app.App, r *store.Recording) {
	t.Helper()
	noneDropped(t, r)
	for _, w := range [][2]time.Duration{{200 * time.Millisecond, 900 * time.Millisecond}, {1100 * time.Millisecond, 1900 * time.Millisecond}, {2200 * time.Millisecond, 3100 * time.Millisecond}} {
		if !toneIn(t, r.MediaPath, w[0], w[1]) {
			t.Errorf("no tone between %v and %v (before, between and after the moves)", w[0], w[1])
		}
	}
}

// runSIPpFlow runs one SIPp scenario of testdata/sipp against target over
// transport (SIPp's -t: u1 UDP, t1 TCP) with RTP from
// 127.0.0.1:mediaPort and an overall timeout.
func runSIPpFlow(ctx context.Context, t *testing.T, sipp, transport, target, scenario string, keys map[string]string, mediaPort int, timeout time.Duration) ([]byte, error) {
	errFile := filepath.Join(t.TempDir(), "err.log")
	args := []string{"-sf", filepath.Join("testdata", "sipp", scenario), "-m", "1", "-i", "127.0.0.1", "-p", "0", "-t", transport,
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())), "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", errFile}
	for k, v := range keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, target)
	return withSIPpErrors(exec.CommandContext(ctx, sipp, args...).CombinedOutput())(errFile)
}

// wantParties checks a SIPREC flow's parties ("channel:dn/label" each, in
// order), its metadata problem (substring, "" = none) and the tone on
// channel 0.
func wantParties(parties, problem string) func(*testing.T, *app.App, *store.Recording) {
	return func(t *testing.T, _ *app.App, r *store.Recording) {
		t.Helper()
		var got []string
		for _, p := range r.Parties {
			got = append(got, fmt.Sprintf("%d:%s/%s", p.Channel, p.DN, p.Label))
		}
		if g := strings.Join(got, " "); g != parties {
			t.Errorf("parties %q, want %q", g, parties)
		}
		if (problem == "") != (r.MetadataProblem == "") || !strings.Contains(r.MetadataProblem, problem) {
			t.Errorf("metadata problem %q, want %q", r.MetadataProblem, problem)
		}
		noneDropped(t, r)
		if !toneIn(t, r.MediaPath, 200*time.Millisecond, 2*time.Second) {
			t.Error("no tone on channel 0")
		}
	}
}

// The vendor call flows of issue 12, each a SIPp scenario: the test counts
// how many record correctly (the count goes into the closing note).
func TestSIPpVendorFlows(t *testing.T) {
	sipp := sippPath(t)
	flows := []sippFlow{
		{name: "re-INVITE and UPDATE move the m= port, same source", scenario: "siprec_reinvite_port_same_source.xml", tone: 4 * time.Second,
			keys: movedPorts, check: toneThroughMoves},
		{name: "re-INVITE and UPDATE move the m= port, source follows", scenario: "siprec_reinvite_port.xml", tone: 4 * time.Second,
			check: toneThroughMoves},
		{name: "hold then resume on a new port, RTP flowing", scenario: "siprec_hold_resume.xml", tone: 4 * time.Second, keys: movedPorts,
			config: func(c *config.Serve) { c.MediaTimeout = time.Second },
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				noneDropped(t, r)
				if !toneIn(t, r.MediaPath, 2300*time.Millisecond, 3100*time.Millisecond) {
					t.Error("no tone after the resume")
				}
			}},
		{name: "broken Route, Record-Route and Contact", scenario: "broken_route_contact.xml", tone: 3 * time.Second,
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				noneDropped(t, r)
				if !toneIn(t, r.MediaPath, 200*time.Millisecond, 2*time.Second) {
					t.Error("no tone")
				}
			}},
		{name: "stray multipart boundary inside the SDP part", scenario: "stray_boundary.xml", tone: 3 * time.Second,
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				noneDropped(t, r)
				if !strings.Contains(r.MetadataProblem, "SDP line") {
					t.Errorf("metadata problem %q, want the skipped SDP line flagged", r.MetadataProblem)
				}
				if !toneIn(t, r.MediaPath, 200*time.Millisecond, 2*time.Second) {
					t.Error("no tone")
				}
			}},
		{name: "mixed stream with three participants", scenario: "siprec_mixed_three.xml", tone: 3 * time.Second,
			check: wantParties("0:2001/1 0:+15550177/1 0:2999/1", "")},
		{name: "participant only in an UPDATE", scenario: "siprec_update_participant.xml", tone: 3 * time.Second,
			check: wantParties("0:2001/1 0:+15550177/1 0:2999/1 -1:+15550999/", "")},
		{name: "no participantstreamassoc", scenario: "siprec_no_assoc.xml", tone: 3 * time.Second,
			check: wantParties("0:/1 1:/2 -1:3100/ -1:+15550123/", "no participantstreamassoc")},
		{name: "draft dialect (BroadWorks, Webex)", scenario: "siprec_draft_dialect.xml", tone: 3 * time.Second,
			check: wantParties("0:agent42/1 0:+15550142/1", "")},
		{name: "CUCM built-in bridge: near-end and far-end INVITEs", scenario: "cucm_bib_leg.xml", tone: 2 * time.Second,
			pair: []sippLeg{{keys: map[string]string{"end": "x-nearend"}, tone: 440}, {keys: map[string]string{"end": "x-farend"}, tone: 1000}},
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				noneDropped(t, r)
				if r.Mode != store.ModeCisco || r.Channels != 2 || len(r.SIPCallIDs) != 2 || r.RecordedDN != "9110001" || r.OtherDN != "9110006" {
					t.Errorf("recording %s %d channels, call-ids %v, DNs %q/%q", r.Mode, r.Channels, r.SIPCallIDs, r.RecordedDN, r.OtherDN)
				}
				// Each end's tone on its channel (durations depend on how
				// SIPp paces two pcaps at once: not checked here).
				f, err := wav.ReadFile(r.MediaPath)
				if err != nil {
					t.Fatal(err)
				}
				for ch, freq := range []float64{440, 1000} {
					if !audiotest.HasTone(f.Channel(ch), 8000, freq, []float64{440, 1000}) {
						t.Errorf("channel %d: no %v Hz tone", ch, freq)
					}
				}
			}},
		{name: "CUBE media forking", scenario: "cube_forking.xml", tone: 3 * time.Second,
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				noneDropped(t, r)
				var got []string
				for _, p := range r.Parties {
					got = append(got, fmt.Sprintf("%d:%s", p.Channel, p.DN))
				}
				if r.Mode != store.ModeCisco || r.Channels != 2 || strings.Join(got, " ") != "0:708090 1:10000" {
					t.Errorf("recording %s %d channels, parties %v", r.Mode, r.Channels, got)
				}
				if !toneIn(t, r.MediaPath, 200*time.Millisecond, 2*time.Second) {
					t.Error("no tone on channel 0")
				}
			}},
		{name: "Require: replaces is refused with 420", scenario: "require_unsupported.xml", keys: map[string]string{"tag": "replaces"}, recordings: -1},
		{name: "Require: an unknown tag is refused with 420", scenario: "require_unsupported.xml", keys: map[string]string{"tag": "x-vendor-magic"}, recordings: -1},
		{name: "Require: timer accepted", scenario: "require_supported.xml", keys: map[string]string{"tag": "timer"}},
		{name: "Require: 100rel accepted", scenario: "require_supported.xml", keys: map[string]string{"tag": "100rel"}},
		{name: "Require: siprec accepted", scenario: "require_supported.xml", keys: map[string]string{"tag": "siprec"}},
		{name: "session timer: 422 Min-SE, then negotiated and refreshed", scenario: "session_timer.xml"},
		{name: "session timer: no refresh, the recorder ends the session", scenario: "session_expiry.xml", slow: true,
			config: func(c *config.Serve) { c.MediaTimeout = 2 * time.Minute }, // no RTP in this flow
			check: func(t *testing.T, _ *app.App, r *store.Recording) {
				if !strings.Contains(r.StatusReason, "session timer expired") {
					t.Errorf("status reason %q, want the session expiry", r.StatusReason)
				}
			}},
	}
	passed, ran := 0, 0
	for _, tr := range []struct{ name, sipp string }{{"udp", "u1"}, {"tcp", "t1"}} {
		for _, fl := range flows {
			if fl.slow && (testing.Short() || tr.name != "udp") {
				t.Logf("skipped %q over %s: takes a minute, run once over UDP without -short", fl.name, tr.name)
				continue
			}
			ranIt := false
			ok := t.Run(tr.name+"/"+fl.name, func(t *testing.T) {
				ranIt = true
				a := startApp(t, fl.config)
				keys := map[string]string{}
				for k, v := range fl.keys {
					keys[k] = v
				}
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
				defer cancel()
				timeout := 20 * time.Second
				if fl.slow {
					timeout = 90 * time.Second
				}
				legs := fl.pair
				if legs == nil {
					legs = []sippLeg{{keys: keys, tone: 440}}
				}
				outs, errs := make([][]byte, len(legs)), make([]error, len(legs))
				var wg sync.WaitGroup
				for i, leg := range legs {
					k := map[string]string{}
					for kk, v := range keys {
						k[kk] = v
					}
					for kk, v := range leg.keys {
						k[kk] = v
					}
					if fl.tone > 0 {
						pcap := filepath.Join(t.TempDir(), fmt.Sprintf("tone%d.pcap", i))
						writeTonePCAP(t, pcap, leg.tone, fl.tone, 0x5150+uint32(i))
						k["pcap"] = pcap
					}
					port := sippMediaPort(t)
					wg.Add(1)
					go func() {
						defer wg.Done()
						outs[i], errs[i] = runSIPpFlow(ctx, t, sipp, tr.sipp, a.SIPAddr().String(), fl.scenario, k, port, timeout)
					}()
				}
				wg.Wait()
				for i := range legs {
					if errs[i] != nil {
						t.Fatalf("sipp (leg %d): %v\n%s", i, errs[i], lastLines(outs[i], 40))
					}
				}
				want := 1
				if fl.recordings != 0 {
					want = fl.recordings
				}
				if want < 0 {
					want = 0
				}
				recs := waitFinished(t, a, want)
				if len(recs) != want {
					t.Fatalf("%d recordings, want %d", len(recs), want)
				}
				if want == 0 || fl.check == nil {
					return
				}
				full, err := a.Store().GetRecording(context.Background(), recs[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				fl.check(t, a, full)
			})
			if ranIt {
				ran++
				if ok {
					passed++
				}
			}
		}
	}
	t.Logf("%d of %d SIPp vendor call flows (UDP and TCP runs) recorded correctly (%d flows in the table)", passed, ran, len(flows))
}
