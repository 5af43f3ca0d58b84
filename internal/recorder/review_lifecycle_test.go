package recorder

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

// Run and Close may be called concurrently (app.Start runs Run in a
// goroutine; a failing start or a quick SIGINT closes right away): the
// WaitGroup must not be Added concurrently with Wait (the race detector
// flags it, and sync may panic).
func TestReviewRunCloseConcurrently(t *testing.T) {
	for i := 0; i < 20; i++ {
		f := newFixture(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = f.r.Run(context.Background())
		}()
		_ = f.r.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after Close")
		}
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
// Recorder.mu while holding call.mu: Stats (Recorder.mu then call.mu) would
// deadlock with it.
func TestReviewInviteFailureDoesNotDeadlockWithStats(t *testing.T) {
	f := newFixture(t)
	bs := &blockingStore{Store: f.db, entered: make(chan struct{}), release: make(chan struct{})}
	f.r.st = bs
	invDone := make(chan error, 1)
	go func() {
		_, err := f.r.Invite(context.Background(), msrInvite(t, "x1", "5001", 40100, "sendonly"))
		invDone <- err
	}()
	<-bs.entered // Invite holds call.mu now
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		_ = f.r.Stats() // takes Recorder.mu, then waits for call.mu
	}()
	// Wait until Stats holds Recorder.mu.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if !f.r.mu.TryLock() {
			break
		}
		f.r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("Stats never took Recorder.mu")
		}
		time.Sleep(time.Millisecond)
	}
	close(bs.release)
	select {
	case err := <-invDone:
		if err == nil {
			t.Fatal("Invite succeeded with a failing store")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("deadlock: failing Invite holds call.mu and waits for Recorder.mu held by Stats")
	}
	<-statsDone
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
	if _, err := f.r.Invite(ctx, inv); err != nil {
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
	_, err := f.r.Invite(context.Background(), msrInvite(t, "late", "5001", 40300, "sendonly"))
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
		if _, err := f.r.Invite(context.Background(), inv); err == nil {
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
	ans, err := f.r.Invite(context.Background(), msrInvite(t, "one", "5001", 0, "sendonly"))
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
	time.Sleep(100 * time.Millisecond)
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
	f.r.SetSignaler(h)
	if _, err := f.r.Invite(context.Background(), msrInvite(t, "sd", "5001", 40500, "sendonly")); err != nil {
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
