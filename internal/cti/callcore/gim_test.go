package callcore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/testtool"
)

// gimLink is a SIP Server answering GIM lookups: calls maps a DN to the
// EventPartyInfo of its one call; a DN missing is not SIP Server's
// (EventError); down fails every request like a lost link.
type gimLink struct {
	mu    sync.Mutex
	calls map[string]*tlib.Message
	down  bool
	asked []string // "Type DN"
}

func (l *gimLink) Request(_ context.Context, _ string, m *tlib.Message) (*tlib.Message, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, m.Type.String()+" "+m.ThisDN())
	if l.down {
		return nil, errors.New("link down")
	}
	switch m.Type {
	case tlib.RequestQueryAddress:
		pi, ok := l.calls[m.ThisDN()]
		if !ok {
			e := tlib.New(tlib.EventError).SetInt(tlib.AttrErrorCode, 40).SetStr(tlib.AttrErrorMessage, "unknown DN")
			return e, errors.New("unknown DN")
		}
		return tlib.New(tlib.EventAddressInfo).SetStr(tlib.AttrThisDN, m.ThisDN()).SetInt(tlib.AttrAddressInfoStatus, 1).
			SetList(tlib.AttrExtensions, tlib.KVList{{Key: "conn-1", Type: tlib.KVString, Str: pi.ConnID().String()}}), nil
	case tlib.RequestQueryCall:
		return l.calls[m.ThisDN()].Clone(), nil
	}
	return tlib.New(tlib.EventACK), nil
}

func partyInfo(dn, other string, conn tlib.ConnID, uuid string) *tlib.Message {
	return tlib.New(tlib.EventPartyInfo).SetStr(tlib.AttrThisDN, dn).SetStr(tlib.AttrOtherDN, other).
		SetConn(tlib.AttrConnID, conn).SetStr(tlib.AttrCallUUID, uuid).SetInt(tlib.AttrCallType, tlib.CallTypeInbound).
		SetStr(tlib.AttrANI, other).SetStr(tlib.AttrAgentID, "1004").
		SetList(tlib.AttrUserData, tlib.KVList{{Key: "Segment", Type: tlib.KVString, Str: "Gold"}})
}

