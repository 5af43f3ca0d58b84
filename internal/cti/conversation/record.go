package conversation

import (
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// decide runs when a monitored party becomes established: a record=true DN
// is recorded by SIP Server itself; then the recording rules decide.
func (e *Engine) decide(st *state, p *Party, at time.Time) []Action {
	if r := st.rec(p.DN); r == nil || !r.active() {
		if snap := e.snapshot(); snap != nil {
			if dn, ok := snap.DN(st.Switch, p.DN); ok && dn.Options["record"] == "true" {
				st.Recordings = append(st.Recordings, Recording{DN: p.DN, Source: SourceDNOption, State: RecOn, Since: at})
				st.Recorded = true
			}
		}
	}
	return e.evaluate(st, p, at, true)
}

// reevaluate runs the rules again for every live monitored party (attached
// data or parties changed).
func (e *Engine) reevaluate(st *state, at time.Time) []Action {
	var acts []Action
	for _, p := range st.liveMonitored() {
		acts = append(acts, e.evaluate(st, p, at, false)...)
	}
	return acts
}

// evaluate applies the rule decision for p. fresh: p just became
// established (a Record decision starts a recording even if the previous
// decision was the same).
func (e *Engine) evaluate(st *state, p *Party, at time.Time, fresh bool) []Action {
	rc := e.recordCfg(st, p.DN)
	if rc.Rule == nil || (st.Type == tlib.CallTypeConsult && !rc.Consult) {
		return nil
	}
	d := rc.Rule(st.Call.clone(), p.DN)
	prev, had := st.decisions[p.DN]
	if st.decisions == nil {
		st.decisions = map[string]Decision{}
	}
	st.decisions[p.DN] = d
	if had && prev.action() != d.action() {
		e.cfg.Logger.Info("recording rule decision changed", "call", st.CallUUID, "dn", p.DN,
			"from", prev.action(), "to", d.action(), "rule", d.Rule, "group", d.Group)
	}
	r := st.rec(p.DN)
	if r != nil && r.active() {
		if d.Rule != "" || r.RuleAction == "" {
			r.Rule, r.RuleGroup, r.RuleAction = d.Rule, d.Group, d.action()
		}
	} else {
		r = nil
	}
	switch {
	case d.DoNotRecord:
		if r == nil {
			return nil
		}
		return e.discard(st, r, fmt.Sprintf("do-not-record rule %q (group %q)", d.Rule, d.Group), at)
	case d.Record:
		if r != nil {
			switch {
			case r.Prerecord && !d.Prerecord && r.Keep == KeepUndecided:
				// the call now matches a record rule: keep what was pre-recorded
				r.Keep = KeepYes
				return []Action{e.retention(st, r, fmt.Sprintf("rule %q (record)", d.Rule), at)}
			case fresh && d.Prerecord && !r.Prerecord && r.Source == SourceDNOption && r.Keep == KeepUndecided:
				r.Prerecord = true
				if len(r.Legs) > 0 {
					return []Action{e.retention(st, r, fmt.Sprintf("rule %q (prerecord)", d.Rule), at)}
				}
			}
			return nil
		}
		if !fresh && had && prev.action() == d.action() {
			return nil // unchanged: a recording stopped on purpose stays stopped
		}
		e.seq++
		id := fmt.Sprintf("%s%04X", st.CallUUID, e.seq&0xFFFF)
		if rc.NewID != nil {
			id = rc.NewID(st.Call.clone(), p.DN, e.seq)
		}
		st.Recordings = append(st.Recordings, Recording{ID: id, DN: p.DN, State: RecRequested, Prerecord: d.Prerecord,
			Rule: d.Rule, RuleGroup: d.Group, RuleAction: d.action()})
		return []Action{e.service(st, p.DN, id, OpStart, d)}
	}
	return nil
}

// discard marks r's audio for deletion and stops it if it still runs.
func (e *Engine) discard(st *state, r *Recording, reason string, at time.Time) []Action {
	if r.Discarded {
		return nil
	}
	r.Discarded, r.DiscardReason = true, reason
	if r.Prerecord {
		r.Keep = KeepNo
	}
	e.cfg.Logger.Info("recording discarded: its audio will be deleted", "call", st.CallUUID, "record", r.ID, "dn", r.DN, "reason", reason)
	acts := []Action{e.retention(st, r, reason, at)}
	switch {
	case r.active() && r.Local():
		// SIP Server does not record it: silence from now on (the
		// recorder pauses it), the row and file go at the end
		r.State, r.Since = RecPaused, at
	case r.active():
		acts = append(acts, e.service(st, r.DN, r.ID, OpStop, Decision{}))
	}
	return acts
}

// retention reports r's keep state to the application.
func (e *Engine) retention(st *state, r *Recording, reason string, at time.Time) Retention {
	k := r.Keep
	if r.Discarded {
		k = KeepNo
	}
	return Retention{CallUUID: st.CallUUID, RecordID: r.ID, DN: r.DN, Keep: k, Reason: reason, At: at}
}

// legRetention reports the keep state to a leg that joined r (its row must
// learn it): pre-recordings and discarded recordings only.
func (e *Engine) legRetention(st *state, r *Recording, recordID string, at time.Time) []Action {
	if !r.Prerecord && !r.Discarded {
		return nil
	}
	a := e.retention(st, r, "", at)
	if recordID != "" {
		a.RecordID = recordID
	}
	switch {
	case r.Discarded:
		a.Reason = r.DiscardReason
	case r.Keep == KeepYes:
		a.Reason = "kept by request"
	default:
		a.Reason = fmt.Sprintf("pre-recording (rule %q)", r.Rule)
	}
	return []Action{a}
}

// recordCfg is the recording configuration for dn of the call: the
// default with the tenant's overrides.
func (e *Engine) recordCfg(st *state, dn string) RecordConfig {
	rc := e.cfg.Record
	if tc, ok := e.cfg.Tenants[e.tenantOfDN(st.Switch, dn)]; ok && tc.Record != nil {
		o := tc.Record
		if o.Geo != GeoNone {
			rc.Geo = o.Geo
		}
		rc.Dest = firstNonEmpty(o.Dest, rc.Dest)
		rc.Dest2 = firstNonEmpty(o.Dest2, rc.Dest2)
		rc.AudioSrc = firstNonEmpty(o.AudioSrc, rc.AudioSrc)
		rc.ToneSilenceDuration = firstNonEmpty(o.ToneSilenceDuration, rc.ToneSilenceDuration)
	}
	return rc
}

func (e *Engine) service(st *state, dn, id string, op Op, d Decision) PrivateService {
	rc := e.recordCfg(st, dn)
	var ext tlib.KVList
	msg := rc.MsgIDs.Start
	switch op {
	case OpStop:
		msg = rc.MsgIDs.Stop
	case OpPause:
		msg = rc.MsgIDs.Pause
	case OpResume:
		msg = rc.MsgIDs.Resume
	}
	if op == OpStart {
		geo := rc.Geo
		if d.Geo != "" {
			geo, _ = ParseGeo(d.Geo) // validated by the rules
		}
		switch geo {
		case GeoSource:
			ext = ext.Set("record", "source")
		case GeoDestination:
			ext = ext.Set("record", "destination")
		}
	}
	if id != "" {
		ext = ext.Set("id", id)
	}
	if op == OpStart {
		if v := firstNonEmpty(d.Dest, rc.Dest); v != "" {
			ext = ext.Set("dest", v)
		}
		if v := firstNonEmpty(d.Dest2, rc.Dest2); v != "" {
			ext = ext.Set("dest2", v)
		}
		if v := firstNonEmpty(d.AudioSrc, rc.AudioSrc); v != "" {
			ext = ext.Set("audiosrc", v)
		}
		if v := firstNonEmpty(d.ToneSilenceDuration, rc.ToneSilenceDuration); v != "" {
			ext = ext.Set("tonesilenceduration", v)
		}
	}
	e.counters.Requests++
	return PrivateService{Server: st.Server, DN: dn, ConnID: st.ConnID, MsgID: msg, Op: op, Ext: ext, CallUUID: st.CallUUID, RecordID: id}
}

// Control asks for a recording operation on dn of the call (API, rules,
// screen events): it returns the RequestPrivateService to send.
func (e *Engine) Control(callUUID, dn string, op Op, at time.Time) ([]Action, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callUUID]
	if !ok {
		return nil, errorf(ErrNoCall, "%s", callUUID)
	}
	p := st.party(dn)
	if p == nil || !p.Monitored || !p.live() {
		return nil, errorf(ErrNoParty, "%s on %s", dn, callUUID)
	}
	r := st.rec(dn)
	active := r != nil && (r.State == RecOn || r.State == RecPaused || r.State == RecRequested)
	switch op {
	case OpStart:
		if active {
			return nil, errorf(ErrState, "%s already %s", dn, r.State)
		}
		if d, ok := st.decisions[dn]; ok && d.DoNotRecord {
			return nil, errorf(ErrRefused, "%s on %s: rule %q (group %q) says do not record", dn, callUUID, d.Rule, d.Group)
		}
		e.seq++
		id := fmt.Sprintf("%s%04X", st.CallUUID, e.seq&0xFFFF)
		if e.cfg.Record.NewID != nil {
			id = e.cfg.Record.NewID(st.Call.clone(), dn, e.seq)
		}
		st.Recordings = append(st.Recordings, Recording{ID: id, DN: dn, State: RecRequested, RuleAction: "request"})
		return []Action{e.service(st, dn, id, OpStart, Decision{})}, nil
	case OpStop, OpPause, OpResume:
		if op == OpPause && active && r.State == RecPaused && r.PCIPaused && !r.pciPending {
			// Paused by the PCI pause: it stays paused after the
			// payment phase, as the desktop asks.
			r.PCIPaused = false
			return nil, nil
		}
		if !active || (op == OpPause && r.State != RecOn) || (op == OpResume && r.State != RecPaused) {
			return nil, errorf(ErrState, "%s %s", op, dn)
		}
		if op == OpResume && st.pci {
			return nil, errorf(ErrRefused, "%s on %s: payment phase (PCI pause)", dn, callUUID)
		}
		return []Action{e.service(st, dn, r.ID, op, Decision{})}, nil
	}
	return nil, errorf(ErrState, "unknown op %q", op)
}

