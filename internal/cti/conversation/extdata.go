package conversation

import (
	"strconv"
	"strings"

	"github.com/openrec/openrec/internal/cti/ccdata"
)

// External-data key prefixes and fixed keys (seed 000).
const (
	PrefixTEV          = "GEN_TEV_"
	PrefixUSR          = "GEN_USR_"
	PrefixEXT          = "GEN_EXT_"
	PrefixCFG          = "GEN_CFG_"
	PrefixREC          = "GEN_REC_"
	KeyConference      = "GEN_CONFERENCE_MEMBERS"
	KeyCSUPMode        = "GEN_TEV_CSUP_MODE"
	KeyCSUPScope       = "GEN_TEV_CSUP_SCOPE"
	KeyCSUPSupID       = "GEN_TEV_CSUP_SUPID"
	KeyCSUPSupDN       = "GEN_TEV_CSUP_SUPDN"
	KeyRecAudio        = "GEN_REC_AUDIO"
	KeyRecState        = "GEN_REC_STATE"
	KeyRecID           = "GEN_REC_ID"
	KeyRecFailure      = "GEN_REC_FAILURE"
	KeyRecError        = "GEN_REC_ERROR"
	KeyRecRule         = "GEN_REC_RULE"
	KeyRecRuleGroup    = "GEN_REC_RULE_GROUP"
	KeyRecRuleAction   = "GEN_REC_RULE_ACTION"
	KeyRecKeep         = "GEN_REC_KEEP"
	conferenceSplitter = ","
)

// keys returns the key lists for dn of the call: its tenant's, or the
// defaults.
func (e *Engine) keys(st *state, dn string) Keys {
	if len(e.cfg.Tenants) > 0 {
		if tc, ok := e.cfg.Tenants[e.tenantOfDN(st.Switch, dn)]; ok && tc.Keys != nil {
			return *tc.Keys
		}
	}
	return e.cfg.Keys
}

func messageKeys(k Keys) []KeyMap {
	if len(k.Message) > 0 {
		return k.Message
	}
	out := make([]KeyMap, len(DefaultMessageKeys))
	for i, k := range DefaultMessageKeys {
		out[i] = KeyMap{From: k}
	}
	return out
}

// tev returns the value of event attribute name for the couple.
func tev(st *state, cp *Couple, p *Party, name string) string {
	switch strings.ToLower(name) {
	case "agentid":
		return p.AgentID
	case "ani":
		return st.ANI
	case "callid":
		if st.CallID != 0 {
			return strconv.FormatInt(st.CallID, 10)
		}
	case "calluuid":
		if !strings.HasPrefix(st.CallUUID, "connid-") {
			return st.CallUUID
		}
	case "calltype":
		return callTypeName(st.Type)
	case "connid":
		if cp.ConnID != 0 {
			return cp.ConnID.String()
		}
	case "dnis":
		return st.DNIS
	case "otherdn":
		return cp.OtherDN
	case "thisdn":
		return cp.ThisDN
	case "collecteddigits":
		return st.CollectedDigits
	case "customerid":
		return st.CustomerID
	case "networkcallid":
		if st.NetworkCallID != 0 {
			return st.NetworkCallID.String()
		}
	case "networknodeid":
		if st.NetworkNodeID != 0 {
			return strconv.FormatInt(st.NetworkNodeID, 10)
		}
	case "nodeid":
		if st.NodeID != 0 {
			return strconv.FormatInt(st.NodeID, 10)
		}
	case "thisqueue":
		return p.Queue
	}
	return ""
}

// fill computes the external data of a couple.
func (e *Engine) fill(st *state, cp *Couple, p *Party) {
	m := make(map[string]string, 24)
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	keys := e.keys(st, cp.ThisDN)
	for _, k := range messageKeys(keys) {
		put(PrefixTEV+firstNonEmpty(k.To, k.From), tev(st, cp, p, k.From))
	}
	for _, k := range keys.Extension {
		put(PrefixEXT+firstNonEmpty(k.To, k.From), st.Extensions.String(k.From))
	}
	if snap := e.snapshot(); snap != nil {
		if p.AgentID != "" {
			if person, ok := snap.PersonByLogin(st.Switch, p.AgentID); ok {
				for k, v := range ccdata.AgentData(person, keys.Agent) {
					put(k, v)
				}
			}
		}
		sw, _ := snap.Switch(st.Switch)
		tid := sw.TenantDBID
		if d, ok := snap.DN(st.Switch, cp.ThisDN); ok && d.TenantDBID != 0 {
			tid = d.TenantDBID
		}
		t, _ := snap.Tenant(tid)
		for k, v := range ccdata.TenantKeys(t, sw) {
			put(k, v)
		}
	}
	if len(cp.Members) > 2 {
		put(KeyConference, strings.Join(cp.Members, conferenceSplitter))
	}
	if s := cp.Supervision; s != nil {
		put(KeyCSUPMode, s.Mode)
		put(KeyCSUPScope, s.Scope)
		put(KeyCSUPSupID, s.SupID)
		put(KeyCSUPSupDN, s.SupDN)
	}
	if r := st.rec(cp.ThisDN); r != nil {
		put(KeyRecID, r.ID)
		put(KeyRecState, string(r.State))
		put(KeyRecFailure, string(r.Failure))
		put(KeyRecError, r.Error)
		put(KeyRecRule, r.Rule)
		put(KeyRecRuleGroup, r.RuleGroup)
		put(KeyRecRuleAction, r.RuleAction)
		if r.Prerecord || r.Discarded {
			put(KeyRecKeep, keepName(r))
		}
	}
	put(KeyRecAudio, st.Notification)
	cp.ExternalData = m
	e.fillUser(st, cp)
}

// fillUser (re)computes the GEN_USR_* keys of a couple from the call's
// attached data.
func (e *Engine) fillUser(st *state, cp *Couple) {
	if cp.ExternalData == nil {
		cp.ExternalData = map[string]string{}
	}
	for k := range cp.ExternalData {
		if strings.HasPrefix(k, PrefixUSR) {
			delete(cp.ExternalData, k)
		}
	}
	for _, k := range e.keys(st, cp.ThisDN).User {
		if v := st.UserData.String(k.From); v != "" {
			cp.ExternalData[PrefixUSR+firstNonEmpty(k.To, k.From)] = v
		}
	}
}

// keepName is GEN_REC_KEEP: pending, kept or discarded.
func keepName(r *Recording) string {
	switch {
	case r.Discarded || r.Keep == KeepNo:
		return "discarded"
	case r.Keep == KeepYes:
		return "kept"
	}
	return "pending"
}
