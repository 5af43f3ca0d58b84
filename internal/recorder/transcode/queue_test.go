package transcode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

func openStore(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func job(t *testing.T, db *sqlite.DB, id string) *store.TranscodeJob {
	t.Helper()
	j, err := db.TranscodeJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// flakyStore fails FinishTranscode while fail > 0: the row write after the
// new file is in place.
type flakyStore struct {
	*sqlite.DB
	fail atomic.Int32
}

func (s *flakyStore) FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error {
	if s.fail.Add(-1) >= 0 {
		return errors.New("database is locked (injected)")
	}
	return s.DB.FinishTranscode(ctx, id, res)
}

// Serve's queue: a recording kept raw is found, transcoded by a worker and
// its row updated, with the event, in the background.
func TestQueueTranscodesInTheBackground(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	db := openStore(t, dir)
	if err := db.CreateRecording(context.Background(), fx.rec); err != nil {
		t.Fatal(err)
	}
	q := transcode.NewQueue(db, transcode.New(transcode.Config{DataDir: dir}), transcode.QueueConfig{Workers: 2, Poll: 20 * time.Millisecond})
	defer q.Close()
	q.Start()
	testtool.Eventually(t, 20*time.Second, func() bool { return job(t, db, "R1").State == store.TranscodeDone }, "job not done")
	q.Close()
	r, err := db.GetRecording(context.Background(), "R1")
	if err != nil {
		t.Fatal(err)
	}
	if r.NeedsTranscode || r.StatusReason != "BYE" || r.SHA256 == fx.rec.SHA256 {
		t.Errorf("row after transcoding: needs %v, reason %q, sha %s", r.NeedsTranscode, r.StatusReason, r.SHA256)
	}
	found := false
	for _, e := range r.Events {
		found = found || e.Type == transcode.EventTranscoded && e.Detail == "G722"
	}
	if !found {
		t.Errorf("no transcoded event in %+v", r.Events)
	}
	if st := q.Stats(); st.Done != 1 || st.Failed != 0 || st.Seconds < 2 {
		t.Errorf("stats %+v", st)
	}
	counts, _ := q.Counts(context.Background())
	if counts[store.TranscodeDone] != 1 {
		t.Errorf("counts %v", counts)
	}
	if _, err := os.Stat(transcode.Journal(fx.rec.MediaPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left: %v", err)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
}

// A failed row write is retried after the backoff, and the retry finishes
// from the journal (the file was already replaced).
func TestQueueRetriesWithBackoff(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	db := openStore(t, dir)
	if err := db.CreateRecording(context.Background(), fx.rec); err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{DB: db}
	fs.fail.Store(2)
	now := t0.Add(time.Hour)
	clock := func() time.Time { return now }
	q := transcode.NewQueue(fs, transcode.New(transcode.Config{DataDir: dir}), transcode.QueueConfig{Backoff: time.Minute, Now: clock})
	defer q.Close()
	ctx := context.Background()
	if _, err := db.EnqueueTranscode(ctx, "R1", now); err != nil {
		t.Fatal(err)
	}
	for i, wantNext := range []time.Duration{time.Minute, 2 * time.Minute} {
		if _, err := q.RunOne(ctx, ""); err == nil {
			t.Fatalf("attempt %d succeeded through a failing store", i+1)
		}
		j := job(t, db, "R1")
		if j.State != store.TranscodeQueued || j.Attempts != i+1 || !j.NextAttemptAt.Equal(now.Add(wantNext)) || j.LastError == "" {
			t.Fatalf("after attempt %d: %+v", i+1, j)
		}
		if _, err := q.RunOne(ctx, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a job in backoff ran: %v", err)
		}
		now = j.NextAttemptAt
	}
	o, err := q.RunOne(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Recovered {
		t.Error("the retry mixed again instead of finishing from the journal")
	}
	if j := job(t, db, "R1"); j.State != store.TranscodeDone || j.Attempts != 3 {
		t.Errorf("job %+v", j)
	}
	if st := q.Stats(); st.Retried != 2 || st.Done != 1 {
		t.Errorf("stats %+v", st)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
}

// A recording stored raw by a build without the decoder waits; a process
// with the decoder (here: the default decoders, as a -tags bcg729 build
// has G.729) queues it again at start and transcodes it. A recording that
// cannot be transcoded fails at once.
func TestQueueWaitsForADecoderAndFailsWhatCannotWork(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	db := openStore(t, dir)
	ctx := context.Background()
	if err := db.CreateRecording(ctx, fx.rec); err != nil {
		t.Fatal(err)
	}
	gone := *fx.rec
	gone.ID, gone.MediaPath, gone.SHA256 = "R2", filepath.Join(dir, "gone.wav"), "00"
	if err := db.CreateRecording(ctx, &gone); err != nil {
		t.Fatal(err)
	}
	noG722 := func(c media.Codec, rate int) (mixer.Decoder, error) {
		if c.Name == "G722" {
			return nil, fmt.Errorf("%w: not in this build", codec.ErrUnsupported)
		}
		return codec.NewDecoderRate(c, rate)
	}
	old := transcode.NewQueue(db, transcode.New(transcode.Config{DataDir: dir, Decoders: noG722}), transcode.QueueConfig{Poll: 20 * time.Millisecond})
	old.Start()
	testtool.Eventually(t, 20*time.Second, func() bool {
		return job(t, db, "R1").State == store.TranscodeWaiting && job(t, db, "R2").State == store.TranscodeFailed
	}, "jobs not waiting/failed")
	old.Close()
	if j := job(t, db, "R2"); j.Attempts != 1 {
		t.Errorf("failed job %+v: one attempt", j)
	}
	if st := old.Stats(); st.Waiting == 0 || st.Failed != 1 {
		t.Errorf("stats %+v", st)
	}
	q := transcode.NewQueue(db, transcode.New(transcode.Config{DataDir: dir}), transcode.QueueConfig{Poll: 20 * time.Millisecond})
	defer q.Close()
	q.Start()
	testtool.Eventually(t, 20*time.Second, func() bool { return job(t, db, "R1").State == store.TranscodeDone }, "job not done")
	if j := job(t, db, "R2"); j.State != store.TranscodeFailed {
		t.Errorf("a failed job was queued again without being asked: %+v", j)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
}

// A recording deleted while it is transcoded (retention, erasure) does
// not get its file back.
func TestQueueRemovesTheFileOfARecordingDeletedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	db := openStore(t, dir)
	ctx := context.Background()
	if err := db.CreateRecording(ctx, fx.rec); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnqueueTranscode(ctx, "R1", t0); err != nil {
		t.Fatal(err)
	}
	gone := &deletingStore{DB: db}
	q := transcode.NewQueue(gone, transcode.New(transcode.Config{DataDir: dir}), transcode.QueueConfig{})
	defer q.Close()
	if _, err := q.RunOne(ctx, "R1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunOne: %v, want ErrNotFound", err)
	}
	for _, p := range []string{fx.rec.MediaPath, transcode.Journal(fx.rec.MediaPath)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
}

// deletingStore deletes the recording's row just before the transcode's
// row is stored: expire removed the old file while the transcode ran, and
// the rename put a new one in its place.
type deletingStore struct{ *sqlite.DB }

func (s *deletingStore) FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error {
	if err := s.DB.DeleteRecording(ctx, store.Deletion{RecordingID: id, Reason: "test", At: time.Now()}); err != nil {
		return err
	}
	return s.DB.FinishTranscode(ctx, id, res)
}
