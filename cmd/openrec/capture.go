package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	xbpf "golang.org/x/net/bpf"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/capture/filter"
	"github.com/openrec/openrec/internal/config"
)

func newCaptureCmd() *cobra.Command {
	var pcap, iface, bpf string
	var dedup time.Duration
	var ringMB, fanout int
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
				prog, err := kernelFilter(bpf, log)
				if err != nil {
					return err
				}
				live, err := capture.OpenInterface(capture.InterfaceConfig{Name: iface, RingBytes: ringMB << 20, Fanout: fanout, BPF: prog})
				if err != nil {
					return fmt.Errorf("--interface: %w", err)
				}
				defer live.Close()
				src, opt.Loss, opt.Fanout = live, live.Loss, live.Sources()
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
				if pf, ok := src.(*capture.File); ok {
					if other := pf.OtherLinkTypes(); len(other) > 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "capture: packets of interfaces of another link type than the first (%s) were skipped: %s (split the file, e.g. tshark -r FILE -w OUT -Y 'frame.interface_id==N')\n",
							pf.LinkType(), strings.Join(other, ", "))
					}
				}
				if stats.RingDrops > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "capture: the kernel ring dropped %d of %d packets (raise --ring-mb or --fanout)\n", stats.RingDrops, stats.RingPackets)
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
	fs.IntVar(&fanout, "fanout", 1, "live: sockets in a PACKET_FANOUT group, each decoded on its own core (SIP and recording stay on one)")
	fs.BoolVar(&jsonOut, "json", false, "print the capture counters as JSON on stdout")
	config.AddFlags(fs)
	cmd.AddCommand(newCaptureSampleCmd())
	return cmd
}

// kernelFilter compiles --bpf for the kernel; an expression too long for
// a classic BPF program is only evaluated in openrec.
func kernelFilter(expr string, log *slog.Logger) ([]xbpf.RawInstruction, error) {
	prog, err := filter.KernelProgram(expr)
	if errors.Is(err, filter.ErrTooComplex) {
		log.Warn("capture filter too long for the kernel: evaluated in openrec only", "filter", expr)
		return nil, nil
	}
	return prog, err
}

// liveCapture opens the capture role of serve (--capture-interface).
func liveCapture(iface, bpf string, ringMB, fanout int, log *slog.Logger) (*app.LiveCapture, func(), error) {
	f, err := filter.Compile(bpf)
	if err != nil {
		return nil, nil, fmt.Errorf("--capture-bpf: %w", err)
	}
	prog, err := kernelFilter(bpf, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--capture-bpf: %w", err)
	}
	live, err := capture.OpenInterface(capture.InterfaceConfig{Name: iface, RingBytes: ringMB << 20, Fanout: fanout, BPF: prog})
	if err != nil {
		return nil, nil, fmt.Errorf("--capture-interface: %w", err)
	}
	lc := &app.LiveCapture{Source: live, Loss: live.Loss, Fanout: live.Sources()}
	if f != nil {
		lc.Filter = f
	}
	return lc, func() { _ = live.Close() }, nil
}

// newCaptureSampleCmd writes a capture file to try openrec capture on:
// two overlapping calls between the same hosts, one over UDP and one over
// TCP, a tone per party.
func newCaptureSampleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sample FILE",
		Short: "Write a sample pcap (two calls, SIP over UDP and TCP, a tone per party) to try capture on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Create(args[0])
			if err != nil {
				return err
			}
			w, err := capturetest.NewWriter(f, capturetest.Options{})
			if err != nil {
				_ = f.Close()
				return err
			}
			at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
			party := func(dn, ip string, rtp int, tone float64) capturetest.Party {
				return capturetest.Party{DN: dn, SIP: netip.MustParseAddrPort(ip + ":5060"),
					RTP: netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(rtp)), Tone: tone}
			}
			calls := []capturetest.Call{
				{ID: "sample-1@192.0.2.10", Caller: party("5001", "192.0.2.10", 20000, 440), Callee: party("7001", "192.0.2.20", 30000, 1000), Start: at, Talk: 5 * time.Second},
				{ID: "sample-2@192.0.2.10", Caller: party("5002", "192.0.2.10", 20002, 700), Callee: party("7002", "192.0.2.20", 30002, 1600), Start: at.Add(time.Second), Talk: 3 * time.Second, TCP: true},
			}
			if err := w.Write(calls...); err != nil {
				_ = f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d frames, 2 calls\n", args[0], w.Frames())
			return nil
		},
	}
}
