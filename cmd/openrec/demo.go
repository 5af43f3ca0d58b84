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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/web/auth"
)

// demoScenes is the scripted part of the demo, replayed every
// demoScenePeriod while random traffic runs beside it. Each call shows one
// thing a contact-center recorder must handle. %[1]d numbers the round (ANIs
// differ from round to round).
//
//   - a: Ann (5001, recorded full-time) holds the customer, consults Bob
//     (5002) and transfers the call to him.
//   - b: Dev's desktop (5004, billing) starts the recording, pauses it while
//     the customer reads out a card number (PCI) and resumes it.
//   - c: Cleo (5003) brings Eva (5005, technical) into a conference; Eva
//     leaves before the end.
//   - d: a sales call (5006) pre-recorded by a rule and kept (the customer
//     agrees: RECORDING_KEEP=true), silently monitored by Sue (5100).
//   - e: a sales call (5007) pre-recorded and discarded (RECORDING_KEEP=false).
//   - f: a call on the HR line (5008), which the "do not record" rule keeps
//     from being recorded.
const demoScenes = `
name: demo-scenes
steps:
  - {at: 1s, action: inbound, call: a, ani: "+1555%[1]d010001", dnis: "8005550100", rp: "7000", to: "5001", data: {Segment: Gold, AccountID: "A-%[1]d1001", CallReason: Billing}}
  - {at: 2s, action: inbound, call: b, ani: "+1555%[1]d010002", dnis: "8005550100", rp: "7000", to: "5004", data: {Segment: Silver, AccountID: "A-%[1]d1002", CallReason: Payment}}
  - {at: 3s, action: inbound, call: c, ani: "+1555%[1]d010003", dnis: "8005550100", rp: "7000", to: "5003", data: {Segment: Bronze, CallReason: Technical}}
  - {at: 4s, action: answer, call: a, dn: "5001"}
  - {at: 4s, action: inbound, call: d, ani: "+1555%[1]d010004", dnis: "8005550200", rp: "7000", to: "5006", data: {Segment: Gold, CallReason: Upgrade}}
  - {at: 5s, action: answer, call: b, dn: "5004"}
  - {at: 6s, action: answer, call: c, dn: "5003"}
  - {at: 7s, action: answer, call: d, dn: "5006"}
  - {at: 7s, action: record-start, call: b, dn: "5004"}
  - {at: 8s, action: inbound, call: e, ani: "+1555%[1]d010005", dnis: "8005550200", rp: "7000", to: "5007", data: {Segment: Silver, CallReason: Quote}}
  - {at: 9s, action: inbound, call: f, ani: "+1555%[1]d010006", dnis: "8005550300", rp: "7000", to: "5008", data: {CallReason: HR}}
  - {at: 11s, action: answer, call: e, dn: "5007"}
  - {at: 12s, action: answer, call: f, dn: "5008"}
  - {at: 15s, action: monitor, call: d, dn: "5006", supervisor: "5100", mode: mute}
  - {at: 22s, action: record-pause, call: b, dn: "5004"}
  - {at: 24s, action: hold, call: a, dn: "5001"}
  - {at: 30s, action: consult, call: c, dn: "5003", to: "5005", consult: c2}
  - {at: 30s, action: attach, call: e, dn: "5007", data: {RECORDING_KEEP: "false"}}
  - {at: 33s, action: answer, call: c2, dn: "5005"}
  - {at: 34s, action: record-resume, call: b, dn: "5004"}
  - {at: 35s, action: retrieve, call: a, dn: "5001"}
  - {at: 40s, action: attach, call: d, dn: "5006", data: {RECORDING_KEEP: "true"}}
  - {at: 42s, action: complete-conference, call: c, consult: c2}
  - {at: 48s, action: consult, call: a, dn: "5001", to: "5002", consult: a2}
  - {at: 51s, action: answer, call: a2, dn: "5002"}
  - {at: 58s, action: complete-transfer, call: a, consult: a2}
  - {at: 60s, action: release, call: d, dn: "5100"}
  - {at: 62s, action: release, call: e, dn: "5007"}
  - {at: 75s, action: release, call: f, dn: "5008"}
  - {at: 85s, action: release, call: b, dn: "5004"}
  - {at: 86s, action: attach, call: b, dn: "5004", data: {Disposition: Paid}}
  - {at: 95s, action: release, call: c, dn: "5005"}
  - {at: 100s, action: release, call: d, dn: "5006"}
  - {at: 101s, action: attach, call: d, dn: "5006", data: {Disposition: Sale}}
  - {at: 118s, action: release, call: a, dn: "5002"}
  - {at: 119s, action: attach, call: a, dn: "5002", data: {Disposition: Resolved}}
  - {at: 140s, action: release, call: c, dn: "5003"}
`

