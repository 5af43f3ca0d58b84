package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// Agent is an agent on the call: the login code it is logged in with and
// the person behind it (from the configuration).
type Agent struct {
	ID         string `json:"id,omitempty"`          // AgentID, the login code
	UserName   string `json:"user_name,omitempty"`   // the person's user name
	EmployeeID string `json:"employee_id,omitempty"` // the person's employee id
	FullName   string `json:"full_name,omitempty"`   // first and last name
}

// Facts is what is known about a call when rules are evaluated.
type Facts struct {
	From     string            // the party that made the call (ANI, or the dialing DN)
	To       []string          // the parties the call was made to (DNIS, the called/ringing DNs)
	Parties  []string          // every other DN/number on the call (conference members); From and To count as parties too
	Agents   []Agent           // agents on the call
	UserData map[string]string // attached data
	CallType string            // inbound | outbound | internal | consult | "" (case-insensitive)
	Tenant   string            // the call's tenant name (case-insensitive)
}

// Step is one rule considered by Evaluate.
type Step struct {
	Group   string `json:"group"`
	Rule    string `json:"rule"`
	Action  Action `json:"action"` // the rule's action, matched or not
	Matched bool   `json:"matched"`
	// Reason says why the rule matched (every condition) or the first
	// condition that failed, e.g. `mask "20??>": caller "3001" does not
	// match "20??"`, `group scope dns "20??": no party matches (...)`,
	// "disabled".
	Reason string `json:"reason"`
}

// Result is the outcome of Evaluate.
type Result struct {
	Action Action `json:"action"`
	Rule   string `json:"rule"`  // the winning rule; "" for ActionNone
	Group  string `json:"group"` // its group; "" for ActionNone
	// Options of the winning rule for the recording START ("" = the
	// tenant's or the global setting).
	Geo         string `json:"geo,omitempty"`
	Dest        string `json:"dest,omitempty"`
	Dest2       string `json:"dest2,omitempty"`
	AudioSrc    string `json:"audiosrc,omitempty"`
	ToneSilence string `json:"tone_silence,omitempty"`
	// Every rule considered, in order, up to and including the winner.
	Trace []Step `json:"trace"`
}

// String returns a human trace: one line per step, then the decision:
//
//	Admin/no-ivr (do_not_record): no: mask "7*": no party matches ("2001", "5551234")
//	Sales/sales-out (record): MATCH: mask "20??>": caller "2001" matches "20??"
//	=> record (rule sales-out, group Sales)
func (r Result) String() string {
	var b strings.Builder
	for _, st := range r.Trace {
		verdict := "no"
		if st.Matched {
			verdict = "MATCH"
		}
		fmt.Fprintf(&b, "%s/%s (%s): %s: %s\n", st.Group, st.Rule, st.Action, verdict, st.Reason)
	}
	if r.Action == ActionNone || r.Action == "" {
		b.WriteString("=> none (no rule matched)")
		return b.String()
	}
	fmt.Fprintf(&b, "=> %s (rule %s, group %s)", r.Action, r.Rule, r.Group)
	var opts []string
	for _, o := range []struct{ k, v string }{
		{"geo", r.Geo}, {"dest", r.Dest}, {"dest2", r.Dest2}, {"audiosrc", r.AudioSrc}, {"tone_silence", r.ToneSilence},
	} {
		if o.v != "" {
			opts = append(opts, o.k+"="+o.v)
		}
	}
	if len(opts) > 0 {
		b.WriteString(" " + strings.Join(opts, " "))
	}
	return b.String()
}

// call is the view of Facts the masks are matched against.
type call struct {
	from    string
	to      []string // non-empty entries of Facts.To
	parties []string // From, To..., Parties..., non-empty, deduplicated (case-insensitive)
}

func newCall(f *Facts) call {
	c := call{from: f.From}
	n := len(f.To) + len(f.Parties) + 1
	c.to = make([]string, 0, len(f.To))
	c.parties = make([]string, 0, n)
	add := func(v string) {
		if v == "" {
			return
		}
		for _, p := range c.parties {
			if strings.EqualFold(p, v) {
				return
			}
		}
		c.parties = append(c.parties, v)
	}
	add(f.From)
	for _, t := range f.To {
		if t != "" {
			c.to = append(c.to, t)
			add(t)
		}
	}
	for _, p := range f.Parties {
		add(p)
	}
	return c
}

