// Package load drives many concurrent recording calls (Genesys MSR or
// SIPREC, through internal/dial) against one recorder at a ramp rate and
// reports what happened: calls answered and failed by SIP status, RTP
// packets sent against those the recorder counted (its
// openrec_rtp_packets_received_total metric), call setup latency
// percentiles, and the recorder's CPU and RSS read from /proc. It backs
// `openrec load`.
//
// The calculations (Percentile, ParseMetric, ParseProcStat, ParseVmRSS,
// CPUPercent, Classify) are pure functions; Run does the I/O.
package load

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/dial"
)

// Limits on a run.
const (
	MaxCalls    = 100_000
	MaxRate     = 2_000 // new calls per second
	MaxDuration = time.Hour
	// Grace is added to ramp time + duration to form the hard deadline.
	Grace = 30 * time.Second
	// ReceivedMetric is the recorder counter compared with packets sent.
	ReceivedMetric = "openrec_rtp_packets_received_total"
	// settle bounds the wait for the recorder's counter to catch up with
	// the last packets after every call ended.
	settle = 2 * time.Second
)

// Config describes a load run.
type Config struct {
	Target   string        // recorder SIP host:port
	Mode     string        // dial.ModeMSR or dial.ModeSIPREC
	Calls    int           // calls to place (1..MaxCalls)
	Rate     float64       // new calls per second (ramp)
	Duration time.Duration // audio per call

	Loss, Reorder float64       // per-packet probabilities (dial.Spec)
	Jitter        time.Duration // max extra send delay per packet
	Seed          int64         // call i uses Seed+i

	MetricsURL  string // recorder /metrics URL; "" : packets_received unknown
	RecorderPID int    // recorder process; 0: CPU and RSS unknown
	AllowRemote bool   // permit a non-loopback target

	LocalIP  netip.Addr       // default 127.0.0.1
	Progress io.Writer        // a progress line every second (nil: none)
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default: discard
	HTTP     *http.Client     // metrics client (default: 5 s timeout)
	ProcRoot string           // default "/proc"
}

// Report is the outcome of a run. Pointer fields are null in JSON when the
// figure is unknown.
type Report struct {
	Target          string         `json:"target"`
	Mode            string         `json:"mode"`
	CallsRequested  int            `json:"calls_requested"`
	Rate            float64        `json:"rate"`
	DurationS       float64        `json:"duration_s"`
	WallS           float64        `json:"wall_s"`
	CallsAttempted  int            `json:"calls_attempted"`
	CallsAnswered   int            `json:"calls_answered"`
	CallsFailed     int            `json:"calls_failed"`
	FailuresBy      map[string]int `json:"failures_by_status"`
	MaxActive       int            `json:"max_active"`
	PacketsSent     uint64         `json:"packets_sent"`
	PacketsWithheld uint64         `json:"packets_withheld"` // dropped on purpose by --loss
	PacketsReceived *uint64        `json:"packets_received"`
	LossRatio       *float64       `json:"loss_ratio"`
	SetupMSP50      *float64       `json:"setup_ms_p50"`
	SetupMSP99      *float64       `json:"setup_ms_p99"`
	SetupMSMax      *float64       `json:"setup_ms_max"`
	CPUPercent      *float64       `json:"recorder_cpu_percent"`
	RSSMB           *float64       `json:"recorder_rss_mb"`
	Warnings        []string       `json:"warnings,omitempty"`
}

