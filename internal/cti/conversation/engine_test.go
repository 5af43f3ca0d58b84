package conversation

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
)

func fullEstablished() *tlib.Message {
	return msg(tlib.EventEstablished, "5001", cust, conn1, uuid1).
		SetInt(tlib.AttrCallType, tlib.CallTypeInbound).SetInt(tlib.AttrCallID, 77).
		SetStr(tlib.AttrANI, cust).SetStr(tlib.AttrDNIS, "8000").SetStr(tlib.AttrAgentID, "agent01").
		SetStr(tlib.AttrThisQueue, "7000").SetStr(tlib.AttrCustomerID, "").SetInt(tlib.AttrNodeID, 3).
		SetList(tlib.AttrUserData, tlib.KVList{}.Set("Customer", "Ji\xf8\xed").SetInt("Priority", 5).Set("Other", "x").Set("Empty", "")).
		SetList(tlib.AttrExtensions, tlib.KVList{}.Set("BusinessID", "B-1"))
}

func TestExternalData(t *testing.T) {
	cp1250, err := ParseCharset("windows-1250")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys Keys
		want map[string]string
	}{
		{
			name: "defaults",
			want: map[string]string{
				"GEN_TEV_AgentID": "agent01", "GEN_TEV_ANI": cust, "GEN_TEV_CallID": "77", "GEN_TEV_CallUuid": uuid1,
				"GEN_TEV_CallType": "Inbound", "GEN_TEV_ConnID": "0065000000000001", "GEN_TEV_DNIS": "8000",
				"GEN_TEV_OtherDN": cust, "GEN_TEV_ThisDN": "5001",
				"GEN_CFG_EmployeeID": "E1", "GEN_CFG_FirstName": "Jana", "GEN_CFG_LastName": "Nová", "GEN_CFG_UserName": "jnova",
				"GEN_CFG_FULLNAME": "Jana Nová", "GEN_CFG_TENANT": "1", "GEN_CFG_SWITCH": "2", "GEN_CFG_Tenant": "T1", "GEN_CFG_Switch": "SW",
				"GEN_REC_STATE": "ON",
			},
		},
		{
			name: "configured keys switch the defaults off, rename, optional, empty dropped",
			keys: Keys{
				Message:   []KeyMap{{From: "CallID"}, {From: "ThisDN", To: "SomeDN"}, {From: "ThisQueue"}, {From: "NodeID"}, {From: "CustomerID"}},
				User:      []KeyMap{{From: "Customer", To: "CustomerName"}, {From: "Priority"}, {From: "Empty"}, {From: "Missing"}},
				Extension: []KeyMap{{From: "BusinessID"}},
				Agent:     ccdata.AgentKeys{Keys: []string{"EmployeeID", "AgentLoginInfo_:_WrapupTime"}, DisableFullName: true},
			},
			want: map[string]string{
				"GEN_TEV_CallID": "77", "GEN_TEV_SomeDN": "5001", "GEN_TEV_ThisQueue": "7000", "GEN_TEV_NodeID": "3",
				"GEN_USR_CustomerName": "Jiří", "GEN_USR_Priority": "5", "GEN_EXT_BusinessID": "B-1",
				"GEN_CFG_EmployeeID": "E1", "GEN_CFG_AgentLoginInfo_1_WrapupTime": "15",
				"GEN_CFG_TENANT": "1", "GEN_CFG_SWITCH": "2", "GEN_CFG_Tenant": "T1", "GEN_CFG_Switch": "SW",
				"GEN_REC_STATE": "ON",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newH(t, func(c *Config) { c.Keys = tt.keys; c.Charset = cp1250 })
			x.ev(0, fullEstablished())
			got := x.call(uuid1).Couples[0].ExternalData
			if !maps.Equal(got, tt.want) {
				t.Errorf("external data\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestUserDataWrapUp(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Keys.User = []KeyMap{{From: "Wrapup"}}
		c.WrapUp = 30 * s
	})
	x.established(0, "5002", cust, conn1, uuid1)
	x.ev(10*s, msg(tlib.EventReleased, "5002", cust, conn1, uuid1))
	x.userData(20*s, "5002", conn1, uuid1, "Wrapup", "done")
	if v := x.call(uuid1).Couples[0].ExternalData["GEN_USR_Wrapup"]; v != "done" {
		t.Errorf("wrap-up data within the grace period: %q", v)
	}
	x.userData(39*s, "5002", conn1, uuid1, "Wrapup", "final")
	if v := x.call(uuid1).Couples[0].ExternalData["GEN_USR_Wrapup"]; v != "final" {
		t.Errorf("wrap-up data at the end of the grace period: %q", v)
	}
	acts := x.tick(40 * s)
	if len(acts) != 1 {
		t.Fatalf("want Finished, got %v", acts)
	}
	if f, ok := acts[0].(Finished); !ok || f.Call.CallUUID != uuid1 || f.Call.Couples[0].ExternalData["GEN_USR_Wrapup"] != "final" {
		t.Fatalf("want Finished with the wrap-up data, got %v", acts[0])
	}
	if _, ok := x.e.Call(uuid1); ok {
		t.Error("finished call still held")
	}
	x.userData(41*s, "5002", conn1, uuid1, "Wrapup", "later")
	if _, ok := x.e.Call(uuid1); ok {
		t.Error("attached data re-created a finished call")
	}
}

func TestUserDataGraceOfClosedCouple(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Keys.User = []KeyMap{{From: "Wrapup"}}
		c.WrapUp = 30 * s
	})
	x.established(0, "5002", "5099", conn1, uuid1)
	x.ev(10*s, msg(tlib.EventPartyChanged, "5002", cust, conn1, uuid1))
	x.userData(45*s, "5002", conn1, uuid1, "Wrapup", "x")
	c := x.call(uuid1)
	if len(c.Couples) != 2 {
		t.Fatalf("couples %+v", c.Couples)
	}
	if _, ok := c.Couples[0].ExternalData["GEN_USR_Wrapup"]; ok {
		t.Error("a couple closed longer than the grace period ago got new user data")
	}
	if c.Couples[1].ExternalData["GEN_USR_Wrapup"] != "x" {
		t.Error("the open couple did not get the user data")
	}
}

