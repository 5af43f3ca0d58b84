package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/testtool"
)

// These tests run the real binary the README tells users to run: serve in
// one process, dial and recordings in others, sharing one data dir.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openrec-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "openrec")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build openrec: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

type server struct {
	cmd      *exec.Cmd
	sipAddr  string
	httpAddr string      // "" without --http-listen
	logs     *syncBuffer // written by the reader goroutine while tests read it
	done     chan error
}

var readyRE = regexp.MustCompile(`sip="udp\+tcp ([0-9.]+:[0-9]+)"`)

func startServe(t *testing.T, dataDir string, rtp string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--sip-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
		"--data-dir", dataDir, "--rtp-ports", rtp, "--max-calls", "10", "--flush-interval", "200ms"}, extra...)
	cmd := exec.Command(binPath, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	ready := make(chan string, 1) // the ready line
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.WriteString(line + "\n")
			if readyRE.MatchString(line) {
				ready <- line
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case line := <-ready:
		s.sipAddr = readyRE.FindStringSubmatch(line)[1]
		if m := httpRE.FindStringSubmatch(line); m != nil {
			s.httpAddr = m[1]
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not become ready:\n%s", s.logs.String())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return s
}

func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		if err != nil && sig != syscall.SIGKILL {
			t.Errorf("serve exited with %v after %v\n%s", err, sig, s.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit after %v", sig)
	}
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, args...).CombinedOutput()
	return string(out), err
}

type listed struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	StatusReason string            `json:"status_reason"`
	Mode         string            `json:"mode"`
	CallUUID     string            `json:"call_uuid"`
	RecordID     string            `json:"record_id"`
	SIPCallIDs   []string          `json:"sip_call_ids"`
	RecordedDN   string            `json:"recorded_dn"`
	DurationMS   int64             `json:"duration_ms"`
	Channels     int               `json:"channels"`
	MediaPath    string            `json:"media_path"`
	ExternalData map[string]string `json:"external_data"`
}

func listJSON(t *testing.T, dataDir string) []listed {
	t.Helper()
	out, err := run(t, "recordings", "list", "--data-dir", dataDir, "--json")
	if err != nil {
		t.Fatalf("recordings list: %v\n%s", err, out)
	}
	var recs []listed
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("list --json is not a JSON array: %v\n%s", err, out)
	}
	var raw []map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	for _, r := range raw {
		for _, k := range []string{"id", "status", "mode", "call_uuid", "record_id", "siprec_session_id", "sip_call_ids",
			"recorded_dn", "other_dn", "started_at", "ended_at", "duration_ms", "channels", "media_path", "segments", "external_data"} {
			if _, ok := r[k]; !ok {
				t.Errorf("list --json object lacks %q", k)
			}
		}
	}
	return recs
}

func TestServeDialListExport(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data, "33000-33199")
	out, err := run(t, "dial", "--target", s.sipAddr, "--mode", "msr", "--duration", "2s", "--tones", "440,1000",
		"--dn", "5001", "--other-dn", "+15550100", "--record-id", "cli-1", "--call-uuid", "00CLI000000000000000000000000001")
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, out)
	}
	out, err = run(t, "dial", "--target", s.sipAddr, "--mode", "siprec", "--duration", "1s", "--transport", "tcp")
	if err != nil {
		t.Fatalf("dial siprec over tcp: %v\n%s", err, out)
	}
	recs := waitListedFinished(t, s, data, 2)
	var msr *listed
	for i := range recs {
		if recs[i].Mode == "msr" {
			msr = &recs[i]
		}
	}
	if msr == nil || msr.RecordID != "cli-1" || msr.Status != "completed" || len(msr.SIPCallIDs) != 2 || msr.Channels != 2 {
		t.Fatalf("msr recording = %+v", msr)
	}
	exported := filepath.Join(t.TempDir(), "call.wav")
	if out, err := run(t, "recordings", "export", msr.ID, "--data-dir", data, "--out", exported); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	f, err := wav.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if !audiotest.HasTone(f.Channel(0), 8000, 440, []float64{440, 1000}) || !audiotest.HasTone(f.Channel(1), 8000, 1000, []float64{440, 1000}) {
		t.Errorf("exported file does not carry 440 Hz left and 1000 Hz right")
	}
	if out, err := run(t, "recordings", "show", "NOPE", "--data-dir", data); err == nil {
		t.Errorf("show of an unknown id succeeded:\n%s", out)
	}
	s.stop(t, syscall.SIGTERM)
	if !strings.Contains(s.logs.String(), "recording finished") {
		t.Errorf("no per-call log line:\n%s", s.logs.String())
	}
}

