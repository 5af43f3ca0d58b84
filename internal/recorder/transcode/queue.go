package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Store is what the queue needs from the recording store: the persisted
// job table (store/sqlite, migration 0010) and the recordings.
type Store interface {
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	EnqueueTranscode(ctx context.Context, id string, now time.Time) (*store.TranscodeJob, error)
	EnqueueTranscodes(ctx context.Context, now time.Time, again ...store.TranscodeState) (int, error)
	ClaimTranscode(ctx context.Context, id string, now time.Time, lease time.Duration) (*store.TranscodeJob, error)
	FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error
	EndTranscodeAttempt(ctx context.Context, id string, state store.TranscodeState, lastError string, next time.Time) error
	CountTranscodeJobs(ctx context.Context) (map[store.TranscodeState]int, error)
}

// QueueConfig configures a Queue. Zero values take the defaults.
type QueueConfig struct {
	Workers     int           // concurrent transcodes; default 1
	Lease       time.Duration // a claim's lease (another process takes over after it); default 10 min
	MaxAttempts int           // attempts before a job fails; default 5
	Backoff     time.Duration // delay before the first retry, doubled each time (at most 1 h); default 30 s
	Poll        time.Duration // how often idle workers look for new and due jobs; default 30 s
	Now         func() time.Time
	Logger      *slog.Logger
	// Settled, if set, hears of every job that ended for good: done, or
	// failed after its last attempt (not one queued again or waiting for
	// a decoder). The uploader of media in S3 holds recordings back until
	// then, so that their raw payloads stay local while they may be
	// decoded.
	Settled func(recordingID string)
}

// Defaults of QueueConfig.
const (
	DefaultLease       = 10 * time.Minute
	DefaultMaxAttempts = 5
	DefaultBackoff     = 30 * time.Second
	DefaultPoll        = 30 * time.Second
	maxBackoff         = time.Hour
)

// Stats are a queue's counters since it was made.
type Stats struct {
	Done, Failed, Retried, Waiting uint64
	Seconds                        float64 // recorded seconds transcoded
}

// Queue runs transcode jobs: workers claim due jobs from the store (a
// lease, so a job of a process that died is taken over), transcode,
// and store the outcome; transient failures are retried with exponential
// backoff up to MaxAttempts. It is safe for concurrent use: serve's
// workers and the CLI may run jobs of the same store at once (a claim is
// atomic in the store).
type Queue struct {
	st  Store
	t   *Transcoder
	cfg QueueConfig
	log *slog.Logger

	wake      chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
	cancel    context.CancelFunc
	ctx       context.Context
	wg        sync.WaitGroup

	done, failed, retried, waiting atomic.Uint64
	ms                             atomic.Int64
}

// NewQueue returns a queue running t's transcodes on st's jobs. It starts
// nothing: Start starts the workers; RunOne runs one job in the caller.
func NewQueue(st Store, t *Transcoder, cfg QueueConfig) *Queue {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{st: st, t: t, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// Start queues the recordings that need transcoding (and again the jobs
// that waited for a decoder: this build may have it) and starts the
// workers, once. Close stops them.
func (q *Queue) Start() {
	q.startOnce.Do(func() {
		if q.ctx.Err() != nil {
			return
		}
		if n, err := q.st.EnqueueTranscodes(q.ctx, q.cfg.Now(), store.TranscodeWaiting); err != nil {
			q.log.Error("transcode: queueing recordings failed", "error", err)
		} else if n > 0 {
			q.log.Info("transcode: recordings queued", "count", n)
		}
		for range q.cfg.Workers {
			q.wg.Add(1)
			go q.worker()
		}
	})
}

// Wake tells an idle worker to look for jobs now (a recording that needs
// transcoding just finished). It never blocks.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close stops the workers (a transcode in progress is abandoned; its job
// is queued again) and waits for them. Idempotent.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		q.cancel()
		q.wg.Wait()
	})
	return nil
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	return Stats{Done: q.done.Load(), Failed: q.failed.Load(), Retried: q.retried.Load(), Waiting: q.waiting.Load(),
		Seconds: float64(q.ms.Load()) / 1000}
}

// Counts returns the persisted jobs per state.
func (q *Queue) Counts(ctx context.Context) (map[store.TranscodeState]int, error) {
	return q.st.CountTranscodeJobs(ctx)
}

