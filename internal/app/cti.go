package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/callcore"
	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/ccdata/loader"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/link"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/cti/screen"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
)

// ctiSide is the CTI half of the process: configuration cache, DN filter,
// conversation engine, CTI client and the bridge to the recorder.
type ctiSide struct {
	core       *callcore.Core
	screen     *screen.Hub // screen-session events per agent (issue 18)
	client     *link.Client
	cache      *ccdata.Cache
	source     *loader.Source
	rules      *rules.Holder
	notifyHist prometheus.Histogram
	traceFile  *os.File
}

// ctiTLS is the TLS client configuration of the link to s: TLS 1.2+, the
// server verified with its CA file (none: the system roots) for its
// server name (none: the host dialled), and the recorder's own certificate
// (tls_cert, nil: none) offered when the SIP Server asks for one.
func ctiTLS(s config.CTIServer, c *certs) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.TLSServerName}
	if c != nil {
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.get(nil) }
	}
	if s.TLSCA == "" {
		return conf, nil
	}
	b, err := os.ReadFile(s.TLSCA)
	if err != nil {
		return nil, fmt.Errorf("tls_ca: %w", err)
	}
	conf.RootCAs = x509.NewCertPool()
	if !conf.RootCAs.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls_ca %s: no PEM certificate in it", s.TLSCA)
	}
	return conf, nil
}

