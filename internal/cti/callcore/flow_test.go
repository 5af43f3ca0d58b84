package callcore

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// A recording from start to end: the rule's START goes out on the link,
// the recorder's session joins the call, its first audio sends the
// Notification of Recording (latency measured), Finished gives the couple
// as offsets into the media, attached data during wrap-up and the end of
// wrap-up each make the recorder rewrite the row's couples — and after
// that the call is forgotten.
func TestRecordingLifeCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var observed []time.Duration
		b := startBubble(t, conversation.Config{
			Record: conversation.RecordConfig{Rule: recordAll},
			Keys:   conversation.Keys{User: []conversation.KeyMap{{From: "Segment"}}},
			WrapUp: time.Minute,
		}, Config{ObserveNotify: func(d time.Duration) { observed = append(observed, d) }})
		t0 := time.Now()
		b.send(b.event(tlib.EventEstablished, "5001", "+15550100", conn1, uuid1))
		synctest.Wait()
		starts := b.link.of(tlib.RequestPrivateService)
		if len(starts) != 1 {
			t.Fatalf("%d RequestPrivateService sent, want the rule's START", len(starts))
		}
		recordID := starts[0].List(tlib.AttrExtensions).String("id")
		checkService(t, starts[0], 3013, "5001", conn1, recordID)

		s := recorder.Session{RecordingID: "REC-1", Mode: store.ModeMSR, RecordID: recordID, CallUUID: uuid1,
			RecordedDN: "5001", Start: t0, ExpectLegs: 1}
		b.core.Started(s)
		if _, p, _ := (&harness{core: b.core}).party(uuid1, "5001"); p.RecordingID != "REC-1" || p.RecordingState != "on" {
			t.Errorf("live party after Started = %+v", p)
		}
		time.Sleep(300 * time.Millisecond) // bubble time (synctest)
		b.core.AudioStarted("REC-1", time.Now())
		b.core.AudioStarted("REC-unknown", time.Now()) // not a session: ignored
		time.Sleep(200 * time.Millisecond)             // the engine's tick sends the notification
		synctest.Wait()
		if n := len(b.link.of(tlib.RequestUpdateUserData)); n != 1 {
			t.Errorf("%d notifications sent, want 1", n)
		}
		st := b.core.Stats()
		if len(observed) != 1 || st.NotifySamples != 1 || st.NotifyP50 != observed[0] || st.NotifyP99 != observed[0] || observed[0] > 200*time.Millisecond {
			t.Errorf("notification latency observed %v, stats %+v", observed, st)
		}

		time.Sleep(10 * time.Second) // bubble time (synctest)
		b.send(b.event(tlib.EventReleased, "5001", "", conn1, uuid1))
		end := time.Now()
		couples, ext, corr := b.core.Finished(s, end)
		if corr != "matched" || len(couples) != 1 || couples[0].StartMS != 0 || couples[0].EndMS != end.Sub(t0).Milliseconds() ||
			couples[0].ThisDN != "5001" || couples[0].OtherDN != "+15550100" || couples[0].CallUUID != uuid1 {
			t.Fatalf("Finished = %+v %v %q", couples, ext, corr)
		}
		b.st.put(store.Recording{ID: "REC-1", RecordID: recordID, CallUUID: uuid1, RecordedDN: "5001",
			StartedAt: t0, EndedAt: end, Status: store.StatusCompleted, Couples: couples})

		// attached data after release (wrap-up)
		b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1).
			SetList(tlib.AttrUserData, tlib.KVList{}.Set("Segment", "Gold")))
		synctest.Wait()
		got := b.rec.recorrelated()
		if len(got) != 1 || got[0].id != "REC-1" || got[0].ext["GEN_USR_Segment"] != "Gold" || len(got[0].couples) != 1 {
			t.Fatalf("late data: Recorrelate calls %+v, want one for REC-1 with GEN_USR_Segment=Gold", got)
		}
		// the end of wrap-up: one last refresh, then the call is forgotten
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if got := b.rec.recorrelated(); len(got) != 2 || got[1].id != "REC-1" {
			t.Fatalf("end of wrap-up: Recorrelate calls %+v, want a second one for REC-1", got)
		}
		if b.core.led.hasFinished(uuid1) {
			t.Error("finished recordings of the ended call still held")
		}
		if _, held := b.core.eng.Call(uuid1); held {
			t.Error("engine still holds the call")
		}
		b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1).
			SetList(tlib.AttrUserData, tlib.KVList{}.Set("Segment", "Silver")))
		synctest.Wait()
		if got := b.rec.recorrelated(); len(got) != 2 {
			t.Errorf("data for a forgotten call reached the recorder: %+v", got)
		}
	})
}