func (c *Config) validate() error {
	switch {
	case c.Calls < 1 || c.Calls > MaxCalls:
		return fmt.Errorf("%w: calls %d (1..%d)", ErrInvalidConfig, c.Calls, MaxCalls)
	case !(c.Rate > 0 && c.Rate <= MaxRate):
		return fmt.Errorf("%w: rate %v (0..%d per second)", ErrInvalidConfig, c.Rate, MaxRate)
	case c.Duration < 20*time.Millisecond || c.Duration > MaxDuration:
		return fmt.Errorf("%w: duration %v (20ms..%v)", ErrInvalidConfig, c.Duration, MaxDuration)
	case c.Mode != dial.ModeMSR && c.Mode != dial.ModeSIPREC:
		return fmt.Errorf("%w: mode %q (msr or siprec)", ErrInvalidConfig, c.Mode)
	case c.RecorderPID < 0:
		return fmt.Errorf("%w: recorder pid %d", ErrInvalidConfig, c.RecorderPID)
	}
	host, _, err := net.SplitHostPort(c.Target)
	if err != nil {
		return fmt.Errorf("%w: target %q: %w", ErrInvalidConfig, c.Target, err)
	}
	if !c.AllowRemote && !isLoopback(host) {
		return fmt.Errorf("%w: target %q is not loopback (load is loopback only unless allowed)", ErrInvalidConfig, c.Target)
	}
	if !c.LocalIP.IsValid() {
		c.LocalIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// Deadline is the hard limit of a run: ramp time + duration + Grace.
func Deadline(calls int, rate float64, d time.Duration) time.Duration {
	ramp := time.Duration(float64(calls) / rate * float64(time.Second))
	return ramp + d + Grace
}

// counters are the live figures shown in progress lines.
type counters struct {
	placed, answered, failed, active, maxActive atomic.Int64
}

// Run places cfg.Calls calls and returns the report. It returns an error
// only for an invalid Config or when the dialer cannot start; failed calls
// are counted in the report. Cancelling ctx hangs up calls in progress and
// stops placing new ones (those are not counted as attempted).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d, err := dial.NewDialer(dial.Options{LocalIP: cfg.LocalIP, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	defer d.Close()

	rep := &Report{
		Target: cfg.Target, Mode: cfg.Mode, CallsRequested: cfg.Calls, Rate: cfg.Rate,
		DurationS: cfg.Duration.Seconds(), FailuresBy: map[string]int{},
	}
	warn := func(format string, a ...any) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(format, a...))
	}

	ctx, cancel := context.WithTimeout(ctx, Deadline(cfg.Calls, cfg.Rate, cfg.Duration))
	defer cancel()

	var recvBefore float64
	haveRecv := false
	if cfg.MetricsURL != "" {
		if recvBefore, err = Scrape(ctx, cfg.HTTP, cfg.MetricsURL, ReceivedMetric); err != nil {
			warn("metrics before the run: %v", err)
		} else {
			haveRecv = true
		}
	}
	var ticksBefore uint64
	haveCPU := false
	if cfg.RecorderPID > 0 {
		if ticksBefore, err = readTicks(cfg.ProcRoot, cfg.RecorderPID); err != nil {
			warn("recorder cpu: %v", err)
		} else {
			haveCPU = true
		}
	}

	var cnt counters
	start := cfg.Now()
	progDone := make(chan struct{})
	stopProg := make(chan struct{})
	go func() {
		defer close(progDone)
		if cfg.Progress == nil {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProg:
				return
			case <-t.C:
				fmt.Fprintf(cfg.Progress, "load: %5.1fs placed=%d/%d answered=%d failed=%d active=%d\n",
					cfg.Now().Sub(start).Seconds(), cnt.placed.Load(), cfg.Calls,
					cnt.answered.Load(), cnt.failed.Load(), cnt.active.Load())
			}
		}
	}()

	results := make([]*dial.Result, cfg.Calls)
	errs := make([]error, cfg.Calls)
	var wg sync.WaitGroup
	placed := 0
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	timer := time.NewTimer(0)
	<-timer.C