// ServiceResult feeds back the answer to a PrivateService action: err nil
// for EventACK, non-nil for EventError (or a timeout).
func (e *Engine) ServiceResult(a PrivateService, err error, at time.Time) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[a.CallUUID]
	if !ok {
		return nil
	}
	r := st.recByID(a.RecordID)
	if r == nil {
		r = st.rec(a.DN)
	}
	var acts []Action
	if err != nil {
		msg := fmt.Sprintf("%s %s: %v", a.Op, a.DN, err)
		st.Errors = append(st.Errors, msg)
		e.counters.ServiceErrors++
		acts = append(acts, Alert{Kind: AlertServiceError, At: at, CallUUID: st.CallUUID, RecordID: a.RecordID, DN: a.DN, Detail: err.Error()})
		e.cfg.Logger.Warn("recording request failed", "call", st.CallUUID, "dn", a.DN, "record", a.RecordID, "op", string(a.Op), "err", err)
		if r != nil {
			pciAnswered(r, a.Op, err)
			r.Error = err.Error()
			if a.Op == OpStart && r.State == RecRequested {
				r.State = RecFailed
			}
		}
	} else if r != nil {
		pciAnswered(r, a.Op, nil)
		switch a.Op {
		case OpStart:
			if r.State == RecRequested {
				r.State, r.Since = RecOn, at
				r.Source = SourceRequest
			}
			st.Recorded = true
		case OpPause:
			if r.State == RecOn {
				r.State = RecPaused
				e.coupleEvent(st, "paused", r.DN, at)
			}
		case OpResume:
			if r.State == RecPaused {
				r.State = RecOn
				e.coupleEvent(st, "resumed", r.DN, at)
			}
		case OpStop:
			if r.State == RecOn || r.State == RecPaused {
				r.State, r.Explicit = RecOff, true
				e.coupleEvent(st, "stopped", r.DN, at)
			}
		}
	}
	acts = append(acts, e.pciPause(st, at)...)
	e.refresh(st, at)
	return append(acts, e.notify(st, at)...)
}

