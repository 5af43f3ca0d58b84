package sim

// DialMedia against the real recorder (internal/app on loopback): the
// transfer re-INVITE, and the recorder group's OPTIONS health checks and
// fail-over rules.

import (
	"context"
	"errors"
	"github.com/openrec/openrec/internal/app/apptest"
	"net"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sim/rm"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// startRecorderApp runs a recorder on loopback (internal/app/apptest).
func startRecorderApp(t *testing.T, mut func(*config.Serve)) *app.App {
	t.Helper()
	return apptest.Start(t, mut, nil)
}

func recordings(t *testing.T, a *app.App) []store.Recording {
	t.Helper()
	recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// receiving reports whether a has a call with audio arriving.
func receiving(a *app.App) bool {
	st := a.Recorder().Stats()
	return st.ActiveCalls == 1 && st.PacketsReceived > 20
}

func finished(t *testing.T, a *app.App) store.Recording {
	t.Helper()
	var recs []store.Recording
	waitUntil(t, "a finished recording", func() bool {
		recs = recordings(t, a)
		return len(recs) == 1 && recs[0].Status != store.StatusRecording && a.Recorder().Active() == 0
	})
	full, err := a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return *full
}

func newDialMedia(t *testing.T) *DialMedia {
	t.Helper()
	dm := &DialMedia{Dialer: newDialer(t)}
	t.Cleanup(func() { _ = dm.Close() })
	return dm
}

// newGroup starts a Resource Manager group over members that dm pings.
func newGroup(t *testing.T, dm *DialMedia, cfg rm.Config, members ...string) *rm.Group {
	t.Helper()
	cfg.Members, cfg.Pinger = members, dm
	if testing.Verbose() {
		cfg.Logger = apptest.Logger(t)
	}
	g, err := rm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func TestDialMediaRetargetReinvitesOtherLeg(t *testing.T) {
	a := startRecorderApp(t, nil)
	dm := newDialMedia(t)
	// A transferred-to DN whose tone differs from the first other party's.
	target := ""
	for _, dn := range []string{"5002", "5004", "5005", "5006", "5007", "5008"} {
		if f := toneFor(dn); f != 1000 && f != 440 {
			target = dn
			break
		}
	}
	newTone := otherTone(Recording{OtherDN: "+15550100", Tones: [2]float64{440, 1000}}, target)

	ms, err := dm.Start(context.Background(), Recording{RecordID: "R-XFER", CallUUID: dial.NewCallUUID(),
		ThisDN: "5001", OtherDN: "+15550100", Dest: a.SIPAddr().String(), Tones: [2]float64{440, 1000}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "audio at the recorder", func() bool { return receiving(a) })
	time.Sleep(time.Second)             // models time: 1 s of audio with the first party
	ms.Retarget(target)                 // single-step transfer of the other party
	time.Sleep(1500 * time.Millisecond) // models time: 1.5 s with the new one
	if err := ms.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	r := finished(t, a)
	if r.RecordID != "R-XFER" || r.Status != store.StatusCompleted || len(r.SIPCallIDs) != 2 {
		t.Fatalf("recording %+v", r)
	}
	var reinvite, ssrc int
	for _, e := range r.Events {
		switch {
		case e.Type == "reinvite":
			reinvite++
		case e.Type == "ssrc-change" && e.Channel == 1:
			ssrc++
		}
	}
	if reinvite != 1 || ssrc != 1 {
		t.Errorf("events %+v: want one reinvite and one SSRC change on channel 1", r.Events)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	at := func(ch int, freq float64) (time.Duration, time.Duration) {
		s, e := audiotest.ToneSpan(f.Channel(ch), f.SampleRate, freq, 160)
		if s < 0 {
			t.Fatalf("channel %d: no %v Hz", ch, freq)
		}
		return time.Duration(s) * time.Second / time.Duration(f.SampleRate), time.Duration(e) * time.Second / time.Duration(f.SampleRate)
	}
	_, end0 := at(0, 440)
	s1, e1 := at(1, 1000)
	s2, e2 := at(1, newTone)
	if s1 > 200*time.Millisecond || e1 < time.Second {
		t.Errorf("channel 1: first party %v..%v, want from the start for >1 s", s1, e1)
	}
	if gap := s2 - e1; gap < -100*time.Millisecond || gap > 200*time.Millisecond {
		t.Errorf("channel 1: new party starts %v after the first one ends", gap)
	}
	if d := end0 - e2; d < -200*time.Millisecond || d > 200*time.Millisecond || e2-s2 < 1200*time.Millisecond {
		t.Errorf("channel 1: new party %v..%v, recorded party ends at %v", s2, e2, end0)
	}
}

func TestDialMediaSkipsRecordersOPTIONSFindsUnavailable(t *testing.T) {
	first := startRecorderApp(t, nil)
	second := startRecorderApp(t, nil)
	dm := newDialMedia(t)
	firstAddr := first.SIPAddr().String()
	g := newGroup(t, dm, rm.Config{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond}, firstAddr, second.SIPAddr().String())
	rec := Recording{CallUUID: dial.NewCallUUID(), ThisDN: "5001", OtherDN: "5002", Tones: [2]float64{440, 1000}, Group: g}

	// Both healthy: the first of the group records (round-robin starts there).
	rec.RecordID = "R-1"
	ms, err := dm.Start(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "audio at the first recorder", func() bool { return receiving(first) })
	if err := ms.Stop(); err != nil {
		t.Fatal(err)
	}
	finished(t, first)

	// The first starts draining: its OPTIONS answer 503 from the next
	// ping on, and it gets no INVITE at all (though round-robin's turn is
	// the second's, the test places two more).
	first.Recorder().Drain()
	waitUntil(t, "a ping finding the first recorder draining", func() bool { return g.Stats()[0].State == rm.Out })
	for _, id := range []string{"R-2", "R-2b"} {
		rec.RecordID = id
		ms, err = dm.Start(context.Background(), rec)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "audio at the second recorder", func() bool { return receiving(second) })
		if err := ms.Stop(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, id+" finished", func() bool { return second.Recorder().Active() == 0 })
	}
	if st := first.Recorder().Stats(); st.CallsRejected != 0 || st.CallsAdmitted != 1 || st.Legs != 2 {
		t.Errorf("first recorder %+v: the draining one was sent an INVITE", st)
	}

	// A recorder that does not answer at all (a black hole) is skipped
	// after the ping's timeout, not after an INVITE transaction timeout.
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	g.SetMembers([]string{hole.LocalAddr().String(), second.SIPAddr().String()})
	rec.RecordID = "R-3"
	t0 := time.Now()
	ms, err = dm.Start(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "R-3 at the second recorder", func() bool { return receiving(second) })
	// The timeout is 300 ms, an INVITE transaction (Timer B) 32 s: the
	// bound is far from both, so a loaded machine does not fail it.
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("fail-over past a silent recorder took %v", d)
	}
	if err := ms.Stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "three finished recordings", func() bool {
		recs := recordings(t, second)
		if len(recs) != 3 {
			return false
		}
		for _, r := range recs {
			if r.Status == store.StatusRecording {
				return false
			}
		}
		return true
	})
	if st := g.Stats(); st[0].State != rm.Down || st[0].Placed != 0 || st[1].Placed != 3 {
		t.Errorf("group %+v", st)
	}
}

func TestDialMediaNoFailoverAfter6xx(t *testing.T) {
	declining := startRecorderApp(t, func(c *config.Serve) { c.DNExclude = "5001" })
	other := startRecorderApp(t, nil)
	dm := newDialMedia(t)
	g := newGroup(t, dm, rm.Config{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond},
		declining.SIPAddr().String(), other.SIPAddr().String())
	ms, err := dm.Start(context.Background(), Recording{RecordID: "R-603", CallUUID: dial.NewCallUUID(),
		ThisDN: "5001", OtherDN: "5002", Tones: [2]float64{440, 1000}, Group: g})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the sessions to end", func() bool {
		select {
		case <-ms.(*dialSession).done:
			return true
		default:
			return false
		}
	})
	err = ms.Stop()
	var se *dial.StatusError
	if !errors.As(err, &se) || se.Code != 603 {
		t.Fatalf("Stop = %v, want the 603", err)
	}
	time.Sleep(300 * time.Millisecond) // models time (negative check): anything late would show now
	if st := other.Recorder().Stats(); st.Legs != 0 || st.CallsAdmitted != 0 || st.CallsRejected != 0 {
		t.Errorf("the other recorder of the group was tried after a 603: %+v", st)
	}
	if n := len(recordings(t, other)); n != 0 {
		t.Errorf("the other recorder has %d recordings", n)
	}
	// A refusal of one session says nothing about the recorder's health.
	if st := g.Stats()[0]; st.State != rm.Up || st.Failed != 0 || st.Active != 0 {
		t.Errorf("declining recorder %+v", st)
	}
}
