package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/openrec/openrec/internal/callcore"
	"github.com/openrec/openrec/internal/cfgcache"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/conversation"
	"github.com/openrec/openrec/internal/cti"
	"github.com/openrec/openrec/internal/dnfilter"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/tlib"
)

// ctiSide is the CTI half of the process: configuration cache, DN filter,
// conversation engine, CTI client and the bridge to the recorder.
type ctiSide struct {
	core   *callcore.Core
	client *cti.Client
	cache  *cfgcache.Cache
}

// loadConfigData reads the configuration data from a file or a
// configuration service (openrec sim's GET /config); none = empty.
func loadConfigData(ctx context.Context, cfg config.Serve) (*cfgcache.Data, error) {
	switch {
	case cfg.ConfigFile != "":
		return cfgcache.LoadFile(cfg.ConfigFile)
	case cfg.ConfigURL != "":
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.ConfigURL, nil)
		if err != nil {
			return nil, fmt.Errorf("config_url: %w", err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("config_url: %w", err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("config_url %s: %s", cfg.ConfigURL, res.Status)
		}
		b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("config_url: %w", err)
		}
		return cfgcache.Parse(b)
	}
	return &cfgcache.Data{}, nil
}

// startCTI builds the CTI side when SIP Servers are configured; with only
// a DN filter it still enforces exclusion at the SIP side.
func startCTI(ctx context.Context, cfg config.Serve, rec *recorder.Recorder, st callcore.Store, log *slog.Logger) (*ctiSide, error) {
	filter, err := dnfilter.Parse(cfg.DNInclude, cfg.DNExclude)
	if err != nil {
		return nil, fmt.Errorf("dn_include/dn_exclude: %w", err)
	}
	servers := cfg.Servers()
	if len(servers) == 0 {
		if cfg.DNExclude != "" {
			rec.SetCorrelator(callcore.FilterOnly(filter))
		}
		return nil, nil
	}
	data, err := loadConfigData(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cache := cfgcache.NewCache(data)
	switches := map[string]string{}
	var ctiServers []cti.Server
	for _, s := range servers {
		name := s.Name
		if name == "" {
			name = s.Switch
		}
		switches[name] = s.Switch
		ctiServers = append(ctiServers, cti.Server{Name: name, Switch: s.Switch, Primary: s.Primary, Backup: s.Backup})
	}
	userKeys, _ := config.KeyList(cfg.UserDataKeys) // validated by config
	var keys conversation.Keys
	for _, k := range userKeys {
		keys.User = append(keys.User, conversation.KeyMap{From: k.From, To: k.To})
	}
	eng := conversation.New(conversation.Config{Filter: filter, Config: cache, Switches: switches, Keys: keys, Logger: log})
	side := &ctiSide{cache: cache}
	core, err := callcore.New(callcore.Config{
		Engine: eng, Filter: filter, Pauser: rec, Store: st, Logger: log,
		Requester: requesterFunc(func(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error) {
			return side.client.Request(ctx, server, m)
		}),
	})
	if err != nil {
		return nil, err
	}
	side.core = core
	client, err := cti.New(cti.Config{
		Servers:    ctiServers,
		ClientName: cfg.CTIClientName,
		Reconnect:  cfg.CTIReconnect,
		Logger:     log,
		DNs: func(server string) []string {
			snap := cache.Snapshot()
			var dns []string
			for _, dn := range snap.DNs(switches[server]) {
				if filter.Monitored(dn.Number) {
					dns = append(dns, dn.Number)
				}
			}
			return dns
		},
	}, core)
	if err != nil {
		return nil, err
	}
	side.client = client
	rec.SetCorrelator(core)
	log.Info("cti link configured", "servers", len(ctiServers), "dn_filter", filter.String(),
		"tenants", len(data.Tenants), "dns", len(data.DNs), "persons", len(data.Persons))
	return side, nil
}

func (s *ctiSide) run(ctx context.Context) {
	go func() { _ = s.core.Run(ctx) }()
	_ = s.client.Run(ctx)
}

type requesterFunc func(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error)

func (f requesterFunc) Request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error) {
	return f(ctx, server, m)
}
