package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/testtool"
)

// netnsPair creates two network namespaces joined by a veth pair
// (10.77.0.1 in a, 10.77.0.2 in b) and removes them when the test ends.
func netnsPair(t *testing.T) (a, b, ifB string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testtool.Missing(t, "root (network namespaces and a veth pair for the live capture test): run as root")
	}
	if testtool.Lookup("", "ip") == "" {
		testtool.Missing(t, "the ip command (iproute2)")
	}
	id := os.Getpid() % 100000
	a, b = fmt.Sprintf("orcapA%d", id), fmt.Sprintf("orcapB%d", id)
	ifA, ifB := fmt.Sprintf("orcA%d", id), fmt.Sprintf("orcB%d", id)
	ip := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{a, b} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	ip("netns", "add", a)
	ip("netns", "add", b)
	ip("link", "add", ifA, "type", "veth", "peer", "name", ifB)
	ip("link", "set", ifA, "netns", a)
	ip("link", "set", ifB, "netns", b)
	ip("-n", a, "addr", "add", "10.77.0.1/24", "dev", ifA)
	ip("-n", b, "addr", "add", "10.77.0.2/24", "dev", ifB)
	for ns, dev := range map[string]string{a: ifA, b: ifB} {
		ip("-n", ns, "link", "set", dev, "up")
		ip("-n", ns, "link", "set", "lo", "up")
	}
	return a, b, ifB
}

// TestCaptureLiveInterface: SIPp places a call from one namespace to
// SIPp in the other (RTP both ways, a tone each); openrec capture
// --interface on the veth records it until SIGINT, with one socket and
// with a fanout group of two (decoded on two goroutines).
func TestCaptureLiveInterface(t *testing.T) {
	sipp := testtool.Find(t, "OPENREC_TEST_SIPP", "sipp")
	nsA, nsB, ifB := netnsPair(t)
	for _, fanout := range []string{"1", "2"} {
		t.Run("fanout="+fanout, func(t *testing.T) {
			captureLive(t, sipp, nsA, nsB, ifB, "--fanout", fanout)
		})
	}
}

// TestCaptureLiveKernelFilter: --bpf is also a kernel program: with
// "port 5060" the kernel keeps the SIP frames only (the RTP never reaches
// the ring), so the call is seen but its recording has no audio.
func TestCaptureLiveKernelFilter(t *testing.T) {
	sipp := testtool.Find(t, "OPENREC_TEST_SIPP", "sipp")
	nsA, nsB, ifB := netnsPair(t)
	out, recs := captureLiveRun(t, sipp, nsA, nsB, ifB, "--bpf", "port 5060", "--json")
	var st struct {
		Decode struct{ Frames, Datagrams uint64 }
		Follow struct{ Calls, RTPMatched uint64 }
	}
	i := strings.Index(out, "{")
	if i < 0 {
		t.Fatalf("no JSON counters in\n%s", out)
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&st); err != nil {
		t.Fatalf("counters: %v\n%s", err, out)
	}
	if st.Follow.Calls != 1 || st.Follow.RTPMatched != 0 || st.Decode.Frames > 30 {
		t.Errorf("counters %+v: want the call's SIP frames only", st)
	}
	if len(recs) != 1 || recs[0].Status != "failed" {
		t.Errorf("recordings %+v, want one without audio", recs)
	}
}

func captureLive(t *testing.T, sipp, nsA, nsB, ifB string, extra ...string) {
	_, recs := captureLiveRun(t, sipp, nsA, nsB, ifB, extra...)
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1", len(recs))
	}
	// answered → BYE: the caller's 2.5 s pause after the ACK
	checkTonesIn(t, recs[0], [2]float64{toneCaller, toneCallee}, 2*time.Second, 2400*time.Millisecond, 2800*time.Millisecond)
	if recs[0].RecordedDN != "5001" {
		t.Errorf("caller DN %q", recs[0].RecordedDN)
	}
}

