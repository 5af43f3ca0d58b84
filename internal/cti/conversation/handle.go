package conversation

import (
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Handle applies one T-Library event received from server at `at` and
// returns the actions it causes. Events of DNs that are not monitored only
// update calls already known (attached data, attributes); they never create
// parties or couples.
func (e *Engine) Handle(server string, m *tlib.Message, at time.Time) []Action {
	if m == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	thisDN := m.ThisDN()
	if a := m.Str(tlib.AttrAgentID); a != "" && thisDN != "" {
		e.agents[dnKey{server, thisDN}] = a
	}
	if m.Type == tlib.EventUserEvent {
		return e.userEvent(server, m, at)
	}
	switch m.Type {
	case tlib.EventAgentLogin, tlib.EventAgentLogout, tlib.EventAgentReady, tlib.EventAgentNotReady,
		tlib.EventAgentAfterCallWork:
		if m.Type == tlib.EventAgentLogout && thisDN != "" {
			delete(e.agents, dnKey{server, thisDN})
		}
		return nil
	case tlib.EventRinging, tlib.EventDialing, tlib.EventEstablished, tlib.EventReleased,
		tlib.EventAbandoned, tlib.EventHeld, tlib.EventRetrieved, tlib.EventPartyChanged,
		tlib.EventPartyAdded, tlib.EventPartyDeleted, tlib.EventAttachedDataChanged,
		tlib.EventQueued, tlib.EventDiverted, tlib.EventNetworkReached, tlib.EventRouteRequest,
		tlib.EventRouteUsed, tlib.EventPartyInfo, tlib.EventPrivateInfo, tlib.EventDestinationBusy:
	default:
		return nil
	}
	conn := m.ConnID()
	if conn == 0 {
		return nil
	}
	mon := e.monitored(server, thisDN)
	st := e.lookup(server, m)
	if st == nil {
		switch m.Type {
		case tlib.EventRinging, tlib.EventDialing, tlib.EventEstablished, tlib.EventPartyInfo,
			tlib.EventPartyChanged, tlib.EventHeld, tlib.EventRetrieved:
			// attached data of an unknown call (e.g. after the wrap-up
			// period) does not create one
		default:
			return nil
		}
		if !mon {
			return nil
		}
		st = e.newCall(server, m, at)
	}
	e.common(st, server, m, at)
	st.Unsynced = false // any event confirms the call after a link loss
	var acts []Action
	if mon {
		acts = e.partyEvent(st, server, m, at)
	}
	switch m.Type {
	case tlib.EventAttachedDataChanged, tlib.EventRinging, tlib.EventEstablished, tlib.EventPartyInfo:
		acts = append(acts, e.userDataChanged(st, m, at)...)
	}
	e.pciKeyFrom(st, m)
	acts = append(acts, e.pciPause(st, at)...)
	e.refresh(st, at)
	acts = append(acts, e.notify(st, at)...)
	return acts
}

// userEvent applies a keep request sent by a desktop as EventUserEvent
// (user data carrying the keep key) to the call its ConnID names.
func (e *Engine) userEvent(server string, m *tlib.Message, at time.Time) []Action {
	ud := e.decodeList(m.UserData())
	v := ud.String(e.cfg.Record.KeepKey)
	if v == "" || m.ConnID() == 0 {
		return nil
	}
	st := e.lookup(server, m)
	if st == nil {
		return nil
	}
	acts := e.keepRequest(st, v, "user event", at)
	e.refresh(st, at)
	return append(acts, e.notify(st, at)...)
}

func (e *Engine) lookup(server string, m *tlib.Message) *state {
	if u, ok := e.byConn[connKey{server, m.ConnID()}]; ok {
		if st, ok := e.calls[u]; ok {
			return st
		}
	}
	if m.Type == tlib.EventPartyChanged {
		// the DN moved: find the call through the ConnID it had before
		if u, ok := e.byConn[connKey{server, m.Conn(tlib.AttrPreviousConnID)}]; ok && m.CallUUID() == "" {
			if st, ok := e.calls[u]; ok {
				return st
			}
		}
	}
	if u := m.CallUUID(); u != "" {
		if st, ok := e.calls[u]; ok {
			return st
		}
	}
	return nil
}

func (e *Engine) newCall(server string, m *tlib.Message, at time.Time) *state {
	uuid := m.CallUUID()
	if uuid == "" {
		uuid = "connid-" + m.ConnID().String()
	}
	st := &state{
		Call: Call{CallUUID: uuid, Server: server, Switch: e.switchOf(server), ConnID: m.ConnID(), Started: at},
		sent: map[tlib.ConnID]string{},
	}
	e.calls[uuid] = st
	e.counters.Calls++
	return st
}

func (e *Engine) indexConn(st *state, conn tlib.ConnID) {
	if conn == 0 {
		return
	}
	for _, c := range st.ConnIDs {
		if c == conn {
			e.byConn[connKey{st.Server, conn}] = st.CallUUID
			return
		}
	}
	st.ConnIDs = append(st.ConnIDs, conn)
	e.byConn[connKey{st.Server, conn}] = st.CallUUID
}

// common copies call-wide attributes of any event.
func (e *Engine) common(st *state, server string, m *tlib.Message, at time.Time) {
	e.indexConn(st, m.ConnID())
	e.attrs(st, m)
}

// attrs copies the call-wide attributes of m to st (no index changes).
func (e *Engine) attrs(st *state, m *tlib.Message) {
	conn := m.ConnID()
	if m.Type != tlib.EventReleased && m.Type != tlib.EventAbandoned {
		st.ConnID = conn
	}
	if t, ok := m.Int(tlib.AttrCallType); ok && t != 0 && st.Type == 0 {
		st.Type = int(t)
	}
	if v, ok := m.Int(tlib.AttrCallID); ok && v != 0 {
		st.CallID = v
	}
	set := func(p *string, id tlib.AttrID) {
		if v := m.Str(id); v != "" {
			*p = e.cfg.Charset.Decode(v)
		}
	}
	set(&st.ANI, tlib.AttrANI)
	set(&st.DNIS, tlib.AttrDNIS)
	set(&st.CollectedDigits, tlib.AttrCollectedDigits)
	set(&st.CustomerID, tlib.AttrCustomerID)
	if v := m.Conn(tlib.AttrNetworkCallID); v != 0 {
		st.NetworkCallID = v
	}
	if v, ok := m.Int(tlib.AttrNodeID); ok && v != 0 {
		st.NodeID = v
	}
	if v, ok := m.Int(tlib.AttrNetworkNodeID); ok && v != 0 {
		st.NetworkNodeID = v
	}
	if ud := m.UserData(); len(ud) > 0 {
		st.UserData = st.UserData.Merge(e.decodeList(ud))
	}
	if ex := m.List(tlib.AttrExtensions); len(ex) > 0 {
		st.Extensions = st.Extensions.Merge(e.decodeList(ex))
	}
}

func (e *Engine) decodeList(l tlib.KVList) tlib.KVList {
	out := make(tlib.KVList, len(l))
	for i, kv := range l {
		switch kv.Type {
		case tlib.KVString:
			kv.Str = e.cfg.Charset.Decode(kv.Str)
		case tlib.KVNested:
			kv.List = e.decodeList(kv.List)
		}
		out[i] = kv
	}
	return out
}

// partyEvent applies an event whose ThisDN is monitored.
func (e *Engine) partyEvent(st *state, server string, m *tlib.Message, at time.Time) []Action {
	dn := m.ThisDN()
	p := st.party(dn)
	if p == nil {
		if m.Type == tlib.EventReleased || m.Type == tlib.EventAbandoned || m.Type == tlib.EventPartyDeleted {
			return nil
		}
		st.Parties = append(st.Parties, Party{DN: dn, Monitored: true, Joined: at, couple: -1})
		p = &st.Parties[len(st.Parties)-1]
	}
	if a := m.Str(tlib.AttrAgentID); a != "" {
		p.AgentID = a
	} else if p.AgentID == "" {
		p.AgentID = e.agents[dnKey{server, dn}]
	}
	if q := m.Str(tlib.AttrThisQueue); q != "" {
		p.Queue = q
	}
	other := m.OtherDN()
	switch m.Type {
	case tlib.EventRinging, tlib.EventDialing, tlib.EventEstablished, tlib.EventPartyInfo, tlib.EventPartyChanged:
		// a party joins again (single-step transfer after the last
		// monitored party left): the call is not over
		st.Released, st.finishAt = time.Time{}, time.Time{}
	}
	// A DN in the Observer role (a monitoring/coaching supervisor) never
	// counts as a conference member, whichever of its events comes first.
	if r, ok := m.Int(tlib.AttrThisDNRole); ok && r == tlib.RoleObserver {
		st.markObserver(dn)
	}
	if r, ok := m.Int(tlib.AttrOtherDNRole); ok && r == tlib.RoleObserver {
		st.markObserver(other)
	}
	var acts []Action
	switch m.Type {
	case tlib.EventRinging, tlib.EventDialing:
		if !p.live() {
			if m.Type == tlib.EventRinging {
				p.State = PartyRinging
			} else {
				p.State = PartyDialing
			}
		}
		if other != "" {
			p.OtherDN = other
		}
		st.addMember(dn)
		st.addMember(other)
	case tlib.EventEstablished, tlib.EventPartyInfo:
		st.addMember(dn)
		if p.live() && p.couple >= 0 {
			if other != "" && other != p.OtherDN && m.Type == tlib.EventPartyInfo {
				// the other party changed while the link was down (a
				// transfer): when exactly is unknown
				st.removeMember(p.OtherDN)
				st.addMember(other)
				p.OtherDN = other
				old := p.couple
				e.recouple(st, p, "resync", at)
				if old >= 0 && old < len(st.Couples) && !st.Couples[old].Open() {
					st.Couples[old].EndUncertain = true
				}
			}
			st.addMember(other)
			break
		}
		st.addMember(other)
		if other != "" {
			p.OtherDN = other
		}
		p.State = PartyEstablished
		reason := "established"
		if m.Type == tlib.EventPartyInfo {
			reason = "resync"
		} else if st.transfer {
			reason = "transfer"
			st.transfer = false
		}
		e.openCouple(st, p, reason, at)
		e.restartDeadline(st, at)
		acts = append(acts, e.adoptOrphans(st, at)...)
		acts = append(acts, e.decide(st, p, at)...)
	case tlib.EventHeld, tlib.EventRetrieved:
		kind := "held"
		if m.Type == tlib.EventRetrieved {
			kind = "retrieved"
			if p.State == PartyHeld {
				p.State = PartyEstablished
			}
		} else if p.State == PartyEstablished {
			p.State = PartyHeld
		}
		e.coupleEvent(st, kind, dn, at)
	case tlib.EventReleased, tlib.EventAbandoned:
		cs, _ := m.Int(tlib.AttrCallState)
		e.releaseParty(st, p, at, false)
		if cs == tlib.CallStateTransferred {
			st.transfer = true
		}
		e.memberLeft(st, dn, at)
		e.checkReleased(st, at)
	case tlib.EventPartyChanged:
		acts = append(acts, e.partyChanged(st, server, p, m, at)...)
	case tlib.EventPartyAdded:
		e.partyAdded(st, server, m, at)
		acts = append(acts, e.reevaluate(st, at)...)
	case tlib.EventPartyDeleted:
		e.partyDeleted(st, m, at)
	case tlib.EventPrivateInfo:
		if mode := m.List(tlib.AttrExtensions).String("MonitorMode"); mode != "" && st.Supervision != nil {
			if sup := supervisionMode(mode); sup != "" && sup != st.Supervision.Mode {
				st.Supervision.Mode = sup
				e.recoupleAll(st, "supervision", at)
			}
		}
	}
	return acts
}

// supervisionMode maps the SIP Server MonitorMode extension to the
// GEN_TEV_CSUP_MODE value; "" for connect (open presence = conference).
func supervisionMode(mode string) string {
	switch strings.ToLower(mode) {
	case "mute", "normal", "monitor", "monitoring":
		return "Monitoring"
	case "coach", "coaching", "whisper":
		return "Coaching"
	}
	return ""
}

func supervisionScope(scope string) string {
	switch strings.ToLower(scope) {
	case "agent":
		return "Agent"
	case "":
		return ""
	}
	return "Call"
}

func (e *Engine) partyChanged(st *state, server string, p *Party, m *tlib.Message, at time.Time) []Action {
	var acts []Action
	cs, _ := m.Int(tlib.AttrCallState)
	prev := m.Conn(tlib.AttrPreviousConnID)
	// the DN may come from another call (two-step transfer or conference:
	// the consult ConnID merges into the original one)
	if prev != 0 && prev != m.ConnID() {
		if u, ok := e.byConn[connKey{server, prev}]; ok && u != st.CallUUID {
			if old := e.calls[u]; old != nil {
				if op := old.party(p.DN); op != nil {
					p.AgentID = firstNonEmpty(p.AgentID, op.AgentID)
					// recordings follow the party (sticky to the recorded side)
					for i := 0; i < len(old.Recordings); i++ {
						if r := old.Recordings[i]; r.DN == p.DN && (r.State == RecOn || r.State == RecPaused || r.State == RecRequested) {
							st.Recordings = append(st.Recordings, r)
							st.Recorded = true
							old.Recordings = append(old.Recordings[:i:i], old.Recordings[i+1:]...)
							i--
						}
					}
					e.releaseParty(old, op, at, false)
					old.removeMember(p.DN)
					e.checkReleased(old, at)
				}
			}
		}
	}
	if third := m.Str(tlib.AttrThirdPartyDN); third != "" && cs == tlib.CallStateTransferred && third != p.DN {
		st.removeMember(third)
	}
	st.addMember(p.DN)
	newMember := st.addMember(m.OtherDN())
	if o := m.OtherDN(); o != "" {
		p.OtherDN = o
	}
	wasLive := p.live()
	if !wasLive {
		p.State = PartyEstablished
	}
	switch {
	case cs == tlib.CallStateConferenced || (newMember && len(st.Members) > 2):
		if !wasLive {
			e.openCouple(st, p, "conference", at)
		}
		e.recoupleAll(st, "conference", at)
	default:
		if wasLive {
			e.recouple(st, p, "transfer", at)
		} else {
			e.openCouple(st, p, "transfer", at)
		}
	}
	st.transfer = false
	e.restartDeadline(st, at)
	acts = append(acts, e.decide(st, p, at)...)
	for _, q := range st.liveMonitored() {
		if q.DN != p.DN {
			acts = append(acts, e.evaluate(st, q, at, false)...)
		}
	}
	return acts
}

func (e *Engine) partyAdded(st *state, server string, m *tlib.Message, at time.Time) {
	added := roleParty(m, tlib.RoleAddedBy)
	if added == "" {
		return
	}
	ext := m.List(tlib.AttrExtensions)
	if mode := supervisionMode(ext.String("MonitorMode")); mode != "" {
		sup := &Supervision{
			Mode:  mode,
			Scope: supervisionScope(firstNonEmpty(ext.String("MonitorScope"), "call")),
			SupDN: added,
			SupID: firstNonEmpty(ext.String("SupervisorAgentID"), e.agents[dnKey{server, added}]),
		}
		if st.Supervision == nil || *st.Supervision != *sup {
			st.Supervision = sup
			e.recoupleAll(st, "supervision", at)
		}
		return
	}
	if st.addMember(added) {
		e.recoupleAll(st, "conference", at)
	}
}

func (e *Engine) partyDeleted(st *state, m *tlib.Message, at time.Time) {
	gone := roleParty(m, tlib.RoleDeletedBy)
	if gone == "" {
		return
	}
	if st.Supervision != nil && st.Supervision.SupDN == gone {
		st.Supervision = nil
		e.recoupleAll(st, "supervision", at)
		return
	}
	e.memberLeft(st, gone, at)
}

// memberLeft removes dn from the call's members; when that shrinks a
// conference the remaining monitored parties start new couples.
func (e *Engine) memberLeft(st *state, dn string, at time.Time) {
	wasConference := len(st.Members) > 2
	if !st.removeMember(dn) || !wasConference {
		return
	}
	for _, p := range st.liveMonitored() {
		if p.DN == dn {
			// the party that leaves: its own EventReleased ends its couple
			continue
		}
		if p.OtherDN == dn {
			// the main other party left the conference: the first
			// remaining member that is not this DN takes its place
			for _, mb := range st.Members {
				if mb != p.DN {
					p.OtherDN = mb
					break
				}
			}
		}
	}
	for _, p := range st.liveMonitored() {
		if p.DN != dn {
			e.recouple(st, p, "conference", at)
		}
	}
}

// roleParty returns the DN an EventPartyAdded/EventPartyDeleted is about
// (the added or deleted party). With DN roles (Genesys Events and Models
// Reference, "Releasing calls": OtherDN is the DeletedParty, ThirdPartyDN
// the party that deleted it, DeletedBy) the DN tagged actor (AddedBy /
// DeletedBy) is the one that acted, not the one that joined or left.
// Without roles: ThirdPartyDN, else OtherDN.
func roleParty(m *tlib.Message, actor int64) string {
	third, other := m.Str(tlib.AttrThirdPartyDN), m.OtherDN()
	thirdRole, _ := m.Int(tlib.AttrThirdPartyDNRole)
	otherRole, _ := m.Int(tlib.AttrOtherDNRole)
	switch {
	case otherRole == actor && third != "":
		return third
	case thirdRole == actor && other != "":
		return other
	case otherRole == tlib.RoleDeletedParty || otherRole == tlib.RoleNewParty:
		return firstNonEmpty(other, third)
	}
	return firstNonEmpty(third, other)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// openCouple starts a couple for p.
func (e *Engine) openCouple(st *state, p *Party, reason string, at time.Time) {
	cp := Couple{Start: at, ThisDN: p.DN, OtherDN: p.OtherDN, ConnID: st.ConnID, Reason: reason}
	if len(st.Members) > 2 {
		cp.Members = append([]string(nil), st.Members...)
	}
	if st.Supervision != nil && st.Supervision.SupDN != p.DN {
		s := *st.Supervision
		cp.Supervision = &s
	}
	st.Couples = append(st.Couples, cp)
	p.couple = len(st.Couples) - 1
	e.counters.Couples++
	e.fill(st, &st.Couples[p.couple], p)
}

func (e *Engine) closeCouple(st *state, p *Party, at time.Time, uncertain bool) {
	if p.couple < 0 || p.couple >= len(st.Couples) {
		p.couple = -1
		return
	}
	cp := &st.Couples[p.couple]
	e.fill(st, cp, p)
	cp.End = at
	cp.EndUncertain = uncertain
	p.couple = -1
}

func (e *Engine) recouple(st *state, p *Party, reason string, at time.Time) {
	if p.couple >= 0 && st.Couples[p.couple].Start.Equal(at) {
		// several changes at one instant: replace instead of a 0-length couple
		st.Couples = append(st.Couples[:p.couple:p.couple], st.Couples[p.couple+1:]...)
		e.counters.Couples--
		for i := range st.Parties {
			if q := &st.Parties[i]; q.couple > p.couple {
				q.couple--
			}
		}
		p.couple = -1
	}
	e.closeCouple(st, p, at, false)
	e.openCouple(st, p, reason, at)
}

func (e *Engine) recoupleAll(st *state, reason string, at time.Time) {
	for _, p := range st.liveMonitored() {
		e.recouple(st, p, reason, at)
	}
}

func (e *Engine) coupleEvent(st *state, kind, dn string, at time.Time) {
	for _, p := range st.liveMonitored() {
		if p.couple >= 0 {
			cp := &st.Couples[p.couple]
			cp.Events = append(cp.Events, CoupleEvent{At: at, Kind: kind, DN: dn})
		}
	}
}

// releaseParty closes p's couple and ends its recordings (implicitly).
func (e *Engine) releaseParty(st *state, p *Party, at time.Time, uncertain bool) {
	e.closeCouple(st, p, at, uncertain)
	p.State = PartyReleased
	for i := range st.Recordings {
		r := &st.Recordings[i]
		if r.DN == p.DN && (r.State == RecOn || r.State == RecPaused || r.State == RecRequested) {
			r.State = RecOff
		}
	}
}

// checkReleased marks the call released when no monitored party is left.
func (e *Engine) checkReleased(st *state, at time.Time) {
	if !st.Released.IsZero() || len(st.liveMonitored()) > 0 {
		return
	}
	for _, p := range st.Parties {
		if p.Monitored && (p.State == PartyRinging || p.State == PartyDialing) {
			return
		}
	}
	st.Released = at
	st.finishAt = at.Add(e.cfg.WrapUp)
}

// userDataChanged reacts to GSIP_RECORD and refreshes user data of couples
// closed within the wrap-up period.
func (e *Engine) userDataChanged(st *state, m *tlib.Message, at time.Time) []Action {
	if len(m.UserData()) == 0 {
		return nil
	}
	var acts []Action
	if g := strings.ToUpper(st.UserData.String("GSIP_RECORD")); g != "" && g != st.lastGSIP {
		st.lastGSIP = g
		acts = append(acts, e.gsipRecord(st, m.ThisDN(), g, at)...)
	}
	if v := st.UserData.String(e.cfg.Record.KeepKey); v != "" && v != st.lastKeep {
		st.lastKeep = v
		acts = append(acts, e.keepRequest(st, v, "attached data", at)...)
	}
	if m.Type == tlib.EventAttachedDataChanged {
		acts = append(acts, e.reevaluate(st, at)...)
	}
	for i := range st.Couples {
		cp := &st.Couples[i]
		if !cp.Open() && at.Sub(cp.End) <= e.cfg.WrapUp {
			e.fillUser(st, cp)
		}
	}
	return acts
}

// keepRequest applies a keep request value to every pre-recording of the call.
func (e *Engine) keepRequest(st *state, v, via string, at time.Time) []Action {
	keep, ok := ParseKeep(v)
	if !ok {
		e.cfg.Logger.Warn("keep request ignored: want true/false", "call", st.CallUUID, "key", e.cfg.Record.KeepKey, "value", v)
		return nil
	}
	acts, n := e.keep(st, "", keep, via, at)
	if n == 0 {
		e.cfg.Logger.Info("keep request on a call without pre-recording", "call", st.CallUUID, "value", v)
	}
	return acts
}

// gsipRecord applies GSIP_RECORD = ON / PAUSED / OFF reported by SIP Server.
func (e *Engine) gsipRecord(st *state, dn, v string, at time.Time) []Action {
	switch v {
	case "ON":
		resumed := false
		for i := range st.Recordings {
			r := &st.Recordings[i]
			switch r.State {
			case RecPaused:
				r.State = RecOn
				resumed = true
				e.coupleEvent(st, "resumed", r.DN, at)
			case RecRequested:
				r.State, r.Since = RecOn, at
				resumed = true
			case RecOn:
				resumed = true
			}
		}
		if resumed {
			st.Recorded = true
			return nil
		}
		p := st.party(dn)
		if p == nil || !p.Monitored || !p.live() {
			lm := st.liveMonitored()
			if len(lm) == 0 {
				return nil
			}
			p = lm[0]
		}
		st.Recordings = append(st.Recordings, Recording{DN: p.DN, Source: SourceUserData, State: RecOn, Since: at, RuleAction: "request"})
		st.Recorded = true
		if d, ok := st.decisions[p.DN]; ok && d.DoNotRecord {
			// a third-party request on a DN the rules exclude is refused
			r := &st.Recordings[len(st.Recordings)-1]
			return e.discard(st, r, fmt.Sprintf("do-not-record rule %q (group %q) refuses a third-party request", d.Rule, d.Group), at)
		}
	case "PAUSED":
		for i := range st.Recordings {
			if r := &st.Recordings[i]; r.State == RecOn {
				r.State = RecPaused
				e.coupleEvent(st, "paused", r.DN, at)
			}
		}
	case "OFF":
		for i := range st.Recordings {
			if r := &st.Recordings[i]; r.State == RecOn || r.State == RecPaused {
				r.State, r.Explicit = RecOff, true
				e.coupleEvent(st, "stopped", r.DN, at)
			}
		}
	}
	return nil
}

// refresh recomputes the external data of open couples.
func (e *Engine) refresh(st *state, at time.Time) {
	for i := range st.Parties {
		if p := &st.Parties[i]; p.couple >= 0 {
			e.fill(st, &st.Couples[p.couple], p)
		}
	}
}
