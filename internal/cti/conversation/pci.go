package conversation

import (
	"strings"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// pciPause applies the automatic PCI pause (RecordConfig.PCI) after an
// event: entering a payment phase pauses every running recording of the
// call (GSIP_RECORD_PAUSE), leaving it resumes the recordings it paused —
// never one a desktop or SIP Server paused. A recording that starts during
// the phase is paused as soon as it runs.
func (e *Engine) pciPause(st *state, at time.Time) []Action {
	pc := e.cfg.Record.PCI
	if !pc.On() {
		return nil
	}
	if pc.Key != "" {
		if v := st.pciValue; v != "" {
			if on, ok := parsePCIValue(v); ok {
				st.pciKey = on
			} else {
				e.cfg.Logger.Warn("PCI pause key ignored: want start or stop", "call", st.CallUUID, "key", pc.Key)
			}
		} else {
			st.pciKey = false // the key was deleted
		}
	}
	in := st.pciKey
	if pc.DNs != nil && !in {
		for _, dn := range st.Members {
			if pc.DNs.Monitored(dn) {
				in = true
				break
			}
		}
	}
	if in != st.pci {
		st.pci = in
		if in {
			e.cfg.Logger.Info("PCI pause: payment phase begins", "call", st.CallUUID)
		} else {
			e.cfg.Logger.Info("PCI pause: payment phase ends", "call", st.CallUUID)
		}
	}
	var acts []Action
	for i := range st.Recordings {
		r := &st.Recordings[i]
		switch {
		case in:
			// Not paused yet, started during the phase, or resumed by
			// someone else (SIP Server's GSIP_RECORD=ON) during it.
			if r.State == RecOn && !r.pciPending && !r.pciFailed {
				r.PCIPaused = true
				if r.Local() {
					r.State, r.Since = RecPaused, at // the recorder pauses it (callcore's Pauser)
					continue
				}
				r.pciPending = true
				acts = append(acts, e.service(st, r.DN, r.ID, OpPause, Decision{}))
			}
		case r.pciPending:
			// The phase ended before the pause was answered: resume
			// once it is.
		default:
			r.pciFailed = false
			if r.PCIPaused {
				r.PCIPaused = false
				if r.State == RecPaused && r.Local() {
					r.State, r.Since = RecOn, at
				} else if r.State == RecPaused {
					acts = append(acts, e.service(st, r.DN, r.ID, OpResume, Decision{}))
				}
			}
		}
	}
	return acts
}

// pciAnswered notes the answer to a pause request the PCI pause sent.
func pciAnswered(r *Recording, op Op, err error) {
	if op != OpPause || !r.pciPending {
		return
	}
	r.pciPending = false
	if err != nil {
		r.pciFailed = true
	}
}

// pciKeyFrom notes the PCI key's value from any event's user data. The
// call's user data is merged from every event (a key once attached stays
// in the metadata), but EventAttachedDataChanged carries the whole user
// data after the change: a key missing from it was deleted.
func (e *Engine) pciKeyFrom(st *state, m *tlib.Message) {
	key := e.cfg.Record.PCI.Key
	if key == "" {
		return
	}
	if kv, ok := m.UserData().Get(key); ok {
		st.pciValue = e.decodeList(tlib.KVList{kv}).String(key)
	} else if m.Type == tlib.EventAttachedDataChanged {
		st.pciValue = ""
	}
}

// parsePCIValue reads the PCI attached-data value: start/on/true/yes/1
// begins a payment phase, stop/off/false/no/0 ends it.
func parsePCIValue(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "start", "on", "true", "yes", "1":
		return true, true
	case "stop", "off", "false", "no", "0":
		return false, true
	}
	return false, false
}