func TestFilter(t *testing.T) {
	x := newH(t, func(c *Config) { c.Filter = dnfilter.MustParse("5000-5999", "5002") })
	x.established(0, "5002", cust, conn1, uuid1)
	x.established(0, "6000", cust, conn2, uuid2)
	if len(x.e.Calls()) != 0 {
		t.Errorf("calls of unmonitored DNs: %v", x.e.Calls())
	}
	x.established(s, "5001", cust, conn1, uuid1)
	if c := x.call(uuid1); len(c.Couples) != 1 || c.Couples[0].ThisDN != "5001" {
		t.Errorf("couples %+v", c.Couples)
	}
}

func TestRecordingControl(t *testing.T) {
	x := newH(t, func(c *Config) {
		c.Record = RecordConfig{
			MsgIDs: MsgIDs{Start: 4013}, Geo: GeoDestination, Dest: "sip:a@r1", Dest2: "sip:b@r2",
			AudioSrc: "beep.wav", ToneSilenceDuration: "15",
			Rule: func(_ *Call, dn string) Decision { return Decision{Record: true, ToneSilenceDuration: "20"} },
			NewID: func(c *Call, dn string, seq uint64) string {
				return "rec-" + dn + "-" + string(rune('0'+seq))
			},
		}
	})
	acts := x.established(0, "5002", cust, conn1, uuid1)
	if len(acts) != 1 {
		t.Fatalf("actions %v", acts)
	}
	ps := acts[0].(PrivateService)
	want := map[string]string{"record": "destination", "id": "rec-5002-1", "dest": "sip:a@r1", "dest2": "sip:b@r2", "audiosrc": "beep.wav", "tonesilenceduration": "20"}
	if got := kvMap(ps.Ext); !maps.Equal(got, want) || ps.MsgID != 4013 || ps.Op != OpStart || ps.DN != "5002" || ps.ConnID != conn1 || ps.RecordID != "rec-5002-1" {
		t.Errorf("start request %+v ext %v", ps, got)
	}
	if _, err := x.e.Control(uuid1, "5002", OpStart, at(s)); !errors.Is(err, ErrState) {
		t.Errorf("second start: %v", err)
	}
	if _, err := x.e.Control(uuid1, "5002", OpPause, at(s)); !errors.Is(err, ErrState) {
		t.Errorf("pause before the start is acknowledged: %v", err)
	}
	x.add(ms(50), x.e.ServiceResult(ps, nil, at(ms(50))))
	pause, err := x.e.Control(uuid1, "5002", OpPause, at(s))
	if err != nil {
		t.Fatal(err)
	}
	pp := pause[0].(PrivateService)
	if pp.MsgID != 3015 || kvMap(pp.Ext)["id"] != "rec-5002-1" || len(pp.Ext) != 1 {
		t.Errorf("pause request %+v", pp)
	}
	x.add(s, x.e.ServiceResult(pp, nil, at(s)))
	if r := x.call(uuid1).Recordings[0]; r.State != RecPaused {
		t.Errorf("state after pause ACK %q", r.State)
	}
	if _, err := x.e.Control(uuid1, "5002", OpPause, at(2*s)); !errors.Is(err, ErrState) {
		t.Errorf("pause of a paused recording: %v", err)
	}
	if _, err := x.e.Control(uuid1, "9999", OpStop, at(2*s)); !errors.Is(err, ErrNoParty) {
		t.Errorf("unknown party: %v", err)
	}
	if _, err := x.e.Control("nope", "5002", OpStop, at(2*s)); !errors.Is(err, ErrNoCall) {
		t.Errorf("unknown call: %v", err)
	}
}

