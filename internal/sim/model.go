package sim

import (
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// DNRole values (AttributeThisDNRole / AttributeOtherDNRole): the public
// TDNRole numbering of internal/cti/tlib.
const (
	DNRoleUnknown          = tlib.RoleUnknown
	DNRoleOrigination      = tlib.RoleOrigination
	DNRoleDestination      = tlib.RoleDestination
	DNRoleConferenceMember = tlib.RoleConferenceMember
	DNRoleNewParty         = tlib.RoleNewParty
	DNRoleAddedBy          = tlib.RoleAddedBy
	DNRoleDeletedBy        = tlib.RoleDeletedBy
	DNRoleTransferredBy    = tlib.RoleTransferredBy
	DNRoleDeletedParty     = tlib.RoleDeletedParty
	DNRoleConferencedBy    = tlib.RoleConferencedBy
	DNRoleObserver         = tlib.RoleObserver // a monitoring supervisor
)

// CallStateReleased marks a released call in EventPartyInfo (openrec).
const CallStateReleased = 22

// DN types in AttributeAddressType (openrec numbering).
const (
	DNTypeUnknown            = 0
	DNTypeExtension          = 1
	DNTypeACDPosition        = 2
	DNTypeACDQueue           = 3
	DNTypeRoutingPoint       = 4
	DNTypeTrunk              = 5
	DNTypeVoiceTreatmentPort = 6
)

var dnTypes = map[string]int{
	"extension": DNTypeExtension, "acdposition": DNTypeACDPosition, "acdqueue": DNTypeACDQueue,
	"routingpoint": DNTypeRoutingPoint, "trunk": DNTypeTrunk, "voicetreatmentport": DNTypeVoiceTreatmentPort,
}

type pstate int

const (
	stQueued pstate = iota
	stRinging
	stDialing
	stEstablished
	stHeld
)

var stateNames = [...]string{"Queued", "Ringing", "Dialing", "Established", "Held"}

func (p pstate) String() string { return stateNames[p] }

// party is one participant of a call: an internal DN (events are
// distributed to it) or an external number (ANI, dialled number).
type party struct {
	dn       string
	internal bool
	role     int
	state    pstate
	queue    string // routing point the call was distributed from
	monitor  string // supervisor: monitor mode; "" for a normal party
}

// call is one T-Server call (one ConnID). Guarded by Sim.mu.
type call struct {
	connID      tlib.ConnID
	uuid        string
	callID      int64
	typ         int
	ani, dnis   string
	data        tlib.KVList
	parties     []*party
	former      []string // internal DNs that have been parties, in order
	created     time.Time
	ended       time.Time // zero while the call is alive
	rp          string    // routing point while queued
	origin      string    // the source side (ANI or originating DN)
	target      string    // routed or dialled destination
	routeRecord string    // record=... of RequestRouteCall
	consultOf   *call     // a consult call: the call it consults from
	recs        map[string]*recording
	misbehave   Misbehaviour
}

func (c *call) party(dn string) *party {
	for _, p := range c.parties {
		if p.dn == dn {
			return p
		}
	}
	return nil
}

func (c *call) remove(p *party) {
	for i, q := range c.parties {
		if q == p {
			c.parties = append(c.parties[:i:i], c.parties[i+1:]...)
			return
		}
	}
}

// members are the parties that talk (not queued at a routing point, not observers).
func (c *call) members() []*party {
	var out []*party
	for _, p := range c.parties {
		if p.state != stQueued && p.monitor == "" {
			out = append(out, p)
		}
	}
	return out
}

// otherOf is p's other party: the first member that is not p.
func (c *call) otherOf(p *party) *party {
	for _, q := range c.parties {
		if q != p && q.state != stQueued && q.monitor == "" {
			return q
		}
	}
	if p.state == stQueued || p.monitor != "" {
		for _, q := range c.parties {
			if q != p && q.monitor == "" {
				return q
			}
		}
	}
	return nil
}

// isInternal: a DN configured on the switch; with no DN configured for
// the switch, any number not starting with '+'.
func (s *Sim) isInternal(dn string) bool {
	if dn == "" {
		return false
	}
	if _, ok := s.snap.DN(s.cfg.Switch, dn); ok {
		return true
	}
	return !s.hasDNs() && !strings.HasPrefix(dn, "+")
}

func (s *Sim) hasDNs() bool {
	for _, d := range s.data.DNs {
		if d.Switch == s.cfg.Switch {
			return true
		}
	}
	return false
}

func (s *Sim) dnOption(dn, key string) string {
	d, ok := s.snap.DN(s.cfg.Switch, dn)
	if !ok {
		return ""
	}
	return d.Options[key]
}

func (s *Sim) dnType(dn string) int {
	d, ok := s.snap.DN(s.cfg.Switch, dn)
	if !ok {
		return DNTypeUnknown
	}
	return dnTypes[strings.ToLower(d.Type)]
}

func (s *Sim) newCall(typ int) *call {
	s.purge()
	s.callSeq++
	c := &call{uuid: s.newUUID(), callID: int64(s.callSeq), typ: typ, created: s.now(),
		recs: make(map[string]*recording), misbehave: s.cfg.Misbehave}
	for {
		c.connID = tlib.ConnID(uint64(0x0065)<<48 | uint64(s.rng.Uint32())<<16 | s.callSeq&0xffff)
		if _, dup := s.calls[c.connID]; !dup {
			break
		}
	}
	s.calls[c.connID] = c
	s.order = append(s.order, c)
	return c
}

// purge forgets calls released longer than ReleasedGrace ago.
func (s *Sim) purge() {
	now := s.now()
	keep := s.order[:0]
	for _, c := range s.order {
		if !c.ended.IsZero() && now.Sub(c.ended) > s.cfg.ReleasedGrace {
			delete(s.calls, c.connID)
			for h, id := range s.handles {
				if id == c.connID {
					delete(s.handles, h)
				}
			}
			continue
		}
		keep = append(keep, c)
	}
	clear(s.order[len(keep):])
	s.order = keep
}

func (s *Sim) newUUID() string {
	var b [20]byte
	for i := 0; i < len(b); i += 4 {
		v := s.rng.Uint32()
		b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return base32.HexEncoding.EncodeToString(b[:])
}

func (s *Sim) newRecordID() string {
	return fmt.Sprintf("%016X", s.rng.Uint64())
}

func (s *Sim) addParty(c *call, dn string, role int, st pstate) *party {
	p := &party{dn: dn, internal: s.isInternal(dn), role: role, state: st}
	c.parties = append(c.parties, p)
	if p.internal && st != stQueued && !contains(c.former, dn) {
		c.former = append(c.former, dn)
	}
	return p
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// callEvent builds a call event for party p with the attributes every call
// event carries. Called with s.mu held.
func (s *Sim) callEvent(t tlib.MessageType, c *call, p *party) *tlib.Message {
	m := tlib.New(t).SetStr(tlib.AttrThisDN, p.dn)
	if p.queue != "" {
		m.SetStr(tlib.AttrThisQueue, p.queue)
	}
	if o := c.otherOf(p); o != nil {
		m.SetStr(tlib.AttrOtherDN, o.dn)
		m.SetInt(tlib.AttrOtherDNRole, int64(o.role))
	}
	m.SetConn(tlib.AttrConnID, c.connID).SetInt(tlib.AttrCallID, c.callID).
		SetStr(tlib.AttrCallUUID, c.uuid).SetInt(tlib.AttrCallType, int64(c.typ))
	if c.ani != "" {
		m.SetStr(tlib.AttrANI, c.ani)
	}
	if c.dnis != "" {
		m.SetStr(tlib.AttrDNIS, c.dnis)
	}
	if a := s.agents[p.dn]; a != "" {
		m.SetStr(tlib.AttrAgentID, a)
	}
	m.SetInt(tlib.AttrThisDNRole, int64(p.role))
	m.SetList(tlib.AttrUserData, c.data)
	return m
}

// emit stamps m and distributes it to the clients of its ThisDN (internal
// parties only). Called with s.mu held.
func (s *Sim) emit(p *party, m *tlib.Message) {
	if !p.internal {
		return
	}
	s.emitDN(m)
}

func (s *Sim) emitDN(m *tlib.Message) {
	s.stamp(m)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(m)
	}
	s.distribute(m.ThisDN(), m)
}

// ---- call flows; every function below is called with s.mu held ----

type inboundArgs struct {
	ANI, DNIS, Trunk, RP, To string
	Data                     tlib.KVList
	RouteRecord              string
}

func (s *Sim) inbound(a inboundArgs, mb *Misbehaviour) (*call, error) {
	if a.ANI == "" {
		a.ANI = "+15550100"
	}
	for _, dn := range []string{a.RP, a.To, a.Trunk} {
		if dn != "" && !s.isInternal(dn) {
			return nil, fmt.Errorf("%w: %s", ErrUnknownDN, dn)
		}
	}
	if a.RP == "" && a.To == "" {
		return nil, fmt.Errorf("%w: inbound call needs a routing point or a destination", ErrState)
	}
	c := s.newCall(tlib.CallTypeInbound)
	if mb != nil {
		c.misbehave = *mb
	}
	c.ani, c.dnis, c.data, c.origin = a.ANI, a.DNIS, a.Data, a.ANI
	if c.dnis == "" {
		c.dnis = a.RP
		if c.dnis == "" {
			c.dnis = a.To
		}
	}
	s.addParty(c, a.ANI, DNRoleOrigination, stEstablished)
	if a.RP == "" {
		return c, s.ring(c, a.To, "", nil)
	}
	rp := s.addParty(c, a.RP, DNRoleDestination, stQueued)
	rp.queue = a.RP
	c.rp = a.RP
	s.emit(rp, s.callEvent(tlib.EventQueued, c, rp))
	s.emit(rp, s.callEvent(tlib.EventRouteRequest, c, rp))
	if a.To != "" {
		return c, s.route(c, a.To, a.RouteRecord, 0)
	}
	return c, nil
}

// route distributes a call queued at its routing point to target.
func (s *Sim) route(c *call, target, record string, ref int64) error {
	rp := c.party(c.rp)
	if rp == nil || rp.state != stQueued {
		return fmt.Errorf("%w: call %s is not queued at a routing point", ErrState, c.connID)
	}
	if !s.isInternal(target) {
		return fmt.Errorf("%w: %s", ErrUnknownDN, target)
	}
	if c.party(target) != nil {
		return fmt.Errorf("%w: %s is already on call %s", ErrState, target, c.connID)
	}
	switch record {
	case "", "source", "destination", "disable_source", "disable_destination":
	default:
		return fmt.Errorf("%w: record=%q", ErrState, record)
	}
	c.routeRecord, c.target = record, target
	m := s.callEvent(tlib.EventRouteUsed, c, rp).SetStr(tlib.AttrOtherDN, target)
	if ref != 0 {
		m.SetInt(tlib.AttrReferenceID, ref)
	}
	s.emit(rp, m)
	s.emit(rp, s.callEvent(tlib.EventDiverted, c, rp).SetStr(tlib.AttrOtherDN, target))
	c.remove(rp)
	c.rp = ""
	return s.ring(c, target, rp.dn, nil)
}

// ring alerts dn (internal: EventRinging; external: far end alerting).
func (s *Sim) ring(c *call, dn, queue string, extra func(*tlib.Message)) error {
	if c.party(dn) != nil {
		return fmt.Errorf("%w: %s is already on call %s", ErrState, dn, c.connID)
	}
	p := s.addParty(c, dn, DNRoleDestination, stRinging)
	p.queue = queue
	if c.target == "" {
		c.target = dn
	}
	m := s.callEvent(tlib.EventRinging, c, p)
	if extra != nil {
		extra(m)
	}
	s.emit(p, m)
	if c.misbehave.EarlyInvite {
		s.autoRecord(c, p)
	}
	return nil
}

// dial places a call from dn to to: internal when to is an internal DN,
// outbound otherwise.
func (s *Sim) dial(dn, to string, data tlib.KVList, mb *Misbehaviour) (*call, error) {
	if !s.isInternal(dn) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDN, dn)
	}
	if to == "" || to == dn {
		return nil, fmt.Errorf("%w: destination %q", ErrState, to)
	}
	typ := tlib.CallTypeOutbound
	if s.isInternal(to) {
		typ = tlib.CallTypeInternal
	}
	c := s.newCall(typ)
	if mb != nil {
		c.misbehave = *mb
	}
	c.ani, c.dnis, c.data, c.origin, c.target = dn, to, data, dn, to
	p := s.addParty(c, dn, DNRoleOrigination, stDialing)
	s.startDialing(c, p, to, nil)
	return c, nil
}