// captureLiveRun runs openrec capture --interface in nsB around one SIPp
// call and returns its output and recordings.
func captureLiveRun(t *testing.T, sipp, nsA, nsB, ifB string, extra ...string) (string, []listed) {
	dir := t.TempDir()
	callerPcap, calleePcap := tonePcaps(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := filepath.Join(dir, "data")
	logs := &syncBuffer{}
	args := []string{"netns", "exec", nsB, binPath, "capture", "--interface", ifB, "--data-dir", data, "--log-level", "info"}
	if !slices.Contains(extra, "--bpf") {
		args = append(args, "--bpf", "udp")
	}
	capCmd := exec.CommandContext(ctx, "ip", append(args, extra...)...)
	capCmd.Stdout, capCmd.Stderr = logs, logs
	if err := capCmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- capCmd.Wait() }()
	defer func() { _ = capCmd.Process.Kill() }()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "capturing") {
		if time.Now().After(deadline) {
			t.Fatalf("capture did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polled until the deadline above
	}
	time.Sleep(200 * time.Millisecond) // the ring is bound before the log line; let it settle
	sippCall(ctx, t, sipp, nsA, nsB, callerPcap, calleePcap)
	time.Sleep(700 * time.Millisecond) // past the linger after BYE
	_ = capCmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("capture exited with %v after SIGINT\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("capture did not stop on SIGINT\n%s", logs.String())
	}
	return logs.String(), listJSON(t, data)
}

// tonePcaps writes the RTP pcaps SIPp replays: the caller's tone and the
// callee's, 2 s each.
func tonePcaps(t *testing.T, dir string) (caller, callee string) {
	t.Helper()
	caller, callee = filepath.Join(dir, "caller.pcap"), filepath.Join(dir, "callee.pcap")
	for path, tone := range map[string]float64{caller: toneCaller, callee: toneCallee} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := capturetest.WriteRTP(f, tone, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	return caller, callee
}

// sippCall places one call from SIPp in nsA (10.77.0.1, 5001) to SIPp in
// nsB (10.77.0.2:5060, 7001), RTP both ways, and returns when it ended.
func sippCall(ctx context.Context, t *testing.T, sipp, nsA, nsB, callerPcap, calleePcap string) {
	t.Helper()
	sippArgs := func(ns, ip, scenario, pcap string, extra ...string) *exec.Cmd {
		args := append([]string{"netns", "exec", ns, sipp, "-sf", filepath.Join("testdata", "capture", scenario), "-m", "1",
			"-i", ip, "-mi", ip, "-mp", "16000", "-timeout", "20s", "-timeout_error", "-nostdin", "-key", "pcap", pcap}, extra...)
		return exec.CommandContext(ctx, "ip", args...)
	}
	uas := sippArgs(nsB, "10.77.0.2", "uas.xml", calleePcap, "-p", "5060")
	uasOut := &syncBuffer{}
	uas.Stdout, uas.Stderr = uasOut, uasOut
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = uas.Process.Kill(); _ = uas.Wait() }()
	time.Sleep(300 * time.Millisecond) // models time: the UAS scenario binds its port before the UAC calls
	if out, err := sippArgs(nsA, "10.77.0.1", "uac.xml", callerPcap, "-p", "5060", "10.77.0.2:5060").CombinedOutput(); err != nil {
		t.Fatalf("sipp caller: %v\n%s\n--- callee ---\n%s", err, lastLines(string(out), 20), uasOut.String())
	}
}

// TestCaptureServeRole: serve --capture-interface records the call seen on
// the veth beside its SIP service; /metrics shows the capture counters
// (the ring's loss among them); SIGTERM ends it cleanly.
func TestCaptureServeRole(t *testing.T) {
	sipp := testtool.Find(t, "OPENREC_TEST_SIPP", "sipp")
	nsA, nsB, ifB := netnsPair(t)
	dir := t.TempDir()
	callerPcap, calleePcap := tonePcaps(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := filepath.Join(dir, "data")
	logs := &syncBuffer{}
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, binPath, "serve", "--capture-interface", ifB, "--capture-bpf", "udp",
		"--sip-listen", "127.0.0.1:5070", "--http-listen", "127.0.0.1:18080", "--data-dir", data, "--log-level", "info")
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	t.Cleanup(func() { _ = srv.Process.Kill() })
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "openrec recorder ready") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polled until the deadline above
	}
	time.Sleep(200 * time.Millisecond) // models time: the capture ring is bound before it logs; let it settle
	sippCall(ctx, t, sipp, nsA, nsB, callerPcap, calleePcap)
	var recs []listed
	deadline = time.Now().Add(10 * time.Second)
	for {
		recs = listJSON(t, data)
		if len(recs) == 1 && recs[0].Status != "recording" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recordings %+v\n%s", recs, logs.String())
		}
		time.Sleep(100 * time.Millisecond) // polled until the deadline above
	}
	// serve's recorder runs on the wall clock: the call ends up to the
	// linger and a ring poll after its BYE
	checkTonesIn(t, recs[0], [2]float64{toneCaller, toneCallee}, 2*time.Second, 2400*time.Millisecond, 3100*time.Millisecond)
	time.Sleep(1200 * time.Millisecond) // the counters are published every flush interval
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, "curl", "-sf", "http://127.0.0.1:18080/metrics").CombinedOutput()
	if err != nil {
		t.Fatalf("metrics: %v\n%s", err, out)
	}
	for _, want := range []string{"openrec_capture_recordings_total 1", "openrec_capture_ring_drops_total 0", "openrec_capture_calls_total 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.Contains(string(out), "openrec_capture_ring_packets_total") {
		t.Errorf("metrics lack the ring counters")
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM\n%s", logs.String())
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
