package recorder

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// gatedStore holds the store writes of one recording (by record id) until
// released; every other write goes through.
type gatedStore struct {
	Store
	recordID string
	entered  chan struct{}
	release  chan struct{}
	once     sync.Once
}

func (s *gatedStore) wait(rec *store.Recording) {
	if rec.RecordID != s.recordID {
		return
	}
	s.once.Do(func() { close(s.entered) })
	<-s.release
}

func (s *gatedStore) CreateRecording(ctx context.Context, r *store.Recording) error {
	s.wait(r)
	return s.Store.CreateRecording(ctx, r)
}

func (s *gatedStore) UpdateRecording(ctx context.Context, r *store.Recording) error {
	s.wait(r)
	return s.Store.UpdateRecording(ctx, r)
}

// A store write of one call (here: stuck) holds up nothing of the other
// calls: both legs of another call are answered, and Stats, Live and Tick
// return, while the stuck call's second leg waits for its first. Then the
// stuck call completes with both legs.
func TestStoreWriteBlocksNoOtherCall(t *testing.T) {
	f := newFixture(t)
	gs := &gatedStore{Store: f.db, recordID: "stuck", entered: make(chan struct{}), release: make(chan struct{})}
	f.r.st = gs
	released := false
	release := func() {
		if !released {
			released = true
			close(gs.release)
		}
	}
	defer release()
	ctx := context.Background()
	stuck := make(chan error, 2)
	for i, dn := range []string{"5001", "6001"} {
		inv := msrInvite(t, "stuck-"+dn, dn, 41000+2*i, "sendonly")
		inv.MSR.RecordID = "stuck"
		go func() {
			_, err := f.invite(ctx, inv)
			stuck <- err
		}()
	}
	<-gs.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i, dn := range []string{"5001", "6001"} {
			wg.Go(func() {
				if _, err := f.invite(ctx, msrInvite(t, "free-"+dn, dn, 41100+2*i, "sendonly")); err != nil {
					t.Errorf("other call, leg %s: %v", dn, err)
				}
			})
		}
		wg.Wait()
		_ = f.r.Stats()
		_ = f.r.Live()
		f.r.Tick(f.clk.Now())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		release()
		t.Fatal("another call's INVITEs, Stats, Live or Tick waited for one call's store write")
	}
	release()
	for range 2 {
		if err := <-stuck; err != nil {
			t.Fatalf("stuck call: %v", err)
		}
	}
	testtool.Eventually(t, 5*time.Second, func() bool { return f.r.Stats().ActiveLegs == 4 }, "four legs up: %+v", f.r.Stats())
	if got := f.r.Active(); got != 2 {
		t.Fatalf("active calls = %d, want 2", got)
	}
	_ = f.r.Close()
	recs, err := f.db.ListRecordings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d rows, want 2", len(recs))
	}
	for _, rec := range recs {
		if len(rec.SIPCallIDs) != 2 || rec.Status == store.StatusRecording {
			t.Errorf("row %s (%s): call ids %v status %s, want both legs and a final status", rec.ID, rec.RecordID, rec.SIPCallIDs, rec.Status)
		}
	}
}

// The flush loop never waits for a busy call: a call whose lock is held
// (a leg draining through the shared sockets, a slow re-INVITE) is skipped
// for this tick while every other call is flushed.
func TestTickSkipsBusyCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var calls []*call
	for i, dn := range []string{"busy", "free"} {
		s := newSender(t, 0, uint32(10+i))
		inv := msrInvite(t, "tick-"+dn, "5001", s.port(), "sendonly")
		inv.MSR.RecordID = dn
		ans, err := f.invite(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		s.to.Port = answerPort(t, ans)
		s.send(t, 50, 0x10)
		f.r.mu.Lock()
		calls = append(calls, f.r.calls[callKey(inv)])
		f.r.mu.Unlock()
	}
	waitPackets(t, f.r, 100)
	busy, free := calls[0], calls[1]
	busy.mu.Lock()
	f.clk.Add(2 * time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.r.Tick(f.clk.Now())
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		busy.mu.Unlock()
		t.Fatal("Tick waited for a busy call")
	}
	busy.mu.Unlock()
	if free.mix.Frames() == 0 {
		t.Error("the free call was not flushed")
	}
	if busy.mix.Frames() != 0 {
		t.Error("the busy call was flushed while its lock was held")
	}
	f.r.Tick(f.clk.Now())
	if busy.mix.Frames() == 0 {
		t.Error("the busy call was not flushed at the next tick")
	}
}
