package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Action is what a rule does with the calls it matches.
type Action string

// The actions. ActionNone is the result when no rule matched.
const (
	ActionNone        Action = "none"          // no rule matched
	ActionRecord      Action = "record"        // record the call
	ActionPrerecord   Action = "prerecord"     // record, keep only on a keep request
	ActionDoNotRecord Action = "do_not_record" // do not record (stop, delete what was captured)
)

// parseAction accepts the action names case-insensitively, with "-", "_"
// or spaces between words: "do-not-record", "Do not record", "pre-record".
func parseAction(s string) (Action, bool) {
	n := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == ' ' {
			return -1
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(s))
	switch n {
	case "record":
		return ActionRecord, true
	case "prerecord":
		return ActionPrerecord, true
	case "donotrecord":
		return ActionDoNotRecord, true
	}
	return "", false
}

// The call types a rule can require.
var callTypes = []string{"inbound", "outbound", "internal", "consult"}

// The values of RuleConfig.Geo.
var geoValues = []string{"none", "source", "destination"}

// Set is a compiled, validated set of rules. It is immutable and safe for
// concurrent use.
type Set struct {
	cfg      Config
	groups   []group
	n        int
	warnings []string
}

type group struct {
	name   string
	tenant string   // scope: "" = any
	dns    *mask    // scope: nil = any
	agents []*mask  // scope: nil = any
	dnsTxt string   // as written, for reasons
	agTxt  []string // as written, for reasons
	rules  []rule
}

func (g *group) scoped() bool { return g.tenant != "" || g.dns != nil || g.agents != nil }

type rule struct {
	name      string
	action    Action
	retention *time.Duration // nil = not set (tenant's or global period)
	dtmf      string         // "" = not set
	screen    *bool          // nil = not set
	disabled  bool
	tenant    string
	callType  string
	mask      *mask // nil = any call
	maskTxt   string
	agent     *mask
	agentTxt  string
	person    *mask
	persTxt   string
	userdata  []udCond // sorted by key
	opts      options
}

// matchesEverything reports whether the rule matches every call its group
// lets through: no condition, or only a mask that matches every call.
func (r *rule) matchesEverything() bool {
	return !r.disabled && r.tenant == "" && r.callType == "" && r.agent == nil && r.person == nil &&
		len(r.userdata) == 0 && (r.mask == nil || r.mask.matchesAll())
}

type udCond struct{ key, pattern string }

type options struct{ geo, dest, dest2, audioSrc, toneSilence string }

// Compile validates c and returns its Set. The error wraps ErrInvalid (and
// ErrBadMask for a mask) and names the place, e.g.
//
//	rules: group "Sales" rule 2 ("vip"): mask "20?>>": more than one ">" or "=" in a term
//
// An empty Config compiles to an empty Set, for which every call is
// ActionNone.
func Compile(c Config) (*Set, error) {
	s := &Set{cfg: c.clone()}
	groupNames := map[string]int{}
	ruleNames := map[string]string{} // folded name -> place of first use
	for gi, gc := range c.Groups {
		gplace := fmt.Sprintf("rules: group %d", gi+1)
		if gc.Name != "" {
			gplace = fmt.Sprintf("rules: group %q", gc.Name)
		}
		g, err := compileGroup(gc)
		if err != nil {
			return nil, wrapInvalid(gplace, err)
		}
		key := strings.ToLower(gc.Name)
		if prev, dup := groupNames[key]; dup {
			return nil, wrapInvalid(fmt.Sprintf("rules: group %d", gi+1), fmt.Errorf("name %q is already used by group %d", gc.Name, prev))
		}
		groupNames[key] = gi + 1
		for ri, rc := range gc.Rules {
			place := fmt.Sprintf("%s rule %d", gplace, ri+1)
			if rc.Name != "" {
				place += fmt.Sprintf(" (%q)", rc.Name)
			}
			r, err := compileRule(rc)
			if err != nil {
				return nil, wrapInvalid(place, err)
			}
			key := strings.ToLower(rc.Name)
			if prev, dup := ruleNames[key]; dup {
				return nil, wrapInvalid(place, fmt.Errorf("name %q is already used by %s", rc.Name, prev))
			}
			ruleNames[key] = strings.TrimPrefix(place, "rules: ")
			g.rules = append(g.rules, r)
			s.n++
		}
		s.groups = append(s.groups, g)
	}
	s.warnings = lint(s.groups)
	return s, nil
}

