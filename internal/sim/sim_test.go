package sim

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

var callUUIDRE = regexp.MustCompile(`^[0-9A-V]{32}$`)

func TestRegistration(t *testing.T) {
	s := newSim(t, nil)

	// A request before RequestRegisterClient is refused.
	c0 := dialSim(t, s)
	ev := c0.request(tlib.New(tlib.RequestRegisterAddress).SetStr(tlib.AttrThisDN, "5001"))
	if code, _ := ev.Int(tlib.AttrErrorCode); ev.Type != tlib.EventError || code != ErrCodeNotRegistered {
		t.Fatalf("before RegisterClient: %s", ev.Trace())
	}

	c := dialSim(t, s)
	c.register("5001", "7000")
	for _, tc := range []struct {
		name string
		req  *tlib.Message
		want tlib.MessageType
		code int64
	}{
		{"unknown DN", tlib.New(tlib.RequestRegisterAddress).SetStr(tlib.AttrThisDN, "9999"), tlib.EventError, ErrCodeUnknownDN},
		{"missing DN", tlib.New(tlib.RequestRegisterAddress), tlib.EventError, ErrCodeMissingAttr},
		{"unregister", tlib.New(tlib.RequestUnregisterAddress).SetStr(tlib.AttrThisDN, "7000"), tlib.EventUnregistered, 0},
		{"unsupported", tlib.New(tlib.RequestMakeCall).SetStr(tlib.AttrThisDN, "5001"), tlib.EventError, ErrCodeUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := c.request(tc.req)
			code, _ := ev.Int(tlib.AttrErrorCode)
			if ev.Type != tc.want || code != tc.code {
				t.Fatalf("got %s", ev.Trace())
			}
			if ev.Type == tlib.EventError && ev.Str(tlib.AttrErrorMessage) == "" {
				t.Error("EventError without ErrorMessage")
			}
		})
	}
}

func TestInboundEventSequence(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register("7000", "5001")
	steps := []Step{
		{Action: ActLogin, DN: "5001", Agent: "1001"},
		{Action: ActInbound, Call: "c1", ANI: "+15551234567", DNIS: "8005550000", RP: "7000", To: "5001",
			Data: nodes(map[string]string{"Segment": "Gold"})},
		{Action: ActAnswer, Call: "c1", DN: "5001"},
		{Action: ActRelease, Call: "c1", DN: "5001"},
	}
	for _, st := range steps {
		if err := s.Step(st); err != nil {
			t.Fatalf("%s: %v", st.Action, err)
		}
	}
	got := c.expect("EventAgentLogin 5001", "EventQueued 7000", "EventRouteRequest 7000", "EventRouteUsed 7000",
		"EventDiverted 7000", "EventRinging 5001", "EventEstablished 5001", "EventReleased 5001")
	info, _ := s.Call("c1")
	if !info.Released || !callUUIDRE.MatchString(info.CallUUID) {
		t.Fatalf("call info %+v", info)
	}
	var seq int64
	for _, m := range got[1:] {
		if m.ConnID() != info.ConnID || m.CallUUID() != info.CallUUID {
			t.Errorf("%s: ConnID %s CallUUID %s", m.Type, m.ConnID(), m.CallUUID())
		}
		if v, _ := m.Int(tlib.AttrCallType); v != tlib.CallTypeInbound {
			t.Errorf("%s: CallType %d", m.Type, v)
		}
		if m.Str(tlib.AttrANI) != "+15551234567" || m.Str(tlib.AttrDNIS) != "8005550000" {
			t.Errorf("%s: ANI/DNIS %q %q", m.Type, m.Str(tlib.AttrANI), m.Str(tlib.AttrDNIS))
		}
		if m.UserData().String("Segment") != "Gold" {
			t.Errorf("%s: user data %v", m.Type, m.UserData())
		}
		n, _ := m.Int(tlib.AttrEventSequenceNumber)
		if n <= seq {
			t.Errorf("%s: sequence %d after %d", m.Type, n, seq)
		}
		seq = n
		if _, ok := m.Int(tlib.AttrTimeStamp); !ok {
			t.Errorf("%s: no TimeStamp", m.Type)
		}
	}
	ring := got[5]
	if ring.OtherDN() != "+15551234567" || ring.Str(tlib.AttrAgentID) != "1001" || ring.Str(tlib.AttrThisQueue) != "7000" {
		t.Errorf("EventRinging:\n%s", ring.Trace())
	}
	if r, _ := ring.Int(tlib.AttrThisDNRole); r != DNRoleDestination {
		t.Errorf("ThisDNRole %d", r)
	}
	if r, _ := ring.Int(tlib.AttrOtherDNRole); r != DNRoleOrigination {
		t.Errorf("OtherDNRole %d", r)
	}
	if got[3].OtherDN() != "5001" {
		t.Errorf("EventRouteUsed OtherDN %q", got[3].OtherDN())
	}
}

