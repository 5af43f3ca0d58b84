package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// Retention state changes and deletions. Each runs in one transaction that
// reads the recording FOR UPDATE before deciding, so a state check and the
// change it allows are atomic across processes: a keep request racing the
// sweeper's discard is decided by whichever locks the row first, and the
// loser gets store.ErrNotPending.

// SetRetention sets the retention state of recording id (and updated_at),
// nothing else. keepUntil zero is stored as unknown. An unknown id is
// store.ErrNotFound, an unknown r store.ErrInvalid.
func (db *DB) SetRetention(ctx context.Context, id string, r store.Retention, keepUntil time.Time, reason string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if !r.Valid() {
		return fmt.Errorf("set retention of %s: retention %q: %w", id, r, store.ErrInvalid)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE recordings SET retention = $1, keep_until = $2, retention_reason = $3,
		updated_at = $4 WHERE id = $5`, string(r), nullTime(keepUntil), reason, formatTime(db.now()), id)
	if err != nil {
		return fmt.Errorf("set retention of %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set retention of %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// KeepRecording marks a pending pre-recording kept, with reason. Keeping a
// recording already kept changes nothing and is no error. A recording that
// is not a pre-recording awaiting a decision (retention none or discard) is
// store.ErrNotPending; an unknown id store.ErrNotFound. KeepUntil is left as
// it was (the deadline the request met).
func (db *DB) KeepRecording(ctx context.Context, id, reason string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return db.inTx(ctx, func(tx cleanTx) error {
		cur, err := retentionOf(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("keep recording %s: %w", id, err)
		}
		switch cur {
		case store.RetentionKept:
			return nil
		case store.RetentionPending:
			_, err := tx.Exec(ctx, `UPDATE recordings SET retention = $1, retention_reason = $2, updated_at = $3
				WHERE id = $4`, string(store.RetentionKept), reason, formatTime(db.now()), id)
			if err != nil {
				return fmt.Errorf("keep recording %s: %w", id, err)
			}
			return nil
		}
		return fmt.Errorf("keep recording %s (retention %s): %w", id, describeRetention(cur), store.ErrNotPending)
	})
}

// DiscardRecording marks recording id (pending or ordinary) discard, with
// reason and KeepUntil = now (the store clock): the recorder deletes it.
// Discarding a recording already marked discard changes nothing and is no
// error; a kept one is store.ErrNotPending, an unknown id
// store.ErrNotFound.
func (db *DB) DiscardRecording(ctx context.Context, id, reason string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return db.inTx(ctx, func(tx cleanTx) error {
		cur, err := retentionOf(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("discard recording %s: %w", id, err)
		}
		switch cur {
		case store.RetentionDiscard:
			return nil
		case store.RetentionKept:
			return fmt.Errorf("discard recording %s (retention %s): %w", id, describeRetention(cur), store.ErrNotPending)
		}
		now := formatTime(db.now())
		_, err = tx.Exec(ctx, `UPDATE recordings SET retention = $1, keep_until = $2, retention_reason = $3,
			updated_at = $4 WHERE id = $5`, string(store.RetentionDiscard), now, reason, now, id)
		if err != nil {
			return fmt.Errorf("discard recording %s: %w", id, err)
		}
		return nil
	})
}

// DeleteRecording deletes recording d.RecordingID and its children
// (foreign keys cascade) and logs d in the deletions table, in one
// transaction. Empty fields of d (CallUUID, RecordID, RecordedDN, Tenant,
// MediaPath, StartedAt) are filled from the stored recording; a zero At is
// the store clock's now. An unknown id is store.ErrNotFound and logs
// nothing; an empty one is store.ErrInvalid; one on legal hold
// store.ErrLegalHold. The media file is the caller's to delete.
func (db *DB) DeleteRecording(ctx context.Context, d store.Deletion) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if d.RecordingID == "" {
		return fmt.Errorf("delete recording: empty id: %w", store.ErrInvalid)
	}
	if d.At.IsZero() {
		d.At = db.now()
	}
	return db.inTx(ctx, func(tx cleanTx) error {
		var (
			callUUID, recordID, recordedDN, mediaPath, tenant string
			started                                           *string
		)
		// FOR UPDATE: a hold set concurrently (its foreign key locks the
		// row too) either commits first and is seen below, or waits for
		// this delete and finds no recording.
		err := tx.QueryRow(ctx, `SELECT call_uuid, record_id, recorded_dn, media_path, started_at,
			coalesce((SELECT value FROM external_data WHERE recording_id = recordings.id AND key = $1), '')
			FROM recordings WHERE id = $2 FOR UPDATE`, store.TenantKey, d.RecordingID).
			Scan(&callUUID, &recordID, &recordedDN, &mediaPath, &started, &tenant)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
		}
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&d.CallUUID, callUUID)
		fill(&d.RecordID, recordID)
		fill(&d.RecordedDN, recordedDN)
		fill(&d.MediaPath, mediaPath)
		fill(&d.Tenant, tenant)
		if d.StartedAt.IsZero() {
			if d.StartedAt, err = parseNullTime(started); err != nil {
				return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
			}
		}
		var held bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM legal_holds WHERE recording_id = $1)`, d.RecordingID).Scan(&held); err != nil {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
		}
		if held {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, store.ErrLegalHold)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recordings WHERE id = $1`, d.RecordingID); err != nil {
			if isCode(err, codeRestrictViolation, "") || isCode(err, codeForeignKeyViolation, "legal_holds_recording_id_fkey") {
				return fmt.Errorf("delete recording %s: %w", d.RecordingID, store.ErrLegalHold)
			}
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deletions (recording_id, call_uuid, record_id, recorded_dn,
			tenant, media_path, reason, started_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			d.RecordingID, d.CallUUID, d.RecordID, d.RecordedDN, d.Tenant, d.MediaPath, d.Reason,
			nullTime(d.StartedAt), formatTime(d.At)); err != nil {
			return fmt.Errorf("delete recording %s: log deletion: %w", d.RecordingID, err)
		}
		return nil
	})
}

// ListDeletions returns the deletions logged at or after since (zero: all),
// newest first, at most limit (store.DefaultLimit when limit <= 0).
func (db *DB) ListDeletions(ctx context.Context, since time.Time, limit int) ([]store.Deletion, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	q := `SELECT recording_id, call_uuid, record_id, recorded_dn, tenant, media_path, reason, started_at, deleted_at
		FROM deletions`
	var args []any
	if !since.IsZero() {
		q += ` WHERE deleted_at >= ?`
		args = append(args, formatTime(since))
	}
	q += ` ORDER BY deleted_at DESC, seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list deletions: %w", err)
	}
	defer rows.Close()
	var out []store.Deletion
	for rows.Next() {
		var (
			d       store.Deletion
			started *string
			at      string
		)
		if err := rows.Scan(&d.RecordingID, &d.CallUUID, &d.RecordID, &d.RecordedDN, &d.Tenant, &d.MediaPath,
			&d.Reason, &started, &at); err != nil {
			return nil, fmt.Errorf("list deletions: %w", err)
		}
		if d.StartedAt, err = parseNullTime(started); err != nil {
			return nil, fmt.Errorf("list deletions: %w", err)
		}
		if d.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list deletions: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deletions: %w", err)
	}
	return out, nil
}

// retentionOf reads the retention state of recording id in tx and locks
// the row until tx ends.
func retentionOf(ctx context.Context, tx cleanTx, id string) (store.Retention, error) {
	var cur string
	err := tx.QueryRow(ctx, `SELECT retention FROM recordings WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return store.Retention(cur), err
}

// describeRetention names r in an error message ("none" for an ordinary
// recording).
func describeRetention(r store.Retention) string {
	if r == store.RetentionNone {
		return "none"
	}
	return string(r)
}

// Scrub is the SQLite store's write-ahead log scrub after an erasure. A
// PostgreSQL server keeps deleted row versions until VACUUM reclaims
// them, so Scrub vacuums the tables an erasure deletes from; the
// server's WAL segments and base backups are the operator's (they expire
// with the server's archive settings, not by anything a client can do).
func (db *DB) Scrub(ctx context.Context) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if _, err := db.pool.Exec(ctx, `VACUUM recordings, sip_call_ids, parties, segments, events, external_data, couples`); err != nil {
		return fmt.Errorf("scrub deleted rows: %w", err)
	}
	return nil
}
