package callcore

import (
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// LiveCTICall is a monitored call in progress as the CTI side sees it.
type LiveCTICall struct {
	CallUUID, ConnID, CallType, Tenant string
	ANI, DNIS                          string
	Started                            time.Time
	Parties                            []LiveParty
	// Alerts are the failed-recording states still open on the call's
	// recordings ("no-leg", "one-leg", "no-rtp", and "service-error" for a
	// recording request SIP Server refused).
	Alerts []string
}

// LiveParty is one party (not released) of a live call.
type LiveParty struct {
	DN, AgentID string
	State       string // ringing | dialing | established | held
	Monitored   bool
	// RecordID is the engine's record id of the DN's latest recording;
	// RecordingID the recorder's recording (store row) joined to it, ""
	// until its SIP session arrives.
	RecordID, RecordingID string
	// RecordingState: requested | on | paused | stopped | failed | "".
	RecordingState string
	// Decision: the recording rule's action for the DN's latest
	// recording: record | prerecord | do-not-record | request (asked
	// through Control or a desktop) | "".
	Decision string
	// Failure: the recording's open failed-recording state (no-leg,
	// one-leg, no-rtp) or "".
	Failure string
}

// LiveCalls returns the monitored calls in progress (not released), oldest
// first, with their parties' recording states and open alerts.
func (c *Core) LiveCalls() []LiveCTICall {
	calls := c.eng.Calls()
	sessions := c.led.liveSessions()
	out := make([]LiveCTICall, 0, len(calls))
	for _, call := range calls {
		if !call.Released.IsZero() {
			continue
		}
		lc := LiveCTICall{
			CallUUID: call.CallUUID, ConnID: call.ConnID.String(), CallType: callTypeName(call.Type),
			Tenant: tenantOf(call), ANI: call.ANI, DNIS: call.DNIS, Started: call.Started,
		}
		for _, p := range call.Parties {
			if p.State == conversation.PartyReleased {
				continue
			}
			lp := LiveParty{DN: p.DN, AgentID: p.AgentID, State: string(p.State), Monitored: p.Monitored}
			if r := latestRecording(call, p.DN); r != nil {
				lp.RecordID = r.ID
				lp.RecordingState = recordingState(r.State)
				lp.Decision = decisionName(r.RuleAction)
				lp.Failure = string(r.Failure)
				lp.RecordingID = sessionFor(sessions, call.CallUUID, r)
			}
			lc.Parties = append(lc.Parties, lp)
		}
		for _, r := range call.Recordings {
			if r.Failure != conversation.FailNone {
				lc.Alerts = appendOnce(lc.Alerts, string(r.Failure))
			}
			if r.State == conversation.RecFailed && r.Error != "" {
				lc.Alerts = appendOnce(lc.Alerts, string(conversation.AlertServiceError))
			}
		}
		out = append(out, lc)
	}
	return out
}

// LiveInfo implements recorder.LiveCorrelator: the correlation the
// recording would be stored with if it ended now ("matched", "gim",
// "not-cc-controlled" or "no-cti-call") and its tenant.
func (c *Core) LiveInfo(s recorder.Session) (correlation, tenant string) {
	calls, dn, corr := c.callsOf(s), s.RecordedDN, "matched"
	if len(calls) == 0 && c.needsGIM(s) {
		if l := c.gim.get(s.RecordingID); l != nil && l.finished() {
			if l.controlled {
				calls, dn, corr = c.gimCalls(l), l.dn, CorrelationGIM
			} else if l.settled {
				corr = CorrelationNotControlled
			}
		}
	}
	if len(calls) == 0 {
		if c.cfg.SourceTenant != nil {
			tenant = c.cfg.SourceTenant(s.Source)[store.TenantKey]
		}
		if corr != CorrelationNotControlled {
			corr = CorrelationNoCall
		}
		return corr, tenant
	}
	_, ext := Couples(calls, dn, s.Start, c.cfg.Now())
	tenant = ext[store.TenantKey]
	if tenant == "" {
		tenant = tenantOf(calls[0])
	}
	return corr, tenant
}

var _ recorder.LiveCorrelator = (*Core)(nil)

// latestRecording returns the DN's latest recording on the call.
func latestRecording(call *conversation.Call, dn string) *conversation.Recording {
	for i := len(call.Recordings) - 1; i >= 0; i-- {
		if call.Recordings[i].DN == dn {
			return &call.Recordings[i]
		}
	}
	return nil
}

// sessionFor returns the recording id of the live session joined to r:
// by record id, else by CallUUID and recorded DN; the latest if several.
func sessionFor(sessions []recorder.Session, callUUID string, r *conversation.Recording) string {
	var best recorder.Session
	for _, s := range sessions {
		match := (r.ID != "" && s.RecordID == r.ID) || (s.CallUUID == callUUID && s.RecordedDN == r.DN)
		if match && (best.RecordingID == "" || s.Start.After(best.Start)) {
			best = s
		}
	}
	return best.RecordingID
}

// tenantOf returns the tenant name the call's couples carry (the last one
// that names it).
func tenantOf(call *conversation.Call) string {
	for i := len(call.Couples) - 1; i >= 0; i-- {
		if v := call.Couples[i].ExternalData[store.TenantKey]; v != "" {
			return v
		}
	}
	return ""
}

func recordingState(s conversation.RecState) string {
	switch s {
	case conversation.RecRequested:
		return "requested"
	case conversation.RecOn:
		return "on"
	case conversation.RecPaused:
		return "paused"
	case conversation.RecOff:
		return "stopped"
	case conversation.RecFailed:
		return "failed"
	}
	return ""
}

func decisionName(action string) string {
	switch action {
	case "do_not_record":
		return "do-not-record"
	case "none":
		return ""
	}
	return action
}

func callTypeName(t int) string {
	switch t {
	case tlib.CallTypeInternal:
		return "internal"
	case tlib.CallTypeInbound:
		return "inbound"
	case tlib.CallTypeOutbound:
		return "outbound"
	case tlib.CallTypeConsult:
		return "consult"
	}
	return "unknown"
}
