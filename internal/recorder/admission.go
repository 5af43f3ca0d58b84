package recorder

import "github.com/openrec/openrec/internal/sip/sipsrv"

// Gate checks the resources a new call needs besides a call slot (free RTP
// port pairs, disk space, a writable store, file descriptors):
// resources.Guard. It is asked when a new call is admitted and by OPTIONS
// and /healthz (Available), so that both refuse with 503 before anything
// runs out. The error's text is a short fixed English reason.
type Gate interface {
	// Check: could a new call needing pairs RTP port pairs be recorded
	// now? (health: OPTIONS, /healthz)
	Check(pairs int) error
	// Admit is Check for a call being admitted (it counts the call's
	// resources until they show in the next sample).
	Admit(pairs int) error
}

// pairsPerCall is what an MSR call takes: one RTP/RTCP pair per leg.
const pairsPerCall = 2

// SetGate installs the resource gate (before Run).
func (r *Recorder) SetGate(g Gate) { r.gate = g }

// resourceRefusal is the 503 for a new call the gate refuses, or nil.
// Called with r.mu held. The pairs asked for are the new call's plus one
// promised to each admitted two-session MSR call whose other leg has not
// come yet (the second leg of an admitted call is always admitted).
func (r *Recorder) resourceRefusal(admit bool) error {
	if r.gate == nil {
		return nil
	}
	check := r.gate.Check
	if admit {
		check = r.gate.Admit
	}
	pairs := pairsPerCall + len(r.waiting)
	if r.cfg.Shared != nil {
		pairs = 0 // legs share the media sockets: no pair of their own
	}
	if err := check(pairs); err != nil {
		return &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: " + err.Error(), RetryAfter: r.cfg.RetryAfter, Err: err}
	}
	return nil
}

// storageUnavailable is the answer when a new recording's file or row
// cannot be created (disk full, store not writable, no descriptor): 503, so
// the client tries another recorder, never 500.
func (r *Recorder) storageUnavailable(err error) error {
	r.stats.callsRejected.Add(1)
	return &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: storage unavailable", RetryAfter: r.cfg.RetryAfter, Err: err}
}

// awaitSecondLeg promises a port pair to the second leg of a new
// two-session MSR call (r.mu held); the join or the end of the call
// (forgetCall) takes the promise back.
func (r *Recorder) awaitSecondLeg(c *call, inv *sipsrv.Invite) {
	if inv.Kind == sipsrv.KindSIPREC || (inv.MSR.OtherDN != "" && audioCount(inv.SDP) >= 2) {
		return // one session carries the whole recording
	}
	if r.waiting == nil {
		r.waiting = map[*call]struct{}{}
	}
	r.waiting[c] = struct{}{}
}
