package app

import (
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// decide is the conversation engine's RecordConfig.Rule: the rules in
// force evaluated on the call's facts; with no rule matching, record_dns
// (if set) still asks for recording.
func decide(h *rules.Holder, cache *ccdata.Cache, ask *dnfilter.Filter) func(*conversation.Call, string) conversation.Decision {
	return func(c *conversation.Call, dn string) conversation.Decision {
		res := h.Set().Evaluate(callFacts(c, dn, cache.Snapshot()))
		d := conversation.Decision{Rule: res.Rule, Group: res.Group, Geo: res.Geo, Dest: res.Dest, Dest2: res.Dest2,
			AudioSrc: res.AudioSrc, ToneSilenceDuration: res.ToneSilence}
		switch res.Action {
		case rules.ActionRecord:
			d.Record = true
		case rules.ActionPrerecord:
			d.Record, d.Prerecord = true, true
		case rules.ActionDoNotRecord:
			d.DoNotRecord = true
		default:
			if ask != nil && ask.Monitored(dn) {
				d.Record, d.Rule, d.Group = true, "record_dns", ""
			}
		}
		return d
	}
}

// callFacts describes a call to the rules: who called whom, who is on it,
// its agents, attached data, type and the tenant of the recorded DN.
func callFacts(c *conversation.Call, dn string, snap *ccdata.Snapshot) rules.Facts {
	f := rules.Facts{From: c.ANI, UserData: map[string]string{}}
	add := func(list *[]string, v string) {
		if v == "" || v == f.From {
			return
		}
		for _, x := range *list {
			if x == v {
				return
			}
		}
		*list = append(*list, v)
	}
	add(&f.To, c.DNIS)
	for _, p := range c.Parties {
		if f.From == "" && p.State == conversation.PartyDialing {
			f.From = p.DN
		}
	}
	for _, p := range c.Parties {
		if p.DN != f.From {
			add(&f.To, p.DN)
		}
		add(&f.Parties, p.OtherDN)
	}
	for _, m := range c.Members {
		add(&f.Parties, m)
	}
	switch c.Type {
	case tlib.CallTypeInbound:
		f.CallType = "inbound"
	case tlib.CallTypeOutbound:
		f.CallType = "outbound"
	case tlib.CallTypeInternal:
		f.CallType = "internal"
	case tlib.CallTypeConsult:
		f.CallType = "consult"
	}
	for _, kv := range c.UserData {
		switch kv.Type {
		case tlib.KVString, tlib.KVUnicode:
			f.UserData[kv.Key] = kv.Str
		case tlib.KVInt:
			f.UserData[kv.Key] = fmt.Sprint(kv.Int)
		}
	}
	if snap != nil {
		seen := map[string]bool{}
		for _, p := range c.Parties {
			if p.AgentID == "" || seen[p.AgentID] {
				continue
			}
			seen[p.AgentID] = true
			a := rules.Agent{ID: p.AgentID}
			if person, ok := snap.PersonByLogin(c.Switch, p.AgentID); ok {
				a.UserName, a.EmployeeID = person.UserName, person.EmployeeID
				a.FullName = strings.TrimSpace(person.FirstName + " " + person.LastName)
			}
			f.Agents = append(f.Agents, a)
		}
		tid := 0
		if d, ok := snap.DN(c.Switch, dn); ok {
			tid = d.TenantDBID
		}
		if sw, ok := snap.Switch(c.Switch); ok && tid == 0 {
			tid = sw.TenantDBID
		}
		if t, ok := snap.Tenant(tid); ok {
			f.Tenant = t.Name
		}
	} else {
		for _, p := range c.Parties {
			if p.AgentID != "" {
				f.Agents = append(f.Agents, rules.Agent{ID: p.AgentID})
			}
		}
	}
	return f
}