// flow runs steps against a Sim and returns "Type ThisDN ConnID-handle"
// lines of the events, with ConnIDs replaced by the scenario handles.
func flow(t *testing.T, s *Sim, events *[]*tlib.Message, steps []Step) []string {
	t.Helper()
	for _, st := range steps {
		if err := s.Step(st); err != nil {
			t.Fatalf("%s %s: %v", st.Action, st.Call, err)
		}
	}
	names := map[tlib.ConnID]string{}
	for _, h := range []string{"c1", "c2"} {
		if ci, ok := s.Call(h); ok {
			names[ci.ConnID] = h
		}
	}
	var out []string
	for _, m := range *events {
		line := m.Type.String() + " " + m.ThisDN()
		if id := m.ConnID(); id != 0 {
			line += " " + names[id]
		}
		if o := m.OtherDN(); o != "" {
			line += " other=" + o
		}
		if p := m.Str(tlib.AttrThirdPartyDN); p != "" {
			line += " third=" + p
		}
		if p := m.Conn(tlib.AttrPreviousConnID); p != 0 {
			line += " prev=" + names[p]
		}
		out = append(out, line)
	}
	return out
}

func TestCallFlows(t *testing.T) {
	inbound := Step{Action: ActInbound, Call: "c1", ANI: "+15550001", To: "5001"}
	answer := Step{Action: ActAnswer, Call: "c1", DN: "5001"}
	tests := []struct {
		name  string
		steps []Step
		want  []string
	}{
		{"hold retrieve", []Step{inbound, answer, {Action: ActHold, Call: "c1", DN: "5001"},
			{Action: ActRetrieve, Call: "c1", DN: "5001"}, {Action: ActRelease, Call: "c1"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventEstablished 5001 c1 other=+15550001",
				"EventHeld 5001 c1 other=+15550001", "EventRetrieved 5001 c1 other=+15550001", "EventReleased 5001 c1 other=+15550001"}},
		{"single-step transfer", []Step{inbound, answer, {Action: ActTransfer, Call: "c1", DN: "5001", To: "5002"},
			{Action: ActAnswer, Call: "c1", DN: "5002"}, {Action: ActRelease, Call: "c1", DN: "5002"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventEstablished 5001 c1 other=+15550001",
				"EventReleased 5001 c1 other=+15550001 third=5002", "EventRinging 5002 c1 other=+15550001 third=5001",
				"EventEstablished 5002 c1 other=+15550001", "EventReleased 5002 c1 other=+15550001"}},
		{"consult transfer keeps the ConnID", []Step{inbound, answer,
			{Action: ActConsult, Call: "c1", DN: "5001", To: "5002", Consult: "c2"},
			{Action: ActAnswer, Call: "c2", DN: "5002"},
			{Action: ActCompleteTransfer, Call: "c1", Consult: "c2"},
			{Action: ActRelease, Call: "c1", DN: "5002"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventEstablished 5001 c1 other=+15550001",
				"EventHeld 5001 c1 other=+15550001", "EventDialing 5001 c2 other=5002", "EventRinging 5002 c2 other=5001",
				"EventEstablished 5002 c2 other=5001", "EventEstablished 5001 c2 other=5002",
				"EventReleased 5001 c2 other=5002", "EventReleased 5001 c1 other=+15550001 third=5002",
				"EventPartyChanged 5002 c1 other=+15550001 third=5001 prev=c2",
				"EventReleased 5002 c1 other=+15550001"}},
		{"conference", []Step{inbound, answer,
			{Action: ActConsult, Call: "c1", DN: "5001", To: "5002", Consult: "c2"},
			{Action: ActAnswer, Call: "c2"},
			{Action: ActCompleteConference, Call: "c1", Consult: "c2"},
			{Action: ActRelease, Call: "c1", DN: "5002"},
			{Action: ActRelease, Call: "c1", DN: "5001"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventEstablished 5001 c1 other=+15550001",
				"EventHeld 5001 c1 other=+15550001", "EventDialing 5001 c2 other=5002", "EventRinging 5002 c2 other=5001",
				"EventEstablished 5002 c2 other=5001", "EventEstablished 5001 c2 other=5002",
				"EventReleased 5001 c2 other=5002", "EventRetrieved 5001 c1 other=+15550001",
				"EventPartyChanged 5002 c1 other=+15550001 third=5001 prev=c2",
				"EventPartyAdded 5001 c1 other=5002 third=5002",
				"EventReleased 5002 c1 other=+15550001", "EventPartyDeleted 5001 c1 other=+15550001 third=5002",
				"EventReleased 5001 c1 other=+15550001"}},
		{"supervisor coaching", []Step{inbound, answer,
			{Action: ActMonitor, Call: "c1", DN: "5001", Supervisor: "5100", Mode: MonitorCoach},
			{Action: ActRelease, Call: "c1", DN: "5100"}, {Action: ActRelease, Call: "c1", DN: "5001"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventEstablished 5001 c1 other=+15550001",
				"EventRinging 5100 c1 other=5001", "EventEstablished 5100 c1 other=5001",
				"EventPartyAdded 5001 c1 other=+15550001 third=5100",
				"EventReleased 5100 c1 other=+15550001", "EventPartyDeleted 5001 c1 other=+15550001 third=5100",
				"EventReleased 5001 c1 other=+15550001"}},
		{"internal", []Step{{Action: ActDial, Call: "c1", DN: "5001", To: "5002"}, {Action: ActAnswer, Call: "c1", DN: "5002"},
			{Action: ActRelease, Call: "c1", DN: "5001"}},
			[]string{"EventDialing 5001 c1 other=5002", "EventRinging 5002 c1 other=5001",
				"EventEstablished 5002 c1 other=5001", "EventEstablished 5001 c1 other=5002",
				"EventReleased 5001 c1 other=5002", "EventReleased 5002 c1 other=5001"}},
		{"outbound", []Step{{Action: ActDial, Call: "c1", DN: "5001", To: "+15559999"}, {Action: ActAnswer, Call: "c1"},
			{Action: ActRelease, Call: "c1"}},
			[]string{"EventDialing 5001 c1 other=+15559999", "EventEstablished 5001 c1 other=+15559999",
				"EventReleased 5001 c1 other=+15559999"}},
		{"abandoned while ringing", []Step{inbound, {Action: ActRelease, Call: "c1", DN: "+15550001"}},
			[]string{"EventRinging 5001 c1 other=+15550001", "EventAbandoned 5001 c1 other=+15550001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var events []*tlib.Message
			s, err := New(Config{Switch: testSwitch, Config: testData(), Seed: 1,
				OnEvent: func(m *tlib.Message) { events = append(events, m.Clone()) }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := flow(t, s, &events, tc.steps)
			if !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if ci, _ := s.Call("c2"); ci.ConnID != 0 {
				for _, m := range events {
					if m.ConnID() == ci.ConnID {
						if v, _ := m.Int(tlib.AttrCallType); v != tlib.CallTypeConsult {
							t.Errorf("consult call event with CallType %d", v)
						}
					}
				}
			}
		})
	}
}

func TestCallFlowErrors(t *testing.T) {
	s, err := New(Config{Switch: testSwitch, Config: testData(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Step(Step{Action: ActInbound, Call: "c1", To: "5001"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		st   Step
		want error
	}{
		{Step{Action: ActHold, Call: "c1", DN: "5001"}, ErrState}, // ringing
		{Step{Action: ActAnswer, Call: "nope"}, ErrUnknownCall},
		{Step{Action: ActInbound, Call: "c9", To: "4242"}, ErrUnknownDN},
		{Step{Action: ActRecordStop, Call: "c1", DN: "5001"}, ErrRecording},
		{Step{Action: ActLogin, DN: "5001"}, ErrState},
	} {
		if err := s.Step(tc.st); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.st.Action, err, tc.want)
		}
	}
}

func TestRecordTrueDNPlacesMSRSessions(t *testing.T) {
	rec := newSIPRecorder(t)
	dialer := newDialer(t)
	s := newSim(t, func(c *Config) {
		c.Recorders = []string{rec.addr}
		c.Media = &DialMedia{Dialer: dialer}
	})
	c := dialSim(t, s)
	c.register("5003")
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", ANI: "+15550001", To: "5003"}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	got := c.expect("EventRinging 5003", "EventEstablished 5003", "EventAttachedDataChanged 5003")
	if v := got[2].UserData().String(GSIPRecord); v != RecordOn {
		t.Fatalf("GSIP_RECORD = %q", v)
	}
	ci, _ := s.Call("c1")
	waitUntil(t, "two MSR INVITEs and RTP", func() bool { inv, _, rtp := rec.state(); return len(inv) == 2 && rtp > 10 })
	inv, _, _ := rec.state()
	slices.Sort(inv)
	for _, u := range inv {
		if !strings.Contains(u, "calluuid="+ci.CallUUID) || !strings.Contains(u, "recordDN=5003") || !strings.HasPrefix(u, "sip:record=") {
			t.Errorf("Request-URI %s", u)
		}
	}
	if !strings.Contains(strings.Join(inv, " "), "dn=5003;") || !strings.Contains(strings.Join(inv, " "), "dn=+15550001;") {
		t.Errorf("legs %v: want dn=5003 and dn=+15550001", inv)
	}
	must(t, s.Step(Step{Action: ActRelease, Call: "c1"}))
	waitUntil(t, "two BYEs", func() bool { _, byes, _ := rec.state(); return byes == 2 })
}

func TestPrivateServiceRecording(t *testing.T) {
	media := &fakeMedia{}
	s := newSim(t, func(c *Config) { c.Recorders = []string{"rec1:5060", "rec2:5060"}; c.Media = media })
	c := dialSim(t, s)
	c.register("5001")
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", ANI: "+15550001", To: "5001"}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	c.expect("EventRinging 5001", "EventEstablished 5001")
	ci, _ := s.Call("c1")
	svc := func(id int64, ext tlib.KVList) *tlib.Message {
		m := tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID).
			SetInt(tlib.AttrPrivateMsgID, id)
		if ext != nil {
			m.SetList(tlib.AttrExtensions, ext)
		}
		return m
	}
	ack := func(m *tlib.Message, gsip string) {
		t.Helper()
		ref := c.send(m)
		// The state change reaches the parties first, then the ACK.
		ev := c.read()
		if ev.Type != tlib.EventAttachedDataChanged || ev.UserData().String(GSIPRecord) != gsip {
			t.Fatalf("want EventAttachedDataChanged GSIP_RECORD=%s, got\n%s", gsip, ev.Trace())
		}
		ev = c.read()
		if ev.Type != tlib.EventACK || ev.ReferenceID() != ref || ev.ConnID() != ci.ConnID {
			t.Fatalf("want EventACK ref %d, got\n%s", ref, ev.Trace())
		}
	}
	ack(svc(PrivateRecordStart, tlib.KVList{}.Set("id", "REC42").Set("dest2", "dup:5060")), RecordOn)
	ack(svc(PrivateRecordPause, nil), RecordPaused)
	ack(svc(PrivateRecordResume, nil), RecordOn)
	ack(svc(PrivateRecordStop, nil), RecordOff)
	for _, tc := range []struct {
		name string
		m    *tlib.Message
		code int64
	}{
		{"stop when not recording", svc(PrivateRecordStop, nil), ErrCodeRecording},
		{"unknown service", svc(4000, nil), ErrCodeUnknownService},
		{"unknown ConnID", svc(PrivateRecordStart, nil).SetConn(tlib.AttrConnID, 0x1234), ErrCodeUnknownConnID},
		{"no ConnID", tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, "5001").SetInt(tlib.AttrPrivateMsgID, PrivateRecordStart), ErrCodeMissingAttr},
		{"unknown DN", svc(PrivateRecordStart, nil).SetStr(tlib.AttrThisDN, "4242"), ErrCodeUnknownDN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := c.request(tc.m)
			if code, _ := ev.Int(tlib.AttrErrorCode); ev.Type != tlib.EventError || code != tc.code {
				t.Fatalf("got\n%s", ev.Trace())
			}
		})
	}
	want := []string{"start 5001 other=+15550001 id=REC42 dest=rec1:5060", "start 5001 other=+15550001 id=REC42 dest=dup:5060",
		"pause 5001", "pause 5001", "resume 5001", "resume 5001", "stop 5001", "stop 5001"}
	got := media.waitFor(t, len(want))
	if !slices.Equal(got, want) {
		t.Errorf("media:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	media.mu.Lock()
	// The default destination is the Resource Manager's group of both
	// recorders (rec1 picked first); dest2 is that recorder only.
	if g := media.starts[0].Group; g == nil || !slices.Equal(g.Members(), []string{"rec1:5060", "rec2:5060"}) ||
		media.starts[0].Dest != "" || media.starts[1].Group != nil {
		t.Errorf("destinations %+v / %+v", media.starts[0], media.starts[1])
	}
	media.mu.Unlock()
}

func TestUserDataEcho(t *testing.T) {
	s := newSim(t, nil)
	a := dialSim(t, s)
	a.register("5001")
	b := dialSim(t, s)
	b.register("5002")
	must(t, s.Step(Step{Action: ActDial, Call: "c1", DN: "5001", To: "5002"}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	a.expect("EventDialing 5001", "EventEstablished 5001")
	b.expect("EventRinging 5002", "EventEstablished 5002")
	ci, _ := s.Call("c1")
	upd := tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID).
		SetList(tlib.AttrUserData, tlib.KVList{}.Set("Reason", "Billing").SetInt("Priority", 5))
	ev := a.request(upd)
	if ev.Type != tlib.EventAttachedDataChanged || ev.ThisDN() != "5001" || ev.UserData().String("Priority") != "5" {
		t.Fatalf("requester's answer:\n%s", ev.Trace())
	}
	got := b.expect("EventAttachedDataChanged 5002")[0]
	if got.ReferenceID() != 0 || got.UserData().String("Reason") != "Billing" || got.Str(tlib.AttrThirdPartyDN) != "5001" {
		t.Fatalf("other party's copy:\n%s", got.Trace())
	}
	// After release (wrap-up) the data still reaches both former parties.
	must(t, s.Step(Step{Action: ActRelease, Call: "c1"}))
	a.expect("EventReleased 5001")
	b.expect("EventReleased 5002")
	upd = tlib.New(tlib.RequestAttachUserData).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID).
		SetList(tlib.AttrUserData, tlib.KVList{}.Set("Disposition", "Sale"))
	ev = a.request(upd)
	if ev.Type != tlib.EventAttachedDataChanged || ev.UserData().String("Disposition") != "Sale" || ev.UserData().String("Reason") != "Billing" {
		t.Fatalf("wrap-up answer:\n%s", ev.Trace())
	}
	b.expect("EventAttachedDataChanged 5002")
	// Errors.
	for _, tc := range []struct {
		m    *tlib.Message
		code int64
	}{
		{tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID), ErrCodeMissingAttr},
		{tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, 77).
			SetList(tlib.AttrUserData, tlib.KVList{}.Set("k", "v")), ErrCodeUnknownConnID},
	} {
		ev := a.request(tc.m)
		if code, _ := ev.Int(tlib.AttrErrorCode); ev.Type != tlib.EventError || code != tc.code {
			t.Errorf("got\n%s", ev.Trace())
		}
	}
}

func TestGSIPRecordInUserDataDrivesRecording(t *testing.T) {
	media := &fakeMedia{}
	s := newSim(t, func(c *Config) { c.Recorders = []string{"rec:5060"}; c.Media = media })
	a := dialSim(t, s)
	a.register("5001")
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", To: "5001"}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	a.expect("EventRinging 5001", "EventEstablished 5001")
	ci, _ := s.Call("c1")
	ev := a.request(tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID).
		SetList(tlib.AttrUserData, tlib.KVList{}.Set(GSIPRecord, "ON")))
	if ev.Type != tlib.EventAttachedDataChanged || ev.UserData().String(GSIPRecord) != RecordOn {
		t.Fatalf("got\n%s", ev.Trace())
	}
	if got := media.waitFor(t, 1); len(got) != 1 || !strings.HasPrefix(got[0], "start 5001") {
		t.Fatalf("media %v", got)
	}
}

func TestQueryAddressAndCall(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register()
	must(t, s.Step(Step{Action: ActLogin, DN: "5001", Agent: "1001"}))
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", ANI: "+15550001", To: "5001",
		Data: nodes(map[string]string{"Segment": "Gold"})}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	must(t, s.Step(Step{Action: ActDial, Call: "c2", DN: "5001", To: "5002"}))
	c1, _ := s.Call("c1")
	c2, _ := s.Call("c2")

	ev := c.request(tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, "5001").SetInt(tlib.AttrAddressInfoType, 17))
	if ev.Type != tlib.EventAddressInfo || ev.Str(tlib.AttrAgentID) != "1001" {
		t.Fatalf("got\n%s", ev.Trace())
	}
	ext := ev.List(tlib.AttrExtensions)
	if ext.String("conn-1") != c1.ConnID.String() || ext.String("conn-2") != c2.ConnID.String() || len(ext) != 2 {
		t.Fatalf("calls listed:\n%s", ev.Trace())
	}
	if v, _ := ev.Int(tlib.AttrAddressType); v != DNTypeExtension {
		t.Errorf("AddressType %d", v)
	}
	ev = c.request(tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, "5100"))
	if n, _ := ev.Int(tlib.AttrAddressInfoStatus); ev.Type != tlib.EventAddressInfo || n != 0 || len(ev.List(tlib.AttrExtensions)) != 0 {
		t.Fatalf("idle DN:\n%s", ev.Trace())
	}

	ev = c.request(tlib.New(tlib.RequestQueryCall).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, c1.ConnID))
	if ev.Type != tlib.EventPartyInfo || ev.CallUUID() != c1.CallUUID || ev.OtherDN() != "+15550001" ||
		ev.UserData().String("Segment") != "Gold" {
		t.Fatalf("got\n%s", ev.Trace())
	}
	var parties []string
	for _, kv := range ev.List(tlib.AttrExtensions) {
		if kv.Key == "Party" {
			parties = append(parties, kv.List.String("DN")+"/"+kv.List.String("State")+"/"+kv.List.String("Role"))
		}
	}
	if want := []string{"+15550001/Established/1", "5001/Established/2"}; !slices.Equal(parties, want) {
		t.Errorf("parties %v, want %v", parties, want)
	}
	for _, tc := range []struct {
		m    *tlib.Message
		code int64
	}{
		{tlib.New(tlib.RequestQueryCall).SetConn(tlib.AttrConnID, 99), ErrCodeUnknownConnID},
		{tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, "nope"), ErrCodeUnknownDN},
	} {
		ev := c.request(tc.m)
		if code, _ := ev.Int(tlib.AttrErrorCode); ev.Type != tlib.EventError || code != tc.code {
			t.Errorf("got\n%s", ev.Trace())
		}
	}
}

