package callcore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// The correlation side: what the CTI client and the recorder tell Core.
// Nothing here talks to the CTI link or writes a row: the engine's
// actions go to the queue, for the dispatcher.

// ledger is the correlation state: the recordings in progress, the
// finished recordings of calls the engine still holds (late data,
// retention), and the pause state last told to the recorder.
type ledger struct {
	mu       sync.Mutex
	sessions map[string]recorder.Session // recording id → identifiers
	byCall   map[string][]string         // CallUUID → recording ids (finished, for late updates)
	finished map[string]recorder.Session // recording id → identifiers, finished recordings of calls still held
	states   map[string]conversation.RecState
}

func newLedger() *ledger {
	return &ledger{
		sessions: map[string]recorder.Session{},
		byCall:   map[string][]string{},
		finished: map[string]recorder.Session{},
		states:   map[string]conversation.RecState{},
	}
}

func (l *ledger) started(s recorder.Session) {
	l.mu.Lock()
	l.sessions[s.RecordingID] = s
	l.mu.Unlock()
}

// live returns the session of a recording in progress.
func (l *ledger) live(recordingID string) (recorder.Session, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sessions[recordingID]
	return s, ok
}

// liveSessions returns the recordings in progress.
func (l *ledger) liveSessions() []recorder.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]recorder.Session, 0, len(l.sessions))
	for _, s := range l.sessions {
		out = append(out, s)
	}
	return out
}

// ended forgets a recording in progress; calls: the CTI calls it spans,
// whose late data may still change it.
func (l *ledger) ended(s recorder.Session, calls []*conversation.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sessions, s.RecordingID)
	if len(calls) == 0 {
		return
	}
	for _, call := range calls {
		l.byCall[call.CallUUID] = appendOnce(l.byCall[call.CallUUID], s.RecordingID)
	}
	l.finished[s.RecordingID] = s
}

// hasFinished reports whether a call has finished recordings.
func (l *ledger) hasFinished(callUUID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.byCall[callUUID]
	return ok
}

// finishedOf returns the finished recordings of a call; final: the call is
// over and forgotten, so are they.
func (l *ledger) finishedOf(callUUID string, final bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := append([]string(nil), l.byCall[callUUID]...)
	if final {
		delete(l.byCall, callUUID)
		for _, id := range ids {
			delete(l.finished, id)
		}
	}
	return ids
}

// deleted forgets a finished recording that was deleted.
func (l *ledger) deleted(recordingID string) {
	l.mu.Lock()
	delete(l.finished, recordingID)
	l.mu.Unlock()
}

