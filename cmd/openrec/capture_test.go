package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
)

var capT0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

const (
	toneCaller = 1000.0
	toneCallee = 1600.0
	toneMoved  = 700.0
)

var capTones = []float64{toneCaller, toneCallee, toneMoved, 440}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// capCall is a call between 10.0.0.1 (caller, DN 5001) and 10.0.0.2 (callee,
// DN 7001) with media ports offset by n (two calls between the same hosts).
func capCall(id string, n int, talk time.Duration) capturetest.Call {
	return capturetest.Call{
		ID:     id,
		Caller: capturetest.Party{DN: fmt.Sprint(5001 + n), SIP: ap("10.0.0.1:5060"), RTP: ap(fmt.Sprintf("10.0.0.1:%d", 20000+2*n)), Tone: toneCaller},
		Callee: capturetest.Party{DN: fmt.Sprint(7001 + n), SIP: ap("10.0.0.2:5060"), RTP: ap(fmt.Sprintf("10.0.0.2:%d", 30000+2*n)), Tone: toneCallee},
		Start:  capT0,
		Talk:   talk,
	}
}

func writePcap(t *testing.T, opt capturetest.Options, calls ...capturetest.Call) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "calls.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capturetest.NewWriter(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(calls...); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// captureFile runs openrec capture --pcap and returns the recordings,
// sorted by recorded (caller) DN.
func captureFile(t *testing.T, pcap string, extra ...string) (string, []listed) {
	t.Helper()
	dir := t.TempDir()
	out, err := run(t, append([]string{"capture", "--pcap", pcap, "--data-dir", dir}, extra...)...)
	if err != nil {
		t.Fatalf("capture: %v\n%s", err, out)
	}
	recs := listJSON(t, dir)
	sort.Slice(recs, func(i, j int) bool { return recs[i].RecordedDN < recs[j].RecordedDN })
	return out, recs
}

// checkTones checks a finished passive recording: two channels, the
// caller's tone on channel 0 and the callee's on 1 (each only there), and
// the duration.
func checkTones(t *testing.T, r listed, want [2]float64, talk time.Duration) {
	t.Helper()
	if r.Status != "completed" || r.Mode != "passive" || r.Channels != 2 {
		t.Fatalf("recording %s: status %s (%s) mode %s channels %d", r.ID, r.Status, r.StatusReason, r.Mode, r.Channels)
	}
	if d := time.Duration(r.DurationMS) * time.Millisecond; d < talk-100*time.Millisecond || d > talk+300*time.Millisecond {
		t.Errorf("recording %s: duration %v, want about %v", r.ID, d, talk)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	for ch := 0; ch < 2; ch++ {
		s := f.Channel(ch)
		if !audiotest.HasTone(s, 8000, want[ch], capTones) {
			t.Errorf("recording %s channel %d: tone %v missing", r.ID, ch, want[ch])
		}
		start, end := audiotest.ToneSpan(s, 8000, want[ch], 0)
		if got := time.Duration(end-start) * time.Second / 8000; got < talk-100*time.Millisecond {
			t.Errorf("recording %s channel %d: tone lasts %v, want about %v", r.ID, ch, got, talk)
		}
		if other := want[1-ch]; audiotest.HasTone(s, 8000, other, capTones) {
			t.Errorf("recording %s channel %d: the other party's tone %v leaks in", r.ID, ch, other)
		}
	}
}

func TestCaptureUDPCall(t *testing.T) {
	t.Parallel()
	talk := 2 * time.Second
	pcap := writePcap(t, capturetest.Options{}, capCall("udp-1@10.0.0.1", 0, talk))
	_, recs := captureFile(t, pcap)
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	checkTones(t, r, [2]float64{toneCaller, toneCallee}, talk)
	if r.RecordedDN != "5001" || len(r.SIPCallIDs) != 1 || r.SIPCallIDs[0] != "udp-1@10.0.0.1" {
		t.Errorf("recording: dn %q call-ids %v", r.RecordedDN, r.SIPCallIDs)
	}
}
