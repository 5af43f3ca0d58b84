package conversation

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// retentions lists the Retention actions as "record-id dn keep".
func (x *h) retentions() []Retention {
	var out []Retention
	for _, ta := range x.acts {
		if r, ok := ta.a.(Retention); ok {
			out = append(out, r)
		}
	}
	return out
}

func ack(x *h, d time.Duration, acts []Action) {
	for _, a := range acts {
		if ps, ok := a.(PrivateService); ok {
			x.add(d, x.e.ServiceResult(ps, nil, at(d)))
		}
	}
}

// A do-not-record rule stops a record=true DN (SIP Server records it by
// itself), marks the audio for deletion and notifies NO.
func TestDoNotRecordStopsFullTimeRecording(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record.Rule = func(_ *Call, dn string) Decision {
			return Decision{DoNotRecord: true, Rule: "pci", Group: "Admin"}
		}
	})
	acts := x.established(0, "5001", cust, conn1, uuid1)
	svc := x.services()
	if len(svc) != 1 || svc[0].Op != OpStop || svc[0].MsgID != 3014 || svc[0].DN != "5001" {
		t.Fatalf("want one STOP of 5001, got %+v", svc)
	}
	ret := x.retentions()
	if len(ret) != 1 || ret[0].Keep != KeepNo || !strings.Contains(ret[0].Reason, `"pci"`) {
		t.Fatalf("retention %+v", ret)
	}
	// the media server's legs arrive anyway: each is marked for deletion
	x.legs(ms(200), uuid1, "5001", 2)
	if n := len(x.retentions()); n != 3 {
		t.Errorf("retentions after two legs: %d, want 3", n)
	}
	ack(x, ms(300), acts)
	x.audio(ms(400), uuid1, "5001")
	x.tick(5 * s)
	if v := x.values(); len(v) == 0 || !strings.Contains(v[len(v)-1], "RECORDING_NO@") {
		t.Errorf("notification %v, want RECORDING_NO", v)
	}
	r := x.call(uuid1).Recordings[0]
	if !r.Discarded || r.State != RecOff || r.RuleAction != "do_not_record" || r.Rule != "pci" {
		t.Errorf("recording %+v", r)
	}
	cp := x.call(uuid1).Couples[0]
	if cp.ExternalData[KeyRecRule] != "pci" || cp.ExternalData[KeyRecRuleGroup] != "Admin" || cp.ExternalData[KeyRecKeep] != "discarded" {
		t.Errorf("external data %v", cp.ExternalData)
	}
	// a third-party start is refused: by the API ...
	if _, err := x.e.Control(uuid1, "5001", OpStart, at(6*s)); !errors.Is(err, ErrRefused) {
		t.Errorf("control start under do-not-record: %v", err)
	}
	// ... and a desktop's start (GSIP_RECORD=ON) is stopped again
	before := len(x.services())
	x.userData(7*s, "5001", conn1, uuid1, "GSIP_RECORD", "ON")
	svc = x.services()[before:]
	if len(svc) != 1 || svc[0].Op != OpStop {
		t.Errorf("desktop start under do-not-record: services %+v", svc)
	}
}

// Pre-recording: recorded, PRERECORD notified, kept by an attached-data
// keep request (YES), each leg told its state.
func TestPrerecordKeptByAttachedData(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record.Rule = func(_ *Call, dn string) Decision {
			return Decision{Record: true, Prerecord: true, Rule: "vip", Group: "Sales"}
		}
	})
	acts := x.established(0, "5002", cust, conn1, uuid1)
	if svc := x.services(); len(svc) != 1 || svc[0].Op != OpStart {
		t.Fatalf("services %+v", svc)
	}
	ack(x, ms(50), acts)
	x.legs(ms(100), uuid1, "5002", 2)
	x.audio(ms(200), uuid1, "5002")
	ret := x.retentions()
	if len(ret) != 2 || ret[0].Keep != KeepUndecided || ret[0].RecordID == "" {
		t.Fatalf("retention after legs %+v", ret)
	}
	if v := x.values(); len(v) != 1 || !strings.Contains(v[0], "RECORDING_PRERECORD@") {
		t.Errorf("notification %v", v)
	}
	x.userData(10*s, "5002", conn1, uuid1, "RECORDING_KEEP", "true")
	ret = x.retentions()
	if last := ret[len(ret)-1]; last.Keep != KeepYes || !strings.Contains(last.Reason, "attached data") {
		t.Errorf("retention after keep %+v", last)
	}
	if v := x.values(); !strings.Contains(v[len(v)-1], "RECORDING_YES@") {
		t.Errorf("notification after keep %v", v)
	}
	if _, err := x.e.Keep(uuid1, "", true, at(11*s)); err != nil {
		t.Errorf("keep again: %v", err)
	}
	if _, err := x.e.Keep(uuid1, "5009", true, at(11*s)); !errors.Is(err, ErrState) {
		t.Errorf("keep of a DN without pre-recording: %v", err)
	}
}

// A desktop's EventUserEvent saying keep=false discards the pre-recording
// and stops it.
func TestPrerecordDiscardedByUserEvent(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record.Rule = func(_ *Call, dn string) Decision { return Decision{Record: true, Prerecord: true, Rule: "vip"} }
		c.Record.KeepKey = "KEEP_IT"
	})
	acts := x.established(0, "5002", cust, conn1, uuid1)
	ack(x, ms(50), acts)
	x.legs(ms(100), uuid1, "5002", 2)
	ue := msg(tlib.EventUserEvent, "5002", "", conn1, uuid1).SetList(tlib.AttrUserData, tlib.KVList{}.Set("KEEP_IT", "no"))
	x.ev(3*s, ue)
	ret := x.retentions()
	if last := ret[len(ret)-1]; last.Keep != KeepNo || !strings.Contains(last.Reason, "user event") {
		t.Errorf("retention %+v", last)
	}
	svc := x.services()
	if last := svc[len(svc)-1]; last.Op != OpStop {
		t.Errorf("want STOP after discard, got %+v", last)
	}
	if x.call(uuid1).UserData.String("KEEP_IT") != "" {
		t.Error("a user event must not become attached data")
	}
}

