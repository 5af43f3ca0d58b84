package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/dial"
	"github.com/openrec/openrec/internal/load"
)

// loadFlags are the options of `openrec load`.
type loadFlags struct {
	target, mode, metricsURL, localIP, logLevel string
	calls, pid                                  int
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
(VmRSS at the end) are reported. Progress goes to stderr every second; the result is a table,
or one JSON object with --json. Loopback targets only unless --allow-remote.`,
		Example: `  openrec load --target 127.0.0.1:5060 --calls 100 --rate 20 --duration 30s \
      --metrics-url http://127.0.0.1:8080/metrics --recorder-pid $(pidof openrec) --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runLoad(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "recorder SIP address host:port (required)")
	fl.StringVar(&f.mode, "mode", dial.ModeMSR, "msr (two INVITEs per call) or siprec")
	fl.IntVar(&f.calls, "calls", 10, fmt.Sprintf("number of calls (at most %d)", load.MaxCalls))
	fl.Float64Var(&f.rate, "rate", 10, "new calls per second")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "audio per call")
	fl.StringVar(&f.metricsURL, "metrics-url", "", "recorder metrics URL, e.g. http://127.0.0.1:8080/metrics")
	fl.IntVar(&f.pid, "recorder-pid", 0, "recorder process id (CPU and RSS from /proc)")
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

func runLoad(ctx context.Context, f loadFlags, out, progress io.Writer) error {
	ip, err := netip.ParseAddr(f.localIP)
	if err != nil {
		return fmt.Errorf("--local-ip: %w", err)
	}
	rep, err := load.Run(ctx, load.Config{
		Target: f.target, Mode: f.mode, Calls: f.calls, Rate: f.rate, Duration: f.duration,
		Loss: f.loss, Reorder: f.reorder, Jitter: f.jitter, Seed: f.seed,
		MetricsURL: f.metricsURL, RecorderPID: f.pid, AllowRemote: f.allowRemote,
		LocalIP: ip, Progress: progress, Logger: newLogger(f.logLevel),
	})
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
