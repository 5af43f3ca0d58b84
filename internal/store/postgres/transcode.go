package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// The transcode queue (migration 0010): one transcode_jobs row per
// recording. A claim locks the job's row (FOR UPDATE; SKIP LOCKED when
// taking the next due one), so two workers, two processes, or serve and
// the CLI never claim the same job.

const transcodeColumns = `recording_id, state, attempts, last_error, next_attempt_at, created_at, updated_at`

// finishedNeedingTranscode selects the recordings a job may exist for.
const finishedNeedingTranscode = `needs_transcode AND status IN ('completed', 'partial')`

func scanTranscodeJob(row pgx.Row) (*store.TranscodeJob, error) {
	var (
		j                  store.TranscodeJob
		state              string
		next, created, upd string
	)
	if err := row.Scan(&j.RecordingID, &state, &j.Attempts, &j.LastError, &next, &created, &upd); err != nil {
		return nil, err
	}
	j.State = store.TranscodeState(state)
	var err error
	if j.NextAttemptAt, err = parseTime(next); err != nil {
		return nil, err
	}
	if j.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if j.UpdatedAt, err = parseTime(upd); err != nil {
		return nil, err
	}
	return &j, nil
}

// EnqueueTranscode queues the transcoding of recording id, which must be
// finished (completed or partial) and need it (store.ErrNoTranscode
// otherwise; store.ErrNotFound for an unknown id). A job already queued or
// running is left as it is; a waiting, failed (or done) one starts again
// with no attempts, due at now. It returns the job.
func (db *DB) EnqueueTranscode(ctx context.Context, id string, now time.Time) (*store.TranscodeJob, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var job *store.TranscodeJob
	err = db.inTx(ctx, func(tx cleanTx) error {
		var needs bool
		var status string
		err := tx.QueryRow(ctx, `SELECT needs_transcode, status FROM recordings WHERE id = $1 FOR KEY SHARE`, id).Scan(&needs, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !needs || (status != string(store.StatusCompleted) && status != string(store.StatusPartial)) {
			return fmt.Errorf("%w (needs_transcode %v, status %s)", store.ErrNoTranscode, needs, status)
		}
		ts := formatTime(db.now())
		if _, err := tx.Exec(ctx, `INSERT INTO transcode_jobs (`+transcodeColumns+`) VALUES ($1, 'queued', 0, '', $2, $3, $3)
			ON CONFLICT (recording_id) DO UPDATE SET state = 'queued', attempts = 0, next_attempt_at = excluded.next_attempt_at,
				updated_at = excluded.updated_at
			WHERE transcode_jobs.state NOT IN ('queued', 'running')`, id, formatTime(now), ts); err != nil {
			return err
		}
		job, err = scanTranscodeJob(tx.QueryRow(ctx, `SELECT `+transcodeColumns+` FROM transcode_jobs WHERE recording_id = $1`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue transcode %s: %w", id, err)
	}
	return job, nil
}

// EnqueueTranscodes queues a job for every finished recording that needs
// transcoding and has none, and queues again (attempts reset) the jobs in
// the states again names: waiting ones when a process starts (it may have
// the decoder they waited for), failed ones when a user asks. It returns
// how many jobs became queued.
func (db *DB) EnqueueTranscodes(ctx context.Context, now time.Time, again ...store.TranscodeState) (int, error) {
	var states []string
	for _, s := range again {
		if s != store.TranscodeWaiting && s != store.TranscodeFailed && s != store.TranscodeDone {
			return 0, fmt.Errorf("enqueue transcodes: again %q: %w", s, store.ErrInvalid)
		}
		states = append(states, string(s))
	}
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var n int64
	err = db.inTx(ctx, func(tx cleanTx) error {
		ts, due := formatTime(db.now()), formatTime(now)
		tag, err := tx.Exec(ctx, `INSERT INTO transcode_jobs (`+transcodeColumns+`)
			SELECT id, 'queued', 0, '', $1, $2, $2 FROM recordings
			WHERE `+finishedNeedingTranscode+`
			ON CONFLICT (recording_id) DO NOTHING`, due, ts)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if len(states) == 0 {
			return nil
		}
		tag, err = tx.Exec(ctx, `UPDATE transcode_jobs SET state = 'queued', attempts = 0, next_attempt_at = $1, updated_at = $2
			WHERE state = ANY($3) AND recording_id IN (SELECT id FROM recordings WHERE `+finishedNeedingTranscode+`)`,
			due, ts, states)
		if err != nil {
			return err
		}
		n += tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue transcodes: %w", err)
	}
	return int(n), nil
}

// ClaimTranscode claims a due job for lease: with id "", the queued job
// due first (NextAttemptAt <= now) or a running one whose lease ran out;
// with an id, that job if queued (whatever its backoff) or running with
// an expired lease (store.ErrBusy while the lease runs). The job becomes
// running, its attempts count one more and NextAttemptAt = now + lease.
// No claimable job is store.ErrNotFound.
func (db *DB) ClaimTranscode(ctx context.Context, id string, now time.Time, lease time.Duration) (*store.TranscodeJob, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("claim transcode: lease %v: %w", lease, store.ErrInvalid)
	}
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var job *store.TranscodeJob
	at := formatTime(now)
	err = db.inTx(ctx, func(tx cleanTx) error {
		var j *store.TranscodeJob
		var err error
		if id == "" {
			j, err = scanTranscodeJob(tx.QueryRow(ctx, `SELECT `+transcodeColumns+` FROM transcode_jobs
				WHERE state IN ('queued', 'running') AND next_attempt_at <= $1
				ORDER BY next_attempt_at, recording_id LIMIT 1 FOR UPDATE SKIP LOCKED`, at))
		} else {
			j, err = scanTranscodeJob(tx.QueryRow(ctx, `SELECT `+transcodeColumns+` FROM transcode_jobs WHERE recording_id = $1 FOR UPDATE`, id))
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		switch {
		case j.State == store.TranscodeRunning && j.NextAttemptAt.After(now):
			return fmt.Errorf("%w (lease until %s)", store.ErrBusy, j.NextAttemptAt.Format(time.RFC3339))
		case j.State != store.TranscodeQueued && j.State != store.TranscodeRunning:
			return fmt.Errorf("%w: job %s", store.ErrNotFound, j.State)
		}
		j.State, j.Attempts, j.NextAttemptAt, j.UpdatedAt = store.TranscodeRunning, j.Attempts+1, now.Add(lease).UTC(), db.now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE transcode_jobs SET state = 'running', attempts = $1, next_attempt_at = $2, updated_at = $3
			WHERE recording_id = $4`, j.Attempts, formatTime(j.NextAttemptAt), formatTime(j.UpdatedAt), j.RecordingID); err != nil {
			return err
		}
		job = j
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim transcode %s: %w", id, err)
	}
	return job, nil
}

// FinishTranscode records a finished transcode of recording id in one
// transaction: the recording's media columns from res, needs_transcode
// cleared, res.Events added, and its job done. A recording without a job is
// store.ErrNotFound.
func (db *DB) FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error {
	codecs, err := encodeCodecs(res.Codecs)
	if err != nil {
		return err
	}
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts := formatTime(db.now())
	err = db.inTx(ctx, func(tx cleanTx) error {
		tag, err := tx.Exec(ctx, `UPDATE transcode_jobs SET state = 'done', last_error = '', updated_at = $1 WHERE recording_id = $2`, ts, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE recordings SET needs_transcode = false, size_bytes = $1, sha256 = $2, duration_ms = $3,
			codecs = $4, status_reason = $5, updated_at = $6 WHERE id = $7`,
			res.SizeBytes, res.SHA256, res.DurationMS, codecs, res.StatusReason, ts, id); err != nil {
			return err
		}
		b := &pgx.Batch{}
		queueEvents(b, storable(id), storableEvents(res.Events))
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("finish transcode %s: %w", id, err)
	}
	return nil
}

// EndTranscodeAttempt ends a claim without success: state queued (retry
// not before next), waiting (no decoder in this build) or failed (given
// up), with the attempt's error. An unknown job is store.ErrNotFound.
func (db *DB) EndTranscodeAttempt(ctx context.Context, id string, state store.TranscodeState, lastError string, next time.Time) error {
	if state != store.TranscodeQueued && state != store.TranscodeWaiting && state != store.TranscodeFailed {
		return fmt.Errorf("end transcode attempt %s: state %q: %w", id, state, store.ErrInvalid)
	}
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if next.IsZero() {
		next = db.now()
	}
	err = db.inTx(ctx, func(tx cleanTx) error {
		tag, err := tx.Exec(ctx, `UPDATE transcode_jobs SET state = $1, last_error = $2, next_attempt_at = $3, updated_at = $4
			WHERE recording_id = $5`, string(state), lastError, formatTime(next), formatTime(db.now()), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end transcode attempt %s: %w", id, err)
	}
	return nil
}

// TranscodeJob returns the job of recording id; store.ErrNotFound when it
// has none.
func (db *DB) TranscodeJob(ctx context.Context, id string) (*store.TranscodeJob, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	j, err := scanTranscodeJob(db.pool.QueryRow(ctx, `SELECT `+transcodeColumns+` FROM transcode_jobs WHERE recording_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("transcode job %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("transcode job %s: %w", id, err)
	}
	return j, nil
}

// CountTranscodeJobs counts the jobs in each state (every state present,
// zero included).
func (db *DB) CountTranscodeJobs(ctx context.Context) (map[store.TranscodeState]int, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	out := make(map[store.TranscodeState]int, len(store.TranscodeStates))
	for _, s := range store.TranscodeStates {
		out[s] = 0
	}
	rows, err := db.pool.Query(ctx, `SELECT state, count(*) FROM transcode_jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count transcode jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count transcode jobs: %w", err)
		}
		out[store.TranscodeState(s)] = n
	}
	return out, rows.Err()
}