// startCTI builds the CTI side when SIP Servers are configured, before the
// recorder: the recorder gets the correlator it returns (nil: none) and
// Run gets the recorder. With only a DN filter there is no CTI side, but
// the correlator still enforces exclusion at the SIP side. It starts no
// goroutine; on error nothing is left open.
func startCTI(ctx context.Context, cfg config.Serve, st callcore.Store, media expire.Media, clientCert *certs, log *slog.Logger) (*ctiSide, recorder.Correlator, error) {
	filter, err := dnfilter.Parse(cfg.DNInclude, cfg.DNExclude)
	if err != nil {
		return nil, nil, fmt.Errorf("dn_include/dn_exclude: %w", err)
	}
	servers := cfg.Servers()
	if len(servers) == 0 {
		if cfg.PCIPauseDNs != "" || cfg.PCIPauseKey != "" {
			// Only the CTI side sees a payment IVR or attached data.
			log.Warn("pci_pause_dns and pci_pause_key need a CTI link (cti, cti_servers): without one no recording is paused for payments")
		}
		if cfg.DNExclude != "" {
			return nil, callcore.FilterOnly(filter), nil
		}
		return nil, nil, nil
	}
	side := &ctiSide{}
	built := false
	defer func() {
		if !built {
			side.close()
		}
	}()
	srcCfg := loader.Config{File: cfg.ConfigFile, URL: cfg.ConfigURL, Reload: cfg.ConfigReload, Logger: log}
	data, _, err := loader.Load(ctx, srcCfg)
	if err != nil {
		return nil, nil, err
	}
	cache := ccdata.NewCache(data)
	tenants, err := tenantConfigs(cfg, data)
	if err != nil {
		return nil, nil, err
	}
	switches := map[string]string{}
	var ctiServers []link.Server
	for _, s := range servers {
		name := s.Name
		if name == "" {
			name = s.Switch
		}
		srv := link.Server{Name: name, Switch: s.Switch, Primary: s.Primary, Backup: s.Backup}
		if s.TLS {
			if srv.TLS, err = ctiTLS(s, clientCert); err != nil {
				return nil, nil, fmt.Errorf("cti server %q: %w", name, err)
			}
		}
		if t, listed := tenantOfSwitch(cfg, data, s.Switch); listed {
			srv.ClientName, srv.Password = t.ClientName, t.Password
		} else if cfg.TenantsOnly {
			log.Info("cti server not connected: its tenant is not listed (tenants_only)", "server", name, "switch", s.Switch)
			continue
		}
		switches[name] = s.Switch
		ctiServers = append(ctiServers, srv)
	}
	if len(ctiServers) == 0 {
		return nil, nil, fmt.Errorf("tenants_only: no cti server belongs to a listed tenant")
	}
	keys, err := engineKeys(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("data keys: %w", err)
	}
	charset, err := conversation.ParseCharset(cfg.UserDataCharset)
	if err != nil {
		return nil, nil, fmt.Errorf("user_data_charset: %w", err)
	}
	holder, err := rules.NewHolder(cfg.Rules, cfg.Path, log)
	if err != nil {
		return nil, nil, err
	}
	rc, err := recordConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	ask, err := recordDNs(cfg)
	if err != nil {
		return nil, nil, err
	}
	rc.Rule = decide(holder, cache, ask)
	eng := conversation.New(conversation.Config{Filter: filter, Config: cache, Switches: switches, Keys: keys, Charset: charset,
		Notify: notifyConfig(cfg, data), Record: rc, WrapUp: cfg.WrapUp, Logger: log,
		Tenants: tenants, OnlyListedTenants: cfg.TenantsOnly,
		Detect: conversation.DetectConfig{LegTimeout: cfg.DetectLegTimeout, RTPTimeout: cfg.DetectRTPTimeout, OrphanTimeout: cfg.DetectOrphanTimeout,
			AudioPerLeg: true}}) // the recorder reports the first RTP of every leg
	side.cache, side.rules = cache, holder
	var traceOut io.Writer
	switch cfg.CTITrace {
	case "":
	case "-":
		traceOut = os.Stderr
	default:
		f, err := os.OpenFile(cfg.CTITrace, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("cti_trace: %w", err)
		}
		side.traceFile = f
		traceOut = f
	}
	side.notifyHist = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "openrec", Name: "notification_latency_seconds",
		Help:    "Notification of Recording: first RTP of a call's recording to the attached-data update sent.",
		Buckets: []float64{.005, .01, .025, .05, .1, .15, .25, .5, 1, 3, 5},
	})
	retention, _ := st.(callcore.RetentionStore)
	var deleter callcore.Deleter
	if d, ok := st.(expire.Deleter); ok {
		deleter = recordingDeleter{st: d, media: media}
	}
	notifyHist := side.notifyHist
	side.screen = screen.New(screen.Config{})
	core, err := callcore.New(callcore.Config{
		Screen: side.screen, ScreenWanted: ctiScreen(cfg, holder), ScreenTimeout: cfg.ScreenTimeout,
		VideoNotifyKey: cfg.TenantScreenNotifyKey,
		Engine:         eng, Filter: filter, Store: st, Logger: log,
		Exclude:   excluder(filter, tenants, cache),
		Retention: retention, Deleter: deleter, PrerecordGrace: cfg.PrerecordGrace, KeepKey: cfg.KeepKey,
		ObserveNotify: func(d time.Duration) { notifyHist.Observe(d.Seconds()) },
		SourceTenant:  sourceTenant(cfg, cache),
		DTMF:          ctiDTMF(cfg, holder),
		Trace:         traceOut,
		GIM:           cfg.GIM != config.GIMOff,
		Servers:       serverNames(ctiServers),
	})
	if err != nil {
		return nil, nil, err
	}
	side.core = core
	client, err := link.New(link.Config{
		Servers:    ctiServers,
		ClientName: cfg.CTIClientName,
		Reconnect:  cfg.CTIReconnect,
		Logger:     log,
		DNs: func(server string) []string {
			snap := cache.Snapshot()
			var dns []string
			for _, dn := range snap.DNs(switches[server]) {
				if eng.Monitored(server, dn.Number) {
					dns = append(dns, dn.Number)
				}
			}
			return dns
		},
	}, core)
	if err != nil {
		return nil, nil, err
	}
	side.client = client
	srcCfg.OnChange = func(old, cur *ccdata.Snapshot) {
		log.Info("configuration data changed: registering the monitored DNs again",
			"tenants", len(cur.Tenants()), "switches", len(cur.Switches()))
		for _, s := range ctiServers {
			client.Refresh(s.Name)
		}
	}
	if side.source, err = loader.New(srcCfg, cache); err != nil {
		return nil, nil, err
	}
	log.Info("cti link configured", "servers", len(ctiServers), "dn_filter", filter.String(),
		"tenants", len(data.Tenants), "dns", len(data.DNs), "persons", len(data.Persons))
	built = true
	return side, core, nil
}

