package conversation

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Hand-written expectations beside the golden files. The golden files
// (testdata/golden, testdata/contract/*.golden.json) are the engine's own
// output, written with -update: they catch a change, not a wrong answer.
// The expectations below are written by hand from the public Genesys
// documentation (the "Expected:" note of each contract trace, which cites
// its model table; the product documents for key names and values) and
// from the header of each scenario trace. They pin what the documents
// say; a change of the engine that breaks one of them is a bug, not a
// golden file to regenerate.
//
// Documented facts used here:
//   - GSIP_RECORD_START (3013), GSIP_RECORD_STOP (3014), GSIP_RECORD_PAUSE
//     (3015), GSIP_RECORD_RESUME (3016) are the AttrPrivateMsgID values of
//     the recording requests (Active Recording Ecosystem, "Development
//     Info").
//   - The notification key is RECORDING_STATUS + "_" + optional part
//     (GIM here), values RECORDING_YES, RECORDING_NO and
//     RECORDING_NO_LONGER (Active Recording Ecosystem, "Notification of
//     Recording" defaults).
//   - Basic call data is stored as GEN_TEV_<attribute>; by default
//     AgentID, ANI, CallID, CallUuid, CallType (Inbound, Outbound,
//     Internal, Consult, Unknown), ConnID, DNIS, OtherDN, ThisDN; "if the
//     value is empty, that key is not stored". User data as
//     GEN_USR_<key>, only the configured keys ("by default, no user data
//     gets attached"); extension data as GEN_EXT_<key>, only configured
//     keys; agent data as GEN_CFG_EmployeeID, FirstName, LastName,
//     UserName by default, plus GEN_CFG_FULLNAME, GEN_CFG_Tenant,
//     GEN_CFG_Switch; GEN_CONFERENCE_MEMBERS lists the parties of a
//     conference couple; GEN_TEV_CSUP_MODE (Monitoring | Coaching),
//     GEN_TEV_CSUP_SCOPE (Call | Agent), GEN_TEV_CSUP_SUPID,
//     GEN_TEV_CSUP_SUPDN describe call supervision (Genesys Integration
//     Module, "External Data Available from CIM").
//   - User data "can arrive ... even after the call has been cleared. For
//     example: when the agent fills in wrap-up information."
//   - Hold is an event of the call, not a new call: the Hold/Retrieve
//     model keeps ConnID 1; transfers and conferences keep the held
//     call's ConnID (TCompleteTransfer / TCompleteConference: "Assigns
//     held_conn_id to the resulting call").

// expectation is what one trace must give.
type expectation struct {
	calls int
	// couples of every call, one line each (see coupleLine), any order
	couples []string
	// services: "<offset> <op> <msg id> <dn>", in order
	services []string
	// notifications: "<offset> <value> <dn>", in order
	notes []string
	// alerts: kinds, in order
	alerts []AlertKind
	// ext: couple ("<dn>@<start>") → keys that must have these values
	ext map[string]map[string]string
	// noExt: couple ("<dn>@<start>", or "*" for every couple) → keys that
	// must be absent
	noExt map[string][]string
}

// coupleLine is "<this>><other> <start>-<end> <reason> <last 3 hex digits
// of the ConnID>", with " ~" when the end is uncertain, the conference
// members in [] instead of the other party, and couple events in {}.
func coupleLine(cp Couple) string {
	other := cp.OtherDN
	if cp.Members != nil {
		m := slices.Clone(cp.Members)
		sort.Strings(m)
		other = "[" + strings.Join(m, ",") + "]"
	}
	end := off(cp.End)
	if cp.EndUncertain {
		end += "~"
	}
	s := fmt.Sprintf("%s>%s %s-%s %s %s", cp.ThisDN, other, off(cp.Start), end, cp.Reason, cp.ConnID.String()[13:])
	if len(cp.Events) > 0 {
		var ev []string
		for _, e := range cp.Events {
			ev = append(ev, off(e.At)+" "+e.Kind+" "+e.DN)
		}
		s += " {" + strings.Join(ev, ", ") + "}"
	}
	return s
}

