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

func prerecordAll(*conversation.Call, string) conversation.Decision {
	return conversation.Decision{Record: true, Prerecord: true, Rule: "pre"}
}

// startRecording establishes uuid on dn, answers the rule's START and
// joins the recorder's session (row status recording).
func (b *bubble) startRecording(t *testing.T, id, dn string, conn tlib.ConnID, uuid string) recorder.Session {
	t.Helper()
	n := len(b.link.of(tlib.RequestPrivateService))
	b.send(b.event(tlib.EventEstablished, dn, "+1", conn, uuid))
	synctest.Wait()
	sent := b.link.of(tlib.RequestPrivateService)
	if len(sent) != n+1 {
		t.Fatalf("no START for %s", dn)
	}
	s := recorder.Session{RecordingID: id, RecordID: sent[n].List(tlib.AttrExtensions).String("id"), CallUUID: uuid,
		RecordedDN: dn, Start: time.Now(), ExpectLegs: 1}
	b.st.put(store.Recording{ID: id, RecordID: s.RecordID, CallUUID: uuid, RecordedDN: dn, StartedAt: s.Start, Status: store.StatusRecording})
	b.core.Started(s)
	synctest.Wait()
	return s
}

// finish ends the session as the recorder does: Finished, then the row.
func (b *bubble) finish(s recorder.Session) {
	end := time.Now()
	couples, _, corr := b.core.Finished(s, end)
	r, _ := b.st.row(s.RecordingID)
	r.Status, r.EndedAt, r.Couples, r.Correlation = store.StatusCompleted, end, couples, corr
	b.st.put(r)
	synctest.Wait()
}

// A discard of a running pre-recording marks its row, pauses the
// recording at once, and the sweep deletes it once it is finished.
func TestDiscardPausesThenDeletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: prerecordAll}}, Config{})
		s := b.startRecording(t, "REC-1", "5001", conn1, uuid1)
		if r, _ := b.st.row("REC-1"); r.Retention != store.RetentionPending {
			t.Errorf("pre-recording row retention = %q, want pending", r.Retention)
		}
		if _, err := b.core.Control(t.Context(), ControlTarget{DN: "5001"}, OpDiscard); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if r, _ := b.st.row("REC-1"); r.Retention != store.RetentionDiscard {
			t.Errorf("row retention after discard = %q, want discard", r.Retention)
		}
		if p := b.rec.pauseList(); len(p) == 0 || !p[0].paused || p[0].recordID != s.RecordID {
			t.Errorf("SetPaused calls = %+v, want the discarded recording paused", p)
		}
		time.Sleep(3 * time.Second) // sweeps: the recording is still running
		synctest.Wait()
		if d := b.st.deletedIDs(); len(d) != 0 {
			t.Fatalf("deleted while recording: %v", d)
		}
		b.finish(s)
		time.Sleep(DefaultSweep) // bubble time (synctest)
		synctest.Wait()
		if d := b.st.deletedIDs(); len(d) != 1 || d[0] != "REC-1" || b.core.Stats().Deleted != 1 {
			t.Errorf("deleted %v (stats %d), want REC-1", d, b.core.Stats().Deleted)
		}
	})
}

// A pre-recording that ends undecided gets a keep deadline of its end +
// PrerecordGrace; without a keep request by then the sweep deletes it. A
// keep request after the call (attached data, the store decides) saves
// the other one.
func TestPrerecordDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: prerecordAll}, WrapUp: time.Second},
			Config{PrerecordGrace: time.Minute})
		s1 := b.startRecording(t, "REC-1", "5001", conn1, uuid1)
		s2 := b.startRecording(t, "REC-2", "5002", 0x02, "U2")
		time.Sleep(5 * time.Second) // bubble time (synctest)
		b.send(b.event(tlib.EventReleased, "5001", "", conn1, uuid1))
		b.send(b.event(tlib.EventReleased, "5002", "", 0x02, "U2"))
		b.finish(s1)
		b.finish(s2)
		end := time.Now()
		for _, id := range []string{"REC-1", "REC-2"} {
			if r, _ := b.st.row(id); r.Retention != store.RetentionPending || !r.KeepUntil.Equal(end.Add(time.Minute)) {
				t.Errorf("%s: retention %q until %v, want pending until %v", id, r.Retention, r.KeepUntil, end.Add(time.Minute))
			}
		}
		time.Sleep(2 * time.Second) // wrap-up over: the engine forgets the calls
		synctest.Wait()
		b.send(b.event(tlib.EventAttachedDataChanged, "5002", "", 0x02, "U2").
			SetList(tlib.AttrUserData, tlib.KVList{}.Set("RECORDING_KEEP", "yes")))
		synctest.Wait()
		if r, _ := b.st.row("REC-2"); r.Retention != store.RetentionKept {
			t.Errorf("REC-2 after a keep request: retention %q, want kept", r.Retention)
		}
		time.Sleep(time.Minute) // bubble time (synctest)
		synctest.Wait()
		if d := b.st.deletedIDs(); len(d) != 1 || d[0] != "REC-1" {
			t.Errorf("deleted %v, want REC-1 (no keep request by its deadline)", d)
		}
		if r, _ := b.st.row("REC-1"); r.ID != "" {
			t.Errorf("REC-1 row left: %+v", r)
		}
		// a keep request for a call with nothing pending changes nothing
		if err := b.core.Keep(t.Context(), "U2", "", false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if r, _ := b.st.row("REC-2"); r.Retention != store.RetentionKept {
			t.Errorf("REC-2 after a late discard: retention %q, want kept", r.Retention)
		}
	})
}

