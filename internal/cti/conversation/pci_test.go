package conversation

import (
	"errors"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// Issue 21: the automatic PCI pause pauses the call's running recordings
// while a payment IVR DN is on the call or while the PCI attached-data key
// says start, and resumes only what it paused.
func TestPCIPause(t *testing.T) {
	const s = time.Second
	newRec := func(t *testing.T) *h {
		x := newH(t, func(c *Config) {
			c.Record = RecordConfig{
				Rule: func(*Call, string) Decision { return Decision{Record: true} },
				PCI:  PCIConfig{DNs: dnfilter.MustParse("7900-7909", ""), Key: "PCI"},
			}
		})
		acts := x.established(0, "5002", cust, conn1, uuid1)
		if len(acts) != 1 {
			t.Fatalf("start actions %v", acts)
		}
		x.add(0, x.e.ServiceResult(acts[0].(PrivateService), nil, at(0)))
		return x
	}
	// ops lists the pause/resume requests sent after the start.
	ops := func(x *h) []Op {
		var out []Op
		for _, p := range x.services() {
			if p.Op != OpStart {
				out = append(out, p.Op)
			}
		}
		return out
	}
	ack := func(x *h, d time.Duration) {
		for _, p := range x.services() {
			if p.Op != OpStart {
				x.e.ServiceResult(p, nil, at(d))
			}
		}
		x.acts = nil
	}
	state := func(x *h) RecState { return x.call(uuid1).Recordings[0].State }

	t.Run("attached data start and stop", func(t *testing.T) {
		x := newRec(t)
		x.acts = nil
		x.userData(s, "5002", conn1, uuid1, "PCI", "start")
		if got := ops(x); len(got) != 1 || got[0] != OpPause {
			t.Fatalf("after PCI=start: %v, want one pause", got)
		}
		// Another change (EventAttachedDataChanged carries the whole user
		// data): no second pause.
		x.userData(s+10*time.Millisecond, "5002", conn1, uuid1, "PCI", "start", "Other", "x")
		if got := ops(x); len(got) != 1 {
			t.Fatalf("requests %v, want still one pause", got)
		}
		ack(x, 2*s)
		if state(x) != RecPaused {
			t.Fatalf("state %s after the pause ACK", state(x))
		}
		x.userData(3*s, "5002", conn1, uuid1, "PCI", "stop")
		if got := ops(x); len(got) != 1 || got[0] != OpResume {
			t.Fatalf("after PCI=stop: %v, want one resume", got)
		}
		ack(x, 3*s)
		if state(x) != RecOn {
			t.Fatalf("state %s after the resume ACK", state(x))
		}
	})
	t.Run("payment IVR joins and leaves", func(t *testing.T) {
		x := newRec(t)
		x.acts = nil
		added := msg(tlib.EventPartyAdded, "5002", "7905", conn1, uuid1).SetStr(tlib.AttrThirdPartyDN, "7905")
		x.ev(s, added)
		if got := ops(x); len(got) != 1 || got[0] != OpPause {
			t.Fatalf("after the IVR joined: %v, want one pause", got)
		}
		ack(x, s)
		deleted := msg(tlib.EventPartyDeleted, "5002", "7905", conn1, uuid1).SetStr(tlib.AttrThirdPartyDN, "7905")
		x.ev(2*s, deleted)
		if got := ops(x); len(got) != 1 || got[0] != OpResume {
			t.Fatalf("after the IVR left: %v, want one resume", got)
		}
	})
	t.Run("a desktop pause is not resumed", func(t *testing.T) {
		x := newRec(t)
		p, err := x.e.Control(uuid1, "5002", OpPause, at(s))
		if err != nil {
			t.Fatal(err)
		}
		x.e.ServiceResult(p[0].(PrivateService), nil, at(s))
		x.acts = nil
		x.userData(2*s, "5002", conn1, uuid1, "PCI", "start")
		x.userData(3*s, "5002", conn1, uuid1, "PCI", "stop")
		if got := ops(x); len(got) != 0 {
			t.Fatalf("requests %v, want none: the desktop paused it", got)
		}
		if state(x) != RecPaused {
			t.Fatalf("state %s, want still paused", state(x))
		}
	})
	t.Run("bad value ignored", func(t *testing.T) {
		x := newRec(t)
		x.acts = nil
		x.userData(s, "5002", conn1, uuid1, "PCI", "maybe")
		if got := ops(x); len(got) != 0 {
			t.Fatalf("requests %v after PCI=maybe", got)
		}
	})
}

func TestParsePCIValue(t *testing.T) {
	for _, tc := range []struct {
		in     string
		on, ok bool
	}{
		{"start", true, true}, {" ON ", true, true}, {"1", true, true}, {"yes", true, true},
		{"stop", false, true}, {"Off", false, true}, {"0", false, true}, {"false", false, true},
		{"", false, false}, {"pause", false, false},
	} {
		if on, ok := parsePCIValue(tc.in); on != tc.on || ok != tc.ok {
			t.Errorf("parsePCIValue(%q) = %v %v, want %v %v", tc.in, on, ok, tc.on, tc.ok)
		}
	}
}

// A recording that starts (is acknowledged) during a payment phase is
// paused at once.
func TestPCIPauseRecordingStartedDuringPhase(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record = RecordConfig{
			Rule: func(*Call, string) Decision { return Decision{Record: true} },
			PCI:  PCIConfig{Key: "PCI"},
		}
	})
	acts := x.established(0, "5002", cust, conn1, uuid1)
	x.userData(time.Second, "5002", conn1, uuid1, "PCI", "start")
	x.acts = nil
	got := x.e.ServiceResult(acts[0].(PrivateService), nil, at(2*time.Second))
	var pauses int
	for _, a := range got {
		if p, ok := a.(PrivateService); ok && p.Op == OpPause {
			pauses++
		}
	}
	if pauses != 1 {
		t.Fatalf("actions after the start ACK %v, want one pause", got)
	}
}