func checkExpectation(t *testing.T, r *runner, want expectation) {
	t.Helper()
	if len(r.calls) != want.calls {
		t.Errorf("%d calls, want %d", len(r.calls), want.calls)
	}
	var got []string
	byKey := map[string]Couple{}
	for _, c := range r.calls {
		for _, cp := range c.Couples {
			got = append(got, coupleLine(cp))
			byKey[cp.ThisDN+"@"+off(cp.Start)] = cp
		}
	}
	sameSet(t, "couples", got, want.couples)

	var svc, notes []string
	var alerts []AlertKind
	for _, a := range r.actions {
		switch a["action"] {
		case "PrivateService":
			svc = append(svc, fmt.Sprintf("%s %s %d %s", a["at"], a["op"], a["msg_id"], a["dn"]))
		case "UpdateUserData":
			for k, v := range a["data"].(map[string]string) {
				if k != "RECORDING_STATUS_GIM" {
					t.Errorf("%s: UpdateUserData writes %s=%s, want only RECORDING_STATUS_GIM", a["at"], k, v)
				}
				notes = append(notes, fmt.Sprintf("%s %s %s", a["at"], v, a["dn"]))
			}
		case "Alert":
			alerts = append(alerts, a["kind"].(AlertKind))
		}
	}
	sameList(t, "recording requests", svc, want.services)
	sameList(t, "notifications", notes, want.notes)
	sameList(t, "alerts", alerts, want.alerts)

	for key, kv := range want.ext {
		cp, ok := byKey[key]
		if !ok {
			t.Errorf("no couple %s for external data", key)
			continue
		}
		for k, v := range kv {
			got, ok := cp.ExternalData[k]
			if k == "GEN_CONFERENCE_MEMBERS" { // a list of parties: any order
				got, v = sortedList(got), sortedList(v)
			}
			if !ok || got != v {
				t.Errorf("couple %s: %s = %q (present %v), want %q", key, k, got, ok, v)
			}
		}
	}
	for key, keys := range want.noExt {
		for ck, cp := range byKey {
			if key != "*" && key != ck {
				continue
			}
			for _, k := range keys {
				if v, ok := cp.ExternalData[k]; ok {
					t.Errorf("couple %s: %s = %q, want it absent", ck, k, v)
				}
			}
		}
	}
}

func sortedList(s string) string {
	l := strings.Split(s, ",")
	sort.Strings(l)
	return strings.Join(l, ",")
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	sameList(t, what, g, w)
}

