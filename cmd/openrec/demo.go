package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/dial"
	"github.com/openrec/openrec/internal/store"
)

// demoCall is one call the demo places.
type demoCall struct {
	title string
	spec  dial.Spec
}

func demoCalls(d time.Duration) []demoCall {
	return []demoCall{
		{"MSR, two legs (Genesys Media Server style), PCMU, 440 Hz agent / 1000 Hz customer",
			dial.Spec{Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100", Codec: "PCMU", Duration: d, RTCP: true, DTMF: "12"}},
		{"SIPREC (SBC style), two streams + rs-metadata, PCMA, 600 Hz / 1400 Hz",
			dial.Spec{Mode: dial.ModeSIPREC, DN: "5002", OtherDN: "+15550111", Codec: "PCMA", Duration: d,
				Sources: []dial.Source{dial.Tone(600, 0.3), dial.Tone(1400, 0.3)}}},
		{"MSR with 5% packet loss and reordering, 800 Hz / 1200 Hz",
			dial.Spec{Mode: dial.ModeMSR, DN: "5003", OtherDN: "+15550122", Codec: "PCMU", Duration: d, Loss: 0.05, Reorder: 0.05, Seed: 7,
				Sources: []dial.Source{dial.Tone(800, 0.3), dial.Tone(1200, 0.3)}}},
	}
}

func newDemoCmd() *cobra.Command {
	var (
		dur  time.Duration
		exit bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the recorder and place a few recorded calls to it (no Genesys or SBC needed)",
		Long: `Run the recorder exactly like 'serve' (same flags) and place demo calls to it with the
built-in SIP client: an MSR call (two INVITEs, one per party), a SIPREC call and an MSR
call over a lossy network. Each party speaks a different tone, so the stereo WAV files
show one tone per channel. Then keep serving until Ctrl-C (or exit with --exit).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("sip-listen") {
				cfg.SIPListen = freeOr("127.0.0.1:5060", "127.0.0.1:0")
			}
			if !cmd.Flags().Changed("http-listen") {
				cfg.HTTPListen = freeOr("127.0.0.1:8080", "127.0.0.1:0")
			}
			if !cmd.Flags().Changed("max-calls") {
				cfg.MaxCalls = 50
			}
			return runDemo(cmd, cfg, dur, exit)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().DurationVar(&dur, "call-duration", 6*time.Second, "audio length of each demo call")
	cmd.Flags().BoolVar(&exit, "exit", false, "stop after the demo calls instead of serving on")
	return cmd
}

// freeOr returns addr when its TCP and UDP ports are free, else fallback.
func freeOr(addr, fallback string) string {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fallback
	}
	_ = l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fallback
	}
	_ = u.Close()
	return addr
}

func runDemo(cmd *cobra.Command, cfg config.Serve, dur time.Duration, exit bool) error {
	out := cmd.OutOrStdout()
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: log})
	if err != nil {
		return err
	}
	defer d.Close()
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.SIPAddr().Port()).String()
	fmt.Fprintf(out, "openrec demo: recorder on sip:%s (udp+tcp), metrics on http://%s/metrics, data in %s\n", target, a.HTTPAddr(), cfg.DataDir)
	fmt.Fprintf(out, "placing %d calls of %s ...\n", len(demoCalls(dur)), dur)
	var wg sync.WaitGroup
	calls := demoCalls(dur)
	errs := make([]error, len(calls))
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.spec.Target = target
			_, errs[i] = d.Call(ctx, c.spec)
		}()
	}
	wg.Wait()
	for i, c := range calls {
		state := "ok"
		if errs[i] != nil {
			state = "FAILED: " + errs[i].Error()
		}
		fmt.Fprintf(out, "  %-80s %s\n", c.title, state)
	}
	// Let the recorder finalise (BYE → flush → rename).
	deadline := time.Now().Add(5 * time.Second)
	for a.Recorder().Active() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	recs, err := a.Store().ListRecordings(ctx, store.Filter{Limit: len(calls)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nrecordings (newest first):\n")
	for _, r := range recs {
		fmt.Fprintf(out, "  %s  %-6s %-9s %6d ms  %d ch  %s\n", r.ID, r.Mode, r.Status, r.DurationMS, r.Channels, r.MediaPath)
	}
	fmt.Fprintf(out, "\nlist them with:   go run ./cmd/openrec recordings list --data-dir %s\n", cfg.DataDir)
	fmt.Fprintf(out, "export one with:  go run ./cmd/openrec recordings export ID --data-dir %s --out call.wav\n", cfg.DataDir)
	for _, e := range errs {
		if e != nil {
			return fmt.Errorf("demo: a call failed: %w", e)
		}
	}
	if exit {
		return nil
	}
	fmt.Fprintf(out, "\nrecorder keeps running: point a Media Server or SBC at sip:%s, Ctrl-C to stop\n", target)
	<-ctx.Done()
	_ = os.Stdout.Sync()
	return nil
}
