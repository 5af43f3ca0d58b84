package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/load"
	"github.com/openrec/openrec/internal/media/rawrecv"
)

// rawrecvFlags are the options of `openrec rawrecv`.
type rawrecvFlags struct {
	ip, ports, metricsListen, logLevel string
	duration                           time.Duration
	readBuffer                         int
}

func newRawrecvCmd() *cobra.Command {
	var f rawrecvFlags
	cmd := &cobra.Command{
		Use:   "rawrecv --ports LOW-HIGH --metrics-listen HOST:PORT",
		Short: "Reference RTP reader for capacity benchmarks: the recorder's sockets with nothing behind them",
		Long: `Read RTP on every even port of --ports (and RTCP on the odd port after it) exactly as the
recorder reads a leg — one socket pair per port, recvmmsg batches, the same header parsing and
source lock (internal/media/rtpin) — and throw the packets away: no mixer, no files, no SIP. Its
zero-loss ceiling on a core is the raw receive limit the recorder is compared with.

/metrics on --metrics-listen serves openrec_rtp_packets_received_total like the recorder, so
"openrec load --mode raw --ports LOW-HIGH --metrics-url http://HOST:PORT/metrics" measures it
unchanged. Each port locks onto its first sender, so start one rawrecv per load run. It runs
until SIGINT/SIGTERM or --duration, then prints its counters.`,
		Example: `  taskset -c 1 openrec rawrecv --ports 30000-33999 --metrics-listen 127.0.0.1:9100`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runRawrecv(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ip, "ip", "127.0.0.1", "address the RTP sockets bind to")
	fl.StringVar(&f.ports, "ports", "", "RTP port range LOW-HIGH (required; 4 ports per load call)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "127.0.0.1:9100", "HTTP address of /metrics (port 0: any free port, printed)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: at SIGINT/SIGTERM)")
	fl.IntVar(&f.readBuffer, "read-buffer", 0, "SO_RCVBUF of each RTP socket in bytes (0: system default, as the recorder)")
	fl.StringVar(&f.logLevel, "log-level", "error", "debug, info, warn or error (to stderr)")
	_ = cmd.MarkFlagRequired("ports")
	return cmd
}

func runRawrecv(ctx context.Context, f rawrecvFlags, out, errOut io.Writer) error {
	ip, err := netip.ParseAddr(f.ip)
	if err != nil {
		return fmt.Errorf("--ip: %w", err)
	}
	low, high, err := load.ParsePortRange(f.ports)
	if err != nil {
		return fmt.Errorf("--ports: %w", err)
	}
	if f.duration < 0 || f.readBuffer < 0 {
		return fmt.Errorf("--duration and --read-buffer must not be negative")
	}
	r, err := rawrecv.Open(rawrecv.Config{IP: ip, Low: low, High: high, ReadBuffer: f.readBuffer, Logger: newLogger(f.logLevel)})
	if err != nil {
		return err
	}
	defer r.Close()
	ln, err := net.Listen("tcp", f.metricsListen)
	if err != nil {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	r.Start()
	fmt.Fprintf(errOut, "rawrecv: reading %d port pairs %d-%d on %s; metrics http://%s/metrics\n",
		r.Pairs(), low, high, ip, ln.Addr())

	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	select {
	case <-ctx.Done():
	case err := <-srvDone:
		_ = r.Close()
		return fmt.Errorf("metrics server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(errOut, "rawrecv: metrics server: %v\n", err)
	}
	closeErr := r.Close()
	s := r.Stats()
	fmt.Fprintf(out, "rawrecv: packets=%d bytes=%d rtcp=%d foreign=%d stale=%d invalid=%d locked_pairs=%d/%d\n",
		s.Packets, s.Bytes, s.RTCP, s.ForeignSource, s.StaleSSRC, s.Invalid, s.Locked, r.Pairs())
	return closeErr
}