func compileGroup(gc GroupConfig) (group, error) {
	g := group{name: gc.Name, tenant: strings.TrimSpace(gc.Tenant), dnsTxt: gc.DNs}
	if err := checkName(gc.Name); err != nil {
		return g, err
	}
	if strings.TrimSpace(gc.DNs) != "" {
		m, err := parseMask(gc.DNs, numberMask)
		if err != nil {
			return g, wrapInvalid(fmt.Sprintf("dns %q", gc.DNs), err)
		}
		g.dns = m
	}
	for i, a := range gc.Agents {
		m, err := parseMask(a, agentMask)
		if err != nil {
			return g, wrapInvalid(fmt.Sprintf("agents[%d] %q", i, a), err)
		}
		g.agents = append(g.agents, m)
		g.agTxt = append(g.agTxt, a)
	}
	return g, nil
}

func compileRule(rc RuleConfig) (rule, error) {
	r := rule{name: rc.Name, disabled: rc.Disabled, tenant: strings.TrimSpace(rc.Tenant)}
	if err := checkName(rc.Name); err != nil {
		return r, err
	}
	var ok bool
	if r.action, ok = parseAction(rc.Action); !ok {
		if strings.TrimSpace(rc.Action) == "" {
			return r, fmt.Errorf("action is required (record, prerecord or do_not_record)")
		}
		return r, fmt.Errorf("action %q: want record, prerecord or do_not_record", rc.Action)
	}
	if ct := strings.ToLower(strings.TrimSpace(rc.CallType)); ct != "" {
		if !slices.Contains(callTypes, ct) {
			return r, fmt.Errorf("call_type %q: want inbound, outbound, internal or consult", rc.CallType)
		}
		r.callType = ct
	}
	if t := strings.TrimSpace(rc.Mask); t != "" {
		m, err := parseMask(t, numberMask)
		if err != nil {
			return r, wrapInvalid(fmt.Sprintf("mask %q", rc.Mask), err)
		}
		r.mask, r.maskTxt = m, rc.Mask
	}
	if t := strings.TrimSpace(rc.Agent); t != "" {
		m, err := parseMask(t, agentMask)
		if err != nil {
			return r, wrapInvalid(fmt.Sprintf("agent %q", rc.Agent), err)
		}
		r.agent, r.agentTxt = m, rc.Agent
	}
	if t := strings.TrimSpace(rc.Person); t != "" {
		m, err := parseMask(t, personMask)
		if err != nil {
			return r, wrapInvalid(fmt.Sprintf("person %q", rc.Person), err)
		}
		r.person, r.persTxt = m, rc.Person
	}
	for _, k := range slices.Sorted(maps.Keys(rc.UserData)) {
		if strings.TrimSpace(k) == "" {
			return r, fmt.Errorf("userdata: empty key")
		}
		if err := checkText(rc.UserData[k]); err != nil {
			return r, fmt.Errorf("userdata %q: %w", k, err)
		}
		r.userdata = append(r.userdata, udCond{key: k, pattern: rc.UserData[k]})
	}
	if geo := strings.ToLower(strings.TrimSpace(rc.Geo)); geo != "" {
		if !slices.Contains(geoValues, geo) {
			return r, fmt.Errorf("geo %q: want none, source or destination", rc.Geo)
		}
		r.opts.geo = geo
	}
	for _, f := range []struct {
		name, v string
		dst     *string
	}{{"dest", rc.Dest, &r.opts.dest}, {"dest2", rc.Dest2, &r.opts.dest2}, {"audiosrc", rc.AudioSrc, &r.opts.audioSrc}} {
		if strings.ContainsFunc(f.v, unicode.IsSpace) || strings.ContainsFunc(f.v, unicode.IsControl) {
			return r, fmt.Errorf("%s %q: spaces and control characters are not allowed", f.name, f.v)
		}
		*f.dst = f.v
	}
	if t := strings.TrimSpace(rc.Retention); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			return r, fmt.Errorf("retention %q: want a duration such as 2160h (90 days), or 0 to keep for ever", rc.Retention)
		}
		if r.action == ActionDoNotRecord {
			return r, fmt.Errorf("retention %q: a do_not_record rule keeps no recordings", rc.Retention)
		}
		r.retention = &d
	}
	switch rc.DTMF {
	case "":
	case "keep", "mask", "mask-and-drop-events":
		if r.action == ActionDoNotRecord {
			return r, fmt.Errorf("dtmf %q: a do_not_record rule records nothing", rc.DTMF)
		}
		r.dtmf = rc.DTMF
	default:
		return r, fmt.Errorf("dtmf %q: want keep, mask or mask-and-drop-events", rc.DTMF)
	}
	if rc.Screen != nil {
		if *rc.Screen && r.action == ActionDoNotRecord {
			return r, fmt.Errorf("screen: true: a do_not_record rule records nothing")
		}
		v := *rc.Screen
		r.screen = &v
	}
	if ts := strings.TrimSpace(rc.ToneSilence); ts != "" {
		if !allDigits(ts) {
			return r, fmt.Errorf("tone_silence %q: want milliseconds (digits only)", rc.ToneSilence)
		}
		r.opts.toneSilence = ts
	}
	return r, nil
}