func TestConsultNotRecordedUnlessConfigured(t *testing.T) {
	for _, consult := range []bool{false, true} {
		x := newH(t, func(c *Config) {
			c.Record.Consult = consult
			c.Record.Rule = func(*Call, string) Decision { return Decision{Record: true} }
		})
		acts := x.ev(0, msg(tlib.EventEstablished, "5002", "5003", conn2, uuid2).SetInt(tlib.AttrCallType, tlib.CallTypeConsult))
		if got := len(acts) == 1; got != consult {
			t.Errorf("consult=%v: actions %v", consult, acts)
		}
	}
}

func TestFailureDetection(t *testing.T) {
	t.Run("no-leg then recovered", func(t *testing.T) {
		x := newH(t, nil)
		x.established(0, "5001", cust, conn1, uuid1)
		x.tick(ms(4999))
		x.tick(5 * s)
		if c := x.call(uuid1); c.Recordings[0].Failure != FailNoLeg || c.Couples[0].ExternalData[KeyRecFailure] != "no-leg" {
			t.Errorf("recording %+v", c.Recordings[0])
		}
		x.legs(6*s, uuid1, "5001", 2)
		x.audio(ms(6100), uuid1, "5001")
		x.tick(20 * s)
		if got := x.alerts(); !slices.Equal(got, []AlertKind{AlertNoLeg, AlertRecovered}) {
			t.Errorf("alerts %v", got)
		}
		if c := x.e.Counters(); c.NoLeg != 1 || c.Recovered != 1 || c.NoRTP != 0 {
			t.Errorf("counters %+v", c)
		}
	})
	t.Run("no-rtp", func(t *testing.T) {
		x := newH(t, nil)
		x.established(0, "5001", cust, conn1, uuid1)
		x.legs(s, uuid1, "5001", 2)
		x.tick(ms(5999))
		x.tick(6 * s)
		x.tick(7 * s)
		if got := x.alerts(); !slices.Equal(got, []AlertKind{AlertNoRTP}) {
			t.Errorf("alerts %v", got)
		}
		if c := x.call(uuid1); c.Recordings[0].Failure != FailNoRTP {
			t.Errorf("failure %q", c.Recordings[0].Failure)
		}
	})
	t.Run("orphan leg", func(t *testing.T) {
		x := newH(t, nil)
		x.add(0, x.e.LegArrived("r9", uuid2, "5077", at(0)))
		x.tick(5 * s)
		if got := x.alerts(); !slices.Equal(got, []AlertKind{AlertOrphanLeg}) {
			t.Errorf("alerts %v", got)
		}
		if o := x.e.Orphans(); len(o) != 1 || !o[0].Reported || o[0].RecordID != "r9" {
			t.Errorf("orphans %+v", o)
		}
		if x.e.Counters().OrphanLegs != 1 {
			t.Error("orphan not counted")
		}
	})
	t.Run("leg before EventEstablished is adopted", func(t *testing.T) {
		x := newH(t, nil)
		x.add(0, x.e.LegArrived("r1", uuid1, "5002", at(0)))
		x.add(0, x.e.AudioArrived("r1", uuid1, "5002", at(ms(100))))
		x.established(s, "5002", cust, conn1, uuid1)
		x.tick(10 * s)
		if len(x.e.Orphans()) != 0 || len(x.alerts()) != 0 {
			t.Errorf("orphans %v alerts %v", x.e.Orphans(), x.alerts())
		}
		c := x.call(uuid1)
		if len(c.Recordings) != 1 || c.Recordings[0].ID != "r1" || !c.Recorded || c.Notification != "RECORDING_YES" {
			t.Errorf("call %+v", c)
		}
		if got := x.values(); !slices.Equal(got, []string{"1s RECORDING_YES@01 5002"}) {
			t.Errorf("notifications %v", got)
		}
	})
}