// run runs the CTI side until ctx ends: the call core (commanding rec),
// the configuration source, the rules file watch and the CTI client. Each
// part's error is logged as it ends; the first is returned once all ended.
func (s *ctiSide) run(ctx context.Context, rec callcore.Recorder, log *slog.Logger) error {
	var g errgroup.Group
	part := func(name string, run func() error) {
		g.Go(func() error {
			err := run()
			if errors.Is(err, callcore.ErrClosed) || errors.Is(err, link.ErrClosed) {
				err = nil // closed before it ran: a start cut short, not a failure
			}
			if err != nil {
				log.Error("cti side: "+name+" stopped", "error", err)
				err = fmt.Errorf("%s: %w", name, err)
			}
			return err
		})
	}
	part("call core", func() error { return s.core.Run(ctx, s.client, rec) })
	part("configuration source", func() error { return s.source.Run(ctx) })
	part("rules watch", func() error { s.rules.Watch(ctx.Done(), 2*time.Second); return nil })
	part("cti client", func() error { return s.client.Run(ctx) })
	return g.Wait()
}

// close releases what startCTI opened and stops what run started (the
// call core, the CTI client); safe on a side startCTI left half built.
func (s *ctiSide) close() {
	if s.core != nil {
		_ = s.core.Close()
	}
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.traceFile != nil {
		_ = s.traceFile.Close()
	}
}

// recordingDeleter deletes the recordings the CTI side's retention
// decisions made due through store/expire, the one place that knows a
// recording's files.
type recordingDeleter struct {
	st    expire.Deleter
	media expire.Media
}

func (d recordingDeleter) Delete(ctx context.Context, r *store.Recording, reason string) error {
	return expire.Delete(ctx, d.st, d.media, r, reason)
}

// reload reads the recording rules and the configuration data again
// (SIGHUP).
func (s *ctiSide) reload(ctx context.Context) error {
	return errors.Join(s.rules.Reload(), s.source.ReloadNow(ctx))
}

// sourceTenant maps a SIP source to a tenant: the longest source_tenants
// prefix containing it, else default_tenant.
func sourceTenant(cfg config.Serve, cache *ccdata.Cache) func(string) map[string]string {
	nameOf := sourceTenantName(cfg)
	return func(source string) map[string]string {
		name := nameOf(source)
		if name == "" {
			return nil
		}
		t, ok := cache.Snapshot().TenantByName(name)
		if !ok {
			t = ccdata.Tenant{Name: name}
		}
		return ccdata.TenantKeys(t, ccdata.Switch{})
	}
}

// sourceTenantName returns the tenant name of a SIP source address: the
// longest source_tenants prefix containing it, else default_tenant ("" =
// none).
func sourceTenantName(cfg config.Serve) func(string) string {
	type rule struct {
		p      netip.Prefix
		tenant string
	}
	var rules []rule
	for cidr, t := range cfg.SourceTenants {
		if p, err := netip.ParsePrefix(cidr); err == nil {
			rules = append(rules, rule{p.Masked(), t})
		}
	}
	return func(source string) string {
		name := cfg.DefaultTenant
		best := -1
		if ap, err := netip.ParseAddrPort(source); err == nil {
			for _, r := range rules {
				if r.p.Contains(ap.Addr()) && r.p.Bits() > best {
					best, name = r.p.Bits(), r.tenant
				}
			}
		}
		return name
	}
}