func (s *Sim) startDialing(c *call, p *party, to string, extra func(*tlib.Message)) {
	if s.isInternal(to) {
		// The callee exists before EventDialing so that OtherDN is set.
		q := s.addParty(c, to, DNRoleDestination, stRinging)
		m := s.callEvent(tlib.EventDialing, c, p)
		if extra != nil {
			extra(m)
		}
		s.emit(p, m)
		r := s.callEvent(tlib.EventRinging, c, q)
		if extra != nil {
			extra(r)
		}
		s.emit(q, r)
		if c.misbehave.EarlyInvite {
			s.autoRecord(c, p)
			s.autoRecord(c, q)
		}
		return
	}
	s.addParty(c, to, DNRoleDestination, stRinging)
	m := s.callEvent(tlib.EventDialing, c, p)
	if extra != nil {
		extra(m)
	}
	s.emit(p, m)
	if c.misbehave.EarlyInvite {
		s.autoRecord(c, p)
	}
}

// answer: dn (or the first ringing party) answers.
func (s *Sim) answer(c *call, dn string) error {
	var p *party
	for _, q := range c.parties {
		if q.state == stRinging && (dn == "" || q.dn == dn) {
			p = q
			break
		}
	}
	if p == nil {
		return fmt.Errorf("%w: nobody ringing (%q) on call %s", ErrState, dn, c.connID)
	}
	p.state = stEstablished
	s.emit(p, s.callEvent(tlib.EventEstablished, c, p))
	var dialers []*party
	for _, q := range c.parties {
		if q.state == stDialing {
			q.state = stEstablished
			s.emit(q, s.callEvent(tlib.EventEstablished, c, q).SetStr(tlib.AttrOtherDN, p.dn).SetInt(tlib.AttrOtherDNRole, int64(p.role)))
			dialers = append(dialers, q)
		}
	}
	if !c.misbehave.EarlyInvite {
		s.autoRecord(c, p)
		for _, q := range dialers {
			s.autoRecord(c, q)
		}
	}
	s.retarget(c)
	return nil
}

