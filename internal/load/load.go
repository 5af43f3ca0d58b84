// Package load drives many concurrent recording calls (Genesys MSR or
// SIPREC, through internal/sip/dial) against one recorder at a ramp rate and
// reports what happened: calls answered and failed by SIP status, RTP
// packets sent against those the recorder counted (its
// openrec_rtp_packets_received_total metric), the kernel's UDP and backlog
// drop counters over the run, call setup latency percentiles and setup
// rate, the recorder's CPU and RSS read from /proc, and, with the REST
// API, how long after hang-up each call's recordings are searchable as
// ended. Raw mode streams the same RTP without SIP to the reference reader
// (`openrec rawrecv`) so that both are measured the same way. It backs
// `openrec load`.
//
// The calculations (Percentile, ParseMetric, ParseProcStat, ParseVmRSS,
// ParseSNMP, ParseSNMP6, ParseSoftnetStat, CPUPercent, SetupRate,
// ZeroLoss, RecordingsFinal, Classify) are pure functions; Run does the I/O.
package load

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/sip/dial"
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
	Target   string        // recorder SIP host:port; ModeRaw: the reader's host (a port is ignored)
	Mode     string        // dial.ModeMSR, dial.ModeSIPREC or ModeRaw
	Calls    int           // calls to place (1..MaxCalls)
	Rate     float64       // new calls per second (ramp)
	Duration time.Duration // audio per call

	Loss, Reorder float64       // per-packet probabilities (dial.Spec; not in ModeRaw)
	Jitter        time.Duration // max extra send delay per packet
	Seed          int64         // call i uses Seed+i

	// RawLow and RawHigh are the reference reader's RTP port range in
	// ModeRaw: call i streams to RawPorts(RawLow, i). RawLow must be even
	// and the range must hold 2 port pairs per call.
	RawLow, RawHigh int

	MetricsURL  string // recorder /metrics URL; "" : packets_received unknown
	RecorderPID int    // recorder process; 0: CPU and RSS unknown
	AllowRemote bool   // permit a non-loopback target

	// APIURL (http://host:port) with APIUser and APIPassword turns on the
	// end of call → searchable measurement through the REST API; at most
	// APIConcurrency requests (default DefaultAPIConcurrency) are in
	// flight. With APISample K > 1 only every K-th call (i % K == 0) is
	// followed, so that the polling does not load the recorder's core more
	// than the calls do. Not in ModeRaw.
	APIURL, APIUser, APIPassword string
	APIConcurrency, APISample    int

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
	CallsAnswered   int            `json:"calls_answered"` // ModeRaw: calls started
	CallsFailed     int            `json:"calls_failed"`
	FailuresBy      map[string]int `json:"failures_by_status"`
	MaxActive       int            `json:"max_active"`
	PacketsSent     uint64         `json:"packets_sent"`
	PacketsWithheld uint64         `json:"packets_withheld"` // dropped on purpose by --loss
	PacketsReceived *uint64        `json:"packets_received"`
	LossRatio       *float64       `json:"loss_ratio"`
	// Kernel drop counters over the run (namespace-wide: any process's
	// drops count). Softnet drops happen before a socket sees a packet.
	KernelRcvbufErrors *uint64 `json:"kernel_rcvbuf_errors"`
	KernelInErrors     *uint64 `json:"kernel_in_errors"`
	SoftnetDropped     *uint64 `json:"softnet_dropped"`
	// ZeroLoss: packets_received == packets_sent and every kernel drop
	// delta is 0 (false when any of them is unknown).
	ZeroLoss   bool     `json:"zero_loss"`
	SetupMSP50 *float64 `json:"setup_ms_p50"`
	SetupMSP99 *float64 `json:"setup_ms_p99"`
	SetupMSMax *float64 `json:"setup_ms_max"`
	// SetupRateCPS is calls answered per second over SetupWindowS, first
	// INVITE sent → last call answered (bounded by Rate: measure it with
	// a rate above what the recorder can answer).
	SetupRateCPS *float64 `json:"setup_rate_cps"`
	SetupWindowS *float64 `json:"setup_window_s"`
	CPUPercent   *float64 `json:"recorder_cpu_percent"`
	RSSMB        *float64 `json:"recorder_rss_mb"`
	// Hang-up → every recording of the call has left status "recording"
	// in the search API (Config.APIURL).
	SearchableMSP50    *float64 `json:"searchable_ms_p50"`
	SearchableMSP99    *float64 `json:"searchable_ms_p99"`
	SearchableMSMax    *float64 `json:"searchable_ms_max"`
	SearchableCalls    int      `json:"searchable_calls"`
	SearchableTimeouts int      `json:"searchable_timeouts"`
	Warnings           []string `json:"warnings,omitempty"`
}