// Evaluate returns the decision of the set for a call: the first rule (in
// group order, then rule order) that is not disabled, whose group scope
// matches and whose every condition matches. With no such rule the action
// is ActionNone.
func (s *Set) Evaluate(f Facts) Result {
	c := newCall(&f)
	res := Result{Action: ActionNone}
	if s.n > 0 {
		res.Trace = make([]Step, 0, s.n)
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		var (
			scopeDone, scopeOK bool
			scopeWhy           string
		)
		for ri := range g.rules {
			r := &g.rules[ri]
			st := Step{Group: g.name, Rule: r.name, Action: r.action}
			if r.disabled {
				st.Reason = "disabled"
				res.Trace = append(res.Trace, st)
				continue
			}
			if !scopeDone {
				scopeOK, scopeWhy = g.matchScope(&c, &f)
				scopeDone = true
			}
			if !scopeOK {
				st.Reason = scopeWhy
				res.Trace = append(res.Trace, st)
				continue
			}
			ok, why := r.match(&c, &f)
			if ok && scopeWhy != "" {
				why = scopeWhy + "; " + why
			}
			st.Matched, st.Reason = ok, why
			res.Trace = append(res.Trace, st)
			if ok {
				res.Action, res.Rule, res.Group = r.action, r.name, g.name
				res.Geo, res.Dest, res.Dest2 = r.opts.geo, r.opts.dest, r.opts.dest2
				res.AudioSrc, res.ToneSilence = r.opts.audioSrc, r.opts.toneSilence
				return res
			}
		}
	}
	return res
}

// matchScope checks the group's scope. The reason is "" for a group
// without scope, else it describes the match or the first mismatch.
func (g *group) matchScope(c *call, f *Facts) (bool, string) {
	var parts []string
	if g.tenant != "" {
		if !strings.EqualFold(g.tenant, f.Tenant) {
			return false, fmt.Sprintf("group scope tenant %q: %s", g.tenant, tenantMismatch(f.Tenant))
		}
		parts = append(parts, fmt.Sprintf("group scope tenant %q", g.tenant))
	}
	if g.dns != nil {
		ok, why := g.dns.matchCall(c)
		why = fmt.Sprintf("group scope dns %q: %s", g.dnsTxt, why)
		if !ok {
			return false, why
		}
		parts = append(parts, why)
	}
	if g.agents != nil {
		ok, why := false, ""
		for i, m := range g.agents {
			if ok, why = matchAgents(m, f.Agents, agentIDs); ok {
				why = fmt.Sprintf("group scope agents %q: %s", g.agTxt[i], why)
				break
			}
		}
		if !ok {
			return false, fmt.Sprintf("group scope agents %s: %s", quoteList(g.agTxt), why)
		}
		parts = append(parts, why)
	}
	return true, strings.Join(parts, "; ")
}

func tenantMismatch(t string) string {
	if t == "" {
		return "the call has no tenant"
	}
	return fmt.Sprintf("the call's tenant is %q", t)
}

// match checks the rule's conditions in a fixed order: tenant, call_type,
// mask, agent, person, userdata. The reason lists every condition when it
// matches, else the first one that failed.
func (r *rule) match(c *call, f *Facts) (bool, string) {
	var parts []string
	if r.tenant != "" {
		if !strings.EqualFold(r.tenant, f.Tenant) {
			return false, fmt.Sprintf("tenant %q: %s", r.tenant, tenantMismatch(f.Tenant))
		}
		parts = append(parts, fmt.Sprintf("tenant %q", r.tenant))
	}
	if r.callType != "" {
		if !strings.EqualFold(r.callType, f.CallType) {
			if f.CallType == "" {
				return false, fmt.Sprintf("call_type %s: the call type is unknown", r.callType)
			}
			return false, fmt.Sprintf("call_type %s: the call is %s", r.callType, f.CallType)
		}
		parts = append(parts, "call_type "+r.callType)
	}
	if r.mask != nil {
		ok, why := r.mask.matchCall(c)
		why = fmt.Sprintf("mask %q: %s", r.maskTxt, why)
		if !ok {
			return false, why
		}
		parts = append(parts, why)
	}
	if r.agent != nil {
		ok, why := matchAgents(r.agent, f.Agents, agentIDs)
		why = fmt.Sprintf("agent %q: %s", r.agentTxt, why)
		if !ok {
			return false, why
		}
		parts = append(parts, why)
	}
	if r.person != nil {
		ok, why := matchAgents(r.person, f.Agents, personIDs)
		why = fmt.Sprintf("person %q: %s", r.persTxt, why)
		if !ok {
			return false, why
		}
		parts = append(parts, why)
	}
	for _, u := range r.userdata {
		v, present := f.UserData[u.key]
		switch {
		case !present:
			return false, fmt.Sprintf("userdata %s: not attached", u.key)
		case !glob(u.pattern, v, false):
			return false, fmt.Sprintf("userdata %s=%q does not match %q", u.key, v, u.pattern)
		}
		parts = append(parts, fmt.Sprintf("userdata %s=%q matches %q", u.key, v, u.pattern))
	}
	if len(parts) == 0 {
		return true, "no condition: every call"
	}
	return true, strings.Join(parts, "; ")
}

