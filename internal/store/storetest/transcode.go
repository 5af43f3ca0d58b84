package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Conformance tests of the transcode queue.

// TranscodeStore is the persisted queue of transcode jobs (recordings kept
// raw, decoded later by internal/recorder/transcode).
type TranscodeStore interface {
	EnqueueTranscode(ctx context.Context, id string, now time.Time) (*store.TranscodeJob, error)
	EnqueueTranscodes(ctx context.Context, now time.Time, again ...store.TranscodeState) (int, error)
	ClaimTranscode(ctx context.Context, id string, now time.Time, lease time.Duration) (*store.TranscodeJob, error)
	FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error
	EndTranscodeAttempt(ctx context.Context, id string, state store.TranscodeState, lastError string, next time.Time) error
	TranscodeJob(ctx context.Context, id string) (*store.TranscodeJob, error)
	CountTranscodeJobs(ctx context.Context) (map[store.TranscodeState]int, error)
}

// rawRecording is a finished recording that kept raw payloads.
func rawRecording(id string, started time.Time) *store.Recording {
	r := fullRecording(id, started)
	r.NeedsTranscode = true
	r.Codecs = []string{"G729", "PCMU"}
	r.StatusReason = "bye; needs_transcode: codec not decoded, raw payload kept"
	return r
}

func jobState(t *testing.T, s Store, id string) store.TranscodeState {
	t.Helper()
	j, err := s.TranscodeJob(context.Background(), id)
	if err != nil {
		t.Fatalf("TranscodeJob(%s): %v", id, err)
	}
	return j.State
}

func testTranscodeEnqueue(t *testing.T, s Store) {
	ctx := context.Background()
	now := base.Add(time.Hour)
	create(t, s, rawRecording("raw-1", base))
	plain := fullRecording("plain-1", base)
	plain.NeedsTranscode = false
	create(t, s, plain)
	live := rawRecording("live-1", base)
	live.Status, live.EndedAt = store.StatusRecording, time.Time{}
	create(t, s, live)

	for _, tc := range []struct {
		id   string
		want error
	}{
		{"nope", store.ErrNotFound},
		{"plain-1", store.ErrNoTranscode},
		{"live-1", store.ErrNoTranscode},
	} {
		if _, err := s.EnqueueTranscode(ctx, tc.id, now); !errors.Is(err, tc.want) {
			t.Errorf("EnqueueTranscode(%s) = %v, want %v", tc.id, err, tc.want)
		}
	}
	if _, err := s.TranscodeJob(ctx, "raw-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TranscodeJob before enqueue: %v, want ErrNotFound", err)
	}
	j, err := s.EnqueueTranscode(ctx, "raw-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if j.RecordingID != "raw-1" || j.State != store.TranscodeQueued || j.Attempts != 0 || !j.NextAttemptAt.Equal(now) || j.CreatedAt.IsZero() {
		t.Errorf("enqueued job %+v", j)
	}
	// Idempotent: a second enqueue changes nothing.
	j2, err := s.EnqueueTranscode(ctx, "raw-1", now.Add(time.Minute))
	if err != nil || !j2.NextAttemptAt.Equal(now) {
		t.Errorf("enqueue again: %+v, %v", j2, err)
	}
	// EnqueueTranscodes adds what is missing, only finished raw recordings.
	create(t, s, rawRecording("raw-2", base.Add(time.Second)))
	if n, err := s.EnqueueTranscodes(ctx, now); err != nil || n != 1 {
		t.Errorf("EnqueueTranscodes = %d, %v; want 1 (raw-2)", n, err)
	}
	if n, err := s.EnqueueTranscodes(ctx, now); err != nil || n != 0 {
		t.Errorf("EnqueueTranscodes again = %d, %v; want 0", n, err)
	}
	if _, err := s.TranscodeJob(ctx, "live-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a recording in progress got a job: %v", err)
	}
	counts, err := s.CountTranscodeJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.TranscodeQueued] != 2 || counts[store.TranscodeDone] != 0 || len(counts) != len(store.TranscodeStates) {
		t.Errorf("counts %v", counts)
	}
}

