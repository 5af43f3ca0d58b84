// Package screen tells screen-recording clients (the browser page openrec
// serves, or a native client) when the voice recordings of their agent
// start, pause, resume and stop (issue 18). The CTI bridge (callcore)
// publishes one Event per change; a client subscribes for one agent and
// gets the events after the last id it saw (resumable after a reconnect),
// or, on a fresh subscription, the state of the agent's recordings in
// progress.
//
// Everything is bounded: a backlog of Config.Backlog events per agent, at
// most Config.MaxAgents agents kept, Config.Buffer events queued per
// subscriber (a subscriber that falls behind is closed with Lagged and
// resumes from its last id). The Hub starts no goroutine and never blocks a
// publisher.
package screen

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is what happened to a voice recording.
type Kind string

// Kinds of events.
const (
	Start  Kind = "start"
	Pause  Kind = "pause"
	Resume Kind = "resume"
	Stop   Kind = "stop"
)

// Event is one change of a voice recording that asked for screen recording.
type Event struct {
	ID          uint64 // increasing, across restarts too (starts at the start time in µs)
	Kind        Kind
	Agent       string // agent login id (as GEN_TEV_AgentID)
	DN          string // the recorded DN
	RecordingID string // openrec recording id: the upload goes to /api/v1/recordings/{id}/screen
	CallUUID    string
	Tenant      string // the call's tenant (a Start's; "" = unknown)
	At          time.Time
	// Reason of a pause or resume: "pci" (automatic PCI pause), else ""
	// (a desktop or API request).
	Reason string
}

// Config bounds a Hub.
type Config struct {
	Backlog   int           // events kept per agent (default 64)
	MaxAgents int           // agents kept (default 10000): idle ones are forgotten first
	Buffer    int           // events queued per subscriber (default 32)
	Retain    time.Duration // how long a stopped recording still names its agent (default 1 h)
	Now       func() time.Time
}

// Hub holds the events. Create it with New.
type Hub struct {
	cfg    Config
	mu     sync.Mutex
	next   uint64
	agents map[string]*agent
	recs   map[string]*rec // recording id → its agent and state
}

type agent struct {
	events  []Event // ring, oldest first
	evicted uint64  // id of the last event dropped from events
	subs    map[*Sub]struct{}
	used    time.Time
}

type rec struct {
	agent   string
	last    Event // last event (its Kind is the state)
	start   Event
	stopped time.Time
}