// Keep decides the fate of the pre-recordings of dn on the call (every
// pre-recording of the call when dn is ""): kept (YES) or discarded (NO;
// the application deletes the audio). It returns ErrState when there is no
// pre-recording to decide.
func (e *Engine) Keep(callUUID, dn string, keep bool, at time.Time) ([]Action, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callUUID]
	if !ok {
		return nil, errorf(ErrNoCall, "%s", callUUID)
	}
	acts, n := e.keep(st, dn, keep, "request", at)
	if n == 0 {
		if dn == "" {
			dn = "the call"
		}
		return nil, errorf(ErrState, "no pre-recording of %s", dn)
	}
	e.refresh(st, at)
	return append(acts, e.notify(st, at)...), nil
}

// keep applies a keep request to the pre-recordings of dn ("" = all);
// n is how many it concerned.
func (e *Engine) keep(st *state, dn string, keep bool, via string, at time.Time) (acts []Action, n int) {
	for i := range st.Recordings {
		r := &st.Recordings[i]
		if !r.Prerecord || (dn != "" && r.DN != dn) || r.Discarded {
			continue
		}
		n++
		if keep {
			if r.Keep != KeepYes {
				r.Keep = KeepYes
				e.cfg.Logger.Info("pre-recording kept", "call", st.CallUUID, "record", r.ID, "dn", r.DN, "via", via)
				acts = append(acts, e.retention(st, r, "kept by request ("+via+")", at))
			}
			continue
		}
		acts = append(acts, e.discard(st, r, "pre-recording not kept: discarded by request ("+via+")", at)...)
	}
	return acts, n
}