func testTranscodeClaim(t *testing.T, s Store) {
	ctx := context.Background()
	now := base.Add(time.Hour)
	lease := 10 * time.Minute
	create(t, s, rawRecording("raw-a", base))
	create(t, s, rawRecording("raw-b", base))
	if _, err := s.ClaimTranscode(ctx, "", now, lease); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim from an empty queue: %v", err)
	}
	if _, err := s.EnqueueTranscode(ctx, "raw-b", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueTranscode(ctx, "raw-a", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimTranscode(ctx, "", now, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("claim without a lease: %v", err)
	}
	// Due first: raw-b (raw-a is due a second later).
	j, err := s.ClaimTranscode(ctx, "", now, lease)
	if err != nil {
		t.Fatal(err)
	}
	if j.RecordingID != "raw-b" || j.State != store.TranscodeRunning || j.Attempts != 1 || !j.NextAttemptAt.Equal(now.Add(lease)) {
		t.Errorf("claimed %+v", j)
	}
	if _, err := s.ClaimTranscode(ctx, "", now, lease); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("raw-a is not due yet, raw-b is leased: %v", err)
	}
	// By id: backoff ignored, a lease honoured.
	if _, err := s.ClaimTranscode(ctx, "raw-b", now, lease); !errors.Is(err, store.ErrBusy) {
		t.Errorf("claim of a leased job: %v, want ErrBusy", err)
	}
	if j, err := s.ClaimTranscode(ctx, "raw-a", now.Add(time.Second), lease); err != nil || j.RecordingID != "raw-a" {
		t.Errorf("claim raw-a by id: %+v, %v", j, err)
	}
	if _, err := s.ClaimTranscode(ctx, "nope", now, lease); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim of no job: %v", err)
	}
	// A lease that ran out (the worker died) is taken over.
	later := now.Add(lease + time.Second)
	j, err = s.ClaimTranscode(ctx, "", later, lease)
	if err != nil || j.RecordingID != "raw-b" || j.Attempts != 2 {
		t.Errorf("take-over: %+v, %v", j, err)
	}
}

func testTranscodeRetryAndWait(t *testing.T, s Store) {
	ctx := context.Background()
	now := base.Add(time.Hour)
	lease := time.Minute
	create(t, s, rawRecording("raw-r", base))
	create(t, s, rawRecording("raw-w", base))
	create(t, s, rawRecording("raw-f", base))
	if n, err := s.EnqueueTranscodes(ctx, now); err != nil || n != 3 {
		t.Fatalf("EnqueueTranscodes = %d, %v", n, err)
	}
	for range 3 {
		if _, err := s.ClaimTranscode(ctx, "", now, lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EndTranscodeAttempt(ctx, "raw-r", store.TranscodeDone, "x", now); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("EndTranscodeAttempt done: %v, want ErrInvalid", err)
	}
	if err := s.EndTranscodeAttempt(ctx, "nope", store.TranscodeFailed, "x", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndTranscodeAttempt of no job: %v", err)
	}
	retry := now.Add(30 * time.Second)
	for _, e := range []struct {
		id    string
		state store.TranscodeState
		next  time.Time
	}{
		{"raw-r", store.TranscodeQueued, retry},
		{"raw-w", store.TranscodeWaiting, now},
		{"raw-f", store.TranscodeFailed, now},
	} {
		if err := s.EndTranscodeAttempt(ctx, e.id, e.state, "boom "+e.id, e.next); err != nil {
			t.Fatal(err)
		}
	}
	j, err := s.TranscodeJob(ctx, "raw-r")
	if err != nil || j.State != store.TranscodeQueued || j.LastError != "boom raw-r" || !j.NextAttemptAt.Equal(retry) || j.Attempts != 1 {
		t.Errorf("retried job %+v, %v", j, err)
	}
	if _, err := s.ClaimTranscode(ctx, "", now, lease); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a job in backoff was claimed: %v", err)
	}
	if j, err := s.ClaimTranscode(ctx, "", retry, lease); err != nil || j.RecordingID != "raw-r" || j.Attempts != 2 {
		t.Errorf("claim after the backoff: %+v, %v", j, err)
	}
	// Neither is queued again unless asked; a new process asks for the
	// waiting ones, a user for the failed ones too.
	if n, err := s.EnqueueTranscodes(ctx, now); err != nil || n != 0 || jobState(t, s, "raw-w") != store.TranscodeWaiting {
		t.Errorf("EnqueueTranscodes(): %d, %v", n, err)
	}
	if _, err := s.EnqueueTranscodes(ctx, now, store.TranscodeQueued); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("EnqueueTranscodes(queued): %v, want ErrInvalid", err)
	}
	if n, err := s.EnqueueTranscodes(ctx, now, store.TranscodeWaiting); err != nil || n != 1 || jobState(t, s, "raw-w") != store.TranscodeQueued {
		t.Errorf("EnqueueTranscodes: %d, %v, raw-w %s", n, err, jobState(t, s, "raw-w"))
	}
	if jobState(t, s, "raw-f") != store.TranscodeFailed {
		t.Errorf("failed job requeued without retryFailed")
	}
	if n, err := s.EnqueueTranscodes(ctx, now, store.TranscodeWaiting, store.TranscodeFailed); err != nil || n != 1 || jobState(t, s, "raw-f") != store.TranscodeQueued {
		t.Errorf("EnqueueTranscodes(waiting, failed): %d, %v", n, err)
	}
	if j, _ := s.TranscodeJob(ctx, "raw-f"); j.Attempts != 0 || j.LastError != "boom raw-f" {
		t.Errorf("requeued failed job %+v: attempts reset, last error kept", j)
	}
	// EnqueueTranscode requeues a failed job too.
	if err := s.EndTranscodeAttempt(ctx, "raw-w", store.TranscodeFailed, "again", now); err != nil {
		t.Fatal(err)
	}
	if j, err := s.EnqueueTranscode(ctx, "raw-w", now); err != nil || j.State != store.TranscodeQueued {
		t.Errorf("EnqueueTranscode of a failed job: %+v, %v", j, err)
	}
}

