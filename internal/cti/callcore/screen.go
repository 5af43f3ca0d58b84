package callcore

import (
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/screen"
	"github.com/openrec/openrec/internal/cti/tlib"
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
	watch   map[string]*screenWatch     // recording id → its screen video's arrival
}

// screenWatch follows whether a recording's screen video arrives in time.
type screenWatch struct {
	deadline       time.Time
	callUUID, dn   string
	tenant         string
	received, done bool
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
	now := c.cfg.Now()
	if e, ok := c.cfg.Screen.Publish(screen.Event{Kind: screen.Start, Agent: agent, DN: s.RecordedDN,
		RecordingID: s.RecordingID, CallUUID: s.CallUUID, Tenant: tenant, At: now}); ok {
		c.scr.mu.Lock()
		if _, seen := c.scr.watch[s.RecordingID]; !seen {
			c.scr.watch[s.RecordingID] = &screenWatch{deadline: now.Add(c.cfg.ScreenTimeout), callUUID: s.CallUUID, dn: s.RecordedDN, tenant: tenant}
		}
		c.scr.mu.Unlock()
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

// ScreenReceived tells Core that the screen video of a recording started
// arriving (the upload API, at its first stored bytes): the Notification
// of Recording for video says so. Never blocks.
func (c *Core) ScreenReceived(recordingID string) {
	c.scr.mu.Lock()
	w := c.scr.watch[recordingID]
	first := w != nil && !w.received
	if first {
		w.received = true
	}
	c.scr.mu.Unlock()
	if !first {
		return
	}
	c.log.Info("screen video arriving", "recording_id", recordingID, "call_uuid", w.callUUID, "dn", w.dn)
	if a, ok := c.videoNotify(w, "yes"); ok {
		c.jobs.offerActions([]conversation.Action{a})
	}
}

// videoNotify is the attached-data update of the video notification of
// w's call (false: no key for its tenant, or the call is gone).
func (c *Core) videoNotify(w *screenWatch, value string) (conversation.Action, bool) {
	if c.cfg.VideoNotifyKey == nil {
		return nil, false
	}
	key := c.cfg.VideoNotifyKey(w.tenant)
	call, ok := c.eng.Call(w.callUUID)
	if key == "" || !ok {
		return nil, false
	}
	return conversation.UpdateUserData{Server: call.Server, DN: w.dn, ConnID: call.ConnID, CallUUID: w.callUUID,
		Data: tlib.KVList{}.Set(key, value)}, true
}

// screenTick raises the no-screen alert of the recordings whose screen
// video did not arrive in time, and forgets the settled ones (dispatcher).
func (d *dispatcher) screenTick(now time.Time) []conversation.Action {
	var due []*screenWatch
	var ids []string
	d.scr.mu.Lock()
	for id, w := range d.scr.watch {
		if now.Before(w.deadline) {
			continue
		}
		delete(d.scr.watch, id)
		if !w.received && !w.done {
			w.done = true
			due = append(due, w)
			ids = append(ids, id)
		}
	}
	d.scr.mu.Unlock()
	var acts []conversation.Action
	for i, w := range due {
		acts = append(acts, conversation.Alert{Kind: conversation.AlertNoScreen, At: now, CallUUID: w.callUUID, DN: w.dn,
			Detail: "recording " + ids[i] + " asked for screen recording and no screen video arrived within " + d.cfg.ScreenTimeout.String()})
		if a, ok := d.videoNotify(w, "no"); ok {
			acts = append(acts, a)
		}
	}
	return acts
}