// A kill -9 in the middle of a call loses at most ~1 s: the next start
// repairs the file and marks the recording partial.
func TestKill9LeavesPlayableRecording(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data, "33200-33399")
	// A call far longer than the test: only the kill ends it.
	dial := exec.Command(binPath, "dial", "--target", s.sipAddr, "--duration", "1m", "--tones", "440,1000")
	dial.Stdout, dial.Stderr = io.Discard, io.Discard
	if err := dial.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dial.Process.Kill(); _ = dial.Wait() }()
	// Kill once the file holds 2.5 s of audio (2 channels of 8-bit u-law
	// at 8 kHz: 16000 bytes a second after the 44-byte header), not after
	// a fixed time that a slow start of dial would eat into.
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		var size int64
		var files []string
		_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
				if strings.HasSuffix(p, ".wav.part") { // the file of a call in progress
					if fi, err := d.Info(); err == nil {
						size = max(size, fi.Size())
					}
				}
			}
			return nil
		})
		return size >= 44+5*16000/2, fmt.Sprintf("largest WAV %d bytes; files %v\n%s", size, files, s.logs.String())
	}, "2.5 s of audio on disk")
	s.stop(t, syscall.SIGKILL)

	s2 := startServe(t, data, "33400-33599")
	recs := listJSON(t, data)
	if len(recs) != 1 {
		t.Fatalf("want 1 recording after restart, got %+v", recs)
	}
	r := recs[0]
	if r.Status != "partial" || !strings.Contains(r.StatusReason, "recovered") {
		t.Errorf("after kill -9 status = %s (%s), want partial/recovered", r.Status, r.StatusReason)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatalf("recovered file unreadable: %v", err)
	}
	// Killed after 2.5 s on disk; the header is made valid every 200 ms:
	// at least 1.5 s kept.
	if d := f.Duration(); d < 1500*time.Millisecond {
		t.Errorf("recovered %v of audio, want >= 1.5s", d)
	}
	s2.stop(t, syscall.SIGINT)
}

func TestServeRejectsBadConfig(t *testing.T) {
	// Per-leg ports: two pairs per call.
	out, err := run(t, "serve", "--media-ports", "per-leg", "--rtp-ports", "40000-40001", "--max-calls", "5", "--data-dir", t.TempDir(), "--sip-listen", "127.0.0.1:0", "--http-listen", "")
	if err == nil || !strings.Contains(out, "max_calls") {
		t.Errorf("serve with too few RTP ports: err=%v out=%s", err, out)
	}
	// Shared ports: a pair per core (4 here), and this range holds 2.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "serve", "--media-ports", "shared", "--rtp-ports", "40000-40003", "--data-dir", t.TempDir(), "--sip-listen", "127.0.0.1:0", "--http-listen", "")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=4")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "media_ports shared needs 4") {
		t.Errorf("serve with too few RTP ports for the shared sockets: err=%v out=%s", err, b)
	}
	out, err = run(t, "serve", "--media-ports", "both", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "media_ports") {
		t.Errorf("serve with a bad media_ports: err=%v out=%s", err, out)
	}
	out, err = run(t, "serve", "--storage-format", "mp3", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "storage_format") {
		t.Errorf("serve with a bad format: err=%v out=%s", err, out)
	}
}

// waitListedFinished lists the recordings of data (with the CLI, while serve
// runs on it) until n of them exist and none is still recording. The
// recorder is another process: there is no event to wait on, so the list is
// polled for at most 10 s.
func waitListedFinished(t *testing.T, s *server, data string, n int) []listed {
	t.Helper()
	var recs []listed
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		recs = listJSON(t, data)
		done := len(recs) == n
		for _, r := range recs {
			done = done && r.Status != "recording"
		}
		return done, fmt.Sprintf("%+v\n%s", recs, s.logs.String())
	}, "%d finished recordings", n)
	return recs
}
