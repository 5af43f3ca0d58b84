package callcore

import (
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// DTMF implements recorder.DTMFAdvisor: the dtmf setting of a new
// recording from what the CTI side knows when its first session arrives
// (in the Genesys flows the call, its tenant and the rule that asked for
// the recording come before the Media Server's INVITE): Config.DTMF of the
// rule that started the recorded DN's recording and of the call's tenant.
// ok is false when the call is unknown or neither sets one.
func (c *Core) DTMF(s recorder.Session) (string, bool) {
	if c.cfg.DTMF == nil {
		return "", false
	}
	calls := c.callsOf(s)
	if len(calls) == 0 {
		return "", false
	}
	rule := ""
	if r := latestRecording(calls[0], s.RecordedDN); r != nil {
		rule = r.Rule
	}
	_, ext := Couples(calls, s.RecordedDN, s.Start, c.cfg.Now())
	tenant := ext[store.TenantKey]
	if tenant == "" {
		tenant = tenantOf(calls[0])
	}
	mode := c.cfg.DTMF(rule, tenant)
	return mode, mode != ""
}

var _ recorder.DTMFAdvisor = (*Core)(nil)