func (c *Config) validate() error {
	switch {
	case c.Calls < 1 || c.Calls > MaxCalls:
		return fmt.Errorf("%w: calls %d (1..%d)", ErrInvalidConfig, c.Calls, MaxCalls)
	case !(c.Rate > 0 && c.Rate <= MaxRate):
		return fmt.Errorf("%w: rate %v (0..%d per second)", ErrInvalidConfig, c.Rate, MaxRate)
	case c.Duration < 20*time.Millisecond || c.Duration > MaxDuration:
		return fmt.Errorf("%w: duration %v (20ms..%v)", ErrInvalidConfig, c.Duration, MaxDuration)
	case c.Mode != dial.ModeMSR && c.Mode != dial.ModeSIPREC && c.Mode != ModeRaw:
		return fmt.Errorf("%w: mode %q (msr, siprec or raw)", ErrInvalidConfig, c.Mode)
	case c.RecorderPID < 0:
		return fmt.Errorf("%w: recorder pid %d", ErrInvalidConfig, c.RecorderPID)
	case c.APIConcurrency < 0 || c.APISample < 0:
		return fmt.Errorf("%w: API concurrency %d / sample %d", ErrInvalidConfig, c.APIConcurrency, c.APISample)
	}
	host, _, err := net.SplitHostPort(c.Target)
	if err != nil && c.Mode == ModeRaw {
		host, err = c.Target, nil
	}
	if err != nil {
		return fmt.Errorf("%w: target %q: %w", ErrInvalidConfig, c.Target, err)
	}
	if !c.AllowRemote && !isLoopback(host) {
		return fmt.Errorf("%w: target %q is not loopback (load is loopback only unless allowed)", ErrInvalidConfig, c.Target)
	}
	if c.Mode == ModeRaw {
		if err := c.validateRaw(); err != nil {
			return err
		}
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		switch {
		case c.Mode == ModeRaw:
			return fmt.Errorf("%w: the API measurement needs recordings (not raw mode)", ErrInvalidConfig)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return fmt.Errorf("%w: API URL %q (want http://HOST:PORT)", ErrInvalidConfig, c.APIURL)
		case c.APIUser == "" || c.APIPassword == "":
			return fmt.Errorf("%w: the API measurement needs a user and a password", ErrInvalidConfig)
		}
	}
	if !c.LocalIP.IsValid() {
		c.LocalIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.APIConcurrency == 0 {
		c.APIConcurrency = DefaultAPIConcurrency
	}
	if c.APISample == 0 {
		c.APISample = 1
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

func (c *Config) validateRaw() error {
	switch {
	case c.Loss != 0 || c.Reorder != 0 || c.Jitter != 0:
		return fmt.Errorf("%w: raw mode sends unimpaired streams (no loss, reorder or jitter)", ErrInvalidConfig)
	case c.RawLow < 2 || c.RawLow%2 != 0 || c.RawHigh > 65535:
		return fmt.Errorf("%w: raw port range %d-%d (LOW even, within 2-65535)", ErrInvalidConfig, c.RawLow, c.RawHigh)
	}
	// The last call's second RTCP port must be in the range.
	if need := RawPorts(c.RawLow, c.Calls-1)[1] + 1; need > c.RawHigh {
		return fmt.Errorf("%w: raw port range %d-%d holds %d calls, not %d (4 ports per call)",
			ErrInvalidConfig, c.RawLow, c.RawHigh, (c.RawHigh-c.RawLow+1)/4, c.Calls)
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

// rawTarget resolves the raw mode target host to one address.
func rawTarget(ctx context.Context, target string) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: target %q: %w", ErrInvalidConfig, target, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: target %q: no IPv4 address", ErrInvalidConfig, target)
	}
	return addrs[0].Unmap(), nil
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

// outcome is what one call did.
type outcome struct {
	res    *dial.Result // SIP modes
	err    error
	raw    [2]rawLeg // ModeRaw
	placed time.Time // first INVITE (or first packet) about to be sent
}

// Run places cfg.Calls calls and returns the report. It returns an error
// only for an invalid Config or when the dialer cannot start; failed calls
// are counted in the report. Cancelling ctx hangs up calls in progress and
// stops placing new ones (those are not counted as attempted).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var d *dial.Dialer
	var target netip.Addr
	var err error
	if cfg.Mode == ModeRaw {
		if target, err = rawTarget(ctx, cfg.Target); err != nil {
			return nil, err
		}
	} else {
		if d, err = dial.NewDialer(dial.Options{LocalIP: cfg.LocalIP, Logger: cfg.Logger, Now: cfg.Now}); err != nil {
			return nil, err
		}
		defer d.Close()
	}

	rep := &Report{
		Target: cfg.Target, Mode: cfg.Mode, CallsRequested: cfg.Calls, Rate: cfg.Rate,
		DurationS: cfg.Duration.Seconds(), FailuresBy: map[string]int{},
	}
	warn := func(format string, a ...any) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(format, a...))
	}

	outer := ctx
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
	kernelBefore, kerr := ReadKernelCounters(cfg.ProcRoot)
	if kerr != nil {
		warn("kernel drop counters: %v", kerr)
	}
	var poll *poller
	if cfg.APIURL != "" {
		api, err := newAPIClient(ctx, cfg.APIURL, cfg.APIUser, cfg.APIPassword, cfg.APIConcurrency)
		if err != nil {
			warn("searchable: %v", err)
		} else {
			defer api.close()
			poll = newPoller(api, cfg.APIConcurrency)
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

	outs := make([]outcome, cfg.Calls)
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
			o := &outs[i]
			if cfg.Mode == ModeRaw {
				cnt.answered.Add(1)
				o.placed = cfg.Now()
				o.raw, o.err = rawCall(ctx, cfg.LocalIP, target, cfg.RawLow, i, cfg.Duration)
				if o.err != nil {
					cnt.answered.Add(-1)
					cnt.failed.Add(1)
				}
				return
			}
			placeSIP(ctx, d, cfg, i, o, &cnt)
			if poll != nil && i%cfg.APISample == 0 && Answered(o.res, o.err) {
				key, value := "record_id", o.res.RecordID
				if cfg.Mode == dial.ModeSIPREC {
					key, value = "call_uuid", o.res.CallUUID
				}
				poll.watch(outer, key, value, cfg.Now())
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
	if cfg.Mode == ModeRaw {
		tallyRaw(rep, outs[:placed], warn)
	} else {
		tallySIP(rep, outs[:placed])
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
	if kerr == nil {
		after, err := ReadKernelCounters(cfg.ProcRoot)
		if err != nil {
			warn("kernel drop counters: %v", err)
		} else if delta, ok := after.Delta(kernelBefore); !ok {
			warn("kernel drop counters went backwards")
		} else {
			rep.KernelRcvbufErrors = &delta.UDP.RcvbufErrors
			rep.KernelInErrors = &delta.UDP.InErrors
			rep.SoftnetDropped = &delta.SoftnetDropped
		}
	}
	rep.ZeroLoss = ZeroLoss(rep.PacketsSent, rep.PacketsReceived, rep.KernelRcvbufErrors, rep.KernelInErrors, rep.SoftnetDropped)
	if poll != nil {
		poll.wait(rep, warn)
	}
	return rep, nil
}

// placeSIP places call i through the dialer.
func placeSIP(ctx context.Context, d *dial.Dialer, cfg Config, i int, o *outcome, cnt *counters) {
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
	o.placed = cfg.Now()
	o.res, o.err = d.Call(ctx, spec)
	ok := Answered(o.res, o.err)
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
}

// tallySIP adds up the calls of a SIP run: answers, failures, packets,
// setup percentiles and the setup rate.
func tallySIP(rep *Report, outs []outcome) {
	var setups []float64
	var first, last time.Time
	for _, o := range outs {
		res, err := o.res, o.err
		if first.IsZero() || o.placed.Before(first) {
			first = o.placed
		}
		if Answered(res, err) {
			rep.CallsAnswered++
			// Both INVITEs of an MSR call leave together: the call is
			// answered when the slower of them is.
			answered := o.placed.Add(slices.Max(res.Setup))
			if answered.After(last) {
				last = answered
			}
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
	if rep.CallsAnswered > 0 {
		window := last.Sub(first)
		if v, ok := SetupRate(rep.CallsAnswered, window); ok {
			w := window.Seconds()
			rep.SetupRateCPS, rep.SetupWindowS = &v, &w
		}
	}
}

// tallyRaw adds up the calls of a raw run.
func tallyRaw(rep *Report, outs []outcome, warn func(string, ...any)) {
	var sendErrs int
	var firstErr error
	for _, o := range outs {
		if o.err != nil {
			rep.CallsFailed++
			rep.FailuresBy["socket"]++
			if firstErr == nil {
				firstErr = o.err
			}
			continue
		}
		rep.CallsAnswered++
		for _, l := range o.raw {
			rep.PacketsSent += uint64(l.sent)
			if l.sendErr != nil {
				sendErrs++
				if firstErr == nil {
					firstErr = l.sendErr
				}
			}
		}
	}
	if firstErr != nil {
		warn("raw sender: %d calls without sockets, %d legs with send errors; first: %v", rep.CallsFailed, sendErrs, firstErr)
	}
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