// A session no CTI call explains: no couples, the source's tenant, one
// orphan alert; a second leg of it is counted by the engine, not again.
func TestFinishedWithoutCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{}, Config{SourceTenant: func(src string) map[string]string {
			if src == "10.0.0.1:5060" {
				return map[string]string{store.TenantKey: "Acme"}
			}
			return nil
		}})
		s := recorder.Session{RecordingID: "REC-9", RecordID: "r9", CallUUID: "U-none", RecordedDN: "5009",
			Start: time.Now(), Source: "10.0.0.1:5060", ExpectLegs: 2}
		b.core.Started(s)
		b.core.LegJoined(s, time.Now())
		if corr, tenant := b.core.LiveInfo(s); corr != "no-cti-call" || tenant != "Acme" {
			t.Errorf("LiveInfo = %q %q", corr, tenant)
		}
		time.Sleep(time.Second) // bubble time (synctest)
		couples, ext, corr := b.core.Finished(s, time.Now())
		if corr != "no-cti-call" || couples != nil || ext[store.TenantKey] != "Acme" {
			t.Errorf("Finished = %+v %v %q", couples, ext, corr)
		}
		if n := b.core.Stats().Alerts[string(conversation.AlertOrphanLeg)]; n != 1 {
			t.Errorf("orphan-leg alerts = %d, want 1", n)
		}
		if got := b.core.led.liveSessions(); len(got) != 0 {
			t.Errorf("sessions still live after Finished: %+v", got)
		}
	})
}

// A compliance pause asked on the CTI link (PAUSE acknowledged, then
// RESUME) reaches the recorder once each, in order.
func TestPauseReachesRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: recordAll}}, Config{})
		b.send(b.event(tlib.EventEstablished, "5001", "+1", conn1, uuid1))
		synctest.Wait()
		recordID := b.link.of(tlib.RequestPrivateService)[0].List(tlib.AttrExtensions).String("id")
		ctx := t.Context()
		for _, op := range []string{OpPause, OpResume} {
			if _, err := b.core.Control(ctx, ControlTarget{DN: "5001"}, op); err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			synctest.Wait()
		}
		// an event without a change asks nothing more
		b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1))
		synctest.Wait()
		want := []pauseChange{{recordID: recordID, dn: "5001", paused: true}, {recordID: recordID, dn: "5001", paused: false}}
		if got := b.rec.pauseList(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("SetPaused calls = %+v, want %+v", got, want)
		}
	})
}

// GSIP_RECORD = PAUSED in the call's attached data pauses too.
func TestPauseByAttachedData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: recordAll}}, Config{})
		b.send(b.event(tlib.EventEstablished, "5001", "+1", conn1, uuid1))
		synctest.Wait()
		b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1).
			SetList(tlib.AttrUserData, tlib.KVList{}.Set("GSIP_RECORD", "PAUSED")))
		synctest.Wait()
		if got := b.rec.pauseList(); len(got) != 1 || !got[0].paused || got[0].dn != "5001" {
			t.Errorf("SetPaused calls = %+v, want one pause of 5001", got)
		}
	})
}

// CTI says the DN is recorded but no SIP session comes: a failed row
// (no-leg) is stored; the session arriving late marks it recovered.
func TestNoLegRowAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: recordAll},
			Detect: conversation.DetectConfig{LegTimeout: 5 * time.Second}}, Config{})
		b.send(b.event(tlib.EventEstablished, "5001", "+15550100", conn1, uuid1))
		synctest.Wait()
		recordID := b.link.of(tlib.RequestPrivateService)[0].List(tlib.AttrExtensions).String("id")
		time.Sleep(6 * time.Second) // bubble time (synctest)
		synctest.Wait()
		id := noLegID(uuid1, "5001")
		row, ok := b.st.row(id)
		if !ok || row.Status != store.StatusFailed || row.Correlation != "no-leg" || row.RecordID != recordID || row.OtherDN != "+15550100" {
			t.Fatalf("no-leg row = %+v (stored %v)", row, ok)
		}
		if n := b.core.Stats().Alerts[string(conversation.AlertNoLeg)]; n != 1 {
			t.Errorf("no-leg alerts = %d, want 1", n)
		}
		b.core.Started(recorder.Session{RecordingID: "REC-1", RecordID: recordID, CallUUID: uuid1, RecordedDN: "5001", Start: time.Now(), ExpectLegs: 1})
		synctest.Wait()
		if row, _ := b.st.row(id); row.Correlation != "recovered" {
			t.Errorf("row after the late session = %+v, want correlation recovered", row)
		}
	})
}
