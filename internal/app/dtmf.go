package app

import (
	"strings"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/media/mixer"
)

// dtmfBySource returns the DTMF treatment (dtmf, issue 21) of a session
// from a SIP source address: its tenant's (source_tenants, default_tenant)
// when that tenant sets dtmf, else the default. The tenant CTI finds later
// (an MSR call) cannot change it: audio already written stays as it was.
func dtmfBySource(cfg config.Serve) func(string) mixer.DTMFMode {
	tenantOf := sourceTenantName(cfg)
	return func(source string) mixer.DTMFMode {
		name := tenantOf(source)
		mode, err := mixer.ParseDTMFMode(cfg.TenantDTMF(name))
		if err != nil {
			// Validate refused anything else; never record digits on a
			// setting that slipped through.
			return mixer.DTMFMask
		}
		return mode
	}
}

// ctiDTMF is the dtmf setting the CTI side gives a recording: its rule's
// (the rules in force), else its tenant's own (tenants:), else none.
func ctiDTMF(cfg config.Serve, holder *rules.Holder) func(rule, tenant string) string {
	return func(rule, tenant string) string {
		if rule != "" {
			if m := holder.Set().DTMF(rule); m != "" {
				return m
			}
		}
		for _, t := range cfg.Tenants {
			if tenant != "" && t.DTMF != "" && strings.EqualFold(t.Name, tenant) {
				return t.DTMF
			}
		}
		return ""
	}
}

// ctiScreen is whether a recording asks for screen recording (issue 18):
// its rule's screen, else its tenant's (tenants:), else the default.
func ctiScreen(cfg config.Serve, holder *rules.Holder) func(rule, tenant string) bool {
	return func(rule, tenant string) bool {
		if rule != "" {
			if on, set := holder.Set().Screen(rule); set {
				return on
			}
		}
		return cfg.TenantScreen(tenant)
	}
}
