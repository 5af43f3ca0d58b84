package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// sipStatus is what a SIP response said.
type sipStatus struct {
	Code       int
	Reason     string // reason phrase
	RetryAfter string
}

// sipOptions sends one OPTIONS over UDP (a raw datagram, as a Resource
// Manager's or SBC's ping) and reads the answer.
func sipOptions(t testing.TB, a *app.App) sipStatus {
	t.Helper()
	c, err := net.Dial("udp", a.SIPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	n := rand.Uint64()
	msg := fmt.Sprintf("OPTIONS sip:openrec@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%x\r\nMax-Forwards: 70\r\n"+
		"From: <sip:ping@%s>;tag=%x\r\nTo: <sip:openrec@%s>\r\nCall-ID: %x@ping\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		a.SIPAddr(), local, n, local, n, a.SIPAddr(), n)
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 8192)
	k, err := c.Read(buf)
	if err != nil {
		t.Fatalf("OPTIONS: no answer: %v", err)
	}
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(string(buf[:k]))))
	line, err := r.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 3 {
		t.Fatalf("OPTIONS: bad status line %q", line)
	}
	code, _ := strconv.Atoi(parts[1])
	hdr, _ := r.ReadMIMEHeader()
	return sipStatus{Code: code, Reason: parts[2], RetryAfter: hdr.Get("Retry-After")}
}

type healthBody struct {
	Status    string         `json:"status"`
	Reason    string         `json:"reason"`
	Resources map[string]any `json:"resources"`
}

func healthz(t testing.TB, a *app.App) (int, healthBody, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b healthBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("healthz body %q: %v", raw, err)
	}
	return resp.StatusCode, b, resp.Header.Get("Retry-After")
}

// wantUnavailable waits until OPTIONS and /healthz both say 503 naming
// reason (a resource is sampled periodically), and checks Retry-After.
func wantUnavailable(t testing.TB, a *app.App, reason string) {
	t.Helper()
	var (
		o     sipStatus
		h     healthBody
		retry string
	)
	testtool.Poll(t, 5*time.Second, func() (bool, string) {
		var code int
		o = sipOptions(t, a)
		code, h, retry = healthz(t, a)
		return o.Code == 503 && code == 503 && strings.Contains(o.Reason, reason) && strings.Contains(h.Reason, reason),
			fmt.Sprintf("OPTIONS %d %q, healthz %d %+v", o.Code, o.Reason, code, h)
	}, "want 503 %q", reason)
	if o.RetryAfter == "" || retry == "" {
		t.Errorf("503 without Retry-After: OPTIONS %q, healthz %q", o.RetryAfter, retry)
	}
	if h.Status != "unavailable" {
		t.Errorf("healthz status %q", h.Status)
	}
}

// wantAvailable waits until OPTIONS and /healthz both say 200.
func wantAvailable(t testing.TB, a *app.App) {
	t.Helper()
	testtool.Poll(t, 8*time.Second, func() (bool, string) {
		o := sipOptions(t, a)
		code, h, _ := healthz(t, a)
		return o.Code == 200 && code == 200 && h.Status == "ok", fmt.Sprintf("OPTIONS %d %q, healthz %d %+v", o.Code, o.Reason, code, h)
	}, "want 200")
}