// demoScenePeriod is how often the scenes start again (they end by 140 s).
const demoScenePeriod = 150 * time.Second

// demoLogins logs the agents and the supervisor in.
const demoLogins = `
name: demo-logins
steps:
  - {action: login, dn: "5001", agent: "1001"}
  - {action: login, dn: "5002", agent: "1002"}
  - {action: login, dn: "5003", agent: "1003"}
  - {action: login, dn: "5004", agent: "1004"}
  - {action: login, dn: "5005", agent: "1005"}
  - {action: login, dn: "5006", agent: "1006"}
  - {action: login, dn: "5007", agent: "1007"}
  - {action: login, dn: "5008", agent: "1008"}
  - {action: login, dn: "5011", agent: "1011"}
  - {action: login, dn: "5012", agent: "1012"}
  - {action: login, dn: "5013", agent: "1013"}
  - {action: login, dn: "5014", agent: "1014"}
  - {action: login, dn: "5015", agent: "1015"}
  - {action: login, dn: "5016", agent: "1016"}
  - {action: login, dn: "5100", agent: "1100"}
`

// demoTraffic is the queue: random inbound calls of 30 s to 3 min to the
// six queue agents (5011-5016), some held, transferred or consulted.
var demoTraffic = sim.Traffic{Rate: 1.0 / 8, UntilStopped: true,
	TalkMin: sim.Duration(30 * time.Second), TalkMax: sim.Duration(3 * time.Minute), Ring: sim.Duration(3 * time.Second),
	Hold: 0.3, Transfer: 0.1, Consult: 0.15, RoutingPoint: "7000",
	Agents: []string{"5011", "5012", "5013", "5014", "5015", "5016"}}

// demoRules are written to a new demo configuration file: the sales line
// is pre-recorded, the HR line never recorded.
const demoRules = `rules:
  groups:
    - name: Compliance
      rules:
        - {name: hr-line-not-recorded, action: do_not_record, mask: "5008"}
    - name: Sales
      rules:
        - {name: sales-prerecord, action: prerecord, mask: "5006-5007"}
`

