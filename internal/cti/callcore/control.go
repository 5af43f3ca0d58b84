package callcore

import (
	"context"
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// Recording-control operations of Control.
const (
	OpStart   = "start"
	OpPause   = "pause"
	OpResume  = "resume"
	OpStop    = "stop"
	OpKeep    = "keep"
	OpDiscard = "discard"
)

// ControlTarget names the recorded party of a live call. DN is required
// unless the call has exactly one monitored live party (keep and discard
// without a DN concern every pre-recording of the call). CallUUID and
// ConnID are optional: without them the target is the live call on which
// DN is a live monitored party (ErrAmbiguous if there are several).
type ControlTarget struct{ CallUUID, ConnID, DN string }

// ControlResult says what Control asked for. RecordID is the recording's
// record id (the `id` extension of a START; the running recording's for
// the other operations).
type ControlResult struct{ CallUUID, ConnID, DN, RecordID, Op string }

// Control operates the recording of a party like an agent desktop does:
// start, pause, resume and stop send RequestPrivateService on the CTI link
// (GSIP_RECORD_START 3013, STOP 3014, PAUSE 3015, RESUME 3016 by default);
// the request is queued (a full queue makes Control wait until ctx ends)
// and Control returns without waiting for SIP Server's answer (the recording state follows it: LiveCalls). keep and
// discard decide a pre-recording (Keep). Errors: ErrBadOp, ErrNoTarget,
// ErrAmbiguous, and the engine's conversation.ErrNoCall, ErrNoParty,
// ErrState (e.g. pause of a recording that is not on) and ErrRefused (a
// do-not-record rule), all wrapped.
func (c *Core) Control(ctx context.Context, t ControlTarget, op string) (ControlResult, error) {
	op = strings.ToLower(strings.TrimSpace(op))
	switch op {
	case OpStart, OpPause, OpResume, OpStop, OpKeep, OpDiscard:
	default:
		return ControlResult{}, fmt.Errorf("%w: %q (start, pause, resume, stop, keep, discard)", ErrBadOp, op)
	}
	keepOp := op == OpKeep || op == OpDiscard
	if keepOp && t.CallUUID != "" {
		if _, held := c.eng.Call(t.CallUUID); !held {
			// the call is over and forgotten: its pre-recordings are decided in the store
			if err := c.Keep(ctx, t.CallUUID, t.DN, op == OpKeep); err != nil {
				return ControlResult{}, fmt.Errorf("callcore: %s %s: %w", op, t.CallUUID, err)
			}
			return ControlResult{CallUUID: t.CallUUID, DN: t.DN, Op: op}, nil
		}
	}
	call, dn, err := c.target(t, keepOp)
	if err != nil {
		return ControlResult{}, err
	}
	res := ControlResult{CallUUID: call.CallUUID, ConnID: call.ConnID.String(), DN: dn, Op: op}
	if keepOp {
		if err := c.Keep(ctx, call.CallUUID, dn, op == OpKeep); err != nil {
			return res, fmt.Errorf("callcore: %s %s on %s: %w", op, dnName(dn), call.CallUUID, err)
		}
		for i := len(call.Recordings) - 1; i >= 0; i-- {
			if r := call.Recordings[i]; r.Prerecord && (dn == "" || r.DN == dn) {
				res.RecordID = r.ID
				break
			}
		}
		return res, nil
	}
	acts, err := c.eng.Control(call.CallUUID, dn, conversation.Op(op), c.cfg.Now())
	if err != nil {
		return res, fmt.Errorf("callcore: %s %s on %s: %w", op, dn, call.CallUUID, err)
	}
	for _, a := range acts {
		if ps, ok := a.(conversation.PrivateService); ok {
			res.RecordID = ps.RecordID
		}
	}
	c.log.Info("recording control requested", "op", op, "dn", dn, "call_uuid", call.CallUUID,
		"conn_id", res.ConnID, "record_id", res.RecordID)
	if err := c.sendActions(ctx, acts); err != nil { // waits for room until ctx ends
		return res, fmt.Errorf("callcore: %s %s on %s: not queued: %w", op, dn, call.CallUUID, err)
	}
	return res, nil
}

// target resolves t to a call the engine holds and the DN to operate.
// keep (keep / discard): the call may have ended (wrap-up), and an empty DN
// is fine when the call has several monitored parties (every
// pre-recording).
func (c *Core) target(t ControlTarget, keep bool) (*conversation.Call, string, error) {
	var call *conversation.Call
	switch {
	case t.CallUUID != "":
		cl, ok := c.eng.Call(t.CallUUID)
		if !ok {
			return nil, "", fmt.Errorf("%w: %w", ErrNoTarget, fmt.Errorf("%w: %s", conversation.ErrNoCall, t.CallUUID))
		}
		call = cl
		if t.ConnID != "" {
			conn, err := tlib.ParseConnID(t.ConnID)
			if err != nil || !hasConn(call, conn) {
				return nil, "", fmt.Errorf("%w: ConnID %s is not on call %s", ErrNoTarget, t.ConnID, t.CallUUID)
			}
		}
	case t.ConnID != "":
		conn, err := tlib.ParseConnID(t.ConnID)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrNoTarget, err)
		}
		for _, cl := range c.eng.Calls() {
			if hasConn(cl, conn) && (call == nil || !call.Released.IsZero() && cl.Released.IsZero()) {
				call = cl // the live call using it wins over one in wrap-up
			}
		}
		if call == nil {
			return nil, "", fmt.Errorf("%w: ConnID %s", ErrNoTarget, t.ConnID)
		}
	case t.DN != "":
		var found []*conversation.Call
		for _, cl := range c.eng.Calls() {
			if cl.Released.IsZero() && liveMonitored(cl, t.DN) {
				found = append(found, cl)
			}
		}
		switch len(found) {
		case 0:
			return nil, "", fmt.Errorf("%w: DN %s is on no live call", ErrNoTarget, t.DN)
		case 1:
			call = found[0]
		default:
			ids := make([]string, len(found))
			for i, cl := range found {
				ids[i] = cl.CallUUID
			}
			return nil, "", fmt.Errorf("%w: DN %s is on %d live calls (%s): give the CallUUID or ConnID",
				ErrAmbiguous, t.DN, len(found), strings.Join(ids, ", "))
		}
		return call, t.DN, nil
	default:
		return nil, "", fmt.Errorf("%w: give a DN, a CallUUID or a ConnID", ErrNoTarget)
	}
	if !call.Released.IsZero() && !keep {
		return nil, "", fmt.Errorf("%w: call %s has ended", ErrNoTarget, call.CallUUID)
	}
	if t.DN != "" {
		return call, t.DN, nil
	}
	var dns []string
	for _, p := range call.Parties {
		if liveMonitored(call, p.DN) {
			dns = appendOnce(dns, p.DN)
		}
	}
	switch {
	case len(dns) == 1:
		return call, dns[0], nil
	case keep:
		return call, "", nil
	case len(dns) == 0:
		return nil, "", fmt.Errorf("%w: %w", ErrNoTarget, fmt.Errorf("%w: call %s has no monitored live party", conversation.ErrNoParty, call.CallUUID))
	}
	return nil, "", fmt.Errorf("%w: call %s has %d monitored live parties (%s): give the DN",
		ErrAmbiguous, call.CallUUID, len(dns), strings.Join(dns, ", "))
}

func hasConn(call *conversation.Call, conn tlib.ConnID) bool {
	if call.ConnID == conn {
		return true
	}
	for _, c := range call.ConnIDs {
		if c == conn {
			return true
		}
	}
	return false
}

// liveMonitored reports whether dn is a monitored party established or
// held on the call.
func liveMonitored(call *conversation.Call, dn string) bool {
	for _, p := range call.Parties {
		if p.DN == dn && p.Monitored && (p.State == conversation.PartyEstablished || p.State == conversation.PartyHeld) {
			return true
		}
	}
	return false
}

func dnName(dn string) string {
	if dn == "" {
		return "every DN"
	}
	return dn
}
