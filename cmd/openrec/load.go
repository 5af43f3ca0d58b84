package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/load"
	"github.com/openrec/openrec/internal/sip/dial"
)

// loadFlags are the options of `openrec load`.
type loadFlags struct {
	target, mode, metricsURL, localIP, logLevel string
	ports, apiURL, apiUser, apiPassword         string
	apiPasswordFile                             string
	calls, pid, apiConc, apiSample              int
	rate, loss, reorder                         float64
	duration, jitter                            time.Duration
	seed                                        int64
	jsonOut, allowRemote                        bool
}

func newLoadCmd() *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load --target HOST:PORT --calls N --rate R --duration D",
		Short: "Drive many concurrent recording calls against a recorder and report loss, setup latency, CPU and RSS",
		Long: `Place --calls recording calls (MSR: two INVITEs per call; SIPREC: one) at --rate new calls
per second, each streaming paced 20 ms G.711 RTP per party for --duration, then hang up. The run
is bounded: calls still up at ramp time + duration + 30 s are hung up.

With --metrics-url the recorder's openrec_rtp_packets_received_total is read before and after
the run and compared with the packets sent (loss_ratio). With --recorder-pid the recorder's
CPU (utime+stime from /proc/PID/stat over the run's wall time, percent of one core) and RSS
(VmRSS at the end) are reported. The kernel's UDP RcvbufErrors and InErrors (/proc/net/snmp,
snmp6) and backlog drops (/proc/net/softnet_stat) are read before and after the run; zero_loss
is true when every packet sent was counted and none of them moved (they are machine-wide).
setup_rate_cps is calls answered per second from the first INVITE to the last answer (it
cannot exceed --rate). With --api-url, --api-user and --api-password-file (or --api-password -
for standard input, or $OPENREC_API_PASSWORD) each call's recordings are searched every 20 ms after its hang-up
until none is still "recording" (searchable_ms_p50/p99/max; --api-sample K follows every K-th
call only, to keep the polling light).

--mode raw sends the same RTP without SIP to "openrec rawrecv": call i streams its two legs
to ports LOW+4i and LOW+4i+2 of --target (a host) for --ports LOW-HIGH.

Progress goes to stderr every second; the result is a table, or one JSON object with --json.
Loopback targets only unless --allow-remote.`,
		Example: `  openrec load --target 127.0.0.1:5060 --calls 100 --rate 20 --duration 30s \
      --metrics-url http://127.0.0.1:8080/metrics --recorder-pid $(pidof openrec) \
      --api-url http://127.0.0.1:8080 --api-user bench --json   # password in $OPENREC_API_PASSWORD
  openrec rawrecv --ports 30000-30399 --metrics-listen 127.0.0.1:9100 &
  openrec load --mode raw --target 127.0.0.1 --ports 30000-30399 --calls 100 --rate 20 \
      --duration 30s --metrics-url http://127.0.0.1:9100/metrics --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := loadAPIPassword(cmd, f)
			if err != nil {
				return err
			}
			f.apiPassword = pw
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runLoad(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "recorder SIP address host:port (required)")
	fl.StringVar(&f.mode, "mode", dial.ModeMSR, "msr (two INVITEs per call), siprec, or raw (RTP only, to openrec rawrecv)")
	fl.StringVar(&f.ports, "ports", "", "raw mode: the reader's RTP port range LOW-HIGH (LOW even, 4 ports per call)")
	fl.IntVar(&f.calls, "calls", 10, fmt.Sprintf("number of calls (at most %d)", load.MaxCalls))
	fl.Float64Var(&f.rate, "rate", 10, "new calls per second")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "audio per call")
	fl.StringVar(&f.metricsURL, "metrics-url", "", "recorder metrics URL, e.g. http://127.0.0.1:8080/metrics")
	fl.IntVar(&f.pid, "recorder-pid", 0, "recorder process id (CPU and RSS from /proc)")
	fl.StringVar(&f.apiURL, "api-url", "", "recorder REST API base URL, e.g. http://127.0.0.1:8080 (measures hang-up → searchable)")
	fl.StringVar(&f.apiUser, "api-user", "", "API user name (openrec admin create-user)")
	fl.StringVar(&f.apiPassword, "api-password", "", `API password; "-" reads it from standard input (default $OPENREC_API_PASSWORD; a password given here is visible in the process list)`)
	fl.StringVar(&f.apiPasswordFile, "api-password-file", "", "read the API password from the first line of this file")
	fl.IntVar(&f.apiConc, "api-concurrency", load.DefaultAPIConcurrency, "API requests in flight at most")
	fl.IntVar(&f.apiSample, "api-sample", 1, "follow every K-th call to searchable (1: every call)")
	fl.Float64Var(&f.loss, "loss", 0, "probability a packet is not sent (0..1)")
	fl.Float64Var(&f.reorder, "reorder", 0, "probability a packet is sent after its successor (0..1)")
	fl.DurationVar(&f.jitter, "jitter", 0, "max extra send delay per packet")
	fl.Int64Var(&f.seed, "seed", 1, "seed of loss/reorder/jitter (call N uses seed+N-1)")
	fl.StringVar(&f.localIP, "local-ip", "127.0.0.1", "local address for SIP and RTP")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "permit a non-loopback target")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object")
	fl.StringVar(&f.logLevel, "log-level", "error", "debug, info, warn or error (to stderr)")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

// loadAPIPassword returns the API password: --api-password-file,
// --api-password - (standard input), --api-password (warned), else
// $OPENREC_API_PASSWORD; "" without --api-url.
func loadAPIPassword(cmd *cobra.Command, f loadFlags) (string, error) {
	if f.apiURL == "" {
		return "", nil
	}
	pw, err := readSecret(cmd, "api-password", f.apiPassword, f.apiPasswordFile)
	if err != nil || pw != "" {
		return pw, err
	}
	return os.Getenv("OPENREC_API_PASSWORD"), nil
}

func runLoad(ctx context.Context, f loadFlags, out, progress io.Writer) error {
	ip, err := netip.ParseAddr(f.localIP)
	if err != nil {
		return fmt.Errorf("--local-ip: %w", err)
	}
	cfg := load.Config{
		Target: f.target, Mode: f.mode, Calls: f.calls, Rate: f.rate, Duration: f.duration,
		Loss: f.loss, Reorder: f.reorder, Jitter: f.jitter, Seed: f.seed,
		MetricsURL: f.metricsURL, RecorderPID: f.pid, AllowRemote: f.allowRemote,
		APIURL: f.apiURL, APIUser: f.apiUser, APIPassword: f.apiPassword, APIConcurrency: f.apiConc,
		APISample: f.apiSample,
		LocalIP:   ip, Progress: progress, Logger: newLogger(f.logLevel),
	}
	switch {
	case f.mode == load.ModeRaw && f.ports == "":
		return fmt.Errorf("--mode raw needs --ports LOW-HIGH (the range openrec rawrecv reads)")
	case f.mode != load.ModeRaw && f.ports != "":
		return fmt.Errorf("--ports is for --mode raw")
	case f.ports != "":
		if cfg.RawLow, cfg.RawHigh, err = load.ParsePortRange(f.ports); err != nil {
			return fmt.Errorf("--ports: %w", err)
		}
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return load.WriteTable(out, rep)
}