func newDemoCmd() *cobra.Command {
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the recorder and a simulated contact center together (no Genesys or SBC needed)",
		Long: `Run the recorder exactly like 'serve' (same flags) together with the built-in
contact-center simulator: a SIP Server on a CTI link, a Media Server sending MSR
recording sessions with a synthetic voice per party, a Configuration Server with
tenant Acme, fourteen named agents and a supervisor.

Scripted scenes replay every 2.5 minutes: a call held, consulted and transferred;
a desktop-recorded billing call paused while a card number is read out (PCI); a
conference; a pre-recorded sales call kept and one discarded; a silently monitored
call; a call on a "do not record" line. Beside them the queue takes random calls
of 30 s to 3 minutes. Recordings are correlated with the calls: external data
(GEN_TEV_*, GEN_USR_*, GEN_CFG_*), couples with offsets into the file,
notification of recording.

It runs until Ctrl-C (or SIGTERM, or --duration): the simulated contact center then
hangs up the calls in progress, every recording is finalised, and a summary is
printed. A second Ctrl-C stops at once (the next start repairs the files).

SIP (5060) and HTTP (8080) fall back to free ports when those are busy; the demo
says which.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			var notes []string
			if !cmd.Flags().Changed("sip-listen") {
				cfg.SIPListen = freeOr("127.0.0.1:5060", "127.0.0.1:0", "SIP", "--sip-listen", &notes)
			}
			if !cmd.Flags().Changed("http-listen") {
				cfg.HTTPListen = freeOr("127.0.0.1:8080", "127.0.0.1:0", "HTTP", "--http-listen", &notes)
			}
			if !cmd.Flags().Changed("max-calls") {
				cfg.MaxCalls = 50
			}
			if !cmd.Flags().Changed("user-data-keys") {
				cfg.UserDataKeys = "Segment,AccountID,CallReason,CustomerSegment,Disposition"
			}
			if !cmd.Flags().Changed("dn-exclude") {
				cfg.DNExclude = "5100" // the supervisor's DN: monitoring is not recorded
			}
			if !cmd.Flags().Changed("cti-reconnect") {
				cfg.CTIReconnect = time.Second
			}
			return runDemo(cmd, cfg, dur, notes)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().DurationVar(&dur, "duration", 0, "stop after this long, as on Ctrl-C (0: run until Ctrl-C)")
	return cmd
}

// freeOr returns addr when its TCP and UDP ports are free, else fallback,
// adding a note that says so.
func freeOr(addr, fallback, what, flag string, notes *[]string) string {
	busy := func() bool {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return true
		}
		_ = l.Close()
		if what == "HTTP" {
			return false
		}
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return true
		}
		_ = u.Close()
		return false
	}
	if !busy() {
		return addr
	}
	_, port, _ := net.SplitHostPort(addr)
	*notes = append(*notes, fmt.Sprintf("port %s is busy: %s falls back to a free port (choose one with %s)", port, what, flag))
	return fallback
}

func runDemo(cmd *cobra.Command, cfg config.Serve, dur time.Duration, notes []string) error {
	out := cmd.OutOrStdout()
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}

	data, src, err := sim.DemoCenter()
	if err != nil {
		return err
	}
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: quiet(log)})
	if err != nil {
		return err
	}
	defer d.Close()
	media := &sim.DialMedia{Dialer: d, Transport: "udp", Codec: "PCMU", Logger: quiet(log), Speech: true}
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
		if cfg.Rules, err = rules.LoadFile(cfg.Path); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	cfg.CTI = csim.Addr()
	cfg.CTISwitch = sim.DemoSwitch
	cfg.ConfigURL = "http://" + csim.ConfigAddr() + "/config"
	// The first admin exists before the server starts (it would warn
	// that there is no user yet).
	password, err := firstAdmin(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.SIPAddr().Port()).String()
	csim.SetRecorders([]string{target})
	for _, n := range notes {
		fmt.Fprintln(out, "openrec demo: "+n)
	}
	fmt.Fprintf(out, "openrec demo: recorder on sip:%s (udp+tcp), metrics on http://%s/metrics, data in %s\n", target, a.HTTPAddr(), cfg.DataDir)
	fmt.Fprintf(out, "simulated contact center: SIP Server (CTI) %s, configuration http://%s/config\n", csim.Addr(), csim.ConfigAddr())
	url := "http://" + a.HTTPAddr() + "/"
	if password != "" {
		fmt.Fprintf(out, "web UI: %s  sign in as admin / %s  (shown only this once; change it under Admin → Users)\n", url, password)
	} else {
		fmt.Fprintf(out, "web UI: %s (sign in with an existing user; openrec admin create-user adds one)\n", url)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !a.CTIUp() {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: CTI link to the simulator did not come up")
		}
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	logins, err := sim.ParseScenario([]byte(demoLogins))
	if err != nil {
		return err
	}
	if err := csim.Run(ctx, logins); err != nil && ctx.Err() == nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(out, "the contact center is open: scripted scenes (transfer, PCI pause, conference, pre-recordings kept and discarded,")
	fmt.Fprintln(out, "supervisor monitoring, a do-not-record line) every 2.5 min, and the queue's calls of 30 s to 3 min. Ctrl-C to stop.")

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := csim.Traffic(ctx, demoTraffic); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("demo traffic: %w", err)
		}
	})
	wg.Go(func() {
		for round := 1; ctx.Err() == nil; round++ {
			sc, err := sim.ParseScenario([]byte(fmt.Sprintf(demoScenes, round%10)))
			if err != nil {
				errs <- err
				return
			}
			start := time.Now()
			if err := csim.Run(ctx, sc); err != nil && ctx.Err() == nil {
				log.Warn("demo scene failed", "round", round, "error", err)
			}
			t := time.NewTimer(demoScenePeriod - time.Since(start))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	})
	select {
	case <-ctx.Done():
	case err := <-errs:
		stop()
		wg.Wait()
		return err
	}
	stop() // a second Ctrl-C stops at once
	wg.Wait()
	n := csim.HangUpAll()
	fmt.Fprintf(out, "\nstopping: the contact center hung up %d more call(s); finalising the recordings...\n", n)
	// Every recording ends as its call does: wait for the recorder to
	// finalise them (bounded), then close.
	wait := time.Now().Add(20 * time.Second)
	for a.Recorder().Active() > 0 && time.Now().Before(wait) {
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

// demoSummaryRows is how many recordings the summary lists.
const demoSummaryRows = 10

func printDemoSummary(out io.Writer, a *app.App, dataDir string) {
	ctx := context.Background()
	recs, err := a.Store().ListRecordings(ctx, store.Filter{Limit: demoSummaryRows})
	if err != nil {
		fmt.Fprintf(out, "listing recordings: %v\n", err)
		return
	}
	counts := map[store.Status]int{}
	total := 0
	for _, st := range []store.Status{store.StatusRecording, store.StatusCompleted, store.StatusPartial, store.StatusFailed} {
		n, err := a.Store().CountRecordings(ctx, store.Filter{Status: st})
		if err == nil && n > 0 {
			counts[st] = n
			total += n
		}
	}
	var parts []string
	for _, st := range []store.Status{store.StatusCompleted, store.StatusPartial, store.StatusFailed, store.StatusRecording} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	if total == 0 {
		fmt.Fprintln(out, "\nno recordings yet (the first calls are answered a few seconds after the start)")
		return
	}
	fmt.Fprintf(out, "\n%d recordings (%s); the latest:\n", total, strings.Join(parts, ", "))
	for _, r := range recs {
		who := r.ExternalData["GEN_CFG_FULLNAME"]
		if who == "" {
			who = "-"
		}
		fmt.Fprintf(out, "  %s  %-9s dn %-5s %-12s %-14s %5s  %s\n", r.ID, r.Status, r.RecordedDN, who,
			r.ExternalData["GEN_TEV_ANI"], (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Second), r.ExternalData["GEN_USR_CallReason"])
	}
	fmt.Fprintf(out, "\nlist them all:    go run ./cmd/openrec recordings list --data-dir %s\n", dataDir)
	fmt.Fprintf(out, "export one:       go run ./cmd/openrec recordings export ID --data-dir %s --out call.wav\n", dataDir)
}

// demoConfigFile returns the demo's configuration file in dataDir, created
// with no rules the first time (the demo records by record=true DNs and
// desktop requests; rules added in the web UI are saved there).
func demoConfigFile(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
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
		"# (Admin → Rules) are saved here. See docs/rules.md.\n" + demoRules
	return path, os.WriteFile(path, []byte(body), 0o600) // private, like the rest of the data dir
}

// firstAdmin creates the first admin with a random password when the
// data directory has no user yet and returns the password ("" when users
// exist).
func firstAdmin(ctx context.Context, dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("data_dir: %w", err)
	}
	db, err := sqlite.Open(ctx, app.DBPath(dataDir))
	if err != nil {
		return "", fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	pw, err := auth.RandomPassword()
	if err != nil {
		return "", err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := db.CreateUser(ctx, &store.User{Name: "admin", Role: string(auth.RoleAdmin), PasswordHash: hash}); err != nil {
		return "", fmt.Errorf("first admin: %w", err)
	}
	return pw, nil
}