func TestRouteCallFromClient(t *testing.T) {
	media := &fakeMedia{}
	s := newSim(t, func(c *Config) { c.Recorders = []string{"rec:5060"}; c.Media = media })
	router := dialSim(t, s)
	router.register("7000")
	// 5003 has record=true; the strategy disables it there.
	for _, tc := range []struct {
		name, to, record string
		want             []string
	}{
		{"record destination", "5001", "destination", []string{"start 5001 other=+15550001"}},
		{"record source", "5002", "source", []string{"start +15550001 other=5002"}},
		{"disable destination", "5003", "disable_destination", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			media.mu.Lock()
			media.log = nil
			media.mu.Unlock()
			must(t, s.Step(Step{Action: ActInbound, Call: tc.name, ANI: "+15550001", RP: "7000"}))
			evs := router.expect("EventQueued 7000", "EventRouteRequest 7000")
			ref := router.send(tlib.New(tlib.RequestRouteCall).SetStr(tlib.AttrThisDN, "7000").SetConn(tlib.AttrConnID, evs[1].ConnID()).
				SetStr(tlib.AttrOtherDN, tc.to).SetList(tlib.AttrExtensions, tlib.KVList{}.Set("record", tc.record)))
			got := router.expect("EventRouteUsed 7000", "EventDiverted 7000")
			if got[0].ReferenceID() != ref || got[0].OtherDN() != tc.to {
				t.Fatalf("EventRouteUsed:\n%s", got[0].Trace())
			}
			must(t, s.Step(Step{Action: ActAnswer, Call: tc.name}))
			var log []string
			for _, e := range media.waitFor(t, len(tc.want)) {
				if i := strings.Index(e, " id="); strings.HasPrefix(e, "start ") && i > 0 {
					log = append(log, e[:i])
				}
			}
			if !slices.Equal(log, tc.want) {
				t.Errorf("media %v, want %v", log, tc.want)
			}
			must(t, s.Step(Step{Action: ActRelease, Call: tc.name}))
		})
	}
	ev := router.request(tlib.New(tlib.RequestRouteCall).SetStr(tlib.AttrThisDN, "7000").SetConn(tlib.AttrConnID, 5).SetStr(tlib.AttrOtherDN, "5001"))
	if ev.Type != tlib.EventError {
		t.Fatalf("route of unknown call:\n%s", ev.Trace())
	}
}

