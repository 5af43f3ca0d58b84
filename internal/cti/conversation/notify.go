package conversation

import (
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
)

func (e *Engine) snapshot() *ccdata.Snapshot {
	if e.cfg.Config == nil {
		return nil
	}
	return e.cfg.Config.Snapshot()
}

// tenantOf returns the tenant DBID of dn on the call's switch (0 unknown).
func (e *Engine) tenantOf(st *state, dn string) int {
	snap := e.snapshot()
	if snap == nil {
		return 0
	}
	if d, ok := snap.DN(st.Switch, dn); ok {
		if d.TenantDBID != 0 {
			return d.TenantDBID
		}
	}
	if sw, ok := snap.Switch(st.Switch); ok {
		return sw.TenantDBID
	}
	return 0
}

// notifyDN is the DN the notification is written with: a live monitored
// party, the one with an active recording first.
func (st *state) notifyDN() string {
	lm := st.liveMonitored()
	for _, p := range lm {
		if r := st.rec(p.DN); r != nil && (r.State == RecOn || r.State == RecPaused) {
			return p.DN
		}
	}
	if len(lm) > 0 {
		return lm[0].DN
	}
	return ""
}

func (e *Engine) notifyCfg(st *state) NotifyConfig {
	nc := e.cfg.Notify
	if len(nc.Tenants) > 0 {
		dn := st.notifyDN()
		if dn == "" && len(st.Parties) > 0 {
			dn = st.Parties[0].DN
		}
		if t, ok := nc.Tenants[e.tenantOf(st, dn)]; ok {
			nc = t
		}
	}
	return nc.withDefaults()
}

// desired is the notification value the recordings of the call call for;
// decided=false while it depends on the deadline.
func (st *state) desired(nc NotifyConfig) (string, bool) {
	var audio, prerec, paused, expected, stopped, no bool
	for i := range st.Recordings {
		r := &st.Recordings[i]
		discarded := (r.Prerecord && r.Keep == KeepNo) || r.Discarded
		switch r.State {
		case RecOn:
			switch {
			case discarded:
				no = true
			case r.Audio.IsZero():
				expected = true
			case r.Prerecord && r.Keep == KeepUndecided:
				prerec = true
			default:
				audio = true
			}
		case RecPaused:
			if discarded {
				no = true
			} else {
				paused = true
			}
		case RecRequested:
			expected = true
		case RecOff:
			if discarded {
				no = true
			} else if r.Explicit {
				stopped = true
			}
		case RecFailed:
			no = true
		}
	}
	switch {
	case audio:
		return nc.Yes, true
	case prerec:
		return nc.Prerecord, true
	case paused:
		return nc.NoLonger, true
	case expected:
		return "", false
	case stopped:
		if st.everYes {
			return nc.NoLonger, true
		}
		return nc.No, true
	case no:
		return nc.No, true
	}
	return "", false
}

// notify evaluates the Notification of Recording of the call and returns
// the RequestUpdateUserData to send, if any (docs/notification.md).
func (e *Engine) notify(st *state, at time.Time) []Action {
	if !st.notifyOnce || !st.Released.IsZero() || st.Unsynced {
		return nil
	}
	nc := e.notifyCfg(st)
	val, decided := st.desired(nc)
	if !decided {
		if st.decided {
			st.decided = false
			st.deadline = at.Add(nc.Timeout)
		}
		if at.Before(st.deadline) {
			return nil
		}
		switch {
		case st.hasExpected():
			val = nc.TimeoutValue
		case st.everYes:
			val = nc.NoLonger
		default:
			val = nc.No
		}
	} else {
		st.decided = true
	}
	if st.Notification != val {
		st.Notification = val
		e.refresh(st, at)
	}
	if val == nc.Yes || val == nc.Prerecord {
		st.everYes = true
	}
	if nc.Disabled || e.linkDown(st.Server) {
		return nil
	}
	dn := st.notifyDN()
	if dn == "" || st.sent[st.ConnID] == val {
		return nil
	}
	st.sent[st.ConnID] = val
	e.counters.Notifications++
	return []Action{UpdateUserData{
		Server: st.Server, DN: dn, ConnID: st.ConnID, CallUUID: st.CallUUID,
		Data: tlib.KVList{}.Set(nc.Key(), val),
	}}
}

func (st *state) hasExpected() bool {
	for _, r := range st.Recordings {
		if r.State == RecRequested || (r.State == RecOn && r.Audio.IsZero() && !(r.Prerecord && r.Keep == KeepNo) && !r.Discarded) {
			return true
		}
	}
	return false
}
