package callcore

import (
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// Tenant implements recorder.TenantAdvisor: the tenant of a new
// recording's call as the CTI side knows it when the first session
// arrives (GEN_CFG_Tenant of the recorded DN's couple, else of the call),
// so that encryption at rest uses that tenant's recipients. ok is false
// when the call is unknown or has no tenant.
func (c *Core) Tenant(s recorder.Session) (string, bool) {
	calls := c.callsOf(s)
	if len(calls) == 0 {
		return "", false
	}
	_, ext := Couples(calls, s.RecordedDN, s.Start, c.cfg.Now())
	tenant := ext[store.TenantKey]
	if tenant == "" {
		tenant = tenantOf(calls[0])
	}
	return tenant, tenant != ""
}

var _ recorder.TenantAdvisor = (*Core)(nil)