func TestTransferRetargetsAndStopsRecordings(t *testing.T) {
	media := &fakeMedia{}
	s := newSim(t, func(c *Config) { c.Recorders = []string{"rec:5060"}; c.Media = media })
	for _, st := range []Step{
		{Action: ActInbound, Call: "c1", ANI: "+15550001", To: "5003"}, // record=true
		{Action: ActAnswer, Call: "c1"},
		{Action: ActRecordStart, Call: "c1", DN: "+15550001", ID: "CUST"}, // the customer side too
		{Action: ActTransfer, Call: "c1", DN: "5003", To: "5001"},
		{Action: ActAnswer, Call: "c1", DN: "5001"},
		{Action: ActRelease, Call: "c1"},
	} {
		must(t, s.Step(st))
	}
	// Stops run asynchronously (they wait for the BYE): compare sorted.
	want := []string{"retarget 5001 for +15550001", "start +15550001 other=5003", "start 5003 other=+15550001", "stop +15550001", "stop 5003"}
	var got []string
	for _, e := range media.waitFor(t, len(want)) {
		if i := strings.Index(e, " id="); i > 0 {
			e = e[:i]
		}
		got = append(got, e)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("media:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScreenCaptureUserEvent(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register("5001")
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", To: "5001"}))
	must(t, s.Step(Step{Action: ActScreenCapture, Call: "c1", DN: "5001", Mode: "start"}))
	ev := c.expect("EventRinging 5001", "EventUserEvent 5001")[1]
	ci, _ := s.Call("c1")
	if ev.UserData().String("ScreenRecording") != "start" || ev.ConnID() != ci.ConnID {
		t.Fatalf("got\n%s", ev.Trace())
	}
}

func TestBadFrameClosesConnection(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register("5001")
	// Length 3: shorter than type + attribute count.
	if _, err := c.conn.Write([]byte{0, 0, 0, 3, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ev := c.read()
	if code, _ := ev.Int(tlib.AttrErrorCode); ev.Type != tlib.EventError || code != ErrCodeBadFrame {
		t.Fatalf("got\n%s", ev.Trace())
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tlib.ReadMessage(c.r); err == nil {
		t.Fatal("connection still open")
	}
	// The simulator still serves others.
	dialSim(t, s).register("5001")
}

func TestCloseIsIdempotent(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register("5001")
	must(t, s.Close())
	must(t, s.Close())
	if err := s.Step(Step{Action: ActWait}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Step after Close: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDisconnectClientsThenResync(t *testing.T) {
	s := newSim(t, nil)
	c := dialSim(t, s)
	c.register("5001")
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", To: "5001"}))
	c.expect("EventRinging 5001")
	if n := s.DisconnectClients(); n != 1 {
		t.Fatalf("disconnected %d", n)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tlib.ReadMessage(c.r); err == nil {
		t.Fatal("link still up")
	}
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"})) // while the link is down
	c2 := dialSim(t, s)
	c2.register("5001")
	ev := c2.request(tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, "5001"))
	ci, _ := s.Call("c1")
	if ev.List(tlib.AttrExtensions).String("conn-1") != ci.ConnID.String() {
		t.Fatalf("resync:\n%s", ev.Trace())
	}
	ev = c2.request(tlib.New(tlib.RequestQueryCall).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, ci.ConnID))
	if p := ev.List(tlib.AttrExtensions); ev.Type != tlib.EventPartyInfo || p[1].List.String("State") != "Established" {
		t.Fatalf("party info:\n%s", ev.Trace())
	}
}

// While RefuseClients is on the SIP Server is unreachable: connections are
// closed at once, calls go on; afterwards a client registers and finds them.
func TestRefuseClients(t *testing.T) {
	s := newSim(t, nil)
	s.RefuseClients(true)
	c := dialSim(t, s)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tlib.ReadMessage(c.r); err == nil {
		t.Fatal("a refused connection delivered a message")
	}
	must(t, s.Step(Step{Action: ActInbound, Call: "c1", To: "5001"}))
	must(t, s.Step(Step{Action: ActAnswer, Call: "c1"}))
	s.RefuseClients(false)
	c2 := dialSim(t, s)
	c2.register("5001")
	ev := c2.request(tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, "5001"))
	ci, _ := s.Call("c1")
	if ev.List(tlib.AttrExtensions).String("conn-1") != ci.ConnID.String() {
		t.Fatalf("after RefuseClients(false):\n%s", ev.Trace())
	}
}