func (s *Sim) hold(c *call, dn string, retrieve bool) error {
	p := c.party(dn)
	from, to, t := stEstablished, stHeld, tlib.EventHeld
	if retrieve {
		from, to, t = stHeld, stEstablished, tlib.EventRetrieved
	}
	if p == nil || p.state != from {
		return fmt.Errorf("%w: %s is not %s on call %s", ErrState, dn, from, c.connID)
	}
	p.state = to
	s.emit(p, s.callEvent(t, c, p))
	return nil
}

// singleStep transfers the call from dn to to in one step.
func (s *Sim) singleStep(c *call, dn, to string) error {
	p := c.party(dn)
	if p == nil || (p.state != stEstablished && p.state != stHeld) {
		return fmt.Errorf("%w: %s is not established on call %s", ErrState, dn, c.connID)
	}
	if c.party(to) != nil || to == "" {
		return fmt.Errorf("%w: cannot transfer to %q", ErrState, to)
	}
	s.emit(p, s.callEvent(tlib.EventReleased, c, p).SetStr(tlib.AttrThirdPartyDN, to).
		SetInt(tlib.AttrCallState, tlib.CallStateTransferred))
	c.remove(p)
	for _, q := range c.members() {
		m := s.callEvent(tlib.EventPartyChanged, c, q).SetStr(tlib.AttrOtherDN, to).
			SetStr(tlib.AttrThirdPartyDN, dn).SetInt(tlib.AttrCallState, tlib.CallStateTransferred)
		s.emit(q, m)
	}
	s.recordingLeft(c, dn)
	if !s.isInternal(to) {
		s.addParty(c, to, DNRoleDestination, stRinging)
		return nil
	}
	c.target = to
	return s.ring(c, to, "", func(m *tlib.Message) { m.SetStr(tlib.AttrThirdPartyDN, dn) })
}

