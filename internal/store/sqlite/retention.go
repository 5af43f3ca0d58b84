package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Retention state changes and deletions. Each runs in one write transaction
// (BEGIN IMMEDIATE), so a state check and the change it allows are atomic
// across processes: a keep request (CTI side, CLI) racing the sweeper's
// discard is decided by whichever commits first, and the loser gets
// store.ErrNotPending.

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
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recordings SET retention = ?, keep_until = ?, retention_reason = ?,
			updated_at = ? WHERE id = ?`, string(r), nullTime(keepUntil), reason, formatTime(db.now()), id)
		if err != nil {
			return fmt.Errorf("set retention of %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set retention of %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("set retention of %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
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
	return db.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := retentionOf(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("keep recording %s: %w", id, err)
		}
		switch cur {
		case store.RetentionKept:
			return nil
		case store.RetentionPending:
			_, err := tx.ExecContext(ctx, `UPDATE recordings SET retention = ?, retention_reason = ?, updated_at = ?
				WHERE id = ?`, string(store.RetentionKept), reason, formatTime(db.now()), id)
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
	return db.inTx(ctx, func(tx *sql.Tx) error {
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
		_, err = tx.ExecContext(ctx, `UPDATE recordings SET retention = ?, keep_until = ?, retention_reason = ?,
			updated_at = ? WHERE id = ?`, string(store.RetentionDiscard), now, reason, now, id)
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
// nothing; an empty one is store.ErrInvalid. The media file is the
// caller's to delete.
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
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var (
			callUUID, recordID, recordedDN, mediaPath, tenant string
			started                                           sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT call_uuid, record_id, recorded_dn, media_path, started_at,
			coalesce((SELECT value FROM external_data WHERE recording_id = recordings.id AND key = ?), '')
			FROM recordings WHERE id = ?`, store.TenantKey, d.RecordingID).
			Scan(&callUUID, &recordID, &recordedDN, &mediaPath, &started, &tenant)
		if errors.Is(err, sql.ErrNoRows) {
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
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM legal_holds WHERE recording_id = ?`, d.RecordingID).Scan(&held); err != nil {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
		}
		if held > 0 {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, store.ErrLegalHold)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recordings WHERE id = ?`, d.RecordingID); err != nil {
			return fmt.Errorf("delete recording %s: %w", d.RecordingID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deletions (recording_id, call_uuid, record_id, recorded_dn,
			tenant, media_path, reason, started_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
	var out []store.Deletion
	err = db.inReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d       store.Deletion
				started sql.NullString
				at      string
			)
			if err := rows.Scan(&d.RecordingID, &d.CallUUID, &d.RecordID, &d.RecordedDN, &d.Tenant, &d.MediaPath,
				&d.Reason, &started, &at); err != nil {
				return err
			}
			if d.StartedAt, err = parseNullTime(started); err != nil {
				return err
			}
			if d.At, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list deletions: %w", err)
	}
	return out, nil
}

// retentionOf reads the retention state of recording id in tx.
func retentionOf(ctx context.Context, tx *sql.Tx, id string) (store.Retention, error) {
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT retention FROM recordings WHERE id = ?`, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
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

// Scrub empties the write-ahead log (checkpoint, then truncate it), so that
// what was just deleted survives nowhere in the database files: deleted
// rows are overwritten in the database itself (secure_delete), but the
// log keeps older copies of their pages until it restarts. Used after an
// erasure. A reader holding an old snapshot makes it fail (try again).
func (db *DB) Scrub(ctx context.Context) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	var busy, frames, done int
	if err := db.sql.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("scrub the write-ahead log: %w", err)
	}
	if busy != 0 {
		return errors.New("scrub the write-ahead log: readers still use it")
	}
	return nil
}
