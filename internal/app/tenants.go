package app

import (
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
)

// tenantConfigs maps the tenants: section (by name) onto the tenants of the
// configuration data (by DBID): the engine's per-tenant overrides. A listed
// tenant missing from the configuration data is an error: its DNs could
// never be recorded as configured.
func tenantConfigs(cfg config.Serve, data *ccdata.Data) (map[int]conversation.TenantConfig, error) {
	if len(cfg.Tenants) == 0 {
		return nil, nil
	}
	out := map[int]conversation.TenantConfig{}
	for _, t := range cfg.Tenants {
		dbid, ok := tenantDBID(data, t.Name)
		if !ok {
			return nil, fmt.Errorf("tenants: %q is not a tenant of the configuration data", t.Name)
		}
		tc := conversation.TenantConfig{Name: t.Name}
		if t.DNInclude != "" || t.DNExclude != "" {
			f, err := dnfilter.Parse(firstNonEmpty(t.DNInclude, cfg.DNInclude), joinNonEmpty(cfg.DNExclude, t.DNExclude))
			if err != nil {
				return nil, fmt.Errorf("tenants: %s: %w", t.Name, err)
			}
			tc.Filter = f
		}
		if t.UserDataKeys != "" || t.MessageDataKeys != "" || t.ExtensionDataKeys != "" || t.AgentDataKeys != "" ||
			t.FullNameOrder != "" || t.FullNameDelimiter != "" {
			c := cfg
			c.UserDataKeys = firstNonEmpty(t.UserDataKeys, cfg.UserDataKeys)
			c.MessageDataKeys = firstNonEmpty(t.MessageDataKeys, cfg.MessageDataKeys)
			c.ExtensionDataKeys = firstNonEmpty(t.ExtensionDataKeys, cfg.ExtensionDataKeys)
			c.AgentDataKeys = firstNonEmpty(t.AgentDataKeys, cfg.AgentDataKeys)
			c.FullNameOrder = firstNonEmpty(t.FullNameOrder, cfg.FullNameOrder)
			c.FullNameDelimiter = firstNonEmpty(t.FullNameDelimiter, cfg.FullNameDelimiter)
			keys, err := engineKeys(c)
			if err != nil {
				return nil, fmt.Errorf("tenants: %s: %w", t.Name, err)
			}
			tc.Keys = &keys
		}
		if t.RecordGeo != "" || t.RecordDest != "" || t.RecordDest2 != "" || t.ConsentAudioSrc != "" || t.ConsentToneSilence != "" {
			geo, err := conversation.ParseGeo(t.RecordGeo)
			if err != nil {
				return nil, fmt.Errorf("tenants: %s: %w", t.Name, err)
			}
			tc.Record = &conversation.RecordConfig{Geo: geo, Dest: t.RecordDest, Dest2: t.RecordDest2,
				AudioSrc: t.ConsentAudioSrc, ToneSilenceDuration: t.ConsentToneSilence}
		}
		out[dbid] = tc
	}
	return out, nil
}

func tenantDBID(data *ccdata.Data, name string) (int, bool) {
	for _, t := range data.Tenants {
		if strings.EqualFold(t.Name, name) {
			return t.DBID, true
		}
	}
	return 0, false
}

// tenantOfSwitch returns the tenants: entry of a switch's tenant.
func tenantOfSwitch(cfg config.Serve, data *ccdata.Data, sw string) (config.Tenant, bool) {
	for _, s := range data.Switches {
		if s.Name != sw {
			continue
		}
		for _, t := range cfg.Tenants {
			if id, ok := tenantDBID(data, t.Name); ok && id == s.TenantDBID {
				return t, true
			}
		}
	}
	return config.Tenant{}, false
}

// notifyTenants merges notify_tenants and the notify: part of tenants:
// (the latter wins).
func notifyTenants(cfg config.Serve) map[string]config.NotifyTenant {
	out := map[string]config.NotifyTenant{}
	for name, t := range cfg.NotifyTenants {
		out[name] = t
	}
	for _, t := range cfg.Tenants {
		n := t.Notify
		if n.Enabled == nil && n.Key == "" && len(n.Values) == 0 {
			continue
		}
		out[t.Name] = n
	}
	return out
}

// excluder says why a recorded DN must never be recorded ("" = it may):
// the global dn_exclude, or the dn_exclude of the DN's tenant (the DN is
// looked up on every switch of the configuration data).
func excluder(global *dnfilter.Filter, tenants map[int]conversation.TenantConfig, cache *ccdata.Cache) func(string) string {
	return func(dn string) string {
		if global != nil && global.Excluded(dn) {
			return global.String()
		}
		if len(tenants) == 0 {
			return ""
		}
		snap := cache.Snapshot()
		for _, sw := range snap.Switches() {
			d, ok := snap.DN(sw.Name, dn)
			if !ok {
				continue
			}
			tid := d.TenantDBID
			if tid == 0 {
				tid = sw.TenantDBID
			}
			if tc, ok := tenants[tid]; ok && tc.Filter != nil && tc.Filter.Excluded(dn) {
				return "tenant " + tc.Name + ": " + tc.Filter.String()
			}
		}
		return ""
	}
}

func joinNonEmpty(v ...string) string {
	var out []string
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}
