package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/web/auth"
)

// demoRun is how long the acceptance test lets the demo run.
const demoRun = 60 * time.Second

// The README's first command, as written: `openrec demo` with no flags, in
// a fresh directory, runs until Ctrl-C. While it runs the live view shows
// several calls at once; on SIGINT the simulated contact center hangs up,
// every recording is finalised and the process exits 0. The recordings
// are two-channel conversations of realistic length with speech-like
// audio on both channels, correlated with their CTI calls (agent names,
// attached data), with the PCI pause and the kept pre-recording.
//
// The test holds 127.0.0.1:5060 and :8080 itself when it can, so the demo
// must fall back to free ports and say so (and never meets a developer's
// server on the well-known ports).
func TestDemoRunsUntilCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for a minute; skipped with -short")
	}
	dir := t.TempDir()
	held := holdPorts(t, "127.0.0.1:5060", "127.0.0.1:8080")

	cmd := exec.Command(binPath, "demo")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	var out syncBuffer
	lines := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	webRE := regexp.MustCompile(`web UI: http://(\S+)/  sign in as admin / (\S+)`)
	var httpAddr, password string
	for httpAddr == "" {
		select {
		case l := <-lines:
			if m := webRE.FindStringSubmatch(l); m != nil {
				httpAddr, password = m[1], m[2]
			}
		case err := <-done:
			t.Fatalf("demo exited early (%v):\n%s\n%s", err, out.String(), stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("the demo did not print the web UI and the first admin:\n%s\n%s", out.String(), stderr.String())
		}
	}
	for _, p := range held {
		if !strings.Contains(out.String(), "port "+p+" is busy") {
			t.Errorf("port %s was busy but the demo did not say where it fell back:\n%s", p, out.String())
		}
	}
	token := apiToken(t, httpAddr, "admin", password)

	// While it runs: several calls at once in the live view.
	most := 0
	for time.Since(started) < demoRun {
		var live struct {
			Items []struct {
				RecordingID string `json:"recording_id"`
			} `json:"items"`
		}
		if err := getJSON(httpAddr, token, "/api/v1/live", &live); err != nil {
			t.Fatalf("GET /api/v1/live: %v\n%s", err, stderr.String())
		}
		most = max(most, len(live.Items))
		select {
		case err := <-done:
			t.Fatalf("demo exited by itself after %v (%v):\n%s\n%s", time.Since(started).Round(time.Second), err, out.String(), stderr.String())
		case <-time.After(2 * time.Second):
		}
	}
	if most < 4 {
		t.Errorf("at most %d calls at once in /api/v1/live, want a handful (>= 4)", most)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo after SIGINT: %v (want exit 0)\n%s\n%s", err, out.String(), stderr.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatalf("demo did not exit within 45 s of SIGINT:\n%s", out.String())
	}
	if strings.Contains(stderr.String(), "no users yet") {
		t.Errorf("the demo warned that there is no user, then created one:\n%s", stderr.String())
	}
	summary := regexp.MustCompile(`(\d+) recordings \((\d+) completed`).FindStringSubmatch(out.String())
	if summary == nil || strings.Contains(out.String(), "  recording ") {
		t.Errorf("no final summary, or one listing recordings still in progress:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "  completed "); n > 10 {
		t.Errorf("the summary lists %d recordings; it should show the latest few", n)
	}

	data := filepath.Join(dir, "openrec-data")
	recs := listJSON(t, data)
	whole, speech, longest := 0, 0, time.Duration(0)
	pci, kept, named := false, false, 0
	for _, r := range recs {
		if r.Status == "recording" {
			t.Errorf("%s still recording after the demo exited", r.ID)
			continue
		}
		d := time.Duration(r.DurationMS) * time.Millisecond
		longest = max(longest, d)
		if r.ExternalData["GEN_CFG_FULLNAME"] != "" && r.ExternalData["GEN_CFG_Tenant"] == "Acme" {
			named++
		}
		kept = kept || r.ExternalData["GEN_REC_KEEP"] == "kept"
		if r.Status != "completed" || r.Channels != 2 {
			t.Logf("%s: %s (%s), %d channels", r.ID, r.Status, r.StatusReason, r.Channels)
			continue
		}
		whole++
		f, err := wav.ReadFile(r.MediaPath)
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			continue
		}
		if d < 20*time.Second { // too short to hold a turn of each party
			continue
		}
		ok := true
		for ch := range 2 {
			if why := audiotest.SpeechLike(f.Channel(ch)); why != "" {
				t.Errorf("%s (dn %s, %v) channel %d is not speech-like: %s", r.ID, r.RecordedDN, d, ch, why)
				ok = false
			}
		}
		if ok {
			speech++
		}
		if out, err := run(t, "recordings", "show", r.ID, "--data-dir", data, "--json"); err == nil && strings.Contains(out, `"pause"`) {
			pci = true
		}
	}
	t.Logf("%d recordings, %d completed two-channel, %d speech-checked, longest %v; at most %d calls at once in the live view",
		len(recs), whole, speech, longest, most)
	if whole < 8 || speech < 8 {
		t.Errorf("%d completed two-channel recordings, %d of them speech-like on both channels; want >= 8 each", whole, speech)
	}
	if longest < 45*time.Second {
		t.Errorf("longest recording %v: calls should last 30 s to 3 min", longest)
	}
	if named < 8 {
		t.Errorf("%d recordings carry the agent's name and tenant (GEN_CFG_FULLNAME, GEN_CFG_Tenant), want >= 8", named)
	}
	if !pci {
		t.Error("no recording has the PCI pause segment")
	}
	if !kept {
		t.Error("no pre-recording was kept (GEN_REC_KEEP=kept)")
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.GetUser(context.Background(), "admin")
	if err != nil || u.Role != "admin" || !auth.CheckPassword(u.PasswordHash, password) {
		t.Errorf("first admin: %+v, %v (password %q must match)", u, err, password)
	}
}

// holdPorts listens on each address (TCP, and UDP for SIP) for the test's
// duration and returns the ports it holds; an address already taken by
// somebody else is skipped (the demo falls back for it all the same).
func holdPorts(t *testing.T, addrs ...string) []string {
	t.Helper()
	var held []string
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			continue
		}
		t.Cleanup(func() { _ = l.Close() })
		if u, err := net.ListenPacket("udp", a); err == nil {
			t.Cleanup(func() { _ = u.Close() })
		}
		_, p, _ := net.SplitHostPort(a)
		held = append(held, p)
	}
	return held
}

// apiToken signs in through POST /api/v1/auth/token.
func apiToken(t *testing.T, httpAddr, user, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post("http://"+httpAddr+"/api/v1/auth/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("POST /api/v1/auth/token: %s, %v", res.Status, err)
	}
	return tok.Token
}

func getJSON(httpAddr, token, path string, v any) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+httpAddr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.Join(err, fmt.Errorf("%s", b))
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(v string) { _, _ = s.Write([]byte(v)) }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