// consult: dn holds c and dials to on a new consult call.
func (s *Sim) consult(c *call, dn, to string) (*call, error) {
	p := c.party(dn)
	if p == nil || p.state != stEstablished || !p.internal {
		return nil, fmt.Errorf("%w: %s is not established on call %s", ErrState, dn, c.connID)
	}
	if to == "" || to == dn || c.party(to) != nil {
		return nil, fmt.Errorf("%w: cannot consult %q", ErrState, to)
	}
	p.state = stHeld
	s.emit(p, s.callEvent(tlib.EventHeld, c, p))
	c2 := s.newCall(tlib.CallTypeConsult)
	c2.misbehave = c.misbehave
	c2.consultOf = c
	c2.ani, c2.dnis, c2.origin, c2.target = dn, to, dn, to
	c2.data = append(tlib.KVList(nil), c.data...)
	p2 := s.addParty(c2, dn, DNRoleOrigination, stDialing)
	s.startDialing(c2, p2, to, func(m *tlib.Message) { m.SetConn(tlib.AttrTransferConnID, c.connID) })
	return c2, nil
}

// complete finishes a consultation: transfer (conference false) or
// conference.
func (s *Sim) complete(c, c2 *call, conference bool) error {
	if c2.consultOf != c || !c2.ended.IsZero() || !c.ended.IsZero() {
		return fmt.Errorf("%w: %s is not an active consult call of %s", ErrState, c2.connID, c.connID)
	}
	a := c.party(c2.origin)
	a2 := c2.party(c2.origin)
	if a == nil || a2 == nil {
		return fmt.Errorf("%w: the initiator %s left", ErrState, c2.origin)
	}
	b2 := c2.otherOf(a2)
	if b2 == nil || b2.state != stEstablished {
		return fmt.Errorf("%w: the consulted party has not answered", ErrState)
	}
	state := int64(tlib.CallStateTransferred)
	if conference {
		state = tlib.CallStateConferenced
	}
	// The initiator leaves the consult call.
	s.emit(a2, s.callEvent(tlib.EventReleased, c2, a2).SetInt(tlib.AttrCallState, state))
	c2.remove(a2)
	s.recordingLeft(c2, a2.dn)
	c2.remove(b2)
	moved := c2.recs[b2.dn]
	delete(c2.recs, b2.dn)
	s.endCall(c2)

	b := &party{dn: b2.dn, internal: b2.internal, role: DNRoleDestination, state: stEstablished}
	if !conference {
		s.emit(a, s.callEvent(tlib.EventReleased, c, a).SetStr(tlib.AttrThirdPartyDN, b.dn).SetInt(tlib.AttrCallState, state))
		c.remove(a)
		s.recordingLeft(c, a.dn)
		c.parties = append(c.parties, b)
		s.noteFormer(c, b.dn)
		s.emit(b, s.callEvent(tlib.EventPartyChanged, c, b).SetConn(tlib.AttrPreviousConnID, c2.connID).
			SetStr(tlib.AttrThirdPartyDN, a.dn).SetInt(tlib.AttrCallState, state))
		for _, q := range c.members() {
			if q != b {
				s.emit(q, s.callEvent(tlib.EventPartyChanged, c, q).SetStr(tlib.AttrOtherDN, b.dn).
					SetStr(tlib.AttrThirdPartyDN, a.dn).SetInt(tlib.AttrCallState, state))
			}
		}
	} else {
		a.state = stEstablished
		s.emit(a, s.callEvent(tlib.EventRetrieved, c, a))
		for _, q := range c.members() {
			q.role = DNRoleConferenceMember
		}
		b.role = DNRoleConferenceMember
		c.parties = append(c.parties, b)
		s.noteFormer(c, b.dn)
		s.emit(b, s.callEvent(tlib.EventPartyChanged, c, b).SetConn(tlib.AttrPreviousConnID, c2.connID).
			SetStr(tlib.AttrThirdPartyDN, a.dn).SetInt(tlib.AttrCallState, state))
		for _, q := range c.members() {
			if q != b {
				s.emit(q, s.callEvent(tlib.EventPartyAdded, c, q).SetStr(tlib.AttrThirdPartyDN, b.dn).
					SetStr(tlib.AttrOtherDN, b.dn).SetInt(tlib.AttrOtherDNRole, DNRoleConferenceMember))
			}
		}
	}
	if moved != nil {
		if _, dup := c.recs[b.dn]; dup {
			s.stopSessions(moved.sessions)
		} else {
			c.recs[b.dn] = moved
		}
	}
	s.autoRecord(c, b)
	s.retarget(c)
	return nil
}

