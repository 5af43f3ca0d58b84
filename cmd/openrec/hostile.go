package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/load"
)

func newHostileCmd() *cobra.Command {
	var (
		cfg    load.HostileConfig
		seed   int64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "hostile --target HOST:PORT --duration D",
		Short: "Send a bounded mix of malformed SIP, floods and half-open TCP connections at a recorder (soak tests)",
		Long: `Send, for --duration, a mix of hostile SIP traffic at a recorder: requests missing each
mandatory header, garbage datagrams, a wrong SIP version, unknown methods, 100 m-line offers,
bad Content-Length, 60 KB headers, BYEs for no dialog, OPTIONS floods (--rate per second in
all) and INVITEs never ACKed (--no-ack-rate per second); over TCP it keeps --tcp-conns
connections open (half a request, or nothing, or a 1 MiB header), reopening those the
recorder closes. Run it beside "openrec load" to see that good calls are still recorded
(scripts/soak.sh). The result is a count of what was sent and answered.

Loopback targets only unless --allow-remote.`,
		Example: `  openrec hostile --target 127.0.0.1:5060 --duration 10m --rate 50 --tcp-conns 200`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Seed = uint64(seed)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := load.Hostile(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "hostile run: %.1f s\n", rep.DurationS)
			for _, m := range []struct {
				title string
				vals  map[string]uint64
			}{{"sent", rep.Sent}, {"responses", rep.Responses}} {
				keys := make([]string, 0, len(m.vals))
				for k := range m.vals {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(w, "  %-10s %-22s %d\n", m.title, k, m.vals[k])
				}
			}
			fmt.Fprintf(w, "  tcp: %d opened, %d closed by the recorder, %d refused, %d oversized\n",
				rep.TCPOpened, rep.TCPClosedByServer, rep.TCPRefused, rep.TCPOversized)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Target, "target", "127.0.0.1:5060", "recorder SIP address (UDP and TCP)")
	fl.DurationVar(&cfg.Duration, "duration", time.Minute, "how long to send (at most 1h)")
	fl.Float64Var(&cfg.Rate, "rate", 50, "hostile UDP requests per second")
	fl.Float64Var(&cfg.NoACKRate, "no-ack-rate", 1, "INVITEs per second never ACKed (part of --rate)")
	fl.IntVar(&cfg.TCPConns, "tcp-conns", 200, "half-open and idle TCP connections kept open")
	fl.Int64Var(&seed, "seed", 1, "random seed of the mix")
	fl.BoolVar(&cfg.AllowRemote, "allow-remote", false, "permit a non-loopback target")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
