package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool"
)

var simReadyRE = regexp.MustCompile(`msg="simulator ready".* config_server=([0-9.]+:[0-9]+)`)

type rmStatus struct {
	LB        string `json:"lb"`
	Recorders []struct {
		Addr   string `json:"addr"`
		State  string `json:"state"`
		Active int    `json:"active"`
		Placed uint64 `json:"placed"`
		Lost   uint64 `json:"lost"`
	} `json:"recorders"`
}

// The topology of issue 16 in processes: two `openrec serve` recorders
// behind `openrec sim --recorders A,B --lb round-robin`; four recorded
// calls spread 2/2; kill -9 of one recorder mid-call → the simulator's
// pings find it down, its calls restart on the other recorder
// (--recorder-loss restart), and GET /recorders shows it all.
func TestSimResourceManagerKill9(t *testing.T) {
	a := startServe(t, t.TempDir(), "35000-35199")
	bDir := t.TempDir()
	b := startServe(t, bDir, "35200-35399")

	dir := t.TempDir()
	var steps strings.Builder
	for i := range 4 {
		fmt.Fprintf(&steps, "  - {at: %dms, action: dial, call: c%d, dn: \"60%02d\", to: \"+155500%02d\"}\n", i*50, i, i, i)
		fmt.Fprintf(&steps, "  - {at: %dms, action: answer, call: c%d}\n", i*50+10, i)
		fmt.Fprintf(&steps, "  - {at: %dms, action: record-start, call: c%d, dn: \"60%02d\"}\n", i*50+20, i, i)
	}
	scenario := filepath.Join(dir, "calls.yaml")
	if err := os.WriteFile(scenario, []byte("name: four-calls\nsteps:\n"+steps.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sim.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nconfig_listen: 127.0.0.1:0\nswitch: SIP_Switch\nscenario: calls.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "sim", "--config", cfg, "--recorders", a.sipAddr+","+b.sipAddr, "--lb", "round-robin",
		"--options-interval", "200ms", "--options-timeout", "200ms", "--options-failures", "2", "--recorder-loss", "restart")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := simReadyRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var httpAddr string
	select {
	case httpAddr = <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("sim did not become ready:\n%s", logs.String())
	}
	status := func() rmStatus {
		t.Helper()
		resp, err := http.Get("http://" + httpAddr + "/recorders")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st rmStatus
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	testtool.Eventually(t, 20*time.Second, func() bool {
		st := status()
		return len(st.Recorders) == 2 && st.Recorders[0].Active == 2 && st.Recorders[1].Active == 2
	}, "two calls at each recorder:\n%s", logs)
	if st := status(); st.LB != "round-robin" || st.Recorders[0].Addr != a.sipAddr || st.Recorders[0].Placed != 2 {
		t.Fatalf("status %+v", st)
	}

	a.stop(t, syscall.SIGKILL)
	killed := time.Now()
	testtool.Eventually(t, 20*time.Second, func() bool {
		st := status()
		return st.Recorders[0].State == "down" && st.Recorders[1].Active == 4
	}, "a found down and its calls restarted at b:\n%s", logs)
	restarted := time.Since(killed)
	// Down after two pings without an answer: two intervals and a timeout
	// (600 ms), with slack for a loaded machine.
	if restarted > 5*time.Second {
		t.Errorf("calls restarted %v after kill -9", restarted)
	}
	t.Logf("kill -9 → calls restarted on the other recorder in %v (interval 200ms, timeout 200ms, failures 2)", restarted)
	if st := status(); st.Recorders[0].Lost != 2 || st.Recorders[1].Placed != 4 {
		t.Errorf("status %+v", st)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sim exited with %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sim did not exit after SIGTERM:\n%s", logs.String())
	}
	out := logs.String()
	for _, want := range []string{`msg="recorder state" component=resource-manager recorder=` + a.sipAddr + " state=down", "recording restarted on the group",
		`msg="recorder totals" recorder=` + b.sipAddr + " state=up placed=4"} {
		if !strings.Contains(out, want) {
			t.Errorf("sim log lacks %q:\n%s", want, out)
		}
	}
	// b holds its two calls and the two restarted ones, ended by the
	// simulator's BYEs.
	testtool.Eventually(t, 20*time.Second, func() bool {
		n := 0
		for _, r := range listJSON(t, bDir) {
			if r.Status != "recording" {
				n++
			}
		}
		return n == 4
	}, "four finished recordings at b")
	b.stop(t, syscall.SIGINT)
}
