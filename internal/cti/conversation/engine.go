package conversation

import (
	"sort"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Engine is the conversation state machine. Create it with New.
type Engine struct {
	mu       sync.Mutex
	cfg      Config
	calls    map[string]*state
	byConn   map[connKey]string // server+ConnID → CallUUID
	orphans  []*Orphan
	links    map[string]*link
	agents   map[dnKey]string // last AgentID seen on a DN
	seq      uint64
	counters Counters
}

type connKey struct {
	server string
	conn   tlib.ConnID
}

type dnKey struct{ server, dn string }

type link struct {
	down        bool
	downAt      time.Time
	resyncUntil time.Time
}

// state is a Call plus the engine's bookkeeping.
type state struct {
	Call
	deadline   time.Time              // notification decision deadline
	decided    bool                   // last evaluation was decided
	sent       map[tlib.ConnID]string // last value written per ConnID
	everYes    bool
	finishAt   time.Time
	lastGSIP   string
	transfer   bool                // a transfer is in progress: next couple reason "transfer"
	notifyOnce bool                // the notification cycle started
	observers  map[string]bool     // DNs seen in the Observer role (supervisors)
	decisions  map[string]Decision // last rule decision per DN
	lastKeep   string              // last keep-request value seen in attached data
	pci        bool                // in a payment phase (RecordConfig.PCI): recordings auto-paused
	pciKey     bool                // the PCI attached-data key says payment phase
	pciValue   string              // the PCI key's value as last reported ("" = absent)
}

// markObserver records dn as a monitoring supervisor and takes it out of
// the members if it got there first.
func (st *state) markObserver(dn string) {
	if dn == "" {
		return
	}
	if st.observers == nil {
		st.observers = map[string]bool{}
	}
	st.observers[dn] = true
	st.removeMember(dn)
}

// New returns an Engine. It starts no goroutines.
func New(cfg Config) *Engine {
	return &Engine{
		cfg:    cfg.withDefaults(),
		calls:  map[string]*state{},
		byConn: map[connKey]string{},
		links:  map[string]*link{},
		agents: map[dnKey]string{},
	}
}

// Counters returns a copy of the counters.
func (e *Engine) Counters() Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters
}

// Call returns a copy of the call with that CallUUID.
func (e *Engine) Call(callUUID string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callUUID]
	if !ok {
		return nil, false
	}
	return st.Call.clone(), true
}

// AgentOn returns the agent id last seen on dn (at any SIP Server), ""
// when none: the agent of a recorded DN whose call does not name one.
func (e *Engine) AgentOn(dn string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, a := range e.agents {
		if k.dn == dn && a != "" {
			return a
		}
	}
	return ""
}

// Calls returns copies of all calls the engine holds, oldest first.
func (e *Engine) Calls() []*Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Call, 0, len(e.calls))
	for _, st := range e.calls {
		out = append(out, st.Call.clone())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].CallUUID < out[j].CallUUID
	})
	return out
}

// Orphans returns the legs that matched no call (yet).
func (e *Engine) Orphans() []Orphan {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Orphan, len(e.orphans))
	for i, o := range e.orphans {
		out[i] = *o
	}
	return out
}

// FindForLeg joins a media leg to its call: by the record id of a
// recording, else by CallUUID, else by the recorded DN established on a
// live call (the most recent one).
func (e *Engine) FindForLeg(recordID, callUUID, recordDN string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.findLeg(recordID, callUUID, recordDN)
	if st == nil {
		return nil, false
	}
	return st.Call.clone(), true
}

func (e *Engine) findLeg(recordID, callUUID, dn string) *state {
	if recordID != "" {
		for _, st := range e.calls {
			for _, r := range st.Recordings {
				if r.ID == recordID {
					return st
				}
			}
		}
	}
	if callUUID != "" {
		if st, ok := e.calls[callUUID]; ok {
			return st
		}
		return nil
	}
	if dn == "" {
		return nil
	}
	var best *state
	for _, st := range e.calls {
		if !st.Released.IsZero() {
			continue
		}
		if p := st.party(dn); p != nil && p.live() {
			if best == nil || st.Started.After(best.Started) {
				best = st
			}
		}
	}
	return best
}

func (e *Engine) switchOf(server string) string {
	if s, ok := e.cfg.Switches[server]; ok {
		return s
	}
	return server
}

