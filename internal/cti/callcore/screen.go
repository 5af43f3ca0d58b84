package callcore

import (
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/screen"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// ScreenPublisher gets the screen-session events (screen.Hub).
type ScreenPublisher interface {
	Publish(e screen.Event) (screen.Event, bool)
}

// screenTable holds the recordings that ask for screen recording whose
// agent is not known yet (the call's agent comes with a later event): they
// are tried again at first audio and at every pause change.
type screenTable struct {
	mu      sync.Mutex
	pending map[string]recorder.Session // recording id → session
}

// screenWanted reports whether recording s asks for screen recording (its
// rule's or its tenant's screen setting) and the agent on its recorded DN.
func (c *Core) screenWanted(s recorder.Session) (want bool, agent, tenant string) {
	if c.cfg.Screen == nil || c.cfg.ScreenWanted == nil {
		return false, "", ""
	}
	calls := c.callsOf(s)
	rule := ""
	if len(calls) > 0 {
		if r := latestRecording(calls[0], s.RecordedDN); r != nil {
			rule = r.Rule
		}
		_, ext := Couples(calls, s.RecordedDN, s.Start, c.cfg.Now())
		if tenant = ext[store.TenantKey]; tenant == "" {
			tenant = tenantOf(calls[0])
		}
		for _, call := range calls {
			for _, p := range call.Parties {
				if p.DN == s.RecordedDN && p.AgentID != "" {
					agent = p.AgentID
				}
			}
		}
	}
	if agent == "" && s.RecordedDN != "" {
		agent = c.eng.AgentOn(s.RecordedDN)
	}
	return c.cfg.ScreenWanted(rule, tenant), agent, tenant
}

// screenStarted tells the agent's screen client that a recording started
// (called from the recorder's Started: it never blocks).
func (c *Core) screenStarted(s recorder.Session) {
	want, agent, tenant := c.screenWanted(s)
	if !want {
		return
	}
	if agent == "" {
		c.scr.mu.Lock()
		c.scr.pending[s.RecordingID] = s
		c.scr.mu.Unlock()
		return
	}
	c.publishStart(s, agent, tenant)
}

func (c *Core) publishStart(s recorder.Session, agent, tenant string) {
	if e, ok := c.cfg.Screen.Publish(screen.Event{Kind: screen.Start, Agent: agent, DN: s.RecordedDN,
		RecordingID: s.RecordingID, CallUUID: s.CallUUID, Tenant: tenant, At: c.cfg.Now()}); ok {
		c.log.Info("screen recording requested", "recording_id", s.RecordingID, "agent", agent, "dn", s.RecordedDN, "event_id", e.ID)
	}
}

// screenRetry publishes the start of a pending recording once its agent
// is known.
func (c *Core) screenRetry(s recorder.Session) {
	c.scr.mu.Lock()
	_, pending := c.scr.pending[s.RecordingID]
	c.scr.mu.Unlock()
	if !pending {
		return
	}
	if _, agent, tenant := c.screenWanted(s); agent != "" {
		c.scr.mu.Lock()
		delete(c.scr.pending, s.RecordingID)
		c.scr.mu.Unlock()
		c.publishStart(s, agent, tenant)
	}
}

// screenStopped tells the client the recording ended.
func (c *Core) screenStopped(s recorder.Session, end time.Time) {
	if c.cfg.Screen == nil {
		return
	}
	c.scr.mu.Lock()
	delete(c.scr.pending, s.RecordingID)
	c.scr.mu.Unlock()
	// The hub ignores recordings it never started (no screen asked).
	c.cfg.Screen.Publish(screen.Event{Kind: screen.Stop, RecordingID: s.RecordingID, CallUUID: s.CallUUID, DN: s.RecordedDN, At: end})
}

// screenPaused tells the clients of the live recordings of a pause change
// (dispatcher, in the order of the changes).
func (d *dispatcher) screenPaused(callUUID string, p pauseChange) {
	if d.cfg.Screen == nil {
		return
	}
	kind, reason := screen.Resume, ""
	if p.paused {
		kind = screen.Pause
	}
	if p.pci {
		reason = "pci"
	}
	for _, s := range d.led.liveSessions() {
		if !(p.recordID != "" && s.RecordID == p.recordID) && !(s.CallUUID == callUUID && s.RecordedDN == p.dn) {
			continue
		}
		d.screenRetry(s)
		d.cfg.Screen.Publish(screen.Event{Kind: kind, DN: s.RecordedDN, RecordingID: s.RecordingID,
			CallUUID: s.CallUUID, At: d.cfg.Now(), Reason: reason})
	}
}
