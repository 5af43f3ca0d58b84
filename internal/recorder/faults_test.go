package recorder

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// flakyStore fails the final row writes (status other than recording)
// while fail > 0.
type flakyStore struct {
	*sqlite.DB
	fail       atomic.Int32
	failEvents atomic.Int32 // AddEvents fails while > 0
}

func (s *flakyStore) AddEvents(ctx context.Context, id string, ev ...store.Event) error {
	if s.failEvents.Add(-1) >= 0 {
		return errors.New("database or disk is full (13)")
	}
	return s.DB.AddEvents(ctx, id, ev...)
}

func (s *flakyStore) UpdateRecording(ctx context.Context, r *store.Recording) error {
	if r.Status != store.StatusRecording && s.fail.Add(-1) >= 0 {
		return errors.New("database or disk is full (13)")
	}
	return s.DB.UpdateRecording(ctx, r)
}

// recordOneCall records a call of one leg with 50 packets and ends it.
func recordOneCall(t *testing.T, f *fixture) {
	t.Helper()
	a := newSender(t, 0, 0xA)
	ans, err := f.invite(context.Background(), msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 50, 0x10)
	waitPackets(t, f.r, 50)
	f.clk.Add(time.Second)
	f.r.Bye("leg-a", "bye")
}

// A final row write that fails is retried until it is written: the row
// never stays "recording", and the events the store refused are written
// once.
func TestFinalRowWriteRetried(t *testing.T) {
	f := newFixture(t)
	fs := &flakyStore{DB: f.db}
	fs.fail.Store(2)
	fs.failEvents.Store(2)
	f.r.st = fs
	recordOneCall(t, f)
	testtool.Eventually(t, 5*time.Second, func() bool { return onlyRecording(t, f.db).Status != store.StatusRecording },
		"row still recording after the call ended")
	rec := onlyRecording(t, f.db)
	if rec.DurationMS < 900 {
		t.Errorf("duration %d ms, want ~1 s", rec.DurationMS)
	}
	byes := 0
	for _, e := range rec.Events {
		if e.Type == "bye" {
			byes++
		}
	}
	if byes != 1 {
		t.Errorf("%d bye events, want 1: %+v", byes, rec.Events)
	}
	if n := f.r.FaultStats().StoreRetries; n < 2 {
		t.Errorf("store retries = %d, want >= 2", n)
	}
}

// A row still unwritten when the recorder closes gets one last attempt;
// if that fails too it is counted, and the next start closes it with the
// duration its (closed) file holds.
func TestFinalRowLostIsRecoveredWithDuration(t *testing.T) {
	f := newFixture(t)
	fs := &flakyStore{DB: f.db}
	fs.fail.Store(1000)
	f.r.st = fs
	recordOneCall(t, f)
	if err := f.r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := f.r.FaultStats().StoreLost; n != 1 {
		t.Errorf("store lost = %d, want 1", n)
	}
	if rec := onlyRecording(t, f.db); rec.Status != store.StatusRecording {
		t.Fatalf("row %s, want still recording (every write failed)", rec.Status)
	}
	// The next start.
	r2, err := New(Config{DataDir: filepath.Dir(f.db.Path()), Ports: f.r.cfg.Ports, Now: f.clk.Now, Logger: f.r.log}, f.db)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r2.Recover(context.Background()); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	rec := onlyRecording(t, f.db)
	info, err := wav.Stat(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.StatusPartial || rec.DurationMS == 0 || rec.DurationMS != info.Frames*1000/8000 {
		t.Errorf("recovered row: %s, %d ms; want partial with the file's %d ms", rec.Status, rec.DurationMS, info.Frames*1000/8000)
	}
}

// DiskFull ends every call in progress: BYE with reason disk-full to each
// leg, status partial with reason disk-full, counted.
func TestDiskFullEndsCalls(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA)
	b := newSender(t, 0, 0xB)
	ans, err := f.invite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	ans, err = f.invite(ctx, msrInvite(t, "leg-b", "+15550100", b.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	b.to.Port = answerPort(t, ans)
	a.send(t, 50, 0x10)
	b.send(t, 50, 0x20)
	waitPackets(t, f.r, 100)
	f.clk.Add(time.Second)
	f.r.Tick(f.clk.Now())
	if n := f.r.DiskFull("free space 1 bytes below the critical watermark 200MB"); n != 1 {
		t.Fatalf("DiskFull ended %d calls, want 1", n)
	}
	if f.r.Active() != 0 {
		t.Fatal("call still active")
	}
	f.r.hangups.Wait()
	f.hup.mu.Lock()
	byes := append([]string(nil), f.hup.ids...)
	f.hup.mu.Unlock()
	if len(byes) != 2 || !strings.HasSuffix(byes[0], ": disk-full") || !strings.HasSuffix(byes[1], ": disk-full") {
		t.Errorf("BYEs = %v, want both legs with reason disk-full", byes)
	}
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusPartial || !strings.HasPrefix(rec.StatusReason, "disk-full: free space") {
		t.Errorf("row %s (%s), want partial, disk-full", rec.Status, rec.StatusReason)
	}
	if rec.DurationMS < 900 || rec.DurationMS > 1100 {
		t.Errorf("duration %d ms, want ~1 s", rec.DurationMS)
	}
	if n := f.r.FaultStats().DiskFullEnded; n != 1 {
		t.Errorf("disk-full counter %d", n)
	}
	if n := f.r.DiskFull("again"); n != 0 {
		t.Errorf("second DiskFull ended %d", n)
	}
}

// Both MSR legs came but one never sent RTP: the recording is partial and
// says which channel is silent (not "completed" with a party missing).
func TestSilentLegIsPartial(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA)
	ans, err := f.invite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	if _, err := f.invite(ctx, msrInvite(t, "leg-b", "+15550100", 40000, "sendonly")); err != nil {
		t.Fatal(err)
	}
	a.send(t, 50, 0x10)
	waitPackets(t, f.r, 50)
	f.clk.Add(time.Second)
	f.r.Bye("leg-a", "bye")
	f.r.Bye("leg-b", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusPartial || !strings.Contains(rec.StatusReason, "no RTP on channel 1 (+15550100)") {
		t.Errorf("row %s (%s), want partial, no RTP on channel 1", rec.Status, rec.StatusReason)
	}
}
