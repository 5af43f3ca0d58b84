package recorder

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// Run and Close may be called concurrently (app.Start runs Run in a
// goroutine; a failing start or a quick SIGINT closes right away): the
// WaitGroup must not be Added concurrently with Wait (the race detector
// flags it, and sync may panic).
func TestReviewRunCloseConcurrently(t *testing.T) {
	cases := []struct {
		name string
		// before runs between starting Run's goroutine and Close
		before func(f *fixture, inLoop <-chan struct{})
	}{
		// no wait: Run's start and Close race (the case the race
		// detector watches)
		{"together", func(*fixture, <-chan struct{}) {}},
		// Run is in its loop: it has ticked once
		{"in loop", func(_ *fixture, inLoop <-chan struct{}) { <-inLoop }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			inLoop := make(chan struct{})
			var once sync.Once
			now := f.r.cfg.Now
			f.r.cfg.Now = func() time.Time { // Run's ticker calls it
				once.Do(func() { close(inLoop) })
				return now()
			}
			f.r.cfg.FlushInterval = time.Millisecond
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = f.r.Run(context.Background())
			}()
			tc.before(f, inLoop)
			_ = f.r.Close()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after Close")
			}
		})
	}
	// Close before Run: Run returns at once.
	f := newFixture(t)
	_ = f.r.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.r.Run(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run after Close did not return")
	}
}

// blockingStore fails CreateRecording after the test lets it go.
type blockingStore struct {
	Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) CreateRecording(ctx context.Context, r *store.Recording) error {
	close(s.entered)
	<-s.release
	return errors.New("disk full")
}

// An INVITE that fails after the call was put in the map must not take
// Recorder.mu while holding call.mu, and the second MSR leg of the same
// call, arriving at the same moment, must not wait holding Recorder.mu: it
// waits (in joinLeg, for the first leg's setup) holding nothing.
func TestReviewInviteFailureDoesNotDeadlockWithJoiningLeg(t *testing.T) {
	f := newFixture(t)
	bs := &blockingStore{Store: f.db, entered: make(chan struct{}), release: make(chan struct{})}
	f.r.st = bs
	firstDone := make(chan error, 1)
	go func() {
		_, err := f.invite(context.Background(), msrInvite(t, "x1", "5001", 40100, "sendonly"))
		firstDone <- err
	}()
	<-bs.entered // the first leg's Invite is writing the row now
	secondDone := make(chan error, 1)
	go func() {
		_, err := f.invite(context.Background(), msrInvite(t, "x2", "+1555", 40102, "sendonly"))
		secondDone <- err
	}()
	// Wait until the second leg waits for the first leg's setup.
	func() {
		defer func() {
			if t.Failed() {
				close(bs.release)
			}
		}()
		testtool.WaitWaiting(t, 5*time.Second, "recorder.(*Recorder).joinLeg", "chan receive")
	}()
	close(bs.release)
	for _, ch := range []chan error{firstDone, secondDone} {
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
			// Cleanup (Close) would hang on the deadlocked call: stop here.
			panic("deadlock: failing Invite holds call.mu and waits for Recorder.mu held by the joining leg")
		}
	}
	if f.r.Active() != 0 || f.r.Stats().ActiveLegs != 0 {
		t.Errorf("half-created call left behind: %+v", f.r.Stats())
	}
}

// A re-INVITE with SDP on a leg set up by a delayed offer (INVITE without
// SDP, answer in the ACK) must not crash the process.
func TestReviewReinviteAfterDelayedOffer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := msrInvite(t, "dl", "5001", 40200, "sendonly")
	inv.SDP = nil
	if _, err := f.invite(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Ack("dl", offer(t, 40200, "sendonly")); err != nil {
		t.Fatal(err)
	}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("re-INVITE after delayed offer panicked: %v", p)
			}
		}()
		_, err = f.r.Reinvite(ctx, msrInvite(t, "dl", "5001", 40200, "inactive"))
	}()
	if err != nil {
		t.Fatalf("re-INVITE: %v", err)
	}
}

// After Close (SIGINT path) the SIP server is still up for a moment: a new
// INVITE must be refused, not start a recording nobody will finalise.
func TestReviewInviteAfterCloseRefused(t *testing.T) {
	f := newFixture(t)
	_ = f.r.Close()
	_, err := f.invite(context.Background(), msrInvite(t, "late", "5001", 40300, "sendonly"))
	var se *sipsrv.StatusError
	if !errors.As(err, &se) || se.Code != 503 {
		t.Errorf("INVITE after Close: %v, want 503", err)
	}
	if n := f.r.Active(); n != 0 {
		t.Errorf("%d calls open after Close", n)
	}
	if n := f.r.cfg.Ports.InUse(); n != 0 {
		t.Errorf("%d RTP ports in use after Close", n)
	}
}