ramp:
	for i := range cfg.Calls {
		if wait := time.Duration(i)*interval - cfg.Now().Sub(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break ramp
			}
		}
		if ctx.Err() != nil {
			break
		}
		placed++
		cnt.placed.Add(1)
		if a := cnt.active.Add(1); a > cnt.maxActive.Load() {
			cnt.maxActive.Store(a) // single writer: the ramp loop
		}
		wg.Go(func() {
			defer cnt.active.Add(-1)
			// state: 0 not streaming, 1 media started, 2 call returned.
			var state atomic.Int32
			spec := dial.Spec{
				Target: cfg.Target, Mode: cfg.Mode, Duration: cfg.Duration,
				Loss: cfg.Loss, Reorder: cfg.Reorder, Jitter: cfg.Jitter, Seed: cfg.Seed + int64(i),
				Mute: func() bool {
					if state.Load() == 0 && state.CompareAndSwap(0, 1) {
						cnt.answered.Add(1)
					}
					return false
				},
			}
			res, err := d.Call(ctx, spec)
			results[i], errs[i] = res, err
			ok := Answered(res, err)
			prev := state.Swap(2)
			switch {
			case ok && prev != 1:
				cnt.answered.Add(1)
			case !ok && prev == 1:
				cnt.answered.Add(-1)
			}
			if !ok {
				cnt.failed.Add(1)
			}
		})
	}
	wg.Wait()
	end := cfg.Now()
	close(stopProg)
	<-progDone

	rep.WallS = end.Sub(start).Seconds()
	rep.CallsAttempted = placed
	rep.MaxActive = int(cnt.maxActive.Load())
	var setups []float64
	for i := range placed {
		res, err := results[i], errs[i]
		if Answered(res, err) {
			rep.CallsAnswered++
		} else {
			rep.CallsFailed++
			rep.FailuresBy[Classify(res, err)]++
		}
		if res == nil {
			continue
		}
		for _, n := range res.PacketsSent {
			rep.PacketsSent += uint64(n)
		}
		for _, n := range res.PacketsDropped {
			rep.PacketsWithheld += uint64(n)
		}
		for j, st := range res.Statuses {
			if st >= 200 && j < len(res.Setup) {
				setups = append(setups, float64(res.Setup[j].Microseconds())/1000)
			}
		}
	}
	if v, ok := Percentile(setups, 50); ok {
		rep.SetupMSP50 = &v
	}
	if v, ok := Percentile(setups, 99); ok {
		rep.SetupMSP99 = &v
	}
	if v, ok := Percentile(setups, 100); ok {
		rep.SetupMSMax = &v
	}

	if haveCPU {
		after, err := readTicks(cfg.ProcRoot, cfg.RecorderPID)
		if err != nil {
			warn("recorder cpu: %v", err)
		} else if v, ok := CPUPercent(ticksBefore, after, end.Sub(start)); ok {
			rep.CPUPercent = &v
		}
	}
	if cfg.RecorderPID > 0 {
		b, err := os.ReadFile(filepath.Join(cfg.ProcRoot, strconv.Itoa(cfg.RecorderPID), "status"))
		if err == nil {
			var kb uint64
			if kb, err = ParseVmRSS(b); err == nil {
				v := float64(kb) / 1024
				rep.RSSMB = &v
			}
		}
		if err != nil {
			warn("recorder rss: %v", err)
		}
	}

	if haveRecv {
		recv, err := settleReceived(context.WithoutCancel(ctx), cfg, recvBefore, rep.PacketsSent)
		if err != nil {
			warn("metrics after the run: %v", err)
		} else {
			rep.PacketsReceived = &recv
			if rep.PacketsSent > 0 {
				l := 1 - float64(recv)/float64(rep.PacketsSent)
				rep.LossRatio = &l
			}
		}
	}
	return rep, nil
}

// settleReceived scrapes the counter until it reaches sent (packets still
// queued in the recorder's sockets are counted a moment later) or stops
// growing, for at most settle.
func settleReceived(ctx context.Context, cfg Config, before float64, sent uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, settle+5*time.Second)
	defer cancel()
	var last uint64
	for tries := 0; ; tries++ {
		v, err := Scrape(ctx, cfg.HTTP, cfg.MetricsURL, ReceivedMetric)
		if err != nil {
			return 0, err
		}
		if v < before {
			return 0, fmt.Errorf("%w: %s went down (%v -> %v): recorder restarted?", ErrScrape, ReceivedMetric, before, v)
		}
		recv := uint64(v - before)
		if recv >= sent || (tries > 0 && recv == last) || tries >= int(settle/(100*time.Millisecond)) {
			return recv, nil
		}
		last = recv
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return recv, nil
		}
	}
}

// Scrape reads one metric family (summed over labels) from a Prometheus
// text endpoint.
func Scrape(ctx context.Context, c *http.Client, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: %s: HTTP %d", ErrScrape, url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	return ParseMetric(body, name)
}

func readTicks(procRoot string, pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return ParseProcStat(b)
}