// engineKeys maps the key-list settings (seed 000: messageDataKeys,
// userDataKeys, extensionDataKeys, agentDataKeys, full agent name assembly).
func engineKeys(cfg config.Serve) (conversation.Keys, error) {
	var keys conversation.Keys
	lists := []struct {
		src string
		dst *[]conversation.KeyMap
	}{{cfg.MessageDataKeys, &keys.Message}, {cfg.UserDataKeys, &keys.User}, {cfg.ExtensionDataKeys, &keys.Extension}}
	for _, l := range lists {
		pairs, err := config.KeyList(l.src)
		if err != nil {
			return keys, err
		}
		for _, p := range pairs {
			*l.dst = append(*l.dst, conversation.KeyMap{From: p.From, To: p.To})
		}
	}
	agent, err := config.KeyList(cfg.AgentDataKeys)
	if err != nil {
		return keys, err
	}
	for _, p := range agent {
		keys.Agent.Keys = append(keys.Agent.Keys, p.From)
		if p.To != "" {
			if keys.Agent.Rename == nil {
				keys.Agent.Rename = map[string]string{}
			}
			keys.Agent.Rename[p.From] = p.To
		}
	}
	if cfg.FullNameOrder == "last_first" {
		keys.Agent.NameOrder = ccdata.LastFirst
	}
	keys.Agent.Delimiter = cfg.FullNameDelimiter
	return keys, keys.Agent.Validate()
}

func notifyConfig(cfg config.Serve, data *ccdata.Data) conversation.NotifyConfig {
	base := func(enabled bool, key string, values map[string]string) conversation.NotifyConfig {
		n := conversation.NotifyConfig{Disabled: !enabled, Timeout: cfg.NotifyTimeout}
		if key != "" {
			n.KeyMandatory, n.KeyOptional = key, "-"
		}
		n.Yes, n.No, n.NoLonger = values["yes"], values["no"], values["no_longer"]
		n.Prerecord, n.Undefined = values["prerecord"], values["undefined"]
		if cfg.NotifyTimeoutValue == "no" {
			n.TimeoutValue = n.No
			if n.TimeoutValue == "" {
				n.TimeoutValue = "RECORDING_NO"
			}
		}
		return n
	}
	n := base(cfg.NotifyEnabled, cfg.NotifyKey, cfg.NotifyValues)
	for name, t := range notifyTenants(cfg) {
		for _, tn := range data.Tenants {
			if !strings.EqualFold(tn.Name, name) {
				continue
			}
			enabled := cfg.NotifyEnabled
			if t.Enabled != nil {
				enabled = *t.Enabled
			}
			values := map[string]string{}
			for k, v := range cfg.NotifyValues {
				values[k] = v
			}
			for k, v := range t.Values {
				values[k] = v
			}
			if n.Tenants == nil {
				n.Tenants = map[int]conversation.NotifyConfig{}
			}
			n.Tenants[tn.DBID] = base(enabled, firstNonEmpty(t.Key, cfg.NotifyKey), values)
		}
	}
	return n
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// recordDNs is the record_dns filter (nil when unset).
func recordDNs(cfg config.Serve) (*dnfilter.Filter, error) {
	if cfg.RecordDNs == "" {
		return nil, nil
	}
	ask, err := dnfilter.Parse(cfg.RecordDNs, "")
	if err != nil {
		return nil, fmt.Errorf("record_dns: %w", err)
	}
	return ask, nil
}

// recordConfig is the engine's recording configuration from the settings
// (Validate checked them; an error here names the setting anyway).
func recordConfig(cfg config.Serve) (conversation.RecordConfig, error) {
	ids, err := cfg.MsgIDs()
	if err != nil {
		return conversation.RecordConfig{}, err
	}
	r := conversation.RecordConfig{
		MsgIDs:  conversation.MsgIDs{Start: ids[0], Stop: ids[1], Pause: ids[2], Resume: ids[3]},
		Consult: cfg.RecordConsultCalls,
		Dest:    cfg.RecordDest, Dest2: cfg.RecordDest2,
		AudioSrc: cfg.ConsentAudioSrc, ToneSilenceDuration: cfg.ConsentToneSilence,
		KeepKey: cfg.KeepKey,
	}
	if r.Geo, err = conversation.ParseGeo(cfg.RecordGeo); err != nil {
		return r, fmt.Errorf("record_geo: %w", err)
	}
	r.PCI.Key = cfg.PCIPauseKey
	if cfg.PCIPauseDNs != "" {
		if r.PCI.DNs, err = dnfilter.Parse(cfg.PCIPauseDNs, ""); err != nil {
			return r, fmt.Errorf("pci_pause_dns: %w", err)
		}
	}
	return r, nil
}

func serverNames(servers []link.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Name
	}
	return out
}