// A keep request from the API for a call the engine no longer holds goes
// to the store: a discard deletes its pending pre-recordings.
func TestKeepAfterCallFromAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, conversation.Config{}, Config{})
		b.st.put(store.Recording{ID: "OLD", CallUUID: "U-old", Status: store.StatusCompleted, EndedAt: time.Now(),
			Retention: store.RetentionPending, KeepUntil: time.Now().Add(time.Hour)})
		if _, err := b.core.Control(t.Context(), ControlTarget{CallUUID: "U-old"}, OpDiscard); err != nil {
			t.Fatal(err)
		}
		time.Sleep(DefaultSweep) // bubble time (synctest)
		synctest.Wait()
		if d := b.st.deletedIDs(); len(d) != 1 || d[0] != "OLD" {
			t.Errorf("deleted %v, want OLD", d)
		}
	})
}

// The sweep keeps what is on legal hold (and deletes it once the hold is
// lifted), leaves running recordings alone, and gives a finished pending
// row without a deadline one from its end.
func TestSweepHoldsAndLostDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		now := time.Now()
		st.put(store.Recording{ID: "HELD", Status: store.StatusCompleted, Retention: store.RetentionDiscard})
		st.put(store.Recording{ID: "RUNNING", Status: store.StatusRecording, Retention: store.RetentionDiscard})
		st.put(store.Recording{ID: "RUNNING-PRE", Status: store.StatusRecording, Retention: store.RetentionPending})
		st.put(store.Recording{ID: "LOST", Status: store.StatusCompleted, Retention: store.RetentionPending, EndedAt: now.Add(-time.Minute)})
		st.put(store.Recording{ID: "NOEND", Status: store.StatusFailed, Retention: store.RetentionPending})
		st.hold("HELD", true)
		startBubble(t, conversation.Config{}, Config{Store: st, Retention: st, Deleter: st, PrerecordGrace: 10 * time.Minute})
		synctest.Wait() // the sweep at start
		if d := st.deletedIDs(); len(d) != 0 {
			t.Errorf("deleted %v, want nothing (hold, running)", d)
		}
		if r, _ := st.row("LOST"); !r.KeepUntil.Equal(now.Add(9 * time.Minute)) {
			t.Errorf("LOST keep until %v, want its end + grace %v", r.KeepUntil, now.Add(9*time.Minute))
		}
		if r, _ := st.row("NOEND"); !r.KeepUntil.Equal(now.Add(10 * time.Minute)) {
			t.Errorf("NOEND keep until %v, want now + grace", r.KeepUntil)
		}
		st.hold("HELD", false)
		time.Sleep(DefaultSweep) // bubble time (synctest)
		synctest.Wait()
		if d := st.deletedIDs(); len(d) != 1 || d[0] != "HELD" {
			t.Errorf("deleted %v, want HELD once its hold is lifted", d)
		}
	})
}

// Without a retention store or deleter nothing is swept or deleted.
func TestNoRetentionConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{})
		d := &dispatcher{Core: c, link: &ackLink{}}
		d.applyRetention(t.Context(), conversation.Retention{CallUUID: uuid1, Keep: conversation.KeepNo})
		keepStored{callUUID: uuid1}.do(t.Context(), d)
		pendingDeadline{id: "x"}.do(t.Context(), d)
		(&sweeper{Core: c}).run(t.Context()) // returns at once
		(&sweeper{Core: c}).delete(t.Context(), &store.Recording{ID: "x"}, "")
		if c.Stats().Deleted != 0 {
			t.Error("deleted without a deleter")
		}
	})
}