// Rules run again when attached data changes (a VIP segment set by the
// IVR after the call was answered) and when parties change.
func TestRulesReevaluated(t *testing.T) {
	var calls []string
	x := newH(t, func(c *Config) {
		c.Record.Rule = func(call *Call, dn string) Decision {
			calls = append(calls, dn)
			switch {
			case call.UserData.String("Segment") == "PCI":
				return Decision{DoNotRecord: true, Rule: "pci"}
			case call.UserData.String("Segment") == "VIP":
				return Decision{Record: true, Rule: "vip"}
			}
			return Decision{}
		}
	})
	x.established(0, "5002", cust, conn1, uuid1)
	if len(x.services()) != 0 {
		t.Fatalf("no rule matched yet: %+v", x.services())
	}
	acts := x.userData(2*s, "5002", conn1, uuid1, "Segment", "VIP")
	if svc := x.services(); len(svc) != 1 || svc[0].Op != OpStart {
		t.Fatalf("after Segment=VIP: %+v", svc)
	}
	ack(x, 2*s, acts)
	// the same data again: no second start
	x.userData(3*s, "5002", conn1, uuid1, "Other", "x")
	if n := len(x.services()); n != 1 {
		t.Errorf("unchanged decision sent %d requests", n)
	}
	x.legs(3*s, uuid1, "5002", 2)
	x.userData(4*s, "5002", conn1, uuid1, "Segment", "PCI")
	svc := x.services()
	if last := svc[len(svc)-1]; last.Op != OpStop {
		t.Errorf("after Segment=PCI: %+v", svc)
	}
	if ret := x.retentions(); len(ret) == 0 || ret[len(ret)-1].Keep != KeepNo {
		t.Errorf("retention %+v", ret)
	}
	if len(calls) < 4 {
		t.Errorf("rule evaluated %d times, want at every attached-data change", len(calls))
	}
}

// Tenants: per-tenant START extensions and DN filters, and "only
// connect to tenants listed".
func TestTenantOverrides(t *testing.T) {
	data := testData()
	data.Tenants = append(data.Tenants, ccdata.Tenant{DBID: 2, Name: "T2"})
	data.DNs = append(data.DNs, ccdata.DN{Number: "6001", Switch: sw, Type: "Extension", TenantDBID: 2},
		ccdata.DN{Number: "6002", Switch: sw, Type: "Extension", TenantDBID: 2})
	f2, err := dnfilter.Parse("6001", "")
	if err != nil {
		t.Fatal(err)
	}
	rule := func(*Call, string) Decision { return Decision{Record: true, Rule: "all"} }
	e := New(Config{Config: ccdata.NewCache(data), Switches: map[string]string{sw: sw},
		Record: RecordConfig{Rule: rule, Dest: "sip:default@r", Geo: GeoSource},
		Tenants: map[int]TenantConfig{
			1: {Name: "T1"},
			2: {Name: "T2", Filter: f2, Record: &RecordConfig{Dest: "sip:t2@r", Geo: GeoDestination, ToneSilenceDuration: "30"}},
		},
	})
	if !e.Monitored(sw, "5002") || !e.Monitored(sw, "6001") || e.Monitored(sw, "6002") {
		t.Errorf("monitored: 5002=%v 6001=%v 6002=%v", e.Monitored(sw, "5002"), e.Monitored(sw, "6001"), e.Monitored(sw, "6002"))
	}
	acts := e.Handle(sw, msg(tlib.EventEstablished, "6001", cust, conn1, uuid1), at(0))
	ps := acts[0].(PrivateService)
	if got := kvMap(ps.Ext); got["dest"] != "sip:t2@r" || got["record"] != "destination" || got["tonesilenceduration"] != "30" {
		t.Errorf("tenant 2 START %v", got)
	}
	acts = e.Handle(sw, msg(tlib.EventEstablished, "5002", cust, conn2, uuid2), at(0))
	ps = acts[0].(PrivateService)
	if got := kvMap(ps.Ext); got["dest"] != "sip:default@r" || got["record"] != "source" || got["tonesilenceduration"] != "" {
		t.Errorf("tenant 1 START %v", got)
	}
	only := New(Config{Config: ccdata.NewCache(data), OnlyListedTenants: true, Tenants: map[int]TenantConfig{2: {Name: "T2"}}})
	if only.Monitored(sw, "5002") || !only.Monitored(sw, "6002") {
		t.Errorf("only listed tenants: 5002=%v 6002=%v", only.Monitored(sw, "5002"), only.Monitored(sw, "6002"))
	}
}

// A rule's own START options win over the tenant's and the defaults.
func TestRuleStartOptions(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record = RecordConfig{Dest: "sip:d@r", Rule: func(*Call, string) Decision {
			return Decision{Record: true, Rule: "geo", Geo: "destination", Dest2: "sip:dup@r2", AudioSrc: "consent.wav"}
		}}
	})
	x.established(0, "5002", cust, conn1, uuid1)
	got := kvMap(x.services()[0].Ext)
	if got["record"] != "destination" || got["dest"] != "sip:d@r" || got["dest2"] != "sip:dup@r2" || got["audiosrc"] != "consent.wav" {
		t.Errorf("START %v", got)
	}
}
