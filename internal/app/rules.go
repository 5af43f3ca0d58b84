package app

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// ruleHolder holds the recording rules in force; a reload swaps the whole
// set, so every evaluation sees one consistent set.
type ruleHolder struct {
	set  atomic.Pointer[rules.Set]
	path string // serve configuration file the rules come from ("" = none)
	log  *slog.Logger

	mtime time.Time
	size  int64

	// writeMu orders writers of the configuration file (API) and loads of
	// the rules, so the rules in force are always those of the file.
	writeMu sync.Mutex
}

func newRuleHolder(c rules.Config, path string, log *slog.Logger) (*ruleHolder, error) {
	set, err := rules.Compile(c)
	if err != nil {
		return nil, err
	}
	h := &ruleHolder{path: path, log: log}
	h.set.Store(set)
	if fi, err := os.Stat(path); path != "" && err == nil {
		h.mtime, h.size = fi.ModTime(), fi.Size()
	}
	for _, w := range set.Warnings() {
		log.Warn("recording rules", "warning", w)
	}
	return h, nil
}

// Reload reads the rules from the configuration file again. An invalid
// file keeps the rules in force.
func (h *ruleHolder) Reload() error {
	if h.path == "" {
		return nil
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	set, groups, err := compileFile(h.path)
	if err != nil {
		return err
	}
	h.install(set, groups)
	return nil
}

// compileFile loads and compiles the rules of a serve configuration file.
func compileFile(path string) (*rules.Set, int, error) {
	c, err := rules.LoadFile(path)
	if err != nil {
		return nil, 0, err
	}
	set, err := rules.Compile(c)
	if err != nil {
		return nil, 0, err
	}
	return set, len(c.Groups), nil
}

// install puts set in force (h.writeMu held).
func (h *ruleHolder) install(set *rules.Set, groups int) {
	h.set.Store(set)
	h.log.Info("recording rules reloaded", "file", h.path, "rules", set.Len(), "groups", groups)
	for _, w := range set.Warnings() {
		h.log.Warn("recording rules", "warning", w)
	}
}

// changed reports whether the configuration file changed since last seen.
func (h *ruleHolder) changed() bool {
	fi, err := os.Stat(h.path)
	if err != nil {
		return false
	}
	if fi.ModTime().Equal(h.mtime) && fi.Size() == h.size {
		return false
	}
	h.mtime, h.size = fi.ModTime(), fi.Size()
	return true
}

// watch reloads the rules when the configuration file changes (polled
// every `every`) until done is closed.
func (h *ruleHolder) watch(done <-chan struct{}, every time.Duration) {
	if h.path == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if h.changed() {
				if err := h.Reload(); err != nil {
					h.log.Warn("recording rules not reloaded: keeping the rules in force", "file", h.path, "error", err)
				}
			}
		}
	}
}

// decide is the conversation engine's RecordConfig.Rule: the rules in
// force evaluated on the call's facts; with no rule matching, record_dns
// (if set) still asks for recording.
func (h *ruleHolder) decide(cache *ccdata.Cache, ask *dnfilter.Filter) func(*conversation.Call, string) conversation.Decision {
	return func(c *conversation.Call, dn string) conversation.Decision {
		res := h.set.Load().Evaluate(callFacts(c, dn, cache.Snapshot()))
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