// pciRec is a call of 5002 recorded (ON) with the PCI pause on key PCI.
func pciRec(t *testing.T) *h {
	x := newH(t, func(c *Config) {
		c.Record = RecordConfig{
			Rule: func(*Call, string) Decision { return Decision{Record: true} },
			PCI:  PCIConfig{Key: "PCI"},
		}
	})
	acts := x.established(0, "5002", cust, conn1, uuid1)
	x.add(0, x.e.ServiceResult(acts[0].(PrivateService), nil, at(0)))
	x.acts = nil
	return x
}

// pciOps returns the pause and resume requests sent since x.acts was
// cleared.
func pciOps(x *h) []PrivateService {
	var out []PrivateService
	for _, p := range x.services() {
		if p.Op == OpPause || p.Op == OpResume {
			out = append(out, p)
		}
	}
	return out
}

// A payment phase shorter than the round trip of its pause request: the
// pause acknowledged after the phase ended must be followed by a resume,
// or the rest of the call is never recorded.
func TestPCIPausePhaseEndsBeforeThePauseIsAcknowledged(t *testing.T) {
	const s = time.Second
	x := pciRec(t)
	x.userData(s, "5002", conn1, uuid1, "PCI", "start")
	x.userData(s+100*time.Millisecond, "5002", conn1, uuid1, "PCI", "stop")
	ops := pciOps(x)
	if len(ops) != 1 || ops[0].Op != OpPause {
		t.Fatalf("requests %v, want one pause", ops)
	}
	x.acts = nil
	x.add(2*s, x.e.ServiceResult(ops[0], nil, at(2*s)))
	ops = pciOps(x)
	if len(ops) != 1 || ops[0].Op != OpResume {
		t.Fatalf("after the late pause ACK: requests %v, want one resume", ops)
	}
	x.e.ServiceResult(ops[0], nil, at(3*s))
	if st := x.call(uuid1).Recordings[0].State; st != RecOn {
		t.Fatalf("state %s after the phase, want ON", st)
	}
	// A failed pause in a later phase leaves nothing behind: the phase
	// after it pauses again.
	x.acts = nil
	x.userData(4*s, "5002", conn1, uuid1, "PCI", "start")
	ops = pciOps(x)
	if len(ops) != 1 || ops[0].Op != OpPause {
		t.Fatalf("second phase: requests %v, want one pause", ops)
	}
	x.e.ServiceResult(ops[0], errors.New("EventError"), at(4*s))
	x.userData(5*s, "5002", conn1, uuid1, "PCI", "stop")
	x.acts = nil
	x.userData(6*s, "5002", conn1, uuid1, "PCI", "start")
	if ops = pciOps(x); len(ops) != 1 || ops[0].Op != OpPause {
		t.Fatalf("third phase after a failed pause: requests %v, want one pause", ops)
	}
}

