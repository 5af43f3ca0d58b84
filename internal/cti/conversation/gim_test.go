package conversation

import (
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// Describe builds the call of an EventPartyInfo for a DN the engine does
// not follow, with its external data, and keeps nothing of it.
func TestDescribe(t *testing.T) {
	f, err := dnfilter.Parse("5001-5003", "")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{Filter: f, Keys: Keys{User: []KeyMap{{From: "Segment"}}}})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := tlib.New(tlib.EventPartyInfo).SetStr(tlib.AttrThisDN, "5004").SetStr(tlib.AttrOtherDN, "+15551237777").
		SetConn(tlib.AttrConnID, 0x2a).SetStr(tlib.AttrCallUUID, "U1").SetStr(tlib.AttrANI, "+15551237777").
		SetStr(tlib.AttrAgentID, "1004").SetInt(tlib.AttrCallType, tlib.CallTypeInbound).
		SetList(tlib.AttrUserData, tlib.KVList{{Key: "Segment", Type: tlib.KVString, Str: "Gold"}})
	call := e.Describe("SW", m, at)
	if call.CallUUID != "U1" || len(call.Couples) != 1 {
		t.Fatalf("call %+v", call)
	}
	cp := call.Couples[0]
	want := map[string]string{"GEN_TEV_ThisDN": "5004", "GEN_TEV_OtherDN": "+15551237777", "GEN_TEV_ANI": "+15551237777",
		"GEN_TEV_AgentID": "1004", "GEN_TEV_CallUuid": "U1", "GEN_TEV_ConnID": tlib.ConnID(0x2a).String(),
		"GEN_TEV_CallType": "Inbound", "GEN_USR_Segment": "Gold"}
	for k, v := range want {
		if cp.ExternalData[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, cp.ExternalData[k], v, cp.ExternalData)
		}
	}
	if !cp.Start.Equal(at) || !cp.Open() || cp.ThisDN != "5004" {
		t.Errorf("couple %+v", cp)
	}
	if len(e.Calls()) != 0 {
		t.Error("Describe kept the call")
	}
}

// A leg under a GIM lookup is not alerted while the lookup runs, nor
// after a settled one; an unsettled one is alerted as usual.
func TestLookupHoldsOrphanAlert(t *testing.T) {
	for _, settled := range []bool{true, false} {
		e := New(Config{Detect: DetectConfig{OrphanTimeout: time.Second}})
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		e.SessionArrived("", "", "5004", 2, at)
		e.LookupStarted("", "", "5004")
		if acts := e.Tick(at.Add(2 * time.Second)); len(acts) != 0 {
			t.Fatalf("alert during the lookup: %+v", acts)
		}
		e.LookupDone("", "", "5004", settled)
		acts := e.Tick(at.Add(3 * time.Second))
		if alerted := len(acts) == 1; alerted == settled {
			t.Errorf("settled %v: actions %+v", settled, acts)
		}
	}
}
