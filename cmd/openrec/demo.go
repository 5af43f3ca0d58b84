package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/web/auth"
)

// demoOpening is the scripted start of the demo: a full-time recorded call
// (record=true DN) transferred by consultation, and a call a desktop
// records, pauses (PCI) and resumes. Traffic follows.
const demoOpening = `
name: demo-opening
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 0s, action: login, dn: "5003", agent: "1003"}
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 200ms, action: inbound, call: c1, ani: "+15551230001", dnis: "8005550100", rp: "7000", to: "5001", data: {Segment: Gold, AccountID: "A-1001"}}
  - {at: 400ms, action: answer, call: c1, dn: "5001"}
  - {at: 600ms, action: inbound, call: c2, ani: "+15551230002", dnis: "8005550100", rp: "7000", to: "5004", data: {Segment: Silver}}
  - {at: 800ms, action: answer, call: c2, dn: "5004"}
  - {at: 1s, action: record-start, call: c2, dn: "5004", id: DEMO-DESK-1}
  - {at: 2500ms, action: record-pause, call: c2, dn: "5004"}
  - {at: 3s, action: consult, call: c1, dn: "5001", to: "5002", consult: c3}
  - {at: 3500ms, action: record-resume, call: c2, dn: "5004"}
  - {at: 3500ms, action: answer, call: c3, dn: "5002"}
  - {at: 4500ms, action: complete-transfer, call: c1, consult: c3}
  - {at: 6s, action: release, call: c2, dn: "5004"}
  - {at: 7s, action: release, call: c1, dn: "5002"}
  - {at: 7500ms, action: attach, call: c1, dn: "5002", data: {Disposition: Sale}}
`

func newDemoCmd() *cobra.Command {
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the recorder and a simulated contact center together (no Genesys or SBC needed)",
		Long: `Run the recorder exactly like 'serve' (same flags) together with the built-in
contact-center simulator: a SIP Server on a CTI link, a Media Server sending MSR
recording sessions, a Configuration Server with one tenant and four agents. The
simulator plays a scripted opening (a full-time recorded call transferred by
consultation, a call a desktop records, pauses and resumes) and then random traffic.
Recordings are correlated with the calls: external data (GEN_TEV_*, GEN_USR_*,
GEN_CFG_*), couples with offsets into the file, notification of recording.

With --duration the demo stops placing calls after D, lets every call end, finalises
all recordings and exits; without it, it runs until Ctrl-C.`,
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
			if !cmd.Flags().Changed("user-data-keys") {
				cfg.UserDataKeys = "Segment,AccountID,Disposition"
			}
			if !cmd.Flags().Changed("cti-reconnect") {
				cfg.CTIReconnect = time.Second
			}
			return runDemo(cmd, cfg, dur)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().DurationVar(&dur, "duration", 0, "stop after this long with every call finalised (0: run until Ctrl-C)")
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

func runDemo(cmd *cobra.Command, cfg config.Serve, dur time.Duration) error {
	out := cmd.OutOrStdout()
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	data, src, err := sim.DemoConfig()
	if err != nil {
		return err
	}
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: log})
	if err != nil {
		return err
	}
	defer d.Close()
	media := &sim.DialMedia{Dialer: d, Transport: "udp", Codec: "PCMU", Logger: log}
	defer media.Close()
	csim, err := sim.New(sim.Config{
		Listen: "127.0.0.1:0", ConfigListen: "127.0.0.1:0", Switch: sim.DemoSwitch, Config: data, ConfigSource: src,
		Media: media, Logger: quiet(log),
	})
	if err != nil {
		return err
	}
	if err := csim.Start(); err != nil {
		return err
	}
	defer csim.Close()
	if cfg.Path == "" {
		// Rules are edited in the web UI (Admin → Rules) and saved to a
		// configuration file: give the demo one in its data directory.
		if cfg.Path, err = demoConfigFile(cfg.DataDir); err != nil {
			return err
		}
	}
	cfg.CTI = csim.Addr()
	cfg.CTISwitch = sim.DemoSwitch
	cfg.ConfigURL = "http://" + csim.ConfigAddr() + "/config"
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.SIPAddr().Port()).String()
	csim.SetRecorders([]string{target})
	fmt.Fprintf(out, "openrec demo: recorder on sip:%s (udp+tcp), metrics on http://%s/metrics, data in %s\n", target, a.HTTPAddr(), cfg.DataDir)
	fmt.Fprintf(out, "simulated contact center: SIP Server (CTI) %s, configuration http://%s/config\n", csim.Addr(), csim.ConfigAddr())
	if err := firstAdmin(ctx, a.Store(), out, a.HTTPAddr()); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !a.CTIUp() {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: CTI link to the simulator did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}

	sc, err := sim.ParseScenario([]byte(demoOpening))
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "playing the opening: a full-time recorded call transferred by consultation, a desktop-recorded call with a PCI pause")
	start := time.Now()
	if err := csim.Run(ctx, sc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("demo: %w", err)
	}
	traffic := sim.Traffic{Rate: 0.5, TalkMin: sim.Duration(4 * time.Second), TalkMax: sim.Duration(10 * time.Second),
		Agents: []string{"5001", "5002", "5003", "5004"}}
	if dur > 0 {
		traffic.Duration = sim.Duration(dur - time.Since(start))
	}
	if dur == 0 || traffic.Duration > 0 {
		fmt.Fprintln(out, "random traffic: 0.5 calls/s (Ctrl-C to stop)")
		if err := csim.Traffic(ctx, traffic); err != nil && ctx.Err() == nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// Let the last calls end and every recording be finalised.
	wait := time.Now().Add(15 * time.Second)
	for a.Recorder().Active() > 0 && time.Now().Before(wait) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	printDemoSummary(out, a, cfg.DataDir)
	return nil
}