func (s *Sim) noteFormer(c *call, dn string) {
	if s.isInternal(dn) && !contains(c.former, dn) {
		c.former = append(c.former, dn)
	}
}

// Monitor modes.
const (
	MonitorMute    = "mute"    // silent monitoring
	MonitorCoach   = "coach"   // whisper coaching: the agent hears the supervisor
	MonitorConnect = "connect" // barge-in
)

// monitor adds supervisor sup to the call of agent dn.
func (s *Sim) monitor(c *call, dn, sup, mode string) error {
	switch mode {
	case "", "normal", "silent":
		mode = MonitorMute
	case MonitorMute, MonitorCoach, MonitorConnect:
	default:
		return fmt.Errorf("%w: monitor mode %q", ErrState, mode)
	}
	if p := c.party(dn); p == nil || p.state != stEstablished {
		return fmt.Errorf("%w: %s is not established on call %s", ErrState, dn, c.connID)
	}
	if !s.isInternal(sup) || c.party(sup) != nil {
		return fmt.Errorf("%w: supervisor %q", ErrUnknownDN, sup)
	}
	ext := tlib.KVList{}.Set("MonitorMode", mode).Set("MonitorScope", "call")
	if a := s.agents[sup]; a != "" {
		ext = ext.Set("SupervisorAgentID", a)
	}
	p := s.addParty(c, sup, DNRoleObserver, stRinging)
	p.monitor = mode
	m := s.callEvent(tlib.EventRinging, c, p).SetStr(tlib.AttrOtherDN, dn).SetList(tlib.AttrExtensions, ext)
	s.emit(p, m)
	p.state = stEstablished
	s.emit(p, s.callEvent(tlib.EventEstablished, c, p).SetStr(tlib.AttrOtherDN, dn).SetList(tlib.AttrExtensions, ext))
	for _, q := range c.members() {
		s.emit(q, s.callEvent(tlib.EventPartyAdded, c, q).SetStr(tlib.AttrThirdPartyDN, sup).SetList(tlib.AttrExtensions, ext))
	}
	return nil
}