func checkName(n string) error {
	if strings.TrimSpace(n) == "" {
		return fmt.Errorf("name is required")
	}
	if n != strings.TrimSpace(n) {
		return fmt.Errorf("name %q: leading or trailing spaces", n)
	}
	return checkText(n)
}

func checkText(s string) error {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%q: control characters are not allowed", s)
	}
	return nil
}

// Config returns a deep copy of the configuration the set was compiled from.
func (s *Set) Config() Config { return s.cfg.clone() }

// Retentions returns the retention period of every rule that sets one
// (disabled rules included: their recordings still carry their name), by
// rule name as written. A period of 0 keeps the rule's recordings for
// ever.
func (s *Set) Retentions() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, g := range s.groups {
		for _, r := range g.rules {
			if r.retention != nil {
				out[r.name] = *r.retention
			}
		}
	}
	return out
}

// DTMF returns the dtmf setting of the rule named name (case-insensitive;
// disabled rules included, as for Retentions): "" when it sets none.
func (s *Set) DTMF(name string) string {
	for _, g := range s.groups {
		for _, r := range g.rules {
			if r.dtmf != "" && strings.EqualFold(r.name, name) {
				return r.dtmf
			}
		}
	}
	return ""
}

// Screen returns the screen setting of the rule named name
// (case-insensitive; disabled rules included, as for DTMF): set false when
// the rule sets none.
func (s *Set) Screen(name string) (screen, set bool) {
	for _, g := range s.groups {
		for _, r := range g.rules {
			if r.screen != nil && strings.EqualFold(r.name, name) {
				return *r.screen, true
			}
		}
	}
	return false, false
}

// Len returns the number of rules (disabled ones included).
func (s *Set) Len() int { return s.n }

// Warnings returns the lint findings of the set, in evaluation order:
//   - a do_not_record rule below a record or prerecord rule of the same
//     group (the seed's advice: put do-not-record rules above record rules;
//     a call matching both is recorded);
//   - a rule that can never win because an earlier rule matches every call
//     (no condition, or only an empty or "*" mask) and is not limited by a
//     group scope, or is in the same group.
//
// Disabled rules are ignored. Warnings never stop a set from working.
func (s *Set) Warnings() []string { return slices.Clone(s.warnings) }

func lint(groups []group) []string {
	var ws []string
	type catchAll struct {
		group, rule string
		index       int
	}
	var global *catchAll // the first rule matching every call, outside any scope
	for gi := range groups {
		g := &groups[gi]
		local := global // in a scoped group, a catch-all shadows the rest of the group
		firstRecord := -1
		for ri := range g.rules {
			r := &g.rules[ri]
			if r.disabled {
				continue
			}
			if local != nil {
				ws = append(ws, fmt.Sprintf("group %q rule %d (%q) is unreachable: group %q rule %d (%q) above it matches every call",
					g.name, ri+1, r.name, local.group, local.index+1, local.rule))
			}
			switch r.action {
			case ActionRecord, ActionPrerecord:
				if firstRecord < 0 {
					firstRecord = ri
				}
			case ActionDoNotRecord:
				if firstRecord >= 0 {
					fr := &g.rules[firstRecord]
					ws = append(ws, fmt.Sprintf("group %q: do_not_record rule %d (%q) is below %s rule %d (%q): a call matching both is recorded; put do-not-record rules above record rules",
						g.name, ri+1, r.name, fr.action, firstRecord+1, fr.name))
				}
			}
			if local == nil && r.matchesEverything() {
				local = &catchAll{group: g.name, rule: r.name, index: ri}
				if !g.scoped() {
					global = local
				}
			}
		}
	}
	return ws
}
