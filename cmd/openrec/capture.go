package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/filter"
	"github.com/openrec/openrec/internal/config"
)

func newCaptureCmd() *cobra.Command {
	var pcap, iface, bpf string
	var dedup time.Duration
	var ringMB int
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "capture (--pcap FILE | --interface IF) [--bpf EXPR]",
		Short: "Record calls passively from a pcap/pcapng file or a network interface (SPAN port)",
		Long: `Record calls passively: SIP (UDP and TCP) and RTP observed in a capture file or on a
network interface (a switch's SPAN/mirror port) become one stereo recording per call (caller
on channel 0, callee on channel 1), in the same data directory and store as serve
(openrec recordings list --data-dir DIR).

--pcap FILE processes the file to its end (pcap or pcapng; Ethernet, VLAN/QinQ, Linux cooked,
raw IP; GRE/ERSPAN and VXLAN mirrors) and exits 0; the recordings carry the capture's times.
--interface IF captures live (AF_PACKET, TPACKET_V3 ring; needs CAP_NET_RAW) until SIGINT or
SIGTERM, then finalises the calls in progress.
--bpf EXPR keeps only matching packets: udp tcp ip ip6, [src|dst] host/net/port/portrange,
and/or/not, parentheses; it applies after decapsulation and reassembly.

Every serve setting applies (--data-dir, --storage-format, --flush-interval,
--media-timeout, --config FILE ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (pcap == "") == (iface == "") {
				return errors.New("capture: give exactly one of --pcap FILE or --interface IF")
			}
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			f, err := filter.Compile(bpf)
			if err != nil {
				return fmt.Errorf("--bpf: %w", err)
			}
			log := newLogger(cfg.LogLevel)
			opt := app.CaptureOptions{DedupWindow: dedup}
			if f != nil {
				opt.Filter = f
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var src capture.Source
			if pcap != "" {
				file, err := capture.OpenFile(pcap)
				if err != nil {
					return fmt.Errorf("--pcap: %w", err)
				}
				defer file.Close()
				src, opt.Replay = file, true
			} else {
				live, err := capture.OpenInterface(capture.InterfaceConfig{Name: iface, RingBytes: ringMB << 20})
				if err != nil {
					return fmt.Errorf("--interface: %w", err)
				}
				defer live.Close()
				src, opt.Loss = live, live.Loss
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				log.Info("capturing", "interface", iface, "filter", bpf, "data_dir", cfg.DataDir)
			}
			stats, err := app.RunCapture(ctx, cfg, log, src, opt)
			if jsonOut {
				_ = writeJSON(cmd.OutOrStdout(), stats)
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "capture: %d frames, %d duplicates dropped, %d SIP messages, %d calls, %d recordings, %d RTP packets recorded, %d unmatched\n",
					stats.Decode.Frames, stats.Decode.Duplicates, stats.Follow.SIPMessages, stats.Follow.Calls, stats.Follow.Recordings, stats.Follow.RTPMatched, stats.Follow.RTPUnmatched)
				if stats.RingDrops > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "capture: the kernel ring dropped %d of %d packets (raise --ring-mb)\n", stats.RingDrops, stats.RingPackets+stats.RingDrops)
				}
			}
			if err != nil {
				return fmt.Errorf("capture: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&pcap, "pcap", "", "capture file to record from (pcap or pcapng)")
	fs.StringVar(&iface, "interface", "", "network interface to capture on (SPAN/mirror port)")
	fs.StringVar(&bpf, "bpf", "", "capture filter, e.g. 'udp or tcp port 5060'")
	fs.DurationVar(&dedup, "dedup-window", 0, "drop an IP packet identical to one seen this recently (default 50ms; negative: off)")
	fs.IntVar(&ringMB, "ring-mb", 64, "size of the live capture ring in MiB")
	fs.BoolVar(&jsonOut, "json", false, "print the capture counters as JSON on stdout")
	config.AddFlags(fs)
	return cmd
}