// ParseKeep parses a keep request value (the KeepKey attached data):
// true/yes/1/keep/on/y keeps, false/no/0/discard/off/n discards, anything
// else is not a keep request (ok false).
func ParseKeep(v string) (keep, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "keep", "on", "y":
		return true, true
	case "false", "no", "0", "discard", "off", "n":
		return false, true
	}
	return false, false
}

// LegArrived reports a media leg (MSR INVITE, SIPREC stream) for recordID
// / callUUID / recorded DN. A leg that matches no call waits as an orphan.
func (e *Engine) LegArrived(recordID, callUUID, dn string, at time.Time) []Action {
	return e.SessionArrived(recordID, callUUID, dn, 1, at)
}

// SessionArrived reports a SIP recording session that carries the audio of
// parties parties of the recorded DN's call: 1 for a two-session MSR leg
// (one session per party), 2 for a single-session MSR or a SIPREC session
// with both streams. Failed-recording detection counts parties, not
// sessions, against DetectConfig.ExpectLegs.
func (e *Engine) SessionArrived(recordID, callUUID, dn string, parties int, at time.Time) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	parties = max(1, parties)
	st := e.findLeg(recordID, callUUID, dn)
	if st == nil {
		e.orphans = append(e.orphans, &Orphan{RecordID: recordID, CallUUID: callUUID, DN: dn, At: at, Parties: parties})
		return nil
	}
	return e.leg(st, recordID, dn, parties, at, time.Time{})
}