// rows returns the store ids of the recordings a Retention action
// concerns: the live sessions and the finished recordings of the call with
// that record id (or recorded DN when the action has no record id).
func (l *ledger) rows(a conversation.Retention) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	match := func(s recorder.Session) bool {
		if a.RecordID != "" && s.RecordID != "" {
			return s.RecordID == a.RecordID
		}
		return s.CallUUID == a.CallUUID && s.RecordedDN == a.DN
	}
	var ids []string
	for id, s := range l.sessions {
		if match(s) {
			ids = append(ids, id)
		}
	}
	for _, id := range l.byCall[a.CallUUID] {
		if f, ok := l.finished[id]; ok && match(f) {
			ids = appendOnce(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// pauseChange is a recording the CTI side paused or resumed.
type pauseChange struct {
	recordID, dn string
	paused       bool
	pci          bool // the automatic PCI pause paused it
}

// pauseChanges returns the recordings of call whose pause state changed
// since last asked (GSIP_RECORD = PAUSED / ON, or an acknowledged PAUSE /
// RESUME); commit: remember the new states (only the dispatcher does, so
// the recorder hears the changes in the order they happened).
func (l *ledger) pauseChanges(call *conversation.Call, commit bool) []pauseChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []pauseChange
	for _, r := range call.Recordings {
		if r.ID == "" {
			continue
		}
		prev := l.states[r.ID]
		if commit {
			l.states[r.ID] = r.State
		}
		paused := r.State == conversation.RecPaused
		if (prev == conversation.RecPaused) == paused || prev == "" && !paused {
			continue
		}
		out = append(out, pauseChange{recordID: r.ID, dn: r.DN, paused: paused, pci: r.PCIPaused})
	}
	return out
}

// HandleEvent implements link.Handler. A full queue makes it wait
// (back-pressure to the CTI reader, whose own bounded queue then resets
// the link) rather than drop a recording request; it gives up once Core
// is closed.
func (c *Core) HandleEvent(server string, m *tlib.Message) {
	c.trace("<-", server, m)
	ctx := c.life
	if err := c.sendActions(ctx, c.eng.Handle(server, m, c.cfg.Now())); err != nil {
		return
	}
	c.keepAfterCall(ctx, m)
	uuid := m.CallUUID()
	if uuid == "" {
		return
	}
	if call, ok := c.eng.Call(uuid); ok && len(c.led.pauseChanges(call, false)) > 0 {
		if c.jobs.put(ctx, pauseSync{uuid}) != nil {
			return
		}
	}
	if m.Type == tlib.EventAttachedDataChanged && c.led.hasFinished(uuid) {
		// Attached data can change after a recording is finalised
		// (wrap-up): bring the stored couples up to date now.
		_ = c.jobs.put(ctx, lateData{uuid})
	}
}

// keepAfterCall sends a keep request for a call the engine no longer holds
// (its wrap-up passed, or the recorder restarted) to the store.
func (c *Core) keepAfterCall(ctx context.Context, m *tlib.Message) {
	if m.Type != tlib.EventAttachedDataChanged && m.Type != tlib.EventUserEvent {
		return
	}
	uuid := m.CallUUID()
	v := m.UserData().String(c.cfg.KeepKey)
	if uuid == "" || v == "" {
		return
	}
	if _, known := c.eng.Call(uuid); known {
		return
	}
	keep, ok := conversation.ParseKeep(v)
	if !ok {
		return
	}
	_ = c.jobs.put(ctx, keepStored{callUUID: uuid, keep: keep, via: "cti"})
}

// LinkState implements link.Handler.
func (c *Core) LinkState(server string, up bool) {
	now := c.cfg.Now()
	if up {
		c.eng.LinkUp(server, now)
		c.log.Info("cti link up", "server", server)
		return
	}
	c.eng.LinkDown(server, now)
	c.log.Warn("cti link down: calls kept, resynchronising at reconnect", "server", server)
}

// Admit implements recorder.Correlator: an excluded DN is never recorded,
// whoever asks (603 at the SIP side).
func (c *Core) Admit(recordDN string) error {
	if c.cfg.Exclude != nil {
		if why := c.cfg.Exclude(recordDN); why != "" {
			return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, recordDN, why)
		}
		return nil
	}
	if c.cfg.Filter != nil && c.cfg.Filter.Excluded(recordDN) {
		return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, recordDN, c.cfg.Filter.String())
	}
	return nil
}

// Started implements recorder.Correlator (never blocks: a full queue drops
// the engine's follow-ups, counted).
func (c *Core) Started(s recorder.Session) {
	c.led.started(s)
	c.screenStarted(s)
	parties := 1
	if s.ExpectLegs == 1 {
		parties = 2 // one session carries both parties (single-session MSR, SIPREC)
	}
	c.jobs.offerActions(c.eng.SessionArrived(s.RecordID, s.CallUUID, s.RecordedDN, parties, s.Start))
	if c.needsGIM(s) {
		if _, ok := c.eng.FindForLeg(s.RecordID, s.CallUUID, s.RecordedDN); !ok {
			c.startGIM(s)
		}
	}
}

var _ recorder.LegCorrelator = (*Core)(nil)

