package callcore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
)

const server = "SW"

// fakeLink stands in for the CTI client: it answers every request with
// EventACK and hands each one to the test.
type fakeLink struct{ msgs chan *tlib.Message }

func (f *fakeLink) Request(_ context.Context, _ string, m *tlib.Message) (*tlib.Message, error) {
	f.msgs <- m.Clone()
	return tlib.New(tlib.EventACK), nil
}

// nextService returns the next RequestPrivateService sent on the link
// (skipping attached-data updates of the notification), once the bubble's
// goroutines are idle.
func (f *fakeLink) nextService(t *testing.T) *tlib.Message {
	t.Helper()
	synctest.Wait()
	for {
		select {
		case m := <-f.msgs:
			if m.Type == tlib.RequestPrivateService {
				return m
			}
		default:
			t.Fatal("no RequestPrivateService reached the CTI link")
			return nil
		}
	}
}

// services returns the RequestPrivateService messages already sent.
func (f *fakeLink) services() []*tlib.Message {
	var out []*tlib.Message
	for {
		select {
		case m := <-f.msgs:
			if m.Type == tlib.RequestPrivateService {
				out = append(out, m)
			}
		default:
			return out
		}
	}
}

type harness struct {
	core *Core
	link *fakeLink
}

// newHarness runs a Core on a conversation engine with rule (nil: no
// recording rules) and a fake CTI link; call it inside synctest.Test: the
// bubble's clock is the engine's and Core's.
func newHarness(t *testing.T, rule func(*conversation.Call, string) conversation.Decision) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := conversation.New(conversation.Config{Record: conversation.RecordConfig{Rule: rule}, Logger: log})
	link := &fakeLink{msgs: make(chan *tlib.Message, 1000)}
	core, err := New(Config{Engine: eng, Logger: log, Tick: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = core.Run(ctx, link, nil)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &harness{core: core, link: link}
}

func (h *harness) established(dn, other string, conn tlib.ConnID, uuid string) {
	h.core.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, dn).SetStr(tlib.AttrOtherDN, other).
		SetConn(tlib.AttrConnID, conn).SetStr(tlib.AttrCallUUID, uuid).SetInt(tlib.AttrCallType, tlib.CallTypeInbound))
}

func (h *harness) released(dn string, conn tlib.ConnID, uuid string) {
	h.core.HandleEvent(server, tlib.New(tlib.EventReleased).SetStr(tlib.AttrThisDN, dn).
		SetConn(tlib.AttrConnID, conn).SetStr(tlib.AttrCallUUID, uuid))
}

// party returns the live view of dn on the call.
func (h *harness) party(uuid, dn string) (LiveCTICall, LiveParty, bool) {
	for _, c := range h.core.LiveCalls() {
		if c.CallUUID != uuid {
			continue
		}
		for _, p := range c.Parties {
			if p.DN == dn {
				return c, p, true
			}
		}
	}
	return LiveCTICall{}, LiveParty{}, false
}

// waitState returns dn's live view once the bubble is idle (SIP Server's
// EventACK handled by Run), failing unless its recording state is want.
func (h *harness) waitState(t *testing.T, uuid, dn, want string) LiveParty {
	t.Helper()
	synctest.Wait()
	_, p, _ := h.party(uuid, dn)
	if p.RecordingState != want {
		t.Fatalf("recording state of %s on %s = %q, want %q", dn, uuid, p.RecordingState, want)
	}
	return p
}

func checkService(t *testing.T, m *tlib.Message, msgID int64, dn string, conn tlib.ConnID, recordID string) {
	t.Helper()
	id, _ := m.Int(tlib.AttrPrivateMsgID)
	if id != msgID || m.ThisDN() != dn || m.ConnID() != conn || m.List(tlib.AttrExtensions).String("id") != recordID {
		t.Errorf("RequestPrivateService msg %d dn %s conn %s id %q; want %d %s %s %q",
			id, m.ThisDN(), m.ConnID(), m.List(tlib.AttrExtensions).String("id"), msgID, dn, conn, recordID)
	}
}

const (
	uuid1 = "U0000000000000000000000000000001"
	conn1 = tlib.ConnID(0x0065000000000001)
)