// SessionEnded reports that a recording's sessions ended. An orphan leg
// (matching no call) is forgotten; reported says the engine already
// alerted it (AlertOrphanLeg), so the caller does not count it twice.
func (e *Engine) SessionEnded(recordID, callUUID, dn string) (reported bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.orphans[:0]
	for _, o := range e.orphans {
		if o.RecordID == recordID && o.CallUUID == callUUID && o.DN == dn {
			reported = reported || o.Reported
			continue
		}
		kept = append(kept, o)
	}
	clear(e.orphans[len(kept):])
	e.orphans = kept
	return reported
}

// AudioArrived reports the first audio (RTP with payload) of a leg: the
// notification is decided now.
func (e *Engine) AudioArrived(recordID, callUUID, dn string, at time.Time) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.findLeg(recordID, callUUID, dn)
	if st == nil {
		for _, o := range e.orphans {
			if o.RecordID == recordID && o.CallUUID == callUUID && o.DN == dn && o.Audio.IsZero() {
				o.Audio = at
				return nil
			}
		}
		e.orphans = append(e.orphans, &Orphan{RecordID: recordID, CallUUID: callUUID, DN: dn, At: at, Audio: at})
		return nil
	}
	return e.leg(st, recordID, dn, 1, time.Time{}, at)
}

// silentLeg returns the first leg no audio arrived on yet (nil: every leg
// carries audio). Audio is reported once per leg, in any order: only the
// count matters.
func (r *Recording) silentLeg() *Leg {
	for i := range r.Legs {
		if r.Legs[i].Audio.IsZero() {
			return &r.Legs[i]
		}
	}
	return nil
}

// covered counts the parties whose sessions arrived.
func (r *Recording) covered() int {
	n := 0
	for _, l := range r.Legs {
		n += max(1, l.Parties)
	}
	return n
}

// leg joins a leg of parties parties (legAt set) or its first audio
// (audioAt set) to st.
func (e *Engine) leg(st *state, recordID, dn string, parties int, legAt, audioAt time.Time) []Action {
	at := legAt
	if at.IsZero() {
		at = audioAt
	}
	r := st.recByID(recordID)
	if r == nil && dn != "" {
		r = st.rec(dn)
		if r != nil && r.ID != "" && recordID != "" && r.ID != recordID && (r.State == RecOff || r.State == RecFailed) {
			r = nil
		}
	}
	if r == nil {
		if dn == "" {
			if lm := st.liveMonitored(); len(lm) > 0 {
				dn = lm[0].DN
			}
		}
		st.Recordings = append(st.Recordings, Recording{ID: recordID, DN: dn, Source: SourceMedia, State: RecOn, Since: at})
		r = &st.Recordings[len(st.Recordings)-1]
	}
	if r.ID == "" {
		r.ID = recordID
	}
	st.Recorded = true
	var acts []Action
	if r.State == RecRequested || r.State == RecFailed {
		r.State, r.Since = RecOn, at
	}
	if r.State == RecOff && !r.Explicit && st.Released.IsZero() {
		// the session survived the recorded party leaving (sticky to the
		// recorded side, re-INVITE after a transfer)
		r.State = RecOn
	}
	if !legAt.IsZero() {
		if d, ok := st.decisions[r.DN]; ok && d.DoNotRecord && !r.Discarded {
			// a session the rules forbid (a desktop's, a record=true DN's)
			acts = append(acts, e.discard(st, r, fmt.Sprintf("do-not-record rule %q (group %q)", d.Rule, d.Group), at)...)
		}
		acts = append(acts, e.legRetention(st, r, recordID, at)...)
		r.Legs = append(r.Legs, Leg{RecordID: recordID, DN: dn, At: legAt, Parties: parties})
		if r.Failure == FailNoLeg || (r.Failure == FailOneLeg && r.covered() >= e.cfg.Detect.ExpectLegs) {
			acts = append(acts, e.recovered(st, r, at))
		}
	}
	if !audioAt.IsZero() {
		found := false
		for i := range r.Legs {
			if r.Legs[i].Audio.IsZero() {
				r.Legs[i].Audio, found = audioAt, true
				break
			}
		}
		if !found && len(r.Legs) == 0 {
			r.Legs = append(r.Legs, Leg{RecordID: recordID, DN: dn, At: audioAt, Audio: audioAt, Parties: parties})
		}
		if r.Audio.IsZero() {
			r.Audio = audioAt
		}
		if r.Failure == FailNoLeg || (r.Failure == FailNoRTP && (!e.cfg.Detect.AudioPerLeg || r.silentLeg() == nil)) {
			acts = append(acts, e.recovered(st, r, at))
		}
	}
	e.refresh(st, at)
	return append(acts, e.notify(st, at)...)
}