func sameList[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// wantTEV gives the GEN_TEV_ keys stored by default, with values, for
// the agent side of an inbound call.
func wantTEV(this, other, uuid, conn, agent string, extra ...string) map[string]string {
	m := map[string]string{
		"GEN_TEV_ThisDN": this, "GEN_TEV_OtherDN": other, "GEN_TEV_CallUuid": uuid,
		"GEN_TEV_ConnID": conn, "GEN_TEV_AgentID": agent,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// agent data of the persons in testdata/config.yaml, tenant Bank, switch
// SIP_Switch.
var (
	cfgJana = map[string]string{"GEN_CFG_EmployeeID": "E-1001", "GEN_CFG_FirstName": "Jana",
		"GEN_CFG_LastName": "Nováková", "GEN_CFG_UserName": "jnovakova", "GEN_CFG_FULLNAME": "Jana Nováková",
		"GEN_CFG_Tenant": "Bank", "GEN_CFG_Switch": "SIP_Switch"}
	cfgPetr = map[string]string{"GEN_CFG_EmployeeID": "E-1002", "GEN_CFG_FirstName": "Petr",
		"GEN_CFG_LastName": "Svoboda", "GEN_CFG_UserName": "psvoboda", "GEN_CFG_FULLNAME": "Petr Svoboda",
		"GEN_CFG_Tenant": "Bank", "GEN_CFG_Switch": "SIP_Switch"}
	cfgEva = map[string]string{"GEN_CFG_EmployeeID": "E-1003", "GEN_CFG_FirstName": "Eva",
		"GEN_CFG_LastName": "Dvořák", "GEN_CFG_UserName": "edvorak", "GEN_CFG_FULLNAME": "Eva Dvořák",
		"GEN_CFG_Tenant": "Bank", "GEN_CFG_Switch": "SIP_Switch"}
)

// contractExpect: the "Expected:" note of each contract trace, as data.
// The contract golden files pin couples only, so do these.
var contractExpect = map[string][]string{
	// one couple for 5002 (other party the caller) from EventEstablished
	// (3s) to EventReleased (40s); ringing is not part of the couple
	"inbound_answered": {"5002>+420601000101 3s-40s established 101"},
	// one couple per monitored DN, both from EventEstablished to their
	// EventReleased
	"internal_call": {
		"5003>5002 4s-30s established 201",
		"5002>5003 4s-30s established 201",
	},
	// the routing point (not monitored) makes no couple
	"routing_point_inbound": {"5001>+420601000401 6s-50s established 401"},
	// hold is an event of the couple (of every couple of the call, named
	// by the DN that held), not a new couple; the consultation
	// call has couples of its own
	"hold_retrieve": {
		"5002>+420601000301 2s-1m0s established 301 {10s held 5002, 30s retrieved 5002}",
		"5002>5003 14s-25s established 302",
		"5003>5002 14s-25s established 302",
	},
	// the target answers on the same ConnID: a new couple, reason transfer
	"single_step_transfer": {
		"5001>+420601000501 2s-20s established 501",
		"5002>+420601000501 23s-55s transfer 501",
	},
	// ConnID 1 is kept; C gets a new couple on it; the consultation call
	// ends at completion
	"two_step_transfer": {
		"5003>5001 3s-30s established 601 {12s held 5001}",
		"5003>5002 30s-1m10s transfer 601",
		"5001>5003 3s-30s established 601 {12s held 5001}",
		"5002>5003 30s-1m10s transfer 601",
		"5001>5002 15s-30s established 602",
		"5002>5001 15s-30s established 602",
	},
	// conference of A, B, C on ConnID 1 (40s); B leaves (75s); A and C go
	// on in two-party couples
	"conference_release": {
		"5003>5001 3s-40s established 711 {12s held 5001}",
		"5001>5003 3s-40s established 711 {12s held 5001}",
		"5001>5002 15s-40s established 712",
		"5002>5001 15s-40s established 712",
		"5003>[5001,5002,5003] 40s-1m15s conference 711",
		"5001>[5001,5002,5003] 40s-1m15s conference 711",
		"5002>[5001,5002,5003] 40s-1m15s conference 711",
		"5003>5002 1m15s-1m40s conference 711",
		"5002>5003 1m15s-1m40s conference 711",
	},
	"conference_delete": {
		"5003>5001 3s-40s established 721 {12s held 5001}",
		"5001>5003 3s-40s established 721 {12s held 5001}",
		"5001>5002 15s-40s established 722",
		"5002>5001 15s-40s established 722",
		"5003>[5001,5002,5003] 40s-1m15s conference 721",
		"5001>[5001,5002,5003] 40s-1m15s conference 721",
		"5002>[5001,5002,5003] 40s-1m15s conference 721",
		"5003>5002 1m15s-1m40s conference 721",
		"5002>5003 1m15s-1m40s conference 721",
	},
}

func TestContractExpectations(t *testing.T) {
	for name, want := range contractExpect {
		t.Run(name, func(t *testing.T) {
			steps, err := loadScenario(filepath.Join("testdata", "contract", name+".trace"))
			if err != nil {
				t.Fatal(err)
			}
			for _, order := range []struct {
				name  string
				steps []step
			}{{"as written", steps}, {"instants reversed", reorderInstants(steps)}} {
				r := &runner{e: New(scenarioConfig(t)), calls: map[string]*Call{}}
				r.play(t, order.steps)
				var got []string
				for _, c := range r.calls {
					for _, cp := range c.Couples {
						got = append(got, coupleLine(cp))
					}
				}
				sameSet(t, order.name, got, want)
			}
		})
	}
}

// scenarioExpect: the header of each scenario trace, as data. 5001 has
// the DN option record=true (SIP Server records it by itself: no
// request); the rule of scenarioConfig records 5002 (openrec sends
// GSIP_RECORD_START); 5003 and 5100 are not recorded; 7000 is a routing
// point outside the DN filter.
var scenarioExpect = map[string]expectation{
	"inbound_answered": {
		calls:   1,
		couples: []string{"5001>+420601000111 5s-1m5s established 001"},
		notes:   []string{"5.4s RECORDING_YES 5001"},
		ext: map[string]map[string]string{"5001@5s": merge(cfgJana,
			wantTEV("5001", "+420601000111", "A0000000000000000000000000000001", "006502a8c4e1b001", "agent01",
				"GEN_TEV_ANI", "+420601000111", "GEN_TEV_DNIS", "8000", "GEN_TEV_CallID", "1001",
				"GEN_TEV_CallType", "Inbound",
				// configured user keys, cp1250 decoded; Customer is renamed
				// to CustomerName; the later value of IVR_Language wins
				"GEN_USR_CustomerName", "Jiří Novák", "GEN_USR_IVR_Language", "čeština",
				// configured extension key
				"GEN_EXT_BusinessID", "B-77"))},
		noExt: map[string][]string{"*": {"GEN_USR_NotConfigured", "GEN_USR_Customer", "GEN_CONFERENCE_MEMBERS"}},
	},
	"hold": {
		calls: 1,
		couples: []string{"5002>+420601000222 3s-1m10s established 101" +
			" {20s held 5002, 35s retrieved 5002, 40s paused 5002, 55s resumed 5002}"},
		services: []string{"3s start 3013 5002"},
		notes:    []string{"3.4s RECORDING_YES 5002", "40s RECORDING_NO_LONGER 5002", "55s RECORDING_YES 5002"},
		ext: map[string]map[string]string{"5002@3s": merge(cfgPetr,
			wantTEV("5002", "+420601000222", "B0000000000000000000000000000001", "006502a8c4e1b101", "agent02",
				"GEN_TEV_ANI", "+420601000222", "GEN_TEV_DNIS", "8000", "GEN_TEV_CallType", "Inbound"))},
		// no CallID in the events: not stored
		noExt: map[string][]string{"*": {"GEN_TEV_CallID", "GEN_CONFERENCE_MEMBERS"}},
	},
	"single_step_transfer": {
		calls: 1,
		couples: []string{
			"5001>+420601000333 2s-20s established 201",
			"5002>+420601000333 22s-50s transfer 201",
		},
		services: []string{"22s start 3013 5002"},
		// the notification is attached data of the call: RECORDING_YES
		// still holds after the transfer and is not written again
		notes: []string{"2.5s RECORDING_YES 5001"},
		ext: map[string]map[string]string{
			"5001@2s":  merge(cfgJana, wantTEV("5001", "+420601000333", "C0000000000000000000000000000001", "006502a8c4e1b201", "agent01")),
			"5002@22s": merge(cfgPetr, wantTEV("5002", "+420601000333", "C0000000000000000000000000000001", "006502a8c4e1b201", "agent02")),
		},
	},
	"consult_transfer": {
		calls: 2,
		couples: []string{
			"5001>+420601000444 0s-25s established 301 {10s held 5001}",
			"5002>+420601000444 25s-1m0s transfer 301",
			"5001>5002 12s-25s established 302",
			"5002>5001 12s-25s established 302",
		},
		// the rule does not record consult calls; 5002 is recorded once
		// the transfer makes it a party of the original call
		services: []string{"25s start 3013 5002"},
		// per call (the consult call has its own); not repeated after the
		// transfer on the original ConnID, where it still holds
		notes: []string{"400ms RECORDING_YES 5001", "12.5s RECORDING_YES 5001"},
		ext: map[string]map[string]string{
			"5001@12s": {"GEN_TEV_CallType": "Consult", "GEN_TEV_CallUuid": "D0000000000000000000000000000002",
				"GEN_TEV_ConnID": "006502a8c4e1b302"},
			// the transferred call keeps the original call's identity
			"5002@25s": merge(cfgPetr, wantTEV("5002", "+420601000444", "D0000000000000000000000000000001",
				"006502a8c4e1b301", "agent02", "GEN_TEV_CallType", "Inbound")),
		},
	},
	"conference": {
		calls: 1,
		couples: []string{
			"5001>+420601000555 0s-15s established 401",
			"5001>[+420601000555,5001,5003] 15s-40s conference 401",
			// 5003 joins by its own EventEstablished: its first couple
			"5003>[+420601000555,5001,5003] 15s-40s established 401",
			"5001>+420601000555 40s-55s conference 401",
		},
		notes: []string{"200ms RECORDING_YES 5001"},
		ext: map[string]map[string]string{
			"5001@15s": {"GEN_CONFERENCE_MEMBERS": "+420601000555,5001,5003"},
			"5003@15s": merge(cfgEva, map[string]string{"GEN_TEV_AgentID": "agent03", "GEN_TEV_ThisDN": "5003"}),
		},
		// two-party couples carry no member list
		noExt: map[string][]string{"5001@0s": {"GEN_CONFERENCE_MEMBERS"}, "5001@40s": {"GEN_CONFERENCE_MEMBERS"}},
	},
	"supervisor_coaching": {
		calls: 1,
		couples: []string{
			"5001>+420601000666 0s-10s established 501",
			"5001>+420601000666 10s-25s supervision 501",
			"5001>+420601000666 25s-40s supervision 501",
			"5001>+420601000666 40s-50s supervision 501",
		},
		notes: []string{"200ms RECORDING_YES 5001"},
		ext: map[string]map[string]string{
			"5001@10s": {"GEN_TEV_CSUP_MODE": "Coaching", "GEN_TEV_CSUP_SCOPE": "Call",
				"GEN_TEV_CSUP_SUPID": "sup01", "GEN_TEV_CSUP_SUPDN": "5100"},
			"5001@25s": {"GEN_TEV_CSUP_MODE": "Monitoring", "GEN_TEV_CSUP_SCOPE": "Call",
				"GEN_TEV_CSUP_SUPID": "sup01", "GEN_TEV_CSUP_SUPDN": "5100"},
		},
		// the supervisor is no conference member; before and after the
		// supervision there is none
		noExt: map[string][]string{
			"*":        {"GEN_CONFERENCE_MEMBERS"},
			"5001@0s":  {"GEN_TEV_CSUP_MODE", "GEN_TEV_CSUP_SUPDN"},
			"5001@40s": {"GEN_TEV_CSUP_MODE", "GEN_TEV_CSUP_SUPDN"},
		},
	},
	"wrapup_after_release": {
		calls:   1,
		couples: []string{"5003>+420601000777 2s-30s established 601"},
		// not recorded: RECORDING_NO once the 3 s wait is over
		notes: []string{"5s RECORDING_NO 5003"},
		ext: map[string]map[string]string{"5003@2s": merge(cfgEva,
			wantTEV("5003", "+420601000777", "G0000000000000000000000000000001", "006502a8c4e1b601", "agent03",
				"GEN_USR_CustomerName", "Alena", "GEN_USR_Wrapup", "mortgage offer sent"))},
	},
	"link_loss": {
		calls: 3,
		couples: []string{
			// ended while the link was down: ends, uncertain, at link loss
			"5001>+420601000888 0s-10s~ established 701",
			// confirmed by the resynchronisation with a new other party
			// the other party changed while the link was down: when is
			// unknown, so the end is uncertain
			"5003>+420601000999 1s-40.5s~ established 702",
			"5003>5099 40.5s-1m20s resync 702",
			// started while the link was down: from its leg (15s)
			"5002>+420601000111 15s-1m25s resync 703",
		},
		notes:  []string{"400ms RECORDING_YES 5001", "4s RECORDING_NO 5003", "40.6s RECORDING_YES 5002"},
		alerts: []AlertKind{AlertOrphanLeg},
	},
}

func TestScenarioExpectations(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.trace")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := scenarioExpect[strings.TrimSuffix(filepath.Base(f), ".trace")]; !ok {
			t.Errorf("%s has no hand-written expectation", f)
		}
	}
	for name, want := range scenarioExpect {
		t.Run(name, func(t *testing.T) {
			steps, err := loadScenario(filepath.Join("testdata", "scenarios", name+".trace"))
			if err != nil {
				t.Fatal(err)
			}
			r := &runner{e: New(scenarioConfig(t)), calls: map[string]*Call{}}
			r.play(t, steps)
			checkExpectation(t, r, want)
		})
	}
}

// TestDocumentedMidCallControl: "Using TPrivateService requests, T-Library
// clients can control, in real-time, an ongoing recording session": the
// request names ThisDN (the recorded DN), the ConnectionID of the call and
// PrivateMsgID GSIP_RECORD_STOP (3014), GSIP_RECORD_PAUSE (3015) or
// GSIP_RECORD_RESUME (3016); the recording is started with
// GSIP_RECORD_START (3013) (Genesys Interaction Recording Solution Guide,
// "Mid-Call Control of the Recording Session"; Active Recording
// Ecosystem, "Development Info").
func TestDocumentedMidCallControl(t *testing.T) {
	x := newH(t, rule5002(false))
	acts := x.established(0, "5002", cust, conn1, uuid1)
	var start PrivateService
	for _, a := range acts {
		if ps, ok := a.(PrivateService); ok {
			start = ps
		}
	}
	if start.MsgID != 3013 || start.DN != "5002" || start.ConnID != conn1 {
		t.Fatalf("start request %+v, want 3013 on 5002, ConnID %v", start, conn1)
	}
	x.add(ms(50), x.e.ServiceResult(start, nil, at(ms(50))))
	steps := []struct {
		op    Op
		msgID int
		state RecState
	}{
		{OpPause, 3015, RecPaused},
		{OpResume, 3016, RecOn},
		{OpStop, 3014, RecOff},
	}
	for i, st := range steps {
		d := time.Duration(i+1) * s
		acts, err := x.e.Control(uuid1, "5002", st.op, at(d))
		if err != nil {
			t.Fatalf("%s: %v", st.op, err)
		}
		var ps PrivateService
		for _, a := range x.add(d, acts) {
			if p, ok := a.(PrivateService); ok {
				ps = p
			}
		}
		if ps.MsgID != st.msgID || ps.DN != "5002" || ps.ConnID != conn1 {
			t.Errorf("%s request: msg %d on %s ConnID %v; want %d on 5002, ConnID %v", st.op, ps.MsgID, ps.DN, ps.ConnID, st.msgID, conn1)
		}
		x.add(d, x.e.ServiceResult(ps, nil, at(d)))
		if got := x.call(uuid1).Recordings[0].State; got != st.state {
			t.Errorf("after %s: state %s, want %s", st.op, got, st.state)
		}
	}
}