// LegJoined implements recorder.LegCorrelator: the other party's MSR
// session joined the recording. Without it every two-session recording
// looked one-legged to the failed-recording detection.
func (c *Core) LegJoined(s recorder.Session, at time.Time) {
	c.jobs.offerActions(c.eng.SessionArrived(s.RecordID, s.CallUUID, s.RecordedDN, 1, at))
}

// AudioStarted implements recorder.Correlator (called from an RTP read
// goroutine: it never blocks).
func (c *Core) AudioStarted(recordingID string, at time.Time) {
	s, ok := c.led.live(recordingID)
	if !ok {
		return
	}
	c.lat.audio(s.CallUUID, at)
	c.screenRetry(s)
	c.jobs.offerActions(c.eng.AudioArrived(s.RecordID, s.CallUUID, s.RecordedDN, at))
}

// Finished implements recorder.Correlator: the couples of the recording's
// call for its recorded DN, as offsets into the media.
func (c *Core) Finished(s recorder.Session, end time.Time) ([]store.Couple, map[string]string, string) {
	calls := c.callsOf(s)
	recordedDN, corr := s.RecordedDN, "matched"
	var gim *gimLookup
	switch {
	case c.needsGIM(s) && len(calls) == 0:
		gim = c.gimResult(s.RecordingID)
		if gim != nil && !gim.controlled {
			gim.recheck(c.eng, s) // a call that reached a followed DN since the lookup
		}
	case c.needsGIM(s):
		c.gim.forget(s.RecordingID) // matched meanwhile: the lookup's answer is moot
	}
	if len(calls) == 0 && gim != nil && gim.controlled {
		calls, recordedDN, corr = c.gimCalls(gim), gim.dn, CorrelationGIM
	}
	c.led.ended(s, calls)
	c.screenStopped(s, end)
	alerted := c.eng.SessionEnded(s.RecordID, s.CallUUID, s.RecordedDN)
	if len(calls) == 0 && gim != nil && gim.settled {
		c.log.Info("recording is not contact-center controlled: SIP Server controls no call of its DNs",
			"recording_id", s.RecordingID, "recorded_dn", s.RecordedDN, "other_dn", s.OtherDN, "source", s.Source)
		ext := map[string]string{KeyCCControlled: "no"}
		if c.cfg.SourceTenant != nil {
			for k, v := range c.cfg.SourceTenant(s.Source) {
				ext[k] = v
			}
		}
		return nil, ext, CorrelationNotControlled
	}
	if len(calls) == 0 {
		c.log.Warn("failed recording: SIP session matches no CTI call", "recording_id", s.RecordingID,
			"record_id", s.RecordID, "call_uuid", s.CallUUID, "recorded_dn", s.RecordedDN, "source", s.Source)
		if !alerted { // one alert per recording: the engine's, or this one
			c.countAlert(conversation.AlertOrphanLeg)
		}
		var ext map[string]string
		if c.cfg.SourceTenant != nil {
			ext = c.cfg.SourceTenant(s.Source)
		}
		return nil, ext, CorrelationNoCall
	}
	c.prerecordEnded(calls, s, end)
	couples, ext := Couples(calls, recordedDN, s.Start, end)
	if len(couples) == 0 && recordedDN != "" {
		// The recorded DN joined the call while the CTI link was down: no
		// event described its couple. The recording is still this call's.
		other := s.OtherDN
		if recordedDN != s.RecordedDN { // GIM found the call on the other DN
			other = s.RecordedDN
		}
		couples = []store.Couple{{StartMS: 0, EndMS: end.Sub(s.Start).Milliseconds(), ThisDN: recordedDN,
			OtherDN: other, ConnID: calls[0].ConnID.String(), CallUUID: calls[0].CallUUID}}
	}
	return couples, ext, corr
}

