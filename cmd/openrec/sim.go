package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sim/rm"
	"github.com/openrec/openrec/internal/sip/dial"
)

// simFile is the `openrec sim --config FILE` format. Relative paths are
// relative to FILE's directory.
//
//	listen: 127.0.0.1:7001          # T-Library (CTI link) address
//	switch: SIP_Switch              # switch name of the DNs in the configuration data
//	config: sim-config.yaml         # configuration data (internal/cti/ccdata YAML)
//	config_listen: 127.0.0.1:7002   # Configuration Server HTTP (optional)
//	recorders: [127.0.0.1:5060, {addr: 127.0.0.1:5062, capacity: 50}]   # the Resource Manager's group
//	lb: round-robin                 # load balancing over the recorders: round-robin|least-used
//	recorder_capacity: 0            # port capacity of each recorder (concurrent recordings; 0: no limit)
//	options_interval: 5s            # OPTIONS health check period (negative: none, every recorder up)
//	options_timeout: 2s             # bound of one OPTIONS
//	options_failures: 2             # OPTIONS without an answer in a row that make a recorder down
//	recorder_loss: stop             # a recorder died mid-call: stop (GSIP_RECORD OFF; the core restarts) | restart (here)
//	transport: udp                  # SIP transport to the recorders (udp|tcp)
//	local_ip: 127.0.0.1             # SIP/RTP address of the Media Server
//	codec: PCMU                     # PCMU|PCMA
//	srtp: AES_CM_128_HMAC_SHA1_80   # send SRTP (SDES) with this suite (empty: plain RTP)
//	seed: 0                         # 0: random ConnIDs/CallUUIDs
//	scenario: calls.yaml            # a scenario file (steps and/or traffic), or:
//	traffic: {rate: 0.5, count: 100, talk_min: 10s, talk_max: 60s}   # or until_stopped: true
//	speech: false                   # a synthetic voice per party instead of a tone per party
//	misbehave: {early_invite: false, invite_delay: 0s, single_leg: false, no_rtp: false, srtp_wrong_key: false}
//	consent: {record_chan1source: otherdnhears, record_chan2source: recorddnhears, audiosrc: "http://tone", tonesilenceduration: "1000,15000"}
//	exit: false                     # exit when the scenario/traffic is done (default: keep serving)
//	log_level: info
type simFile struct {
	Listen       string             `yaml:"listen"`
	Switch       string             `yaml:"switch"`
	Config       string             `yaml:"config"`
	ConfigListen string             `yaml:"config_listen"`
	Recorders    []simRecorder      `yaml:"recorders"`
	LB           string             `yaml:"lb"`
	Capacity     int                `yaml:"recorder_capacity"`
	OptInterval  sim.Duration       `yaml:"options_interval"`
	OptTimeout   sim.Duration       `yaml:"options_timeout"`
	OptFailures  int                `yaml:"options_failures"`
	RecorderLoss string             `yaml:"recorder_loss"`
	Speech       bool               `yaml:"speech"`
	Transport    string             `yaml:"transport"`
	LocalIP      string             `yaml:"local_ip"`
	Codec        string             `yaml:"codec"`
	SRTP         string             `yaml:"srtp"`
	Seed         uint64             `yaml:"seed"`
	Scenario     string             `yaml:"scenario"`
	Traffic      *sim.Traffic       `yaml:"traffic"`
	Misbehave    sim.Misbehaviour   `yaml:"misbehave"`
	Consent      sim.ConsentOptions `yaml:"consent"`
	Exit         bool               `yaml:"exit"`
	LogLevel     string             `yaml:"log_level"`
}

// simRecorder is one entry of recorders: "host:port", or {addr, capacity}.
type simRecorder struct {
	Addr     string `yaml:"addr"`
	Capacity int    `yaml:"capacity"` // 0: recorder_capacity
}

// UnmarshalYAML accepts a scalar address or a mapping.
func (r *simRecorder) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Addr = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a recorder is host:port or {addr: host:port, capacity: N}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "addr" && k != "capacity" {
			return fmt.Errorf("line %d: field %s not found in a recorder (addr, capacity)", n.Content[i].Line, k)
		}
	}
	type plain simRecorder
	dec := plain{}
	if err := n.Decode(&dec); err != nil {
		return err
	}
	if dec.Addr == "" {
		return fmt.Errorf("line %d: a recorder needs addr", n.Line)
	}
	*r = simRecorder(dec)
	return nil
}

// simFlags are the command-line settings that override the file's.
type simFlags struct {
	recorders          []string
	lb, loss           string
	capacity, failures int
	interval, timeout  time.Duration
	fs                 *pflag.FlagSet
}