// New returns a Hub.
func New(cfg Config) *Hub {
	if cfg.Backlog <= 0 {
		cfg.Backlog = 64
	}
	if cfg.MaxAgents <= 0 {
		cfg.MaxAgents = 10000
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 32
	}
	if cfg.Retain <= 0 {
		cfg.Retain = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{cfg: cfg, next: uint64(cfg.Now().UnixMicro()), agents: map[string]*agent{}, recs: map[string]*rec{}}
}

// key is the agent key: login ids compare ignoring ASCII case (as the
// store's OwnerAgent filter does).
func key(a string) string { return strings.ToLower(a) }

// Publish assigns e its id and time (when zero), keeps it and hands it to
// the agent's subscribers. Only a Start names the agent: later events of
// the recording go to the agent it started for. A Start without agent, an
// event without recording id, an event of an unknown recording other than
// Start, or a repeated state is ignored (ok false).
func (h *Hub) Publish(e Event) (Event, bool) {
	if e.RecordingID == "" || e.Kind == Start && e.Agent == "" {
		return e, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	if e.At.IsZero() {
		e.At = now
	}
	r := h.recs[e.RecordingID]
	switch {
	case e.Kind == Start && r != nil:
		return e, false
	case e.Kind != Start && r == nil:
		return e, false
	case r != nil && (r.last.Kind == Stop || r.last.Kind == e.Kind && e.Kind != Start):
		return e, false
	case r != nil && e.Kind == Resume && r.last.Kind != Pause:
		return e, false
	}
	if r != nil {
		e.Agent = r.agent // a recording stays with the agent it started for
	}
	h.next = max(h.next+1, uint64(now.UnixMicro()))
	e.ID = h.next
	if r == nil {
		r = &rec{agent: e.Agent, start: e}
		h.recs[e.RecordingID] = r
	}
	r.last = e
	if e.Kind == Stop {
		r.stopped = now
	}
	a := h.agentLocked(e.Agent, now)
	if len(a.events) >= h.cfg.Backlog {
		a.evicted = a.events[0].ID
		a.events = append(a.events[:0], a.events[1:]...)
	}
	a.events = append(a.events, e)
	for s := range a.subs {
		select {
		case s.c <- e:
		default:
			// Never block the publisher: the subscriber resumes from
			// its last id after reconnecting.
			s.lagged = true
			delete(a.subs, s)
			close(s.c)
		}
	}
	h.pruneLocked(now)
	return e, true
}

func (h *Hub) agentLocked(name string, now time.Time) *agent {
	k := key(name)
	a := h.agents[k]
	if a == nil {
		a = &agent{subs: map[*Sub]struct{}{}}
		h.agents[k] = a
	}
	a.used = now
	return a
}

// pruneLocked forgets stopped recordings past Retain and, over MaxAgents,
// the agents least recently used that have no subscriber and no recording
// in progress.
func (h *Hub) pruneLocked(now time.Time) {
	busy := map[string]bool{}
	for id, r := range h.recs {
		if r.last.Kind == Stop && now.Sub(r.stopped) > h.cfg.Retain {
			delete(h.recs, id)
			continue
		}
		if r.last.Kind != Stop {
			busy[key(r.agent)] = true
		}
	}
	if len(h.agents) <= h.cfg.MaxAgents {
		return
	}
	type idle struct {
		k    string
		used time.Time
	}
	var cands []idle
	for k, a := range h.agents {
		if len(a.subs) == 0 && !busy[k] {
			cands = append(cands, idle{k, a.used})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].used.Before(cands[j].used) })
	for _, c := range cands {
		if len(h.agents) <= h.cfg.MaxAgents {
			break
		}
		delete(h.agents, c.k)
	}
}

// Sub is one subscription. Read C until it is closed; Lagged then says
// whether it was closed because the subscriber fell behind.
type Sub struct {
	// Backlog is what the subscriber missed: the events after its last
	// id, or (a fresh subscription) the start and last pause of each
	// recording of the agent in progress.
	Backlog []Event
	C       <-chan Event
	c       chan Event
	h       *Hub
	agent   string
	lagged  bool
	once    sync.Once
}

// Subscribe subscribes to agent's events after the event id after (0 = a
// fresh subscription). Gap reports that events after `after` were already
// dropped from the backlog (the client then knows it missed some: Backlog
// still holds the recordings in progress).
func (h *Hub) Subscribe(agentName string, after uint64) (s *Sub, gap bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.agentLocked(agentName, h.cfg.Now())
	s = &Sub{c: make(chan Event, h.cfg.Buffer), h: h, agent: key(agentName)}
	s.C = s.c
	switch {
	case after == 0:
		s.Backlog = h.inProgressLocked(agentName)
	case after < a.evicted:
		// Some events after `after` may be gone: the current state
		// first, then what is held after it.
		gap = true
		s.Backlog = h.inProgressLocked(agentName)
		for _, e := range a.events {
			if e.ID > after && !containsID(s.Backlog, e.ID) {
				s.Backlog = append(s.Backlog, e)
			}
		}
		sort.Slice(s.Backlog, func(i, j int) bool { return s.Backlog[i].ID < s.Backlog[j].ID })
	default:
		for _, e := range a.events {
			if e.ID > after {
				s.Backlog = append(s.Backlog, e)
			}
		}
	}
	a.subs[s] = struct{}{}
	return s, gap
}

func containsID(list []Event, id uint64) bool {
	for _, e := range list {
		if e.ID == id {
			return true
		}
	}
	return false
}

// inProgressLocked returns, per recording of the agent in progress, its
// start event and, when paused, its pause event, in id order.
func (h *Hub) inProgressLocked(agentName string) []Event {
	var out []Event
	k := key(agentName)
	for _, r := range h.recs {
		if key(r.agent) != k || r.last.Kind == Stop {
			continue
		}
		out = append(out, r.start)
		if r.last.Kind == Pause {
			out = append(out, r.last)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lagged reports whether the hub closed C because the subscriber fell
// behind (valid once C is closed).
func (s *Sub) Lagged() bool {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.lagged
}

// Close ends the subscription. Idempotent.
func (s *Sub) Close() {
	s.once.Do(func() {
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		if a := s.h.agents[s.agent]; a != nil {
			if _, ok := a.subs[s]; ok {
				delete(a.subs, s)
				close(s.c)
			}
		}
	})
}

// Recording is what the hub knows of a recording that asked for screen
// recording.
type Recording struct {
	Agent, DN, CallUUID, Tenant string
	Started                     time.Time
	State                       Kind // the last event's kind
}

// Lookup returns what the hub knows of recordingID (in progress, or
// stopped less than Retain ago): the upload API authorises the agent it
// was started for.
func (h *Hub) Lookup(recordingID string) (Recording, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.recs[recordingID]
	if !ok {
		return Recording{}, false
	}
	return Recording{Agent: r.agent, DN: r.start.DN, CallUUID: r.start.CallUUID, Tenant: r.start.Tenant, Started: r.start.At, State: r.last.Kind}, true
}