func (e *Engine) recovered(st *state, r *Recording, at time.Time) Action {
	r.Failure = FailNone
	e.counters.Recovered++
	e.cfg.Logger.Info("recording recovered", "call", st.CallUUID, "record", r.ID, "dn", r.DN)
	return Alert{Kind: AlertRecovered, At: at, CallUUID: st.CallUUID, RecordID: r.ID, DN: r.DN}
}

// adoptOrphans joins waiting legs to a call that just appeared.
func (e *Engine) adoptOrphans(st *state, at time.Time) []Action {
	var acts []Action
	for i := 0; i < len(e.orphans); i++ {
		o := e.orphans[i]
		match := o.CallUUID == st.CallUUID
		if o.CallUUID == "" && o.DN != "" {
			if p := st.party(o.DN); p != nil && p.live() {
				match = true
			}
		}
		if !match {
			continue
		}
		e.orphans = append(e.orphans[:i:i], e.orphans[i+1:]...)
		i--
		e.backdateResync(st, o)
		acts = append(acts, e.leg(st, o.RecordID, o.DN, o.Parties, o.At, time.Time{})...)
		if !o.Audio.IsZero() {
			acts = append(acts, e.leg(st, o.RecordID, o.DN, 1, time.Time{}, o.Audio)...)
		}
	}
	return acts
}

// backdateResync starts the couple of a DN first seen in the
// resynchronisation after a link loss (reason "resync") when its adopted
// leg arrived: the Media Server recorded the DN on this call since then,
// so the recording is covered from its start rather than from the
// reconnect.
func (e *Engine) backdateResync(st *state, o *Orphan) {
	dn := o.DN
	if dn == "" {
		if lm := st.liveMonitored(); len(lm) > 0 {
			dn = lm[0].DN
		}
	}
	p := st.party(dn)
	if p == nil || p.couple < 0 || p.couple >= len(st.Couples) {
		return
	}
	cp := &st.Couples[p.couple]
	if cp.Reason != "resync" || !o.At.Before(cp.Start) {
		return
	}
	for i := range p.couple {
		if st.Couples[i].ThisDN == dn {
			return // the DN had a couple before: the engine knew the call
		}
	}
	cp.Start = o.At
}

// Tick advances time: notification deadlines, failed-recording detection,
// orphan legs, resynchronisation after a link loss and the end of wrap-up.
func (e *Engine) Tick(now time.Time) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	var acts []Action
	for _, st := range e.sortedCalls() {
		if l := e.links[st.Server]; l != nil && !l.down && st.Unsynced && !l.resyncUntil.IsZero() && !now.Before(l.resyncUntil) {
			e.endUnsynced(st, l.downAt)
		}
		acts = append(acts, e.detect(st, now)...)
		acts = append(acts, e.notify(st, now)...)
		if !st.Released.IsZero() && !now.Before(st.finishAt) {
			acts = append(acts, Finished{Call: st.Call.clone()})
			delete(e.calls, st.CallUUID)
			for _, c := range st.ConnIDs {
				if e.byConn[connKey{st.Server, c}] == st.CallUUID {
					delete(e.byConn, connKey{st.Server, c})
				}
			}
		}
	}
	// while a CTI link is down or resynchronising a leg may belong to a
	// call the engine cannot know yet: orphans wait for the link
	hold := false
	for _, l := range e.links {
		if l.down || now.Before(l.resyncUntil) {
			hold = true
		}
	}
	for i, o := range e.orphans {
		if !hold && !o.Reported && !o.Lookup && !now.Before(o.At.Add(e.cfg.Detect.OrphanTimeout)) {
			// one alert per recording: its other legs are the same failure
			for _, p := range e.orphans[i:] {
				if p.RecordID == o.RecordID && p.CallUUID == o.CallUUID && p.DN == o.DN {
					p.Reported = true
				}
			}
			e.counters.OrphanLegs++
			e.cfg.Logger.Warn("recording leg matches no call", "record", o.RecordID, "calluuid", o.CallUUID, "dn", o.DN)
			acts = append(acts, Alert{Kind: AlertOrphanLeg, At: now, CallUUID: o.CallUUID, RecordID: o.RecordID, DN: o.DN})
		}
	}
	return acts
}