func newSimCmd() *cobra.Command {
	var path string
	var fl simFlags
	cmd := &cobra.Command{
		Use:   "sim [--config FILE] [--recorders ADDR,ADDR] [--lb round-robin|least-used]",
		Short: "Run the contact-center simulator (SIP Server CTI link, Media Server, Configuration Server)",
		Long: `Run a simulated Genesys contact center: a SIP Server speaking the T-Library message
model on the CTI link (openrec's framing), a Media Server placing MSR recording sessions
to the configured recorders, and a Configuration Server serving the configuration data
over HTTP (GET /config, long poll with ?wait=VERSION). FILE (YAML) gives the listen
addresses, the switch, the configuration data file, the recorders and a scenario or
traffic settings; see internal/sim for the scenario format. Without --config: the T-Library
port 127.0.0.1:7001, the Configuration Server on 127.0.0.1:7002, switch SIP_Switch and the
demo's small contact center (DNs 5001-5003 recorded full-time), no traffic.

Resource Manager: the recorders form a Logical Resource Group, as the Genesys Resource
Manager does it. Each recording (both MSR INVITEs of a recorded DN) goes to one recorder,
picked round-robin or least-used (the smallest share of its port capacity in use), never to
a recorder at its capacity. Every recorder gets SIP OPTIONS each options_interval: a 503
takes it out (no new recordings, its recordings go on), a ping without an answer takes it
out, options_failures in a row make it down (dead: its recordings are torn down), an answer
again puts it back. An INVITE answered 503 or not at all is tried on the next recorder.
When a recorder dies mid-call, recorder_loss says what follows: stop (default; GSIP_RECORD
becomes OFF and a core's RequestPrivateService start places a new pair on a live recorder)
or restart (the simulator places the new pair itself, same record id). GET /recorders on
the Configuration Server's address shows each recorder's state and counters (placed,
active, failed, lost, pings); the log has every state change and the totals at exit.

File keys (flags override them):

  recorders: [127.0.0.1:5060, {addr: 127.0.0.1:5062, capacity: 50}]
  lb: round-robin | least-used
  recorder_capacity: 0        # per recorder (0: no limit)
  options_interval: 5s        # negative: no OPTIONS
  options_timeout: 2s
  options_failures: 2
  recorder_loss: stop | restart

SIGHUP reloads the configuration data file. SIGINT/SIGTERM stop (recordings end with BYE).`,
		Example: `  openrec sim --config examples/sim.yaml
  openrec sim --config examples/sim.yaml --recorders 127.0.0.1:5060,127.0.0.1:5062 --lb least-used --recorder-capacity 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			fl.fs = cmd.Flags()
			return runSim(ctx, path, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "simulator configuration file (YAML; default: the demo's small contact center, no traffic)")
	f.StringSliceVar(&fl.recorders, "recorders", nil, "recorders of the Resource Manager's group: ADDR,ADDR (host:port; replaces the file's recorders)")
	f.StringVar(&fl.lb, "lb", "", "load balancing over the recorders: round-robin (default) or least-used")
	f.IntVar(&fl.capacity, "recorder-capacity", 0, "port capacity of each recorder: most concurrent recordings (0: no limit)")
	f.DurationVar(&fl.interval, "options-interval", 0, "OPTIONS health-check period (default 5s; negative: no checks)")
	f.DurationVar(&fl.timeout, "options-timeout", 0, "bound of one OPTIONS (default 2s)")
	f.IntVar(&fl.failures, "options-failures", 0, "OPTIONS without an answer in a row that make a recorder down (default 2)")
	f.StringVar(&fl.loss, "recorder-loss", "", "a recorder died mid-call: stop (default; the core restarts) or restart (the simulator does)")
	return cmd
}

// apply overrides f's keys with the flags given.
func (fl simFlags) apply(f *simFile) {
	if fl.fs == nil {
		return
	}
	if fl.fs.Changed("recorders") {
		old := f.Recorders
		f.Recorders = nil
		for _, a := range fl.recorders {
			r := simRecorder{Addr: strings.TrimSpace(a)}
			for _, o := range old {
				if o.Addr == r.Addr {
					r.Capacity = o.Capacity // the file's capacity of that recorder
				}
			}
			f.Recorders = append(f.Recorders, r)
		}
	}
	if fl.fs.Changed("lb") {
		f.LB = fl.lb
	}
	if fl.fs.Changed("recorder-capacity") {
		f.Capacity = fl.capacity
	}
	if fl.fs.Changed("options-interval") {
		f.OptInterval = sim.Duration(fl.interval)
	}
	if fl.fs.Changed("options-timeout") {
		f.OptTimeout = sim.Duration(fl.timeout)
	}
	if fl.fs.Changed("options-failures") {
		f.OptFailures = fl.failures
	}
	if fl.fs.Changed("recorder-loss") {
		f.RecorderLoss = fl.loss
	}
}

// resourceManager is the rm configuration of the file's keys.
func (f *simFile) resourceManager() (addrs []string, c rm.Config) {
	if f.LB == "" {
		f.LB = string(rm.RoundRobin)
	}
	c = rm.Config{Policy: rm.Policy(f.LB), Capacity: f.Capacity, Interval: time.Duration(f.OptInterval),
		Timeout: time.Duration(f.OptTimeout), Failures: f.OptFailures}
	for _, r := range f.Recorders {
		addrs = append(addrs, r.Addr)
		if r.Capacity != 0 {
			if c.Capacities == nil {
				c.Capacities = make(map[string]int)
			}
			c.Capacities[r.Addr] = r.Capacity
		}
	}
	return addrs, c
}

// defaultSimFile is what `openrec sim` runs without --config.
func defaultSimFile() *simFile {
	return &simFile{Listen: "127.0.0.1:7001", ConfigListen: "127.0.0.1:7002", Switch: sim.DemoSwitch, LocalIP: "127.0.0.1"}
}

func loadSimFile(path string) (*simFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f simFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	f.Config, f.Scenario = rel(f.Config), rel(f.Scenario)
	if f.Listen == "" {
		f.Listen = "127.0.0.1:7001"
	}
	if f.Switch == "" {
		return nil, fmt.Errorf("%s: switch is required", path)
	}
	if f.LocalIP == "" {
		f.LocalIP = "127.0.0.1"
	}
	return &f, nil
}

func runSim(ctx context.Context, path string, fl simFlags) error {
	f := defaultSimFile()
	if path != "" {
		var err error
		if f, err = loadSimFile(path); err != nil {
			return err
		}
	}
	fl.apply(f)
	addrs, rmc := f.resourceManager()
	if _, err := rm.New(rmc); err != nil { // the settings' errors before any socket opens
		return fmt.Errorf("resource manager: %w", err)
	}
	if f.RecorderLoss != "" && f.RecorderLoss != sim.RecorderLossStop && f.RecorderLoss != sim.RecorderLossRestart {
		return fmt.Errorf("recorder_loss %q: want stop or restart", f.RecorderLoss)
	}
	log := newLogger(f.LogLevel)
	data := &ccdata.Data{}
	var source []byte
	var err error
	if path == "" {
		if data, source, err = sim.DemoConfig(); err != nil {
			return err
		}
	}
	if f.Config != "" {
		if source, err = os.ReadFile(f.Config); err != nil {
			return err
		}
		if data, err = ccdata.Parse(source); err != nil {
			return fmt.Errorf("%s: %w", f.Config, err)
		}
	}
	var sc *sim.Scenario
	if f.Scenario != "" {
		if sc, err = sim.LoadScenario(f.Scenario); err != nil {
			return err
		}
	}
	if f.Traffic != nil {
		if sc == nil {
			sc = &sim.Scenario{Name: "traffic"}
		}
		sc.Traffic = f.Traffic
		if err := sc.Validate(); err != nil {
			return err
		}
	}
	ip, err := netip.ParseAddr(f.LocalIP)
	if err != nil {
		return fmt.Errorf("local_ip: %w", err)
	}
	dialer, err := dial.NewDialer(dial.Options{LocalIP: ip, Logger: log.With("component", "media")})
	if err != nil {
		return err
	}
	defer dialer.Close()
	if err := f.Consent.Validate(); err != nil {
		return fmt.Errorf("%s: consent: %w", path, err)
	}
	if err := dial.CheckSRTPSuite(f.SRTP); err != nil {
		return fmt.Errorf("%s: srtp: %w", path, err)
	}
	media := &sim.DialMedia{Dialer: dialer, Transport: f.Transport, Codec: f.Codec, SRTP: f.SRTP, Consent: f.Consent, Speech: f.Speech, Logger: log.With("component", "media")}
	defer media.Close()
	csim, err := sim.New(sim.Config{
		Listen: f.Listen, Switch: f.Switch, Config: data, ConfigSource: source, ConfigListen: f.ConfigListen,
		Recorders: addrs, ResourceManager: rmc, RecorderLoss: f.RecorderLoss,
		Misbehave: f.Misbehave, Seed: f.Seed, Logger: log, Media: media,
	})
	if err != nil {
		return err
	}
	defer csim.Close()
	if err := csim.Start(); err != nil {
		return err
	}
	log.Info("simulator ready", "cti", csim.Addr(), "config_server", csim.ConfigAddr(), "recorders", addrs,
		"lb", string(rmc.Policy), "recorder_capacity", rmc.Capacity)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	done := make(chan error, 1)
	if sc != nil {
		go func() { done <- csim.Run(ctx, sc) }()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if f.Config == "" {
				continue
			}
			b, err := os.ReadFile(f.Config)
			if err == nil {
				var d *ccdata.Data
				if d, err = ccdata.Parse(b); err == nil {
					csim.SetConfig(d, b)
					continue
				}
			}
			log.Error("configuration reload failed; keeping the current data", "file", f.Config, "error", err)
		case err := <-done:
			if err != nil {
				return err
			}
			log.Info("scenario done")
			if f.Exit {
				return nil
			}
			done = nil
		}
	}
}
