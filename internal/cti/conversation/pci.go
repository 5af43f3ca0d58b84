package conversation

import (
	"strings"
	"time"
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
		if v := st.UserData.String(pc.Key); v != "" {
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
		case in && r.State == RecOn && !r.PCIPaused:
			r.PCIPaused = true
			if r.Local() {
				r.State, r.Since = RecPaused, at // the recorder pauses it (callcore's Pauser)
				continue
			}
			acts = append(acts, e.service(st, r.DN, r.ID, OpPause, Decision{}))
		case !in && r.PCIPaused:
			r.PCIPaused = false
			if r.State == RecPaused && r.Local() {
				r.State, r.Since = RecOn, at
			} else if r.State == RecPaused {
				acts = append(acts, e.service(st, r.DN, r.ID, OpResume, Decision{}))
			}
		}
	}
	return acts
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