func testTranscodeFinish(t *testing.T, s Store) {
	ctx := context.Background()
	now := base.Add(time.Hour)
	rec := rawRecording("raw-x", base)
	create(t, s, rec)
	ev := store.Event{Type: "transcoded", Channel: 0, Detail: "G729", At: now}
	res := store.TranscodeResult{SizeBytes: 4242, SHA256: "abcdef", DurationMS: 95300, Codecs: []string{"G729", "PCMU"}, StatusReason: "bye",
		Events: []store.Event{ev}}
	if err := s.FinishTranscode(ctx, "raw-x", res); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finish without a job: %v", err)
	}
	if _, err := s.EnqueueTranscode(ctx, "raw-x", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimTranscode(ctx, "raw-x", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishTranscode(ctx, "raw-x", res); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, "raw-x")
	want := *rec
	want.NeedsTranscode, want.SizeBytes, want.SHA256, want.DurationMS, want.StatusReason = false, 4242, "abcdef", 95300, "bye"
	want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
	want.Events = append(slices.Clone(want.Events), ev)
	mustEqual(t, "transcoded", *got, want)
	if j, _ := s.TranscodeJob(ctx, "raw-x"); j.State != store.TranscodeDone || j.LastError != "" {
		t.Errorf("job %+v after finish", j)
	}
	// Done and no longer needing it: nothing is queued again.
	if n, err := s.EnqueueTranscodes(ctx, now, store.TranscodeWaiting, store.TranscodeFailed); err != nil || n != 0 {
		t.Errorf("EnqueueTranscodes after finish = %d, %v", n, err)
	}
	if _, err := s.EnqueueTranscode(ctx, "raw-x", now); !errors.Is(err, store.ErrNoTranscode) {
		t.Errorf("EnqueueTranscode after finish: %v", err)
	}
	counts, _ := s.CountTranscodeJobs(ctx)
	if counts[store.TranscodeDone] != 1 {
		t.Errorf("counts %v", counts)
	}
	// The job goes with its recording.
	if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: "raw-x", Reason: "test", At: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TranscodeJob(ctx, "raw-x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job of a deleted recording: %v", err)
	}
	if !slices.Equal(res.Codecs, got.Codecs) {
		t.Errorf("codecs %v", got.Codecs)
	}
}