func TestFindForLeg(t *testing.T) {
	x := newH(t, rule5002(false))
	acts := x.established(0, "5002", cust, conn1, uuid1)
	id := acts[0].(PrivateService).RecordID
	x.established(0, "5001", cust, conn2, uuid2)
	for _, tt := range []struct{ id, uuid, dn, want string }{
		{id, "", "", uuid1},
		{"", uuid2, "", uuid2},
		{"", "", "5001", uuid2},
		{"", "", "5002", uuid1},
		{"unknown", "", "", ""},
		{"", "", "9999", ""},
	} {
		c, ok := x.e.FindForLeg(tt.id, tt.uuid, tt.dn)
		if got := ""; ok {
			got = c.CallUUID
			if got != tt.want {
				t.Errorf("FindForLeg(%q,%q,%q) = %s, want %s", tt.id, tt.uuid, tt.dn, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("FindForLeg(%q,%q,%q) found nothing, want %s", tt.id, tt.uuid, tt.dn, tt.want)
		}
	}
}

func TestCallIsACopy(t *testing.T) {
	x := newH(t, nil)
	x.established(0, "5001", cust, conn1, uuid1)
	c := x.call(uuid1)
	c.Couples[0].ExternalData["GEN_TEV_ThisDN"] = "changed"
	c.Parties[0].DN = "changed"
	if c2 := x.call(uuid1); c2.Couples[0].ExternalData["GEN_TEV_ThisDN"] != "5001" || c2.Parties[0].DN != "5001" {
		t.Error("Call returned shared state")
	}
}

func TestCharset(t *testing.T) {
	tests := []struct{ cs, in, want string }{
		{"", "plain", "plain"},
		{"utf-8", "Jiří", "Jiří"},
		{"utf-8", "a\xffb", "a\uFFFDb"},
		{"cp1250", "P\xf8\xedli\x9a \x9elu\x9dou\xe8k\xfd k\xf9\xf2", "Příliš žluťoučký kůň"},
		{"CP1250", "\x80\x81", "€\uFFFD"},
		{"windows-1252", "caf\xe9 \x80", "café €"},
		{"latin1", "caf\xe9 \x80", "café \u0080"},
		{"iso-8859-2", "\xb9\xbe", "šž"},
	}
	for _, tt := range tests {
		c, err := ParseCharset(tt.cs)
		if err != nil {
			t.Fatalf("%s: %v", tt.cs, err)
		}
		if got := c.Decode(tt.in); got != tt.want {
			t.Errorf("%s Decode(%q) = %q, want %q", tt.cs, tt.in, got, tt.want)
		}
	}
	if _, err := ParseCharset("ebcdic"); !errors.Is(err, ErrCharset) {
		t.Errorf("unknown charset: %v", err)
	}
}

// FuzzDecode: every charset turns any bytes into valid UTF-8 and leaves
// ASCII alone.
func FuzzDecode(f *testing.F) {
	f.Add("cp1250", "Ji\xf8\xed")
	f.Add("utf-8", "\xff\xfe")
	f.Add("latin1", "abc")
	f.Fuzz(func(t *testing.T, name, in string) {
		c, err := ParseCharset(name)
		if err != nil {
			return
		}
		out := c.Decode(in)
		if !utf8.ValidString(out) {
			t.Fatalf("%s: %q → invalid UTF-8 %q", c, in, out)
		}
		ascii := strings.IndexFunc(in, func(r rune) bool { return r >= utf8.RuneSelf }) < 0
		if ascii && out != in {
			t.Fatalf("%s changed ASCII %q → %q", c, in, out)
		}
	})
}

// FuzzHandle: arbitrary trace input never panics the engine and every
// couple it builds is well formed.
func FuzzHandle(f *testing.F) {
	f.Add("message EventEstablished\n\tAttributeThisDN\t'5001'\n\tAttributeConnID\t0000000000000001\n\tAttributeCallUUID\t'U1'\n")
	f.Add("message EventPartyChanged\n\tAttributeThisDN\t'5001'\n\tAttributeConnID\t0000000000000002\n\tAttributePreviousConnID\t0000000000000001\n")
	f.Fuzz(func(t *testing.T, trace string) {
		entries, err := tlib.ParseTrace(strings.NewReader(trace))
		if err != nil {
			return
		}
		e := New(Config{})
		for i, en := range entries {
			e.Handle("s", en.Msg, t0.Add(time.Duration(i)*time.Second))
			e.Handle("s", en.Msg, t0.Add(time.Duration(i)*time.Second))
		}
		e.Tick(t0.Add(time.Hour))
		for _, c := range e.Calls() {
			for _, cp := range c.Couples {
				if !cp.End.IsZero() && cp.End.Before(cp.Start) {
					t.Fatalf("couple ends before it starts: %+v", cp)
				}
			}
		}
	})
}