// start, pause, resume and stop reach the CTI link as the desktop's
// RequestPrivateService (3013, 3015, 3016, 3014) for the DN and ConnID of
// the call, whichever way the call is named; the live view follows SIP
// Server's answers, joins the recorder's session and shows open alerts.
func TestControlLikeADesktop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, nil)
		ctx := context.Background()
		h.established("5001", "+15550100", conn1, uuid1)

		res, err := h.core.Control(ctx, ControlTarget{DN: "5001"}, "start")
		if err != nil {
			t.Fatal(err)
		}
		if res.CallUUID != uuid1 || res.ConnID != conn1.String() || res.DN != "5001" || res.RecordID == "" || res.Op != OpStart {
			t.Errorf("start result = %+v", res)
		}
		checkService(t, h.link.nextService(t), 3013, "5001", conn1, res.RecordID)
		p := h.waitState(t, uuid1, "5001", "on")
		if p.RecordID != res.RecordID || !p.Monitored || p.Decision != "request" || p.State != "established" {
			t.Errorf("live party after start = %+v", p)
		}

		// the recorder's session joins the recording
		h.core.Started(recorder.Session{RecordingID: "REC-1", Mode: "msr", RecordID: res.RecordID, CallUUID: uuid1, RecordedDN: "5001", Start: time.Now()})
		if _, p, _ := h.party(uuid1, "5001"); p.RecordingID != "REC-1" {
			t.Errorf("live party recording id = %q, want REC-1", p.RecordingID)
		}
		if corr, _ := h.core.LiveInfo(recorder.Session{RecordID: res.RecordID, CallUUID: uuid1, RecordedDN: "5001"}); corr != "matched" {
			t.Errorf("live correlation of the joined session = %q, want matched", corr)
		}
		if corr, _ := h.core.LiveInfo(recorder.Session{RecordID: "x", CallUUID: "U-none", RecordedDN: "5999"}); corr != "no-cti-call" {
			t.Errorf("live correlation of a session no call explains = %q, want no-cti-call", corr)
		}

		steps := []struct {
			target ControlTarget
			op     string
			msgID  int64
			state  string
		}{
			{ControlTarget{ConnID: conn1.String()}, "pause", 3015, "paused"},   // the only monitored party
			{ControlTarget{CallUUID: uuid1, DN: "5001"}, "RESUME", 3016, "on"}, // case-insensitive op
			{ControlTarget{CallUUID: uuid1, ConnID: conn1.String()}, "stop", 3014, "stopped"},
		}
		for _, s := range steps {
			if s.op == "stop" {
				// before stopping: no RTP on the joined leg is an open alert
				time.Sleep(6 * time.Second) // the detection's RTP timeout (bubble time)
				h.waitAlert(t, uuid1, "no-rtp")
			}
			r, err := h.core.Control(ctx, s.target, s.op)
			if err != nil {
				t.Fatalf("%s: %v", s.op, err)
			}
			if r.RecordID != res.RecordID || r.DN != "5001" || r.ConnID != conn1.String() {
				t.Errorf("%s result = %+v", s.op, r)
			}
			checkService(t, h.link.nextService(t), s.msgID, "5001", conn1, res.RecordID)
			h.waitState(t, uuid1, "5001", s.state)
		}
	})
}

// waitAlert fails unless, once the bubble is idle, the call shows the
// open alert kind on 5001.
func (h *harness) waitAlert(t *testing.T, uuid, kind string) {
	t.Helper()
	synctest.Wait()
	c, p, _ := h.party(uuid, "5001")
	if !slices.Contains(c.Alerts, kind) || p.Failure != kind {
		t.Fatalf("alerts of %s = %v (party failure %q), want %s", uuid, c.Alerts, p.Failure, kind)
	}
}