// metricValue reads one sample of /metrics.
func metricValue(t testing.TB, a *app.App, name string) float64 {
	t.Helper()
	m := metrics(t, a)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	mm := re.FindStringSubmatch(m)
	if mm == nil {
		t.Fatalf("no metric %s:\n%s", name, grepLines(m, "openrec_"))
	}
	v, err := strconv.ParseFloat(mm[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func lowPort(t testing.TB) int {
	lo, _, _ := strings.Cut(apptest.RTPRange(), "-")
	n, err := strconv.Atoi(lo)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Ports resting in quarantine are not free: with every pair used by calls
// that just ended, OPTIONS and /healthz say 503 (no free RTP port pair), a
// new INVITE gets 503 + Retry-After (never 500), the metrics show the
// quarantined pairs; when the quarantine ends, 200 again. (Issue 11: OPTIONS
// said 200 and the ports gauge 0 during quarantine.)
func TestHealthPortsExhausted(t *testing.T) {
	lo := lowPort(t)
	a := startApp(t, func(c *config.Serve) {
		c.RTPPorts = fmt.Sprintf("%d-%d", lo, lo+7) // 4 pairs
		c.MediaPorts = config.MediaPortsPerLeg      // port pairs are a per-leg resource
		c.MaxCalls = 2
		c.PortQuarantine = 4 * time.Second
	})
	wantAvailable(t, a)
	if v := metricValue(t, a, "openrec_rtp_port_pairs_free"); v != 4 {
		t.Errorf("free pairs at start = %v, want 4", v)
	}
	d := newDialer(t)
	for i := range 2 { // two calls one after the other: 4 pairs used, then quarantined
		spec := dialSpec(a, "5001")
		spec.RecordID = fmt.Sprintf("ports-%d", i)
		if _, err := d.Call(context.Background(), spec); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	waitFinished(t, a, 2)
	wantUnavailable(t, a, "no free RTP port pair")
	if free, q := metricValue(t, a, "openrec_rtp_port_pairs_free"), metricValue(t, a, "openrec_rtp_port_pairs_quarantined"); free != 0 || q == 0 {
		t.Errorf("metrics: %v free, %v quarantined; want 0 free, some quarantined", free, q)
	}
	spec := dialSpec(a, "5001")
	spec.RecordID = "ports-refused"
	_, err := d.Call(context.Background(), spec)
	var se dial.StatusError
	if !asStatus(err, &se) || se.Code != 503 {
		t.Fatalf("INVITE with no free port pair: %v, want 503", err)
	}
	wantAvailable(t, a) // the quarantine ends
	if _, err := d.Call(context.Background(), spec); err != nil {
		t.Fatalf("call after the quarantine: %v", err)
	}
}

// File descriptors: with RLIMIT_NOFILE lowered so that a new call would eat
// into the reserve kept for HTTP, the store and health, OPTIONS and
// /healthz say 503 and INVITE gets 503; raised again, 200.
func TestHealthFDsExhausted(t *testing.T) {
	a := apptest.StartWith(t, nil, nil, app.Options{ResourceInterval: 100 * time.Millisecond})
	wantAvailable(t, a)
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	open := int(metricValue(t, a, "openrec_open_fds"))
	low := orig
	low.Cur = uint64(open + 40) // under open + one call (8) + the reserve (64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	wantUnavailable(t, a, "file descriptors exhausted")
	if v := metricValue(t, a, "openrec_fd_limit"); v != float64(low.Cur) {
		t.Errorf("fd_limit metric %v, want %d", v, low.Cur)
	}
	d := newDialer(t)
	_, err := d.Call(context.Background(), dialSpec(a, "5001"))
	var se dial.StatusError
	if !asStatus(err, &se) || se.Code != 503 {
		t.Fatalf("INVITE with descriptors exhausted: %v, want 503", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	wantAvailable(t, a)
	if _, err := d.Call(context.Background(), dialSpec(a, "5001")); err != nil {
		t.Fatalf("call after the limit was raised: %v", err)
	}
}

// fakeDisk is an injected free-space source.
type fakeDisk struct {
	mu          sync.Mutex
	free, total uint64
}

func (f *fakeDisk) Usage(string) (uint64, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.free, f.total, nil
}

func (f *fakeDisk) set(free uint64) {
	f.mu.Lock()
	f.free = free
	f.mu.Unlock()
}

// Below the low watermark new calls get 503 (OPTIONS, /healthz, INVITE);
// above it again, 200. Below the critical watermark the call in progress
// ends cleanly: BYE, status partial, reason disk-full, the duration of the
// audio it got, a metric.
func TestDiskWatermarks(t *testing.T) {
	disk := &fakeDisk{free: 50e9, total: 100e9}
	a := apptest.StartWith(t, func(c *config.Serve) {
		c.StorageLowWatermark, c.StorageCriticalWatermark = "2GB", "200MB"
	}, nil, app.Options{Disk: disk, ResourceInterval: 100 * time.Millisecond})
	wantAvailable(t, a)
	if v := metricValue(t, a, "openrec_disk_free_bytes"); v != 50e9 {
		t.Errorf("disk_free_bytes %v", v)
	}

	disk.set(1e9) // below low
	wantUnavailable(t, a, "disk below low watermark")
	d := newDialer(t)
	_, err := d.Call(context.Background(), dialSpec(a, "5001"))
	var se dial.StatusError
	if !asStatus(err, &se) || se.Code != 503 {
		t.Fatalf("INVITE below the low watermark: %v, want 503", err)
	}
	disk.set(50e9)
	wantAvailable(t, a)

	// A 6 s call; at ~1.5 s the disk falls below critical.
	done := make(chan error, 1)
	go func() {
		spec := dialSpec(a, "5001")
		spec.RecordID, spec.Duration = "diskfull", 6*time.Second
		_, err := d.Call(context.Background(), spec)
		done <- err
	}()
	waitFor(t, 10*time.Second, "the call", func() bool { return a.Recorder().Active() > 0 })
	time.Sleep(1500 * time.Millisecond) // models time: 1.5 s of the call recorded before the disk fills
	disk.set(100e6)
	wantUnavailable(t, a, "disk below critical watermark")
	select {
	case <-done: // the recorder's BYE ended the call early
	case <-time.After(4 * time.Second):
		t.Fatal("call still running 4 s after the disk went critical")
	}
	r := waitFinished(t, a, 1)[0]
	full, err := a.Store().GetRecording(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if full.Status != store.StatusPartial || !strings.HasPrefix(full.StatusReason, "disk-full") {
		t.Errorf("status %s (%s), want partial, disk-full", full.Status, full.StatusReason)
	}
	if full.DurationMS < 1200 || full.DurationMS > 3500 {
		t.Errorf("duration %d ms, want the ~1.5-2 s recorded before the disk filled", full.DurationMS)
	}
	if v := metricValue(t, a, "openrec_recordings_disk_full_total"); v != 1 {
		t.Errorf("recordings_disk_full_total %v, want 1", v)
	}
	if v := metricValue(t, a, "openrec_disk_level"); v != 2 {
		t.Errorf("disk_level %v, want 2", v)
	}
	disk.set(50e9)
	wantAvailable(t, a)
}