// quiet lowers the simulator's own info lines to debug: the demo prints
// what matters.
func quiet(l *slog.Logger) *slog.Logger {
	if l.Enabled(context.Background(), slog.LevelDebug) {
		return l
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func printDemoSummary(out io.Writer, a *app.App, dataDir string) {
	recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 1 << 20})
	if err != nil {
		fmt.Fprintf(out, "listing recordings: %v\n", err)
		return
	}
	fmt.Fprintf(out, "\n%d recordings (newest first):\n", len(recs))
	for _, r := range recs {
		keys := make([]string, 0, 3)
		for _, k := range []string{"GEN_TEV_ANI", "GEN_CFG_FULLNAME", "GEN_USR_Segment"} {
			if v := r.ExternalData[k]; v != "" {
				keys = append(keys, k+"="+v)
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(out, "  %s  %-9s dn=%-5s %6d ms  %d couple(s)  %-8s %s\n", r.ID, r.Status, r.RecordedDN, r.DurationMS, len(r.Couples),
			r.Correlation, strings.Join(keys, " "))
	}
	fmt.Fprintf(out, "\nlist them with:   go run ./cmd/openrec recordings list --data-dir %s --json\n", dataDir)
	fmt.Fprintf(out, "export one with:  go run ./cmd/openrec recordings export ID --data-dir %s --out call.wav\n", dataDir)
}

// demoConfigFile returns the demo's configuration file in dataDir, created
// with no rules the first time (the demo records by record=true DNs and
// desktop requests; rules added in the web UI are saved there).
func demoConfigFile(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", err
	}
	path, err := filepath.Abs(filepath.Join(dataDir, "demo.yaml"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	const body = "# openrec demo configuration: the recording rules edited in the web UI\n" +
		"# (Admin → Rules) are saved here. See docs/rules.md.\n" +
		"rules:\n  groups: []\n"
	return path, os.WriteFile(path, []byte(body), 0o644)
}

// firstAdmin prints where the web UI is and, when the data directory has
// no user yet, creates the first admin with a random password and prints
// it once.
func firstAdmin(ctx context.Context, db *sqlite.DB, out io.Writer, httpAddr string) error {
	url := "http://" + httpAddr + "/"
	n, err := db.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(out, "web UI: %s (sign in with an existing user; openrec admin create-user adds one)\n", url)
		return nil
	}
	pw, err := auth.RandomPassword()
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := db.CreateUser(ctx, &store.User{Name: "admin", Role: string(auth.RoleAdmin), PasswordHash: hash}); err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	fmt.Fprintf(out, "web UI: %s  sign in as admin / %s  (shown only this once; change it under Admin → Users)\n", url, pw)
	return nil
}
