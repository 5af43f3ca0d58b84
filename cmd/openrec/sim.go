package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sip/dial"
)

// simFile is the `openrec sim --config FILE` format. Relative paths are
// relative to FILE's directory.
//
//	listen: 127.0.0.1:7001          # T-Library (CTI link) address
//	switch: SIP_Switch              # switch name of the DNs in the configuration data
//	config: sim-config.yaml         # configuration data (internal/cti/ccdata YAML)
//	config_listen: 127.0.0.1:7002   # Configuration Server HTTP (optional)
//	recorders: [127.0.0.1:5060]     # MSR destinations; the first is used, the rest fail-over
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
	Recorders    []string           `yaml:"recorders"`
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

func newSimCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "sim --config FILE",
		Short: "Run the contact-center simulator (SIP Server CTI link, Media Server, Configuration Server)",
		Long: `Run a simulated Genesys contact center: a SIP Server speaking the T-Library message
model on the CTI link (openrec's framing), a Media Server placing MSR recording sessions
to the configured recorders, and a Configuration Server serving the configuration data
over HTTP (GET /config, long poll with ?wait=VERSION). FILE (YAML) gives the listen
addresses, the switch, the configuration data file, the recorders and a scenario or
traffic settings; see internal/sim for the scenario format.

SIGHUP reloads the configuration data file. SIGINT/SIGTERM stop (recordings end with BYE).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("--config FILE is required")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runSim(ctx, path)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "simulator configuration file (YAML)")
	return cmd
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

func runSim(ctx context.Context, path string) error {
	f, err := loadSimFile(path)
	if err != nil {
		return err
	}
	log := newLogger(f.LogLevel)
	data := &ccdata.Data{}
	var source []byte
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
		Recorders: f.Recorders, Misbehave: f.Misbehave, Seed: f.Seed, Logger: log, Media: media,
	})
	if err != nil {
		return err
	}
	defer csim.Close()
	if err := csim.Start(); err != nil {
		return err
	}
	log.Info("simulator ready", "cti", csim.Addr(), "config_server", csim.ConfigAddr(), "recorders", f.Recorders)

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