// startGIMCore runs a Core with GIM on, following DNs 5001-5003 only.
func startGIMCore(t *testing.T, l *gimLink, gim bool) *Core {
	t.Helper()
	f, err := dnfilter.Parse("5001-5003", "")
	if err != nil {
		t.Fatal(err)
	}
	eng := conversation.New(conversation.Config{Filter: f, Logger: quiet,
		Keys:   conversation.Keys{User: []conversation.KeyMap{{From: "Segment"}}},
		Detect: conversation.DetectConfig{OrphanTimeout: 50 * time.Millisecond}})
	c, err := New(Config{Engine: eng, Filter: f, Logger: quiet, GIM: gim, Servers: []string{server},
		Tick: 10 * time.Millisecond, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), l, &fakeRecorder{}) }()
	t.Cleanup(func() {
		_ = c.Close()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testtool.Eventually(t, 5*time.Second, func() bool { return c.link.Load() != nil }, "Run installs the link")
	return c
}

// record runs a recording of dn/other without Genesys ids for d; the
// correlation says so when the live one (LiveInfo before the end) differs.
func record(c *Core, dn, other string, d time.Duration) (corr string, ext map[string]string, uuids []string) {
	start := time.Now()
	s := recorder.Session{RecordingID: "r-" + dn, RecordedDN: dn, OtherDN: other, Start: start, ExpectLegs: 1}
	c.Started(s)
	c.AudioStarted(s.RecordingID, start)
	time.Sleep(d) // models time: the recording lasts d while the lookup runs
	live, _ := c.LiveInfo(s)
	couples, ext, corr := c.Finished(s, time.Now())
	for _, cp := range couples {
		uuids = append(uuids, cp.CallUUID)
	}
	if live != corr {
		corr = "live " + live + ", stored " + corr // the live list showed another correlation
	}
	return corr, ext, uuids
}

func orphanAlerts(c *Core) uint64 { return c.Stats().Alerts[string(conversation.AlertOrphanLeg)] }

func TestGIMLookup(t *testing.T) {
	const uuid = "00A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5"
	tests := []struct {
		name       string
		gim        bool
		down       bool
		dn, other  string
		wantCorr   string
		wantUUID   string
		wantAlerts uint64
	}{
		// an SBC's SIPREC: the agent DN first, SIP Server has a call on it
		{name: "recorded DN", gim: true, dn: "5004", other: "+15551237777", wantCorr: CorrelationGIM, wantUUID: uuid},
		// a passive call: the customer is the caller, the agent the callee
		{name: "other DN", gim: true, dn: "+15551237777", other: "5004", wantCorr: CorrelationGIM, wantUUID: uuid},
		{name: "unknown numbers", gim: true, dn: "+15559990000", other: "+15558880000", wantCorr: CorrelationNotControlled},
		{name: "link down", gim: true, down: true, dn: "5004", other: "+15551237777", wantCorr: CorrelationNoCall, wantAlerts: 1},
		{name: "off", gim: false, dn: "5004", other: "+15551237777", wantCorr: CorrelationNoCall, wantAlerts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &gimLink{calls: map[string]*tlib.Message{"5004": partyInfo("5004", "+15551237777", 0x2a, uuid)}, down: tt.down}
			c := startGIMCore(t, l, tt.gim)
			corr, ext, uuids := record(c, tt.dn, tt.other, 200*time.Millisecond)
			if corr != tt.wantCorr {
				t.Fatalf("correlation %q, want %q (asked %v)", corr, tt.wantCorr, l.asked)
			}
			if tt.wantUUID != "" {
				if len(uuids) != 1 || uuids[0] != tt.wantUUID || ext["GEN_USR_Segment"] != "Gold" || ext["GEN_TEV_ANI"] != "+15551237777" || ext["GEN_TEV_AgentID"] != "1004" {
					t.Errorf("couples' calls %v external data %v", uuids, ext)
				}
			}
			if tt.wantCorr == CorrelationNotControlled && ext[KeyCCControlled] != "no" {
				t.Errorf("external data %v, want %s=no", ext, KeyCCControlled)
			}
			time.Sleep(100 * time.Millisecond) // past the orphan timeout and a few ticks
			if n := orphanAlerts(c); n != tt.wantAlerts {
				t.Errorf("orphan-leg alerts %d, want %d", n, tt.wantAlerts)
			}
		})
	}
}

// A call on a monitored DN the CTI side has not seen yet (the session
// arrived first): the lookup's EventPartyInfo joins the engine like the
// resynchronisation's, and the recording is matched to it.
func TestGIMLookupMonitoredDN(t *testing.T) {
	const uuid = "00A1B2C3D4E5F6G7H8I9J0K1L2M3N4O6"
	l := &gimLink{calls: map[string]*tlib.Message{"5002": partyInfo("5002", "+15551237777", 0x2b, uuid)}}
	c := startGIMCore(t, l, true)
	corr, _, uuids := record(c, "5002", "+15551237777", 200*time.Millisecond)
	if corr != "matched" || len(uuids) != 1 || uuids[0] != uuid {
		t.Fatalf("correlation %q calls %v, want matched to %s", corr, uuids, uuid)
	}
	if _, ok := c.eng.Call(uuid); !ok {
		t.Error("the engine does not hold the call the lookup reported")
	}
}

// A call SIP Server did not have yet when the recording started (the
// lookup found nothing on either DN) reaches followed DN 5002, the
// session's other DN: the finished recording is that call's.
func TestGIMRecheckAtEnd(t *testing.T) {
	const uuid = "00A1B2C3D4E5F6G7H8I9J0K1L2M3N4O7"
	l := &gimLink{calls: map[string]*tlib.Message{}}
	c := startGIMCore(t, l, true)
	s := recorder.Session{RecordingID: "r1", RecordedDN: "+15551237777", OtherDN: "5002", Start: time.Now(), ExpectLegs: 1}
	c.Started(s)
	testtool.Eventually(t, 10*time.Second, func() bool { l := c.gim.get("r1"); return l != nil && l.finished() }, "the lookup of r1 finishes")
	ev := partyInfo("5002", "+15551237777", 0x2c, uuid)
	ev.Type = tlib.EventEstablished
	c.HandleEvent(server, ev)
	couples, _, corr := c.Finished(s, time.Now())
	if corr != CorrelationGIM || len(couples) != 1 || couples[0].CallUUID != uuid {
		t.Fatalf("correlation %q couples %+v, want the call %s", corr, couples, uuid)
	}
}
