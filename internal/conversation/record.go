package conversation

import (
	"fmt"
	"time"

	"github.com/openrec/openrec/internal/tlib"
)

// decide runs when a monitored party becomes established: a record=true DN
// is recorded by SIP Server itself; otherwise the rule may ask for it.
func (e *Engine) decide(st *state, p *Party, at time.Time) []Action {
	if r := st.rec(p.DN); r != nil && r.State != RecOff && r.State != RecFailed {
		return nil
	}
	if snap := e.snapshot(); snap != nil {
		if dn, ok := snap.DN(st.Switch, p.DN); ok && dn.Options["record"] == "true" {
			st.Recordings = append(st.Recordings, Recording{DN: p.DN, Source: SourceDNOption, State: RecOn, Since: at})
			st.Recorded = true
			return nil
		}
	}
	if e.cfg.Record.Rule == nil || (st.Type == tlib.CallTypeConsult && !e.cfg.Record.Consult) {
		return nil
	}
	d := e.cfg.Record.Rule(st.Call.clone(), p.DN)
	if !d.Record {
		return nil
	}
	e.seq++
	id := fmt.Sprintf("%s%04X", st.CallUUID, e.seq&0xFFFF)
	if e.cfg.Record.NewID != nil {
		id = e.cfg.Record.NewID(st.Call.clone(), p.DN, e.seq)
	}
	st.Recordings = append(st.Recordings, Recording{ID: id, DN: p.DN, State: RecRequested, Prerecord: d.Prerecord})
	return []Action{e.service(st, p.DN, id, OpStart, d)}
}

func (e *Engine) service(st *state, dn, id string, op Op, d Decision) PrivateService {
	rc := e.cfg.Record
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
		switch rc.Geo {
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
		if rc.Dest != "" {
			ext = ext.Set("dest", rc.Dest)
		}
		if rc.Dest2 != "" {
			ext = ext.Set("dest2", rc.Dest2)
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
		e.seq++
		id := fmt.Sprintf("%s%04X", st.CallUUID, e.seq&0xFFFF)
		if e.cfg.Record.NewID != nil {
			id = e.cfg.Record.NewID(st.Call.clone(), dn, e.seq)
		}
		st.Recordings = append(st.Recordings, Recording{ID: id, DN: dn, State: RecRequested})
		return []Action{e.service(st, dn, id, OpStart, Decision{})}, nil
	case OpStop, OpPause, OpResume:
		if !active || (op == OpPause && r.State != RecOn) || (op == OpResume && r.State != RecPaused) {
			return nil, errorf(ErrState, "%s %s", op, dn)
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
			r.Error = err.Error()
			if a.Op == OpStart && r.State == RecRequested {
				r.State = RecFailed
			}
		}
	} else if r != nil {
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
	e.refresh(st, at)
	return append(acts, e.notify(st, at)...)
}

// Keep decides the fate of a pre-recording of dn: kept (YES) or discarded
// (NO; the application deletes the audio).
func (e *Engine) Keep(callUUID, dn string, keep bool, at time.Time) ([]Action, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callUUID]
	if !ok {
		return nil, errorf(ErrNoCall, "%s", callUUID)
	}
	r := st.rec(dn)
	if r == nil || !r.Prerecord {
		return nil, errorf(ErrState, "no pre-recording of %s", dn)
	}
	if keep {
		r.Keep = KeepYes
	} else {
		r.Keep = KeepNo
	}
	e.refresh(st, at)
	return e.notify(st, at), nil
}

// LegArrived reports a media leg (MSR INVITE, SIPREC stream) for recordID
// / callUUID / recorded DN. A leg that matches no call waits as an orphan.
func (e *Engine) LegArrived(recordID, callUUID, dn string, at time.Time) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.findLeg(recordID, callUUID, dn)
	if st == nil {
		e.orphans = append(e.orphans, &Orphan{RecordID: recordID, CallUUID: callUUID, DN: dn, At: at})
		return nil
	}
	return e.leg(st, recordID, dn, at, time.Time{})
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
	return e.leg(st, recordID, dn, time.Time{}, at)
}

// leg joins a leg (legAt set) or its first audio (audioAt set) to st.
func (e *Engine) leg(st *state, recordID, dn string, legAt, audioAt time.Time) []Action {
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
		r.Legs = append(r.Legs, Leg{RecordID: recordID, DN: dn, At: legAt})
		if r.Failure == FailNoLeg || (r.Failure == FailOneLeg && len(r.Legs) >= e.cfg.Detect.ExpectLegs) {
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
			r.Legs = append(r.Legs, Leg{RecordID: recordID, DN: dn, At: audioAt, Audio: audioAt})
		}
		if r.Audio.IsZero() {
			r.Audio = audioAt
		}
		if r.Failure == FailNoRTP || r.Failure == FailNoLeg {
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
		acts = append(acts, e.leg(st, o.RecordID, o.DN, o.At, time.Time{})...)
		if !o.Audio.IsZero() {
			acts = append(acts, e.leg(st, o.RecordID, o.DN, time.Time{}, o.Audio)...)
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
	for _, o := range e.orphans {
		if !hold && !o.Reported && !now.Before(o.At.Add(e.cfg.Detect.OrphanTimeout)) {
			o.Reported = true
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
		case len(r.Legs) > 0 && len(r.Legs) < d.ExpectLegs && legDue && r.Failure == FailNone:
			alert(FailOneLeg, AlertOneLeg, &e.counters.OneLeg)
		}
		if len(r.Legs) > 0 && r.Audio.IsZero() && r.Failure != FailNoRTP && !now.Before(r.Legs[0].At.Add(d.RTPTimeout)) {
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