// release: dn hangs up (leaving a conference, or ending a two-party
// call); dn "" ends the call for everyone.
func (s *Sim) release(c *call, dn string) error {
	if !c.ended.IsZero() {
		return fmt.Errorf("%w: call %s is already released", ErrState, c.connID)
	}
	var p *party
	if dn != "" {
		if p = c.party(dn); p == nil {
			return fmt.Errorf("%w: %s is not on call %s", ErrState, dn, c.connID)
		}
	}
	if p != nil && (p.monitor != "" || len(c.members()) > 2) {
		s.emit(p, s.callEvent(tlib.EventReleased, c, p))
		c.remove(p)
		s.recordingLeft(c, p.dn)
		for _, q := range c.parties {
			if q.state != stQueued {
				s.emit(q, s.callEvent(tlib.EventPartyDeleted, c, q).SetStr(tlib.AttrThirdPartyDN, p.dn))
			}
		}
		s.retarget(c)
		return nil
	}
	order := append([]*party(nil), c.parties...)
	if p != nil { // the party hanging up sees it first
		for i, q := range order {
			if q == p {
				order = append(append([]*party{p}, order[:i]...), order[i+1:]...)
				break
			}
		}
	}
	for _, q := range order {
		t := tlib.EventReleased
		if q.state == stRinging || q.state == stQueued {
			t = tlib.EventAbandoned
		}
		s.emit(q, s.callEvent(t, c, q))
	}
	c.parties = nil
	s.endCall(c)
	return nil
}

