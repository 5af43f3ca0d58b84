package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// Legal holds (migrations 0007 and 0008). A trigger refuses the DELETE of a
// held recording; setting or releasing a call's hold takes the call's
// advisory lock (call_hold_lock, 0008), as the triggers that hold a new
// recording of a held call do, so neither misses the other.

// SetLegalHold puts recording id on legal hold (again: the reason and who
// are updated). An unknown recording is store.ErrNotFound.
func (db *DB) SetLegalHold(ctx context.Context, h store.Hold) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if h.SetAt.IsZero() {
		h.SetAt = db.now()
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO legal_holds (recording_id, reason, set_by, set_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (recording_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at, call_uuid = ''`,
		h.RecordingID, h.Reason, h.SetBy, formatTime(h.SetAt))
	if isCode(err, codeForeignKeyViolation, "") {
		return fmt.Errorf("legal hold %s: %w", h.RecordingID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("legal hold %s: %w", h.RecordingID, err)
	}
	return nil
}

// ReleaseLegalHold ends the hold on recording id; store.ErrNotFound when it
// was not on hold.
func (db *DB) ReleaseLegalHold(ctx context.Context, id string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	tag, err := db.pool.Exec(ctx, `DELETE FROM legal_holds WHERE recording_id = $1`, id)
	if err != nil {
		return fmt.Errorf("release legal hold %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("release legal hold %s: not on hold: %w", id, store.ErrNotFound)
	}
	return nil
}

// LegalHold returns the hold on recording id; ok false when there is none.
func (db *DB) LegalHold(ctx context.Context, id string) (h store.Hold, ok bool, err error) {
	leave, err := db.enter()
	if err != nil {
		return h, false, err
	}
	defer leave()
	var at string
	err = db.pool.QueryRow(ctx, `SELECT recording_id, reason, set_by, set_at, call_uuid FROM legal_holds WHERE recording_id = $1`, id).
		Scan(&h.RecordingID, &h.Reason, &h.SetBy, &at, &h.CallUUID)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("legal hold %s: %w", id, err)
	}
	if h.SetAt, err = parseTime(at); err != nil {
		return h, false, fmt.Errorf("legal hold %s: %w", id, err)
	}
	return h, true, nil
}

// ListLegalHolds returns every hold, newest first.
func (db *DB) ListLegalHolds(ctx context.Context) ([]store.Hold, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	rows, err := db.pool.Query(ctx, `SELECT recording_id, reason, set_by, set_at, call_uuid FROM legal_holds ORDER BY set_at DESC, recording_id`)
	if err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	defer rows.Close()
	var out []store.Hold
	for rows.Next() {
		var h store.Hold
		var at string
		if err := rows.Scan(&h.RecordingID, &h.Reason, &h.SetBy, &at, &h.CallUUID); err != nil {
			return nil, fmt.Errorf("list legal holds: %w", err)
		}
		if h.SetAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list legal holds: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	return out, nil
}

// SetCallHold puts call h.CallUUID on legal hold: every recording of the
// call now (returned, in id order) and every one it makes later (a trigger
// holds them as they are created or learn their call). Recordings already
// on their own hold keep it. A call without recordings is
// store.ErrNotFound. Setting it again updates the reason and who.
func (db *DB) SetCallHold(ctx context.Context, h store.CallHold) ([]string, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if h.SetAt.IsZero() {
		h.SetAt = db.now()
	}
	var ids []string
	err = db.inTx(ctx, func(tx cleanTx) error {
		if _, err := tx.Exec(ctx, `SELECT call_hold_lock($1)`, h.CallUUID); err != nil {
			return fmt.Errorf("legal hold of call %s: %w", h.CallUUID, err)
		}
		var err error
		if ids, err = callRecordings(ctx, tx, h.CallUUID); err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("legal hold of call %s: no recording: %w", h.CallUUID, store.ErrNotFound)
		}
		at := formatTime(h.SetAt)
		if _, err := tx.Exec(ctx, `INSERT INTO call_holds (call_uuid, reason, set_by, set_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (call_uuid) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at`,
			h.CallUUID, h.Reason, h.SetBy, at); err != nil {
			return fmt.Errorf("legal hold of call %s: %w", h.CallUUID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO legal_holds (recording_id, reason, set_by, set_at, call_uuid)
			SELECT id, $1, $2, $3, $4 FROM recordings WHERE call_uuid = $4
			ON CONFLICT (recording_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at
			WHERE legal_holds.call_uuid = excluded.call_uuid`,
			h.Reason, h.SetBy, at, h.CallUUID); err != nil {
			return fmt.Errorf("legal hold of call %s: %w", h.CallUUID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ReleaseCallHold ends the hold on call callUUID and releases the holds it
// made (returned, in id order); recordings on their own hold keep it.
// store.ErrNotFound when the call was not on hold.
func (db *DB) ReleaseCallHold(ctx context.Context, callUUID string) ([]string, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var ids []string
	err = db.inTx(ctx, func(tx cleanTx) error {
		if _, err := tx.Exec(ctx, `SELECT call_hold_lock($1)`, callUUID); err != nil {
			return fmt.Errorf("release legal hold of call %s: %w", callUUID, err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM call_holds WHERE call_uuid = $1`, callUUID)
		if err != nil {
			return fmt.Errorf("release legal hold of call %s: %w", callUUID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("release legal hold of call %s: not on hold: %w", callUUID, store.ErrNotFound)
		}
		rows, err := tx.Query(ctx, `DELETE FROM legal_holds WHERE call_uuid = $1 RETURNING recording_id`, callUUID)
		if err != nil {
			return fmt.Errorf("release legal hold of call %s: %w", callUUID, err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("release legal hold of call %s: %w", callUUID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// ListCallHolds returns every call on hold, newest first.
func (db *DB) ListCallHolds(ctx context.Context) ([]store.CallHold, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	rows, err := db.pool.Query(ctx, `SELECT call_uuid, reason, set_by, set_at FROM call_holds ORDER BY set_at DESC, call_uuid`)
	if err != nil {
		return nil, fmt.Errorf("list call holds: %w", err)
	}
	defer rows.Close()
	var out []store.CallHold
	for rows.Next() {
		var h store.CallHold
		var at string
		if err := rows.Scan(&h.CallUUID, &h.Reason, &h.SetBy, &at); err != nil {
			return nil, fmt.Errorf("list call holds: %w", err)
		}
		if h.SetAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list call holds: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list call holds: %w", err)
	}
	return out, nil
}

// callRecordings returns the ids of call's recordings, in id order.
func callRecordings(ctx context.Context, tx cleanTx, call string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM recordings WHERE call_uuid = $1 AND call_uuid <> '' ORDER BY id`, call)
	if err != nil {
		return nil, fmt.Errorf("recordings of call %s: %w", call, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("recordings of call %s: %w", call, err)
	}
	return ids, nil
}
