package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/web/auth"
)

// benchUser creates an admin API user in a's store and returns its name
// and password.
func benchUser(t *testing.T, a *app.App) (string, string) {
	t.Helper()
	const name, pw = "bench", "bench-password-1"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().CreateUser(context.Background(), &store.User{Name: name, Role: "admin", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return name, pw
}

// TestRunAgainstRecorder places 6 MSR calls at 6/s for 1 s against a real
// recorder and checks the report (as JSON, the form the CLI prints).
func TestRunAgainstRecorder(t *testing.T) {
	a := apptest.Start(t, nil, nil)
	user, pw := benchUser(t, a)
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Calls: 6, Rate: 6, Duration: time.Second,
		MetricsURL:  "http://" + a.HTTPAddr() + "/metrics",
		RecorderPID: os.Getpid(), // the recorder runs inside this test process
		APIURL:      "http://" + a.HTTPAddr(), APIUser: user, APIPassword: pw,
		Progress: &syncWriter{w: &progress},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %s", b)
	num := func(k string) float64 {
		t.Helper()
		v, ok := got[k].(float64)
		if !ok {
			t.Fatalf("%s = %v (%T), want a number", k, got[k], got[k])
		}
		return v
	}
	if num("calls_attempted") != 6 || num("calls_answered") != 6 || num("calls_failed") != 0 {
		t.Errorf("calls: %s", b)
	}
	if fb, ok := got["failures_by_status"].(map[string]any); !ok || len(fb) != 0 {
		t.Errorf("failures_by_status = %v", got["failures_by_status"])
	}
	// 6 calls × 2 streams × 1 s / 20 ms.
	if sent := num("packets_sent"); sent != 6*2*50 {
		t.Errorf("packets_sent = %v, want 600", sent)
	}
	if num("packets_received") != num("packets_sent") {
		t.Errorf("packets_received %v != packets_sent %v", got["packets_received"], got["packets_sent"])
	}
	if num("loss_ratio") != 0 {
		t.Errorf("loss_ratio = %v", got["loss_ratio"])
	}
	if p50, p99 := num("setup_ms_p50"), num("setup_ms_p99"); p50 <= 0 || p99 < p50 {
		t.Errorf("setup p50 %v p99 %v", p50, p99)
	}
	if num("recorder_cpu_percent") < 0 || num("recorder_rss_mb") <= 0 {
		t.Errorf("cpu %v rss %v", got["recorder_cpu_percent"], got["recorder_rss_mb"])
	}
	if rate, window := num("setup_rate_cps"), num("setup_window_s"); rate <= 0 || window <= 0 || rate*window < 5.99 {
		t.Errorf("setup rate %v over %v s: not 6 calls", rate, window)
	}
	// Every call's recording became searchable as ended.
	if num("searchable_calls") != 6 || num("searchable_timeouts") != 0 {
		t.Errorf("searchable calls %v timeouts %v", got["searchable_calls"], got["searchable_timeouts"])
	}
	if p50, p99, mx := num("searchable_ms_p50"), num("searchable_ms_p99"), num("searchable_ms_max"); p50 <= 0 || p99 < p50 || mx < p99 {
		t.Errorf("searchable p50 %v p99 %v max %v", p50, p99, mx)
	}
	// The kernel counters are machine-wide (other tests may drop packets),
	// so only their presence and zero_loss's agreement with them are
	// checked.
	if runtime.GOOS == "linux" {
		for _, k := range []string{"kernel_rcvbuf_errors", "kernel_in_errors", "softnet_dropped"} {
			num(k)
		}
	}
	if want := ZeroLoss(rep.PacketsSent, rep.PacketsReceived, rep.KernelRcvbufErrors, rep.KernelInErrors, rep.SoftnetDropped); got["zero_loss"] != want {
		t.Errorf("zero_loss = %v, want %v", got["zero_loss"], want)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}
	if !strings.Contains(progress.String(), "placed=") {
		t.Errorf("no progress line: %q", progress.String())
	}
	var table bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"calls answered  ", "  6\n", "packets received", "recorder rss MB", "zero loss", "setup rate calls/s", "searchable ms p50/p99/max", "(6 calls, 0 timed out)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestRunRefused counts refused calls by SIP status and leaves unknown
// figures null (no metrics endpoint answering, no pid).
func TestRunRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Target: apptest.Refuser(t, 503, "Service Unavailable"), Mode: dial.ModeSIPREC, Calls: 3, Rate: 20, Duration: 100 * time.Millisecond,
		MetricsURL: "http://127.0.0.1:9/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.CallsAttempted != 3 || rep.CallsFailed != 3 || rep.CallsAnswered != 0 || rep.FailuresBy["503"] != 3 {
		t.Errorf("report %+v", rep)
	}
	if rep.PacketsSent != 0 || rep.PacketsReceived != nil || rep.LossRatio != nil || rep.CPUPercent != nil || rep.RSSMB != nil {
		t.Errorf("unknown figures not null: %+v", rep)
	}
	if rep.SetupMSP50 == nil || *rep.SetupMSP50 <= 0 {
		t.Errorf("setup of refused INVITEs not measured: %v", rep.SetupMSP50)
	}
	if len(rep.Warnings) == 0 {
		t.Error("no warning for the unreachable metrics endpoint")
	}
}

func TestRunInvalid(t *testing.T) {
	_, err := Run(context.Background(), Config{Target: "192.0.2.1:5060", Mode: dial.ModeMSR, Calls: 1, Rate: 1, Duration: time.Second})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err %v", err)
	}
}