func (e *Engine) monitored(server, dn string) bool {
	if dn == "" {
		return false
	}
	if len(e.cfg.Tenants) > 0 || e.cfg.OnlyListedTenants {
		tc, listed := e.cfg.Tenants[e.tenantOfDN(e.switchOf(server), dn)]
		if !listed && e.cfg.OnlyListedTenants {
			return false
		}
		if listed && tc.Filter != nil {
			return tc.Filter.Monitored(dn)
		}
	}
	return e.cfg.Filter == nil || e.cfg.Filter.Monitored(dn)
}

// Monitored reports whether dn of server's switch is monitored: the DN
// filter of its tenant (or the default), and with OnlyListedTenants only
// DNs of listed tenants. The CTI client registers these DNs.
func (e *Engine) Monitored(server, dn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.monitored(server, dn)
}

// tenantOfDN returns the tenant DBID of dn on a switch (0 unknown).
func (e *Engine) tenantOfDN(sw, dn string) int {
	snap := e.snapshot()
	if snap == nil {
		return 0
	}
	if d, ok := snap.DN(sw, dn); ok && d.TenantDBID != 0 {
		return d.TenantDBID
	}
	if s, ok := snap.Switch(sw); ok {
		return s.TenantDBID
	}
	return 0
}

func (e *Engine) linkDown(server string) bool {
	l := e.links[server]
	return l != nil && l.down
}

// LinkDown records that the CTI link to server dropped at `at`: its calls
// become unsynchronised and notifications to it are held back.
func (e *Engine) LinkDown(server string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.link(server)
	if l.down {
		return
	}
	l.down, l.downAt = true, at
	for _, st := range e.calls {
		if st.Server == server && st.Released.IsZero() {
			st.Unsynced = true
		}
	}
}

// LinkUp records that the link to server is registered again. Calls that
// no event confirms within Config.ResyncWindow are ended (Tick) at the time
// the link went down, their couples marked EndUncertain.
func (e *Engine) LinkUp(server string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.link(server)
	if !l.down {
		return
	}
	l.down = false
	l.resyncUntil = at.Add(e.cfg.ResyncWindow)
	// notifications held back are written when an event (the
	// resynchronisation's EventPartyInfo) confirms their call
}

func (e *Engine) link(server string) *link {
	l := e.links[server]
	if l == nil {
		l = &link{}
		e.links[server] = l
	}
	return l
}

func (st *state) party(dn string) *Party {
	for i := range st.Parties {
		if st.Parties[i].DN == dn {
			return &st.Parties[i]
		}
	}
	return nil
}

func (p *Party) live() bool {
	return p.State == PartyEstablished || p.State == PartyHeld
}

func (st *state) addMember(dn string) bool {
	if dn == "" || st.observers[dn] || (st.Supervision != nil && dn == st.Supervision.SupDN) {
		return false // a monitoring supervisor is not a conference member
	}
	for _, m := range st.Members {
		if m == dn {
			return false
		}
	}
	st.Members = append(st.Members, dn)
	return true
}

func (st *state) removeMember(dn string) bool {
	for i, m := range st.Members {
		if m == dn {
			st.Members = append(st.Members[:i:i], st.Members[i+1:]...)
			return true
		}
	}
	return false
}

func (st *state) rec(dn string) *Recording {
	for i := len(st.Recordings) - 1; i >= 0; i-- {
		if st.Recordings[i].DN == dn {
			return &st.Recordings[i]
		}
	}
	return nil
}

func (st *state) recByID(id string) *Recording {
	if id == "" {
		return nil
	}
	for i := range st.Recordings {
		if st.Recordings[i].ID == id {
			return &st.Recordings[i]
		}
	}
	return nil
}

// liveMonitored returns the monitored parties established or held.
func (st *state) liveMonitored() []*Party {
	var out []*Party
	for i := range st.Parties {
		if p := &st.Parties[i]; p.Monitored && p.live() {
			out = append(out, p)
		}
	}
	return out
}

func callTypeName(t int) string {
	switch t {
	case tlib.CallTypeInternal:
		return "Internal"
	case tlib.CallTypeInbound:
		return "Inbound"
	case tlib.CallTypeOutbound:
		return "Outbound"
	case tlib.CallTypeConsult:
		return "Consult"
	}
	return "Unknown"
}