func (e *Engine) sortedCalls() []*state {
	out := make([]*state, 0, len(e.calls))
	for _, st := range e.calls {
		out = append(out, st)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].Started.Before(out[j-1].Started) ||
			(out[j].Started.Equal(out[j-1].Started) && out[j].CallUUID < out[j-1].CallUUID)); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// endUnsynced ends a call that the resynchronisation did not confirm: it
// ended while the link was down.
func (e *Engine) endUnsynced(st *state, downAt time.Time) {
	for i := range st.Parties {
		if p := &st.Parties[i]; p.State != PartyReleased {
			e.releaseParty(st, p, downAt, true)
		}
	}
	st.Unsynced = false
	st.Members = nil
	st.Released = downAt
	st.finishAt = downAt.Add(e.cfg.WrapUp)
	e.cfg.Logger.Info("call ended while the CTI link was down", "call", st.CallUUID)
}

// detect checks the recordings CTI calls recorded for missing legs / RTP.
func (e *Engine) detect(st *state, now time.Time) []Action {
	var acts []Action
	d := e.cfg.Detect
	for i := range st.Recordings {
		r := &st.Recordings[i]
		if r.State != RecOn || r.Source == SourceMedia || r.Since.IsZero() {
			continue
		}
		alert := func(f Failure, k AlertKind, ctr *uint64) {
			r.Failure = f
			*ctr++
			e.cfg.Logger.Warn("recording failed", "kind", string(k), "call", st.CallUUID, "record", r.ID, "dn", r.DN, "legs", len(r.Legs))
			acts = append(acts, Alert{Kind: k, At: now, CallUUID: st.CallUUID, RecordID: r.ID, DN: r.DN})
			e.refresh(st, now)
		}
		legDue := !now.Before(r.Since.Add(d.LegTimeout))
		switch {
		case len(r.Legs) == 0 && legDue && r.Failure == FailNone:
			alert(FailNoLeg, AlertNoLeg, &e.counters.NoLeg)
		case len(r.Legs) > 0 && r.covered() < d.ExpectLegs && legDue && r.Failure == FailNone:
			alert(FailOneLeg, AlertOneLeg, &e.counters.OneLeg)
		}
		silent := (*Leg)(nil)
		switch {
		case d.AudioPerLeg:
			silent = r.silentLeg() // no RTP on some leg
		case len(r.Legs) > 0 && r.Audio.IsZero():
			silent = &r.Legs[0] // no RTP on any leg
		}
		if silent != nil && r.Failure != FailNoRTP && !now.Before(silent.At.Add(d.RTPTimeout)) {
			alert(FailNoRTP, AlertNoRTP, &e.counters.NoRTP)
		}
	}
	return acts
}

// restartDeadline starts the notification cycle (first monitored party
// established) or restarts it while the value is undecided (a new party
// after a transfer gets its full timeout).
func (e *Engine) restartDeadline(st *state, at time.Time) {
	if !st.notifyOnce || !st.decided {
		st.notifyOnce = true
		st.deadline = at.Add(e.notifyCfg(st).Timeout)
	}
}