// endCall marks c released and stops its recordings.
func (s *Sim) endCall(c *call) {
	for dn, r := range c.recs {
		s.stopSessions(r.sessions)
		delete(c.recs, dn)
	}
	c.parties = nil
	c.ended = s.now()
}

// userEvent asks the desktop at dn to start or stop screen capture.
func (s *Sim) userEvent(c *call, dn, what string) error {
	if !s.isInternal(dn) {
		return fmt.Errorf("%w: %s", ErrUnknownDN, dn)
	}
	if what == "" {
		what = "start"
	}
	m := tlib.New(tlib.EventUserEvent).SetStr(tlib.AttrThisDN, dn)
	if c != nil {
		m.SetConn(tlib.AttrConnID, c.connID).SetStr(tlib.AttrCallUUID, c.uuid)
	}
	ud := tlib.KVList{}.Set("ScreenRecording", what)
	if c != nil {
		ud = ud.Set("CallUUID", c.uuid)
	}
	if a := s.agents[dn]; a != "" {
		m.SetStr(tlib.AttrAgentID, a)
	}
	m.SetList(tlib.AttrUserData, ud)
	s.emitDN(m)
	return nil
}

func (s *Sim) login(dn, agent string, logout bool) error {
	if !s.isInternal(dn) {
		return fmt.Errorf("%w: %s", ErrUnknownDN, dn)
	}
	t := tlib.EventAgentLogin
	if logout {
		t = tlib.EventAgentLogout
		agent = s.agents[dn]
		delete(s.agents, dn)
	} else {
		if agent == "" {
			return fmt.Errorf("%w: login needs an agent login code", ErrState)
		}
		s.agents[dn] = agent
	}
	m := tlib.New(t).SetStr(tlib.AttrThisDN, dn)
	if agent != "" {
		m.SetStr(tlib.AttrAgentID, agent)
	}
	s.emitDN(m)
	return nil
}

// attach changes the call's user data and tells every party. mode is
// RequestAttachUserData, RequestUpdateUserData or RequestDeleteUserData.
// ref/requester: the requesting client gets its copy with ReferenceID.
func (s *Sim) attach(c *call, dn string, mode tlib.MessageType, data tlib.KVList, ref int64, requester *client) {
	switch mode {
	case tlib.RequestDeleteUserData:
		if len(data) == 0 {
			c.data = nil
		}
		for _, kv := range data {
			c.data = c.data.Delete(kv.Key)
		}
	default:
		c.data = c.data.Merge(data)
	}
	s.dataChanged(c, dn, ref, requester)
}

// dataChanged sends EventAttachedDataChanged to the call's internal DNs
// (the active ones, or every former party after release).
func (s *Sim) dataChanged(c *call, dn string, ref int64, requester *client) {
	var dns []string
	if c.ended.IsZero() {
		for _, p := range c.parties {
			if p.internal && p.state != stQueued {
				dns = append(dns, p.dn)
			}
		}
	} else {
		dns = append(dns, c.former...)
	}
	answered := requester == nil
	for _, d := range dns {
		p := c.party(d)
		if p == nil {
			p = &party{dn: d, internal: true}
		}
		m := s.callEvent(tlib.EventAttachedDataChanged, c, p)
		if dn != "" && dn != d {
			m.SetStr(tlib.AttrThirdPartyDN, dn)
		}
		s.stamp(m)
		if s.cfg.OnEvent != nil {
			s.cfg.OnEvent(m)
		}
		var plain []byte
		for cl := range s.clients {
			if !cl.dns[d] {
				continue
			}
			if cl == requester && d == dn && !answered {
				answered = true
				s.send(cl, m.Clone().SetInt(tlib.AttrReferenceID, ref))
				continue
			}
			if plain == nil {
				var err error
				if plain, err = tlib.AppendFrame(nil, m); err != nil {
					s.log.Error("encoding EventAttachedDataChanged", "error", err)
					break
				}
			}
			cl.enqueue(plain)
		}
	}
	if !answered {
		p := c.party(dn)
		if p == nil {
			p = &party{dn: dn, internal: true}
		}
		m := s.stamp(s.callEvent(tlib.EventAttachedDataChanged, c, p))
		s.send(requester, m.SetInt(tlib.AttrReferenceID, ref))
	}
}
