package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
)

func newServeCmd() *cobra.Command {
	var capIface, capBPF string
	var capRingMB, capFanout int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the recording server (SIP on UDP+TCP 5060, HTTP 8080, data in ./openrec-data)",
		Long: `Run the recording server. With no configuration it listens for SIP on UDP and TCP
0.0.0.0:5060, serves health and metrics on HTTP 0.0.0.0:8080 and writes recordings and
the openrec.db metadata under ./openrec-data.

SIGTERM drains: new calls get 503, active calls finish (up to --shutdown-timeout), files
are finalised. SIGINT (Ctrl-C) stops at once; open recordings are still finalised and
playable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			var opt app.Options
			if capIface != "" {
				lc, closeCapture, err := liveCapture(capIface, capBPF, capRingMB, capFanout, newLogger(cfg.LogLevel))
				if err != nil {
					return err
				}
				defer closeCapture()
				opt.Capture = lc
			}
			return runServeWith(cmd.Context(), cfg, opt)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&capIface, "capture-interface", "", "also record passively the calls seen on this interface (a SPAN/mirror port; see openrec capture)")
	cmd.Flags().StringVar(&capBPF, "capture-bpf", "", "filter of --capture-interface, e.g. 'udp or tcp port 5060'")
	cmd.Flags().IntVar(&capRingMB, "capture-ring-mb", 64, "size of the --capture-interface ring in MiB")
	cmd.Flags().IntVar(&capFanout, "capture-fanout", 1, "sockets of --capture-interface in a PACKET_FANOUT group, each decoded on its own core")
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func runServeWith(ctx context.Context, cfg config.Serve, opt app.Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	log := newLogger(cfg.LogLevel)
	a, err := app.StartWith(ctx, cfg, log, opt)
	if err != nil {
		return err
	}
	return waitForSignal(ctx, a, cfg, log)
}

// waitForSignal blocks until SIGTERM (drain) or SIGINT (stop now).
func waitForSignal(ctx context.Context, a *app.App, cfg config.Serve, log *slog.Logger) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if err := a.Reload(ctx); err != nil {
				log.Warn("SIGHUP: reload failed; the settings in force are kept", "error", err)
			} else {
				log.Info("SIGHUP: recording rules, configuration data, certificates and encryption keys reloaded")
			}
			continue
		case <-ctx.Done():
			a.Close()
			return nil
		case s := <-sigs:
			return stopOn(s, a, cfg, log, sigs)
		}
	}
}

// stopOn stops the recorder for a SIGINT (now) or SIGTERM (drain).
func stopOn(s os.Signal, a *app.App, cfg config.Serve, log *slog.Logger, sigs <-chan os.Signal) error {
	if s == syscall.SIGINT {
		log.Info("SIGINT: stopping now, finalising open recordings")
		a.Close()
		return nil
	}
	log.Info("SIGTERM: draining", "timeout", cfg.ShutdownTimeout.String())
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	go func() {
		// A second signal during the drain stops at once.
		<-sigs
		cancel()
	}()
	return a.Shutdown(dctx)
}