// agentIDs are the agent fields an agent mask is matched against; personIDs
// those of a person mask.
func agentIDs(a *Agent) [3]string  { return [3]string{a.ID, a.UserName} }
func personIDs(a *Agent) [3]string { return [3]string{a.UserName, a.EmployeeID, a.FullName} }

// matchAgents reports whether some non-empty field (picked by ids) of some
// agent matches m.
func matchAgents(m *mask, agents []Agent, ids func(*Agent) [3]string) (bool, string) {
	var seen []string
	for i := range agents {
		for _, v := range ids(&agents[i]) {
			if v == "" {
				continue
			}
			if m.matchValue(v) {
				return true, fmt.Sprintf("%q matches", v)
			}
			seen = append(seen, v)
		}
	}
	if len(agents) == 0 {
		return false, "no agent on the call"
	}
	return false, fmt.Sprintf("no agent matches (%s)", quoteList(seen))
}

// matchValue matches an agent or person mask: any term's side matches v.
func (m *mask) matchValue(v string) bool {
	for _, t := range m.terms {
		if t.kind == termAll || t.a.match(v) {
			return true
		}
	}
	return false
}

// matchCall matches a number mask against the call. The reason names the
// matching party (or parties), or why the only term failed, or lists the
// call's parties when none of several terms matched.
func (m *mask) matchCall(c *call) (bool, string) {
	var why string
	for _, t := range m.terms {
		var ok bool
		if ok, why = t.matchCall(c); ok {
			if len(m.terms) > 1 {
				why = fmt.Sprintf("term %q: %s", t.String(), why)
			}
			return true, why
		}
	}
	if len(m.terms) == 1 {
		return false, why
	}
	return false, fmt.Sprintf("no term matches (caller %s, called %s, parties %s)", quoteOne(c.from), quoteList(c.to), quoteList(c.parties))
}

func quoteOne(v string) string {
	if v == "" {
		return "unknown"
	}
	return strconv.Quote(v)
}

func (t term) matchCall(c *call) (bool, string) {
	switch t.kind {
	case termAll:
		return true, "every call"
	case termParty:
		for _, p := range c.parties {
			if t.a.match(p) {
				return true, fmt.Sprintf("party %q matches", p)
			}
		}
		return false, fmt.Sprintf("no party matches (%s)", quoteList(c.parties))
	case termFrom:
		return matchFrom(t.a, c)
	case termTo:
		return matchTo(t.b, c)
	case termFromTo:
		ok, why := matchFrom(t.a, c)
		if !ok {
			return false, why
		}
		ok, why2 := matchTo(t.b, c)
		if !ok {
			return false, why2
		}
		return true, why + " and " + why2
	default: // termBetween
		for i, p := range c.parties {
			if !t.a.match(p) {
				continue
			}
			for j, q := range c.parties {
				if i != j && t.b.match(q) {
					return true, fmt.Sprintf("%q and %q are on the call", p, q)
				}
			}
		}
		return false, fmt.Sprintf("no two different parties match %q and %q (%s)", t.a.text, t.b.text, quoteList(c.parties))
	}
}

func matchFrom(s side, c *call) (bool, string) {
	switch {
	case s.any:
		return true, "any caller"
	case c.from == "":
		return false, "the caller is unknown"
	case s.match(c.from):
		return true, fmt.Sprintf("caller %q matches %q", c.from, s.text)
	}
	return false, fmt.Sprintf("caller %q does not match %q", c.from, s.text)
}

func matchTo(s side, c *call) (bool, string) {
	if s.any {
		return true, "any called party"
	}
	for _, t := range c.to {
		if s.match(t) {
			return true, fmt.Sprintf("called %q matches %q", t, s.text)
		}
	}
	if len(c.to) == 0 {
		return false, "no called party"
	}
	return false, fmt.Sprintf("called %s does not match %q", quoteList(c.to), s.text)
}
