package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/load"
)

// lockedBuffer is a bytes.Buffer written by a command's goroutine and read
// by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var metricsRE = regexp.MustCompile(`metrics (http://\S+/metrics)`)

// startRawrecv runs `openrec rawrecv` in this process on the first test
// port range that is entirely free (a recorder of another test or
// benchmark may hold thousands of ports) and returns its range and
// metrics URL; stop ends it and returns its standard output.
func startRawrecv(t *testing.T) (ports, metricsURL string, stop func() string) {
	t.Helper()
	for range 250 {
		ports = apptest.RTPRange()
		if metricsURL, stop = tryRawrecv(t, ports); stop != nil {
			return ports, metricsURL, stop
		}
	}
	t.Fatal("no free port range for rawrecv")
	return "", "", nil
}

// tryRawrecv starts rawrecv on ports; stop is nil when it exited (a port
// was in use).
func tryRawrecv(t *testing.T, ports string) (metricsURL string, stop func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRawrecvCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SetArgs([]string{"--ip", "127.0.0.1", "--ports", ports, "--metrics-listen", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		if m := metricsRE.FindStringSubmatch(errOut.String()); m != nil {
			return m[1], func() string {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("rawrecv: %v", err)
				}
				return out.String()
			}
		}
		select {
		case <-done:
			cancel()
			return "", nil
		case <-deadline:
			cancel()
			t.Fatalf("rawrecv did not start: %s", errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestRawrecvWithLoadRaw runs the reference reader and `openrec load
// --mode raw` against it, as scripts/bench-capacity.sh does.
func TestRawrecvWithLoadRaw(t *testing.T) {
	ports, metricsURL, stop := startRawrecv(t)
	cmd := newLoadCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&lockedBuffer{})
	cmd.SetArgs([]string{"--mode", "raw", "--target", "127.0.0.1", "--ports", ports, "--calls", "5", "--rate", "10",
		"--duration", "2s", "--metrics-url", metricsURL, "--json"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	var rep load.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// 5 calls × 2 legs × 2 s / 20 ms, every one counted by the reader.
	if rep.Mode != "raw" || rep.CallsAnswered != 5 || rep.CallsFailed != 0 || rep.PacketsSent != 1000 {
		t.Errorf("report %s", out.String())
	}
	if rep.PacketsReceived == nil || *rep.PacketsReceived != 1000 || rep.LossRatio == nil || *rep.LossRatio != 0 {
		t.Errorf("received %v loss %v", rep.PacketsReceived, rep.LossRatio)
	}
	// The kernel counters are machine-wide (other tests share it): only
	// zero_loss's agreement with them is checked.
	if want := load.ZeroLoss(rep.PacketsSent, rep.PacketsReceived, rep.KernelRcvbufErrors, rep.KernelInErrors, rep.SoftnetDropped); rep.ZeroLoss != want {
		t.Errorf("zero_loss %v, want %v", rep.ZeroLoss, want)
	}
	summary := stop()
	if !strings.Contains(summary, "rawrecv: packets=1000 ") || !strings.Contains(summary, "locked_pairs=10/") {
		t.Errorf("rawrecv summary %q", summary)
	}
}

func TestLoadRawFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "raw", "--target", "127.0.0.1"}, "needs --ports"},
		{[]string{"--target", "127.0.0.1:5060", "--ports", "30000-30099"}, "--ports is for --mode raw"},
		{[]string{"--mode", "raw", "--target", "127.0.0.1", "--ports", "30000"}, "--ports"},
		{[]string{"--mode", "raw", "--target", "127.0.0.1", "--ports", "30000-30009", "--calls", "3"}, "holds 2 calls, not 3"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := newLoadCmd()
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}