// An SDP answer that cannot be built (advertise address 0.0.0.0, which
// config accepts) must not leak the receivers and ports already opened.
func TestReviewAnswerFailureReleasesPorts(t *testing.T) {
	for _, delayed := range []bool{false, true} {
		f := newFixture(t)
		f.r.cfg.AdvertiseIP = netip.IPv4Unspecified()
		inv := msrInvite(t, "adv", "5001", 40400, "sendonly")
		if delayed {
			inv.SDP = nil
		}
		if _, err := f.invite(context.Background(), inv); err == nil {
			t.Fatal("answer with 0.0.0.0 succeeded")
		}
		if n := f.r.cfg.Ports.InUse(); n != 0 {
			t.Errorf("delayed=%v: %d RTP port pairs still in use after the failed INVITE", delayed, n)
		}
		if f.r.Active() != 0 || f.r.Stats().ActiveLegs != 0 {
			t.Errorf("delayed=%v: half-created call left: %+v", delayed, f.r.Stats())
		}
	}
}

// A two-session MSR call whose second leg never arrived is one-legged
// (partial), also when it ends before the leg window has elapsed.
func TestReviewShortOneLeggedCallIsPartial(t *testing.T) {
	f := newFixture(t)
	a := newSender(t, 0, 0xC)
	ans, err := f.invite(context.Background(), msrInvite(t, "one", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 20, 0x30)
	waitPackets(t, f.r, 20)
	f.clk.Add(3 * time.Second) // shorter than LegWindow (10 s)
	f.r.Tick(f.clk.Now())
	f.r.Bye("one", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusPartial || !strings.Contains(rec.StatusReason, "one-legged") {
		t.Errorf("status = %s (%s), want partial one-legged", rec.Status, rec.StatusReason)
	}
}

// slowHangups answers BYE after a delay, like a real peer.
type slowHangups struct {
	mu  sync.Mutex
	ids []string
}

func (h *slowHangups) Hangup(_ context.Context, id, reason string) error {
	// A Shutdown that does not wait for the BYEs returns well before this.
	time.Sleep(100 * time.Millisecond) // models time: the peer's answer time, not synchronisation
	h.mu.Lock()
	h.ids = append(h.ids, id)
	h.mu.Unlock()
	return nil
}

// When the drain times out, Shutdown ends the calls with BYE; it must not
// return (and let the app close the SIP server) before the BYEs are done.
func TestReviewShutdownWaitsForBYEs(t *testing.T) {
	f := newFixture(t)
	h := &slowHangups{}
	f.setBye(h)
	if _, err := f.invite(context.Background(), msrInvite(t, "sd", "5001", 40500, "sendonly")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = f.r.Shutdown(ctx)
	h.mu.Lock()
	n := len(h.ids)
	h.mu.Unlock()
	if n != 1 {
		t.Errorf("Shutdown returned with %d of 1 BYEs done", n)
	}
}

// A call busy on disk (its mutex held by a long flush or by finalise
// hashing a big file) must not stall SIP handling of other calls through
// Stats (metrics, health), which holds Recorder.mu while it waits for that
// call's mutex.
func TestReviewStatsDoesNotStallInvitesBehindBusyCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "busy", "5001", 40800, "sendonly")); err != nil {
		t.Fatal(err)
	}
	f.r.mu.Lock()
	busy := f.r.legs["busy"].c
	f.r.mu.Unlock()
	busy.mu.Lock() // the busy call's flush or finalise
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		_ = f.r.Stats()
	}()
	testtool.WaitBlocked(t, 5*time.Second, "recorder.(*Recorder).Stats") // Stats is waiting now
	other := msrInvite(t, "other", "6001", 40810, "sendonly")
	other.MSR.RecordID, other.MSR.RecordDN = "r-other", "6001"
	invDone := make(chan error, 1)
	go func() {
		_, err := f.invite(ctx, other)
		invDone <- err
	}()
	stalled := false
	select {
	case err := <-invDone:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(2 * time.Second):
		stalled = true
		t.Error("INVITE of another call stalled behind Stats waiting for a busy call")
	}
	busy.mu.Unlock()
	<-statsDone
	if stalled {
		<-invDone
	}
}