// Every way a target or an operation can be wrong has its error, and none
// of them sends anything on the CTI link.
func TestControlErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(_ *conversation.Call, dn string) conversation.Decision {
			if dn == "8001" {
				return conversation.Decision{DoNotRecord: true, Rule: "no-8001"}
			}
			return conversation.Decision{}
		})
		h.established("5001", "+1", conn1, uuid1)
		h.established("6001", "6002", 0x02, "U2")
		h.established("6002", "6001", 0x02, "U2")
		h.established("7001", "+2", 0x03, "U3")
		h.established("7001", "+3", 0x04, "U4")
		h.established("8001", "+4", 0x05, "U5")
		h.established("9001", "+5", 0x06, "U6")
		h.released("9001", 0x06, "U6")

		cases := []struct {
			name   string
			target ControlTarget
			op     string
			want   []error
		}{
			{"unknown op", ControlTarget{DN: "5001"}, "record", []error{ErrBadOp}},
			{"DN on no call", ControlTarget{DN: "9999"}, "start", []error{ErrNoTarget}},
			{"unknown CallUUID", ControlTarget{CallUUID: "nope"}, "start", []error{ErrNoTarget, conversation.ErrNoCall}},
			{"unknown ConnID", ControlTarget{ConnID: "00000000000000ff"}, "start", []error{ErrNoTarget}},
			{"invalid ConnID", ControlTarget{ConnID: "zz"}, "start", []error{ErrNoTarget}},
			{"ConnID of another call", ControlTarget{CallUUID: uuid1, ConnID: "0000000000000002"}, "start", []error{ErrNoTarget}},
			{"no target", ControlTarget{}, "start", []error{ErrNoTarget}},
			{"ended call", ControlTarget{CallUUID: "U6"}, "start", []error{ErrNoTarget}},
			{"ended call by DN", ControlTarget{DN: "9001"}, "start", []error{ErrNoTarget}},
			{"DN on two calls", ControlTarget{DN: "7001"}, "start", []error{ErrAmbiguous}},
			{"two monitored parties, no DN", ControlTarget{CallUUID: "U2"}, "stop", []error{ErrAmbiguous}},
			{"DN not on the call", ControlTarget{CallUUID: uuid1, DN: "6001"}, "start", []error{conversation.ErrNoParty}},
			{"pause without a recording", ControlTarget{DN: "5001"}, "pause", []error{conversation.ErrState}},
			{"resume without a recording", ControlTarget{DN: "5001"}, "resume", []error{conversation.ErrState}},
			{"do-not-record rule", ControlTarget{DN: "8001"}, "start", []error{conversation.ErrRefused}},
			{"keep without a pre-recording", ControlTarget{DN: "5001"}, "keep", []error{conversation.ErrState}},
		}
		for _, c := range cases { // no t.Run inside a bubble
			_, err := h.core.Control(context.Background(), c.target, c.op)
			if err == nil {
				t.Errorf("%s: no error", c.name)
				continue
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("%s: error %q is not %v", c.name, err, w)
				}
			}
		}
		synctest.Wait()
		if s := h.link.services(); len(s) != 0 {
			t.Errorf("%d RequestPrivateService sent for refused operations", len(s))
		}
		// the live view lists the calls in progress, not the ended one
		var uuids []string
		for _, c := range h.core.LiveCalls() {
			uuids = append(uuids, c.CallUUID)
		}
		if slices.Contains(uuids, "U6") || !slices.Contains(uuids, "U2") || len(uuids) != 5 {
			t.Errorf("live calls = %v", uuids)
		}
	})
}

// keep and discard decide a pre-recording through the engine: a discard
// stops the running recording on the CTI link (3014); a keep for a call
// the engine no longer holds goes to the store.
func TestControlKeepDiscard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(*conversation.Call, string) conversation.Decision {
			return conversation.Decision{Record: true, Prerecord: true, Rule: "pre"}
		})
		ctx := context.Background()
		h.established("5001", "+1", conn1, uuid1)
		start := h.link.nextService(t) // the rule's pre-recording
		id := start.List(tlib.AttrExtensions).String("id")
		checkService(t, start, 3013, "5001", conn1, id)
		if p := h.waitState(t, uuid1, "5001", "on"); p.Decision != "prerecord" {
			t.Errorf("decision = %q, want prerecord", p.Decision)
		}
		res, err := h.core.Control(ctx, ControlTarget{DN: "5001"}, "keep")
		if err != nil {
			t.Fatal(err)
		}
		if res.RecordID != id || res.Op != OpKeep {
			t.Errorf("keep result = %+v", res)
		}
		if call, _ := h.core.eng.Call(uuid1); call.Recordings[0].Keep != conversation.KeepYes {
			t.Errorf("recording not kept: %+v", call.Recordings[0])
		}

		h.established("5002", "+2", 0x02, "U2")
		id2 := h.link.nextService(t).List(tlib.AttrExtensions).String("id")
		h.waitState(t, "U2", "5002", "on")
		res, err = h.core.Control(ctx, ControlTarget{CallUUID: "U2"}, "discard")
		if err != nil {
			t.Fatal(err)
		}
		if res.DN != "5002" || res.RecordID != id2 {
			t.Errorf("discard result = %+v", res)
		}
		checkService(t, h.link.nextService(t), 3014, "5002", 0x02, id2)
		h.waitState(t, "U2", "5002", "stopped")

		if _, err := h.core.Control(ctx, ControlTarget{CallUUID: "gone"}, "keep"); err != nil {
			t.Errorf("keep of a call the engine no longer holds: %v", err)
		}
	})
}
