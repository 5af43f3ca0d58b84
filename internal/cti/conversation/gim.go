package conversation

import (
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// GIM (seed 000, "Genesys Integration Module"): a recording that arrived
// without Genesys identifiers (passive capture, SIPREC from an SBC) is
// looked up over T-Library. The engine's part: hold the leg's orphan alert
// while the lookup runs, and describe a call SIP Server reported for a DN
// the engine does not follow.

// Describe returns the call an EventPartyInfo (the answer to
// RequestQueryCall) describes, as the engine would record it for the
// party ThisDN from since on: call attributes, one open couple for ThisDN
// with its external data (GEN_TEV_*, GEN_USR_*, GEN_EXT_*, GEN_CFG_*). The
// engine keeps nothing of it: use it for a DN it does not monitor (a
// monitored DN's PartyInfo goes through Handle).
func (e *Engine) Describe(server string, m *tlib.Message, since time.Time) *Call {
	if m == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	uuid := m.CallUUID()
	if uuid == "" {
		uuid = "connid-" + m.ConnID().String()
	}
	st := &state{
		Call: Call{CallUUID: uuid, Server: server, Switch: e.switchOf(server), ConnID: m.ConnID(), Started: since},
		sent: map[tlib.ConnID]string{},
	}
	if m.ConnID() != 0 {
		st.ConnIDs = []tlib.ConnID{m.ConnID()}
	}
	e.attrs(st, m)
	dn := m.ThisDN()
	agent := m.Str(tlib.AttrAgentID)
	if agent == "" {
		agent = e.agents[dnKey{server, dn}]
	}
	st.Parties = []Party{{DN: dn, AgentID: agent, OtherDN: m.OtherDN(), State: PartyEstablished, Joined: since, couple: 0}}
	st.Couples = []Couple{{Start: since, ThisDN: dn, OtherDN: m.OtherDN(), ConnID: m.ConnID(), Reason: "gim"}}
	e.fill(st, &st.Couples[0], &st.Parties[0])
	return st.Call.clone()
}

// LookupStarted holds the orphan alert of a leg (as given to
// SessionArrived) while a GIM lookup asks SIP Server about it.
func (e *Engine) LookupStarted(recordID, callUUID, dn string) {
	e.setLookup(recordID, callUUID, dn, true, false)
}

// LookupDone ends the hold. settled: the lookup answered (the call is SIP
// Server's, or SIP Server controls no call of the leg): the leg's orphan
// is not a failed recording, it is never alerted. Otherwise (the lookup
// failed) the orphan is alerted as usual once OrphanTimeout passed.
func (e *Engine) LookupDone(recordID, callUUID, dn string, settled bool) {
	e.setLookup(recordID, callUUID, dn, false, settled)
}

func (e *Engine) setLookup(recordID, callUUID, dn string, on, settled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range e.orphans {
		if o.RecordID == recordID && o.CallUUID == callUUID && o.DN == dn {
			o.Lookup = on
			if settled {
				o.Reported = true // nothing to report: no alert
			}
		}
	}
}