// During a payment phase nothing resumes the recording: a desktop resume
// is refused, and a resume SIP Server reports (GSIP_RECORD=ON, a third
// party) is paused again.
func TestPCIPauseHoldsAgainstResumeDuringThePhase(t *testing.T) {
	const s = time.Second
	x := pciRec(t)
	x.userData(s, "5002", conn1, uuid1, "PCI", "start")
	ops := pciOps(x)
	if len(ops) != 1 {
		t.Fatalf("requests %v, want one pause", ops)
	}
	x.e.ServiceResult(ops[0], nil, at(s))
	if _, err := x.e.Control(uuid1, "5002", OpResume, at(2*s)); !errors.Is(err, ErrRefused) {
		t.Fatalf("desktop resume during the payment phase: err %v, want ErrRefused", err)
	}
	x.acts = nil
	x.userData(3*s, "5002", conn1, uuid1, "PCI", "start", "GSIP_RECORD", "ON")
	if ops = pciOps(x); len(ops) != 1 || ops[0].Op != OpPause {
		t.Fatalf("after GSIP_RECORD=ON in the phase: requests %v, want one pause", ops)
	}
	x.e.ServiceResult(ops[0], nil, at(3*s))
	x.acts = nil
	x.userData(4*s, "5002", conn1, uuid1, "PCI", "stop")
	if ops = pciOps(x); len(ops) != 1 || ops[0].Op != OpResume {
		t.Fatalf("after the phase: requests %v, want one resume", ops)
	}
	x.e.ServiceResult(ops[0], nil, at(4*s))
	// After the phase the desktop may pause and resume again.
	if _, err := x.e.Control(uuid1, "5002", OpPause, at(5*s)); err != nil {
		t.Fatalf("desktop pause after the phase: %v", err)
	}
}

// EventAttachedDataChanged carries the call's whole user data after the
// change: an IVR that deletes the PCI key (RequestDeleteUserData, or
// deletes all user data) ends the payment phase as stop does.
func TestPCIPauseKeyDeleted(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name string
		kv   []string // the user data after the deletion
	}{{"the key", []string{"Other", "x"}}, {"all user data", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			x := pciRec(t)
			x.userData(s, "5002", conn1, uuid1, "Other", "x", "PCI", "start")
			ops := pciOps(x)
			if len(ops) != 1 || ops[0].Op != OpPause {
				t.Fatalf("requests %v, want one pause", ops)
			}
			x.e.ServiceResult(ops[0], nil, at(s))
			x.acts = nil
			x.userData(2*s, "5002", conn1, uuid1, tc.kv...)
			if ops = pciOps(x); len(ops) != 1 || ops[0].Op != OpResume {
				t.Fatalf("after the PCI key was deleted: requests %v, want one resume", ops)
			}
		})
	}
}

// A desktop that pauses during the payment phase (the recording is
// already paused by it) keeps it paused afterwards: only what the PCI
// pause alone paused is resumed.
func TestPCIPauseDesktopPauseDuringThePhase(t *testing.T) {
	const s = time.Second
	x := pciRec(t)
	x.userData(s, "5002", conn1, uuid1, "PCI", "start")
	ops := pciOps(x)
	if len(ops) != 1 {
		t.Fatalf("requests %v, want one pause", ops)
	}
	x.e.ServiceResult(ops[0], nil, at(s))
	acts, err := x.e.Control(uuid1, "5002", OpPause, at(2*s))
	if err != nil || len(acts) != 0 {
		t.Fatalf("desktop pause during the phase: %v %v, want accepted with nothing to send (already paused)", acts, err)
	}
	x.acts = nil
	x.userData(3*s, "5002", conn1, uuid1, "PCI", "stop")
	if ops = pciOps(x); len(ops) != 0 {
		t.Fatalf("after the phase: requests %v, want none: the desktop paused it too", ops)
	}
	if st := x.call(uuid1).Recordings[0].State; st != RecPaused {
		t.Fatalf("state %s, want still paused", st)
	}
}

// The PCI key counts in whatever event carries the call's user data (a
// call transferred in the payment phase may first be seen in an event
// other than EventAttachedDataChanged).
func TestPCIPauseKeyFromAnyEvent(t *testing.T) {
	x := pciRec(t)
	m := msg(tlib.EventPartyChanged, "5002", cust, conn1, uuid1)
	m.SetList(tlib.AttrUserData, tlib.KVList{}.Set("PCI", "start"))
	x.ev(time.Second, m)
	if ops := pciOps(x); len(ops) != 1 || ops[0].Op != OpPause {
		t.Fatalf("requests %v after an event carrying PCI=start, want one pause", ops)
	}
}