func (q *Queue) worker() {
	defer q.wg.Done()
	tick := time.NewTicker(q.cfg.Poll)
	defer tick.Stop()
	for {
		// New recordings that need transcoding join the queue; then every
		// due job is run.
		if _, err := q.st.EnqueueTranscodes(q.ctx, q.cfg.Now()); err != nil && q.ctx.Err() == nil {
			q.log.Error("transcode: queueing recordings failed", "error", err)
		}
		for q.ctx.Err() == nil {
			_, err := q.RunOne(q.ctx, "")
			if errors.Is(err, store.ErrNotFound) {
				break
			}
		}
		select {
		case <-q.ctx.Done():
			return
		case <-q.wake:
		case <-tick.C:
		}
	}
}

// RunOne claims and runs one job: recording id's (queued by the caller,
// whatever its backoff), or with id "" the one due first. No claimable
// job is store.ErrNotFound (store.ErrBusy: another worker holds it). It
// returns the outcome, or the attempt's error after recording it in the
// job (retry, wait or fail).
func (q *Queue) RunOne(ctx context.Context, id string) (*Outcome, error) {
	job, err := q.st.ClaimTranscode(ctx, id, q.cfg.Now(), q.cfg.Lease)
	if err != nil {
		return nil, err
	}
	o, err := q.attempt(ctx, job)
	if err == nil {
		q.done.Add(1)
		q.ms.Add(int64(o.Seconds * 1000))
		q.log.Info("recording transcoded", "recording_id", job.RecordingID, "decoded", o.Decoded,
			"duration_ms", o.Result.DurationMS, "recovered", o.Recovered)
		return o, nil
	}
	// The outcome is stored even when ctx ended (serve shutting down).
	end, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := q.cfg.Now()
	state, next := store.TranscodeQueued, now.Add(q.backoff(job.Attempts))
	switch {
	case ctx.Err() != nil:
		next = now // interrupted, not failed: due again at once
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("transcode %s: %w", job.RecordingID, err) // deleted meanwhile: its job went with it
	case errors.Is(err, ErrNoDecoder):
		state = store.TranscodeWaiting
		q.waiting.Add(1)
	case errors.Is(err, ErrPermanent) || job.Attempts >= q.cfg.MaxAttempts:
		state = store.TranscodeFailed
		q.failed.Add(1)
	default:
		q.retried.Add(1)
	}
	if eerr := q.st.EndTranscodeAttempt(end, job.RecordingID, state, err.Error(), next); eerr != nil {
		q.log.Error("transcode: job state not stored", "recording_id", job.RecordingID, "error", eerr)
	} else if state == store.TranscodeFailed && q.cfg.Settled != nil {
		q.cfg.Settled(job.RecordingID)
	}
	lvl := slog.LevelWarn
	if state == store.TranscodeWaiting {
		lvl = slog.LevelInfo
	}
	q.log.Log(ctx, lvl, "transcode attempt ended", "recording_id", job.RecordingID, "attempt", job.Attempts,
		"state", string(state), "next", next, "error", err)
	return nil, &JobError{RecordingID: job.RecordingID, State: state, Err: err}
}

// JobError is a failed attempt of RunOne: the job and the state it was
// left in (queued for a retry, waiting for a decoder, failed).
type JobError struct {
	RecordingID string
	State       store.TranscodeState
	Err         error
}

func (e *JobError) Error() string {
	return fmt.Sprintf("transcode %s (%s): %v", e.RecordingID, e.State, e.Err)
}

func (e *JobError) Unwrap() error { return e.Err }

func (q *Queue) attempt(ctx context.Context, job *store.TranscodeJob) (*Outcome, error) {
	rec, err := q.st.GetRecording(ctx, job.RecordingID)
	if err != nil {
		return nil, err
	}
	o, err := q.t.Transcode(ctx, rec)
	if err != nil {
		return nil, err
	}
	if err := q.st.FinishTranscode(ctx, rec.ID, o.Result); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Deleted while it was transcoded (retention, erasure): the
			// file just written must not outlive it.
			q.t.Discard(rec)
			q.log.Warn("transcoded recording was deleted meanwhile: its new file is removed", "recording_id", rec.ID)
		}
		return nil, err
	}
	q.t.Done(rec)
	if q.cfg.Settled != nil {
		q.cfg.Settled(rec.ID)
	}
	return o, nil
}

// backoff is the delay after attempt n (1-based) failed.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.Backoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