// callsOf returns the CTI calls a recording spans: the call its leg joined
// and, when different, the call its CallUUID names (a recording that began
// on a consult call continues on the original call after the transfer).
func (c *Core) callsOf(s recorder.Session) []*conversation.Call {
	var out []*conversation.Call
	if call, ok := c.eng.FindForLeg(s.RecordID, s.CallUUID, s.RecordedDN); ok {
		out = append(out, call)
	}
	if s.CallUUID != "" && (len(out) == 0 || out[0].CallUUID != s.CallUUID) {
		if call, ok := c.eng.Call(s.CallUUID); ok {
			out = append(out, call)
		}
	}
	return out
}

// prerecordEnded starts the keep deadline of a pre-recording that ended
// undecided. It never blocks the recorder's finalise: with the queue full
// the deadline is dropped, and the sweep gives the row one from its end.
func (c *Core) prerecordEnded(calls []*conversation.Call, s recorder.Session, end time.Time) {
	for _, call := range calls {
		for _, r := range call.Recordings {
			same := (s.RecordID != "" && r.ID == s.RecordID) || (s.RecordID == "" && r.DN == s.RecordedDN)
			if !same || !r.Prerecord || r.Discarded || r.Keep != conversation.KeepUndecided {
				continue
			}
			until := end.Add(c.cfg.PrerecordGrace)
			reason := fmt.Sprintf("pre-recording (rule %q): keep request by %s", r.Rule, until.UTC().Format(time.RFC3339))
			c.jobs.offer(pendingDeadline{id: s.RecordingID, until: until, reason: reason})
			return
		}
	}
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func containsCall(calls []*conversation.Call, uuid string) bool {
	for _, c := range calls {
		if c.CallUUID == uuid {
			return true
		}
	}
	return false
}

// Couples maps a call's couples for recordedDN onto a recording that
// started at start and ended at end: offsets in ms, clipped to the file.
// The recording-level external data merges the couples' (later ones win).
func Couples(calls []*conversation.Call, recordedDN string, start, end time.Time) ([]store.Couple, map[string]string) {
	var out []store.Couple
	for _, call := range calls {
		out = append(out, couplesOf(call, recordedDN, start, end)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartMS < out[j].StartMS })
	// The same span can appear in two calls (a consult merged into the
	// original call): keep the first of equal spans.
	uniq := out[:0]
	for _, cp := range out {
		if n := len(uniq); n > 0 && uniq[n-1].StartMS == cp.StartMS && uniq[n-1].EndMS == cp.EndMS && uniq[n-1].OtherDN == cp.OtherDN {
			continue
		}
		uniq = append(uniq, cp)
	}
	out = uniq
	// Recording-level data (what a search by GEN_* key finds): every
	// couple's, later couples overriding earlier ones.
	ext := map[string]string{}
	for _, cp := range out {
		for k, v := range cp.ExternalData {
			ext[k] = v
		}
	}
	return out, ext
}

func couplesOf(call *conversation.Call, recordedDN string, start, end time.Time) []store.Couple {
	var out []store.Couple
	last := -1
	for i, cp := range call.Couples {
		if recordedDN == "" || cp.ThisDN == recordedDN {
			last = i
		}
	}
	for i, cp := range call.Couples {
		if recordedDN != "" && cp.ThisDN != recordedDN {
			continue
		}
		cEnd := cp.End
		if cEnd.IsZero() || cEnd.After(end) || (cp.EndUncertain && i == last) {
			// Open, past the file, or ended by a link loss: the recorded
			// side's session lasted until its BYE, so does its last couple.
			cEnd = end
		}
		cStart := cp.Start
		if cStart.Before(start) {
			cStart = start
		}
		if !cEnd.After(cStart) {
			continue // outside the file, or empty
		}
		out = append(out, store.Couple{
			StartMS: cStart.Sub(start).Milliseconds(), EndMS: cEnd.Sub(start).Milliseconds(),
			ThisDN: cp.ThisDN, OtherDN: cp.OtherDN, ConnID: cp.ConnID.String(), CallUUID: call.CallUUID,
			ExternalData: store.CleanExternalData(cp.ExternalData),
		})
	}
	return out
}
